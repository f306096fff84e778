//! Team mode: the team's root, snapshot and releases as machines pull them, and the
//! developer machine's remotes and pulls.

pub use crate::core::orchestrator::{PullReport, RemoteView, TeamStatus};
pub use crate::core::remote::RootList;
pub use crate::core::team::{PulledRelease, Signed};

use crate::core::{Orchestrator, Result};

/// `GET /v1/team/roots`: every version of the team's root, oldest first.
///
/// # Errors
/// `TEAM_NOT_INITIALIZED`, or the store's own failure.
pub fn roots(orch: &Orchestrator) -> Result<RootList> {
    let roots = orch.team_roots()?;
    if roots.is_empty() {
        // The same refusal, and hint, as the snapshot's.
        orch.team_status()?;
    }
    Ok(RootList { roots })
}

/// `mcp-orch remote list --json`.
///
/// # Errors
/// A remote file that does not parse.
pub fn remotes(orch: &Orchestrator) -> Result<RemoteList> {
    Ok(RemoteList {
        remotes: orch.remotes()?,
    })
}

/// The remotes of a machine.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct RemoteList {
    /// By name.
    pub remotes: Vec<RemoteView>,
}
