//! Registry sync, health probes and `doctor` (façade part).
//!
//! The I/O methods are `async` (they run on whatever tokio runtime the caller has: the MCP
//! server's, the TUI's); each has a `*_blocking` twin for the one-shot CLI that runs it on a
//! fresh current-thread runtime and so must not be called from inside a runtime.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Orchestrator;
use crate::core::catalog::{Catalog, ServerEntry};
use crate::core::draft::DraftServer;
use crate::core::error::Result;
use crate::core::probe::{self, ProbeReport};
use crate::core::registry::{self, RegistryStore, Skipped, SyncOptions, SyncProgress, SyncReport};
use crate::core::search::{self, Hit, Query, SearchIndex};
use crate::core::state::StateDir;

/// What loading the registry cache into the catalog did (kept for `registry status`).
#[derive(Debug, Clone, Default)]
pub struct RegistryLoad {
    /// Registry entries now in the catalog.
    pub entries: usize,
    /// Cached servers that could not be converted.
    pub skipped: Vec<Skipped>,
    /// Registry ids left out because a bundled or user entry has the same id.
    pub shadowed: Vec<String>,
    /// Registry name of each registry entry in the catalog, by id.
    pub names: BTreeMap<String, String>,
    /// Why the cache could not be read (the catalog then has no registry entries).
    pub error: Option<String>,
}

impl RegistryLoad {
    /// Adds the cached registry entries to `catalog`. A cache that cannot be read leaves the
    /// catalog as it is and is reported by `registry status` and `doctor`, so no command fails
    /// because of it.
    pub fn merge(state: &StateDir, catalog: &mut Catalog) -> Self {
        match registry_store(state).entries() {
            Ok(file) => {
                let count = file.entries.len();
                let shadowed = catalog.extend_missing(file.entries);
                let mut names = file.names;
                for id in &shadowed {
                    names.remove(id);
                }
                Self {
                    entries: count - shadowed.len(),
                    skipped: file.skipped,
                    shadowed,
                    names,
                    error: None,
                }
            }
            Err(e) => Self {
                error: Some(e.to_string()),
                ..Self::default()
            },
        }
    }
}

fn registry_store(state: &StateDir) -> RegistryStore {
    RegistryStore::new(state.join("registry"), state.locks().join("registry.lock"))
}

/// `mcp-orch registry status`.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryStatus {
    /// The URL a sync would use now (flag, `MCP_ORCH_REGISTRY_URL`, or the official one).
    pub url: String,
    /// The URL of the cached data.
    pub synced_url: Option<String>,
    /// Whether a sync ever completed.
    pub synced: bool,
    /// When the last sync finished.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// When the last full sync finished.
    pub last_full_sync_at: Option<DateTime<Utc>>,
    /// `updated_since` of the next incremental sync.
    pub updated_since: Option<DateTime<Utc>>,
    /// Servers in the cache.
    pub server_count: usize,
    /// Registry entries in the catalog.
    pub entry_count: usize,
    /// Servers skipped (cannot be converted, or invalid in the last sync).
    pub skipped_count: usize,
    /// Those servers, with the reason.
    pub skipped: Vec<Skipped>,
    /// Registry ids hidden by a bundled or user entry of the same id.
    pub shadowed: Vec<String>,
    /// The cache file.
    pub cache_path: PathBuf,
    /// Why the cache could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What to probe.
#[derive(Debug, Clone)]
pub enum ProbeTarget {
    /// `mcp-orch probe NAME [--client C] [--profile P]`: with a client, the server of that
    /// name in the client's draft, falling back to the catalog entry with that id; without one,
    /// the catalog entry.
    Named {
        /// Draft name or catalog id.
        name: String,
        /// Client id.
        client: Option<String>,
        /// Profile id (default `default`).
        profile: Option<String>,
        /// Parameter values for a catalog entry.
        params: Vec<(String, String)>,
    },
    /// A draft server held by the caller (for example an unsaved edit in the TUI).
    Server {
        /// Its name.
        name: String,
        /// The server.
        server: DraftServer,
    },
}

impl ProbeTarget {
    /// A server by name or catalog id, the way the CLI resolves it.
    pub fn named(name: impl Into<String>, client: Option<String>, profile: Option<String>) -> Self {
        Self::Named {
            name: name.into(),
            client,
            profile,
            params: Vec::new(),
        }
    }
}

/// How a `doctor` check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Fine.
    Ok,
    /// Worth knowing; does not fail `doctor`.
    Warn,
    /// Wrong: `doctor` exits 1.
    Error,
}

