//! Actions: what happened. Terminal input, the clock, and the results of effects all arrive
//! as actions; [`update`](super::update::update) is the only thing that reacts to them.

use crossterm::event::KeyEvent;

use super::command::Command;
use crate::core::orchestrator::{PullReport, RemoteView};

use super::state::{
    ClientRow, DiffView, DraftSnapshot, Health, HistoryData, ServerStatus, Target, UiError,
};
use crate::core::audit::VerifyReport;
use crate::core::events::StateSnapshot;

/// The result of checking the add form against the core.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormCheck {
    /// Problems by core field (`name`, `params.path`, `env.X`, `secret.X`).
    pub fields: Vec<(String, String)>,
    /// Problems that concern no single field (diagnostics of the candidate draft).
    pub general: Vec<String>,
    /// Whether adding would succeed.
    pub valid: bool,
}

/// What adding a server did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// The server's name.
    pub name: String,
    /// Servers now in the draft.
    pub server_count: usize,
    /// Secrets stored.
    pub stored_secrets: Vec<String>,
}

/// A deploy or rollback to confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployPlan {
    /// The artifact.
    pub artifact_id: String,
    /// Its version.
    pub version: u64,
    /// `deploy`, `rollback`, `apply` or `restore`.
    pub action: &'static str,
    /// The backup a restore brings back.
    pub backup_id: Option<String>,
    /// The plan's id: confirming applies exactly this plan.
    pub plan_id: String,
    /// Whether the draft is published first (apply).
    pub publishes: bool,
    /// What it changes.
    pub view: DiffView,
}

/// Something that happened.
#[derive(Debug, Clone)]
pub enum Action {
    /// A key was pressed.
    Key(KeyEvent),
    /// Text was pasted.
    Paste(String),
    /// The terminal was resized.
    Resize(u16, u16),
    /// The 500 ms clock.
    Tick,
    /// Run a command directly.
    Run(Command),
    /// The clients were loaded.
    ClientsLoaded(Result<Vec<ClientRow>, UiError>),
    /// A catalog search finished.
    SearchDone {
        /// The search's generation.
        generation: u64,
        /// Indices into the catalog, best first.
        hits: Vec<usize>,
    },
    /// The draft was loaded.
    DraftLoaded(Result<DraftSnapshot, UiError>),
    /// The add form was checked.
    FormChecked {
        /// The check's generation.
        generation: u64,
        /// What it found.
        check: FormCheck,
    },
    /// A server was added (or not).
    Added(Result<Added, UiError>),
    /// A draft or file change finished: a notice to show.
    Changed(Result<String, UiError>),
    /// The diff was computed.
    DiffLoaded {
        /// The load's generation.
        generation: u64,
        /// The plan.
        result: Result<DiffView, UiError>,
    },
    /// The deploy plan is ready for confirmation.
    DeployPlanned(Result<DeployPlan, UiError>),
    /// The history was loaded.
    HistoryLoaded(Result<HistoryData, UiError>),
    /// The audit chain was verified.
    Verified(Result<VerifyReport, UiError>),
    /// The state directory and the client files were checked.
    Polled {
        /// Stamps of the state files (drafts, releases, deployments, profiles, audit, ...).
        snapshot: StateSnapshot,
        /// A hash of the size and mtime of every client's config file.
        files: u64,
    },
    /// The background server changed state.
    ServerStatus(ServerStatus),
    /// The servers of a draft were probed.
    HealthChecked(Target, Result<Vec<(String, Health)>, UiError>),
    /// The remotes were loaded.
    RemotesLoaded(Result<Vec<RemoteView>, UiError>),
    /// A pull from a remote ended.
    Pulled(String, Result<PullReport, UiError>),
}
