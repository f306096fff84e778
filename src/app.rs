//! The interactive TUI (`mcp-orch tui`), built as messages and a pure update:
//!
//! - [`command`]: what the user can ask for (bindable, in the keymap and help);
//! - [`action`]: what happened (keys, ticks, results of effects);
//! - [`effect`]: I/O that `update` asks for, run against the core façade;
//! - [`update`]: the one pure function that changes the [`state`];
//! - [`keymap`]: keys per routing layer, as data;
//! - [`runtime`]: the loop, the only code that touches tokio and the terminal.
//!
//! Views live in [`crate::ui`].

pub mod action;
pub mod command;
pub mod effect;
pub mod keymap;
pub mod runtime;
pub mod state;
pub mod update;