/// One `doctor` check.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorCheck {
    /// `tool`, `client`, `permissions` or `registry`.
    pub category: &'static str,
    /// What was checked (a command, a client id, a file).
    pub name: String,
    /// Outcome.
    pub status: CheckStatus,
    /// What was found.
    pub message: String,
    /// What to do, when something is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The file concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// A tool's version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `mcp-orch doctor`.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// No errors.
    pub ok: bool,
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Every check.
    pub checks: Vec<DoctorCheck>,
}

/// One deployed (client, profile), verified as its client starts its servers.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// Whether every owned entry answered.
    pub ok: bool,
    /// Each owned entry, started as the client would.
    pub servers: Vec<ProbeReport>,
    /// What the client's own list command says of each, when it is installed.
    pub client_says: Option<BTreeMap<String, String>>,
}

impl Orchestrator {
    /// The registry files.
    pub fn registry_store(&self) -> RegistryStore {
        registry_store(&self.state)
    }

    /// The registry URL to use: `flag`, else `MCP_ORCH_REGISTRY_URL`, else the official one.
    pub fn registry_url(&self, flag: Option<&str>) -> String {
        flag.map(str::to_owned)
            .or_else(|| self.env.var(registry::URL_ENV).map(str::to_owned))
            .unwrap_or_else(|| registry::DEFAULT_URL.to_owned())
    }

    /// Syncs the registry cache (network). The catalog of this handle does not change; open a
    /// new one to see the new entries.
    pub async fn sync_registry(
        &self,
        opts: &SyncOptions,
        progress: &mut (dyn FnMut(&SyncProgress) + Send),
    ) -> Result<SyncReport> {
        let clock = self.clock.clone();
        self.registry_store()
            .sync(opts, move || clock.now(), progress)
            .await
    }

    /// [`Self::sync_registry`] on a current-thread runtime of its own.
    pub fn sync_registry_blocking(
        &self,
        opts: &SyncOptions,
        progress: &mut (dyn FnMut(&SyncProgress) + Send),
    ) -> Result<SyncReport> {
        probe::runtime()?.block_on(self.sync_registry(opts, progress))
    }

    /// The registry name of a catalog entry that came from the registry.
    pub fn registry_name(&self, id: &str) -> Option<&str> {
        self.registry.names.get(id).map(String::as_str)
    }

    /// A catalog entry with everything known about it: for a registry entry, its whole
    /// `server.json` from the cache (the catalog itself keeps entries lean).
    pub fn server_details(&self, id: &str) -> Result<ServerEntry> {
        let mut entry = self.server(id)?.clone();
        if entry.server_json.is_none()
            && let Some(name) = self.registry_name(id)
        {
            entry.server_json = self.registry_store().server_json(name)?;
        }
        Ok(entry)
    }

    /// The registry cache's state (no network).
    pub fn registry_status(&self) -> Result<RegistryStatus> {
        let store = self.registry_store();
        let state = store.load_state()?;
        let load = &self.registry;
        let mut skipped = load.skipped.clone();
        for s in &state.skipped {
            if !skipped.contains(s) {
                skipped.push(s.clone());
            }
        }
        Ok(RegistryStatus {
            url: self.registry_url(None),
            synced_url: state.url,
            synced: state.last_sync_at.is_some(),
            last_sync_at: state.last_sync_at,
            last_full_sync_at: state.last_full_sync_at,
            updated_since: state.watermark,
            server_count: state.server_count,
            entry_count: load.entries,
            skipped_count: skipped.len(),
            skipped,
            shadowed: load.shadowed.clone(),
            cache_path: store.cache_path(),
            error: load.error.clone(),
        })
    }
}

/// Whether any probe of a list failed (unsupported transports do not count).
pub fn any_probe_failed(reports: &[ProbeReport]) -> bool {
    reports.iter().any(|r| {
        matches!(
            r.status,
            probe::ProbeStatus::Failed | probe::ProbeStatus::Timeout
        )
    })
}

impl Orchestrator {
    // ---- catalog --------------------------------------------------------------------------

    /// Ranked catalog search.
    pub fn search(&self, query: &Query) -> Vec<(&ServerEntry, Hit)> {
        let entries = self.catalog.entries();
        search::search(
            &self.catalog,
            self.index
                .get_or_init(|| SearchIndex::build(self.catalog.entries())),
            query,
        )
        .into_iter()
        .map(|h| (&entries[h.index], h))
        .collect()
    }

    /// A catalog entry.
    pub fn server(&self, id: &str) -> Result<&ServerEntry> {
        self.catalog.get(id)
    }
}
