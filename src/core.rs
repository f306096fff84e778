//! The domain: client registry, catalog and search, drafts, secrets, validation, rendering,
//! format-preserving editing and diffs. No UI, HTTP or CLI code lives here; every front-end
//! calls the [`Orchestrator`] façade.

pub mod artifact;
pub mod audit;
pub mod backup;
pub mod batch;
pub mod catalog;
pub mod clients;
pub mod code;
pub mod diff;
pub mod document;
pub mod draft;
pub mod env;
pub mod error;
pub mod events;
pub mod fsutil;
pub mod import;
pub mod intent;
pub mod keys;
pub mod launch;
pub mod orchestrator;
pub mod overlay;
pub mod probe;
pub mod profiles;
pub mod registry;
pub mod render;
pub mod search;
pub mod secrets;
pub mod sse_client;
pub mod state;
pub mod tokens;
pub mod validate;
pub mod writer;

pub use error::{Error, ErrorBody, ErrorKind, Result};
pub use orchestrator::{
    CheckStatus, ClientSet, DoctorReport, Options, Orchestrator, ProbeTarget, RegistryStatus,
    ValidationReport, any_probe_failed,
};
