//! The wire model: every answer that more than one face gives, defined once.
//!
//! Each shared operation is one function here: it calls the [`Orchestrator`] façade and builds
//! the answer's type. The CLI prints that value with `--json`, the MCP tool returns it as
//! `structuredContent` (its `outputSchema` is the type's JSON Schema), the REST API sends it as
//! the body (its `/openapi.json` component is the same JSON Schema). So a script, an agent and
//! a service read the same JSON for the same state; only the envelope differs (a REST error is
//! `{"error": …}`, an MCP error is a tool error whose `structuredContent` is the error body,
//! a CLI error is printed on stderr). The faces only translate their input into these calls.
//!
//! [`Orchestrator`]: crate::core::Orchestrator

pub mod audit;
pub mod catalog;
pub mod clients;
pub mod deploy;
pub mod drafts;
pub mod next;
pub mod releases;
pub mod schema;
pub mod team;

pub use audit::{AuditPage, AuditQuery};
pub use catalog::{ServerDetail, ServerList, ServerSummary};
pub use clients::{ClientInfo, ClientList, ProfileInfo, ProfileList};
pub use deploy::{DeployOutcome, FilePlan, HealthReport, StatusReport};
pub use drafts::{DraftChange, DraftCleared, DraftView, ImportOutcome, Validation};
pub use releases::{KeyInitialized, Published, ReleaseDetail, ReleaseList, ReleaseSummary};
pub use team::{PullReport, PulledRelease, RemoteList, RootList, Signed, TeamStatus};

/// The JSON of an answer, for faces that pass JSON on.
pub fn to_json<T: serde::Serialize>(value: &T) -> crate::core::Result<serde_json::Value> {
    serde_json::to_value(value)
        .map_err(|e| crate::core::Error::Internal(format!("serialising an answer: {e}")))
}
