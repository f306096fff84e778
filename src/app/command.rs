//! Commands: what the user can ask for. They are bindable (the keymap names them in `run`),
//! serialisable, and described in the help overlay. Something that *happened* is an
//! [`Action`](super::action::Action) instead.

use serde::{Deserialize, Serialize};

/// A bindable intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Leave the TUI.
    Quit,
    /// Show or hide the help overlay.
    Help,
    /// Go to the Clients screen.
    ScreenClients,
    /// Go to the Catalog screen.
    ScreenCatalog,
    /// Go to the Draft screen.
    ScreenDraft,
    /// Go to the Diff screen.
    ScreenDiff,
    /// Go to the History screen.
    ScreenHistory,
    /// Go to the Server panel.
    ScreenServer,
    /// Go to the Team screen.
    ScreenTeam,
    /// Next screen.
    NextScreen,
    /// Previous screen.
    PrevScreen,
    /// Move up.
    Up,
    /// Move down.
    Down,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// Open or choose the selected row.
    Select,
    /// Leave an input or close a dialog.
    Cancel,
    /// Focus the catalog filter.
    FocusFilter,
    /// Cycle the transport filter.
    CycleTransport,
    /// Pick a tag filter.
    PickTag,
    /// Clear every catalog filter.
    ClearFilters,
    /// Add the selected catalog server (opens the form).
    Add,
    /// Remove the selected draft server.
    Remove,
    /// Rename the selected draft server.
    Rename,
    /// Copy the draft to other clients.
    CopyTo,
    /// Import the servers already in the client's file.
    Import,
    /// Choose the profile of the selected client.
    PickProfile,
    /// Publish the draft (asks for a changelog).
    Publish,
    /// Deploy (shows the plan and asks for confirmation).
    Deploy,
    /// Apply the draft: publish when it changed, then deploy (shows the plan, asks).
    Apply,
    /// Roll back to the previous release.
    Rollback,
    /// Restore the selected backup.
    Restore,
    /// Verify the audit chain.
    Verify,
    /// Switch between the panes of a screen.
    NextPane,
    /// Reload everything from disk.
    Refresh,
    /// Start the background MCP HTTP server.
    StartServer,
    /// Stop it.
    StopServer,
    /// Copy the background server's token to the clipboard.
    CopyToken,
    /// Pull the selected remote's releases (verify, then deploy).
    Pull,
    /// Check that the draft's servers really start (probe them).
    CheckHealth,
    /// Next form field.
    NextField,
    /// Previous form field.
    PrevField,
    /// Submit the form or prompt.
    Submit,
    /// Toggle the selected item of a picker.
    Toggle,
    /// Answer yes in a confirmation.
    Confirm,
    /// Delete the character before the cursor.
    DeleteChar,
    /// Clear the input.
    ClearInput,
    /// Does nothing (unbinds a key in a user keymap).
    Noop,
}

impl Command {
    /// The keymap spelling (`screen_catalog`).
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}
