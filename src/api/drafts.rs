//! Drafts: view, add, remove, clear, validate, import.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::core::diagnostic::Diagnostic;
use crate::core::draft::DraftServer;
use crate::core::error::ErrorBody;
use crate::core::orchestrator::AddServer;
use crate::core::probe::ProbeReport;
use crate::core::render::SecretStyle;
use crate::core::{Orchestrator, Result};

/// A draft as every face shows it (`draft show --json`, `view_draft_config`,
/// `GET /v1/config/{client_id}/{profile}/draft`): the original project's shape (`draft`,
/// `servers` as names) plus the entries as they would be written.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DraftView {
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// The draft's servers by name (secret values never: only their names).
    pub draft: BTreeMap<String, DraftServer>,
    /// Server names, sorted.
    pub servers: Vec<String>,
    /// How many.
    pub server_count: usize,
    /// Change counter.
    pub revision: u64,
    /// When it last changed.
    pub updated_at: Option<DateTime<Utc>>,
    /// The entries as they would be written, in the client's spelling (secrets referenced);
    /// empty when they cannot be rendered (see `render_error`).
    #[serde(rename = "mcpServers")]
    pub mcp_servers: BTreeMap<String, Value>,
    /// Why the entries cannot be rendered yet (the draft is shown all the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub render_error: Option<ErrorBody>,
}

/// The draft of a client and profile (empty when none was started).
pub fn view_draft(orch: &Orchestrator, client: &str, profile: &str) -> Result<DraftView> {
    let draft = orch.draft(client, profile)?;
    let rendered = orch.render_entries(
        orch.client(client)?,
        &draft.servers,
        SecretStyle::AsConfigured,
    );
    let (mcp_servers, render_error) = match rendered {
        Ok(entries) => (entries, None),
        Err(e) => (BTreeMap::new(), Some(e.body())),
    };
    Ok(DraftView {
        client_id: draft.client,
        profile_id: draft.profile,
        servers: draft.servers.keys().cloned().collect(),
        server_count: draft.servers.len(),
        revision: draft.revision,
        updated_at: draft.updated_at,
        draft: draft.servers,
        mcp_servers,
        render_error,
    })
}

/// What a change of one server did to the draft.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DraftChange {
    /// `added`, `unchanged` (`if_exists: keep` found the same server there) or `removed`.
    pub status: String,
    /// The server's name in the draft.
    pub server_name: String,
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// The server as added (absent on removal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<DraftServer>,
    /// Servers in the draft now.
    pub server_count: usize,
    /// Their names.
    pub servers: Vec<String>,
    /// Secrets written to the secret store (names only).
    pub stored_secrets: Vec<String>,
    /// The draft's validation problems after the change.
    pub diagnostics: Vec<Diagnostic>,
}

/// Adds a catalog server to a draft (`draft add`, `add_server_to_config`, `POST …/draft/add`).
pub fn add_server(orch: &Orchestrator, add: &AddServer) -> Result<DraftChange> {
    let outcome = orch.add_server(add)?;
    let draft = orch.draft(&add.client, &add.profile)?;
    Ok(DraftChange {
        status: if outcome.unchanged {
            "unchanged"
        } else {
            "added"
        }
        .into(),
        server_name: outcome.name,
        client_id: draft.client,
        profile_id: draft.profile,
        server: Some(outcome.server),
        server_count: outcome.server_count,
        servers: draft.servers.keys().cloned().collect(),
        stored_secrets: outcome.stored_secrets,
        diagnostics: outcome.diagnostics,
    })
}

/// Removes a server from a draft (`draft remove`, `remove_server_from_config`,
/// `POST …/draft/remove`).
pub fn remove_server(
    orch: &Orchestrator,
    client: &str,
    profile: &str,
    name: &str,
) -> Result<DraftChange> {
    let draft = orch.remove_server(client, profile, name)?;
    let diagnostics = orch.validate_draft(&draft);
    Ok(DraftChange {
        status: "removed".into(),
        server_name: name.to_owned(),
        client_id: draft.client,
        profile_id: draft.profile,
        server: None,
        server_count: draft.servers.len(),
        servers: draft.servers.keys().cloned().collect(),
        stored_secrets: Vec::new(),
        diagnostics,
    })
}

/// `draft clear`, `clear_draft_config`, `DELETE …/draft`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DraftCleared {
    /// `cleared`.
    pub status: String,
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// Servers the draft had.
    pub previous_count: usize,
}

/// Empties a draft.
pub fn clear_draft(orch: &Orchestrator, client: &str, profile: &str) -> Result<DraftCleared> {
    let previous_count = orch.clear_draft(client, profile)?;
    Ok(DraftCleared {
        status: "cleared".into(),
        client_id: client.to_owned(),
        profile_id: profile.to_owned(),
        previous_count,
    })
}

/// `validate --json`, `validate_config`, `POST …/validate`: an invalid draft is a normal
/// answer (`valid: false`), not an error.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Validation {
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// No errors (warnings allowed).
    pub valid: bool,
    /// Servers in the draft.
    pub server_count: usize,
    /// Errors.
    pub errors: Vec<Diagnostic>,
    /// Warnings.
    pub warnings: Vec<Diagnostic>,
    /// What starting each server found (`validate --probe` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probes: Option<Vec<ProbeReport>>,
}

/// Validates a draft.
pub fn validate(orch: &Orchestrator, client: &str, profile: &str) -> Result<Validation> {
    let r = orch.validate(client, profile)?;
    Ok(Validation {
        client_id: r.client_id,
        profile_id: r.profile_id,
        valid: r.valid,
        server_count: r.server_count,
        errors: r.errors,
        warnings: r.warnings,
        probes: None,
    })
}

/// A server the import left out.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Skipped {
    /// Its name in the client's file.
    pub server_name: String,
    /// Why.
    pub reason: String,
}

/// `import --json`, `import_client_config`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ImportOutcome {
    /// `imported`.
    pub status: String,
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// The file read.
    pub path: PathBuf,
    /// Servers adopted into the draft.
    pub imported: Vec<String>,
    /// Servers left out.
    pub skipped: Vec<Skipped>,
    /// Plain-text secrets moved into the secret store (names only).
    pub secrets_moved: Vec<String>,
    /// Servers now in the draft.
    pub server_count: usize,
}

/// Adopts the servers of the client's file into the draft.
pub fn import(orch: &Orchestrator, client: &str, profile: &str) -> Result<ImportOutcome> {
    let r = orch.import(client, profile)?;
    Ok(ImportOutcome {
        status: "imported".into(),
        client_id: client.to_owned(),
        profile_id: profile.to_owned(),
        path: r.path,
        imported: r.imported,
        skipped: r
            .skipped
            .into_iter()
            .map(|(server_name, reason)| Skipped {
                server_name,
                reason,
            })
            .collect(),
        secrets_moved: r.secrets_moved,
        server_count: r.server_count,
    })
}
