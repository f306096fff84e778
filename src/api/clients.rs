//! Clients and their profiles.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::core::clients::{Candidate, RemoteSupport, ResolvedVersion};
use crate::core::env::Os;
use crate::core::profiles::Scope;
use crate::core::{Orchestrator, Result};

/// One known client and what was found of it on this machine.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ClientInfo {
    /// Client id, e.g. `cursor`.
    pub client_id: String,
    /// Display name.
    pub display_name: String,
    /// The file's format: `json`, `jsonc`, `toml` or `yaml`.
    pub config_format: String,
    /// The user-scope file: the first existing candidate, else the first candidate.
    pub config_location: Option<PathBuf>,
    /// Whether that file exists.
    pub detected: bool,
    /// Servers in the file now (`null` when it is missing or unreadable).
    pub server_count: Option<usize>,
    /// Profile ids.
    pub available_profiles: Vec<String>,
    /// Whether remote servers are written natively or through the `mcp-remote` bridge.
    pub remote_support: RemoteSupport,
    /// Whether the client has a project-scope file.
    pub project_scope: bool,
    /// Every candidate path, in probe order.
    pub candidates: Vec<Candidate>,
    /// Why the file could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For a client whose accepted shape depends on its version: the version entries are
    /// written for, how it was found, and what that version range changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<ResolvedVersion>,
}

/// `clients --json`, `list_clients`, `GET /v1/clients`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ClientList {
    /// Every known client.
    pub clients: Vec<ClientInfo>,
    /// How many.
    pub count: usize,
    /// The operating system paths were resolved for.
    pub platform: Os,
}

/// Every client with its detected state.
pub fn list_clients(orch: &Orchestrator) -> Result<ClientList> {
    let clients: Vec<ClientInfo> = orch
        .client_statuses()?
        .into_iter()
        .map(|s| ClientInfo {
            client_id: s.id,
            display_name: s.name,
            config_format: s.format.to_owned(),
            config_location: s.config.path,
            detected: s.detected,
            server_count: s.server_count,
            available_profiles: s.profiles,
            remote_support: s.remote,
            project_scope: s.project_scope,
            candidates: s.config.candidates,
            error: s.error,
            version: s.version,
        })
        .collect();
    Ok(ClientList {
        count: clients.len(),
        clients,
        platform: orch.env().os,
    })
}

/// One profile of a client, with its target file and its draft's size.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProfileInfo {
    /// Profile id.
    pub profile_id: String,
    /// What it is for.
    pub description: String,
    /// `user` or `project`.
    pub scope: Scope,
    /// The project root, for project scope.
    pub project_dir: Option<PathBuf>,
    /// A file pinned with `--path`.
    pub pinned_path: Option<PathBuf>,
    /// The file deploys write.
    pub target_path: Option<PathBuf>,
    /// Whether it exists.
    pub target_exists: bool,
    /// When the profile was created (`null` for the implicit default).
    pub created_at: Option<DateTime<Utc>>,
    /// Servers in its draft.
    pub draft_server_count: usize,
    /// The draft's change counter.
    pub draft_revision: u64,
    /// When the draft last changed.
    pub updated_at: Option<DateTime<Utc>>,
}

/// `profiles list --json`, `list_profiles`, `GET /v1/clients/{client_id}/profiles`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProfileList {
    /// Client id.
    pub client_id: String,
    /// Its profiles.
    pub profiles: Vec<ProfileInfo>,
    /// How many.
    pub count: usize,
}

/// The profiles of a client.
pub fn list_profiles(orch: &Orchestrator, client: &str) -> Result<ProfileList> {
    let client = orch.client(client)?.id.clone();
    let mut profiles = Vec::new();
    for p in orch.profiles(&client)? {
        let target = orch.target(&client, &p.id)?;
        let draft = orch.draft(&client, &p.id)?;
        profiles.push(ProfileInfo {
            profile_id: p.id,
            description: p.description,
            scope: p.scope,
            project_dir: p.project_dir,
            pinned_path: p.path,
            target_path: target.path,
            target_exists: target.exists,
            created_at: p.created_at,
            draft_server_count: draft.servers.len(),
            draft_revision: draft.revision,
            updated_at: draft.updated_at,
        });
    }
    Ok(ProfileList {
        client_id: client,
        count: profiles.len(),
        profiles,
    })
}
