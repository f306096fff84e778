//! The façade: the one handle the CLI, the TUI, the MCP server and the HTTP API all call.
//! It owns the registry, the catalog and the stores, and every front-end gets the same
//! behaviour and the same errors from it.

use crate::core::code::Code;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::core::audit::{AuditEvent, AuditLog, AuditRecord};
use crate::core::batch::Batcher;
use crate::core::catalog::{Catalog, ParamSpec, ParamType, ServerEntry, Transport};
use crate::core::clients::{ClientDef, ClientRegistry, RemoteSupport, ResolvedPath};
use crate::core::diff::{self, ServerDiff};
use crate::core::document;
use crate::core::draft::{Draft, DraftServer, DraftStore, EnvValue, Origin};
use crate::core::env::Environment;
use crate::core::error::{Error, Result};
use crate::core::fsutil;
use crate::core::import;
use crate::core::next::Hint;
use crate::core::profiles::{Profile, ProfileStore, Scope};
use crate::core::render::{self, RenderOptions, SecretDelivery, SecretStyle, SelfCommand};
use crate::core::search::{self, Hit, Query, SearchIndex};
use crate::core::secrets::{self, SecretStore};
use crate::core::state::{DeployRecord, StateDir};
use crate::core::validate::{self, Diagnostic};
use crate::core::writer;

mod deploy;
pub mod outcome;
mod publish;
mod recover;
mod registry;
mod resolve;

pub use deploy::{
    Action, DeployReport, DriftState, PlanRequest, RollbackTarget, TargetStatus, entry_hash,
};
pub use registry::{
    CheckStatus, DoctorCheck, DoctorReport, ProbeTarget, RegistryLoad, RegistryStatus,
    any_probe_failed,
};
pub use resolve::{Missing, Resolved};

/// A source of the current time, injected so tests control it.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// How the orchestrator is set up.
#[derive(Clone)]
pub struct Options {
    /// The state directory.
    pub home: PathBuf,
    /// The environment for path resolution.
    pub env: Environment,
    /// Absolute path of the `mcp-orch` binary, used by the secret launcher.
    pub launcher: PathBuf,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

impl Options {
    /// Options for this process: `home` (or the default), the process environment, the
    /// current executable and the system clock.
    pub fn from_process(home: Option<PathBuf>) -> Self {
        let env = Environment::from_process();
        let home = home
            .or_else(|| env.var("MCP_ORCH_HOME").map(PathBuf::from))
            .unwrap_or_else(default_home);
        let launcher = launcher_path(&env);
        Self {
            home,
            env,
            launcher,
            clock: Arc::new(SystemClock),
        }
    }
}

/// The absolute path client files use to start this binary. An `mcp-orch` found on `PATH`
/// that is this very binary is preferred, unresolved: it is where installers put the binary
/// (a `~/.cargo/bin` file, a package manager's symlink), so it survives upgrades, where the
/// resolved target may be a versioned directory that the next upgrade removes.
fn launcher_path(env: &Environment) -> PathBuf {
    let Some(exe) = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::canonicalize(p).ok())
    else {
        return PathBuf::from("mcp-orch");
    };
    env.var("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("mcp-orch"))
        .find(|candidate| {
            candidate.is_absolute()
                && std::fs::canonicalize(candidate).is_ok_and(|target| target == exe)
        })
        .unwrap_or(exe)
}

/// The state directory: `home` when given, else `MCP_ORCH_HOME`, else the platform default.
pub fn resolve_home(home: Option<PathBuf>) -> PathBuf {
    home.or_else(|| std::env::var_os("MCP_ORCH_HOME").map(PathBuf::from))
        .unwrap_or_else(default_home)
}

/// The platform's data directory for mcp-orch.
pub fn default_home() -> PathBuf {
    directories::ProjectDirs::from("dev", "mcp-orch", "mcp-orch").map_or_else(
        || PathBuf::from(".mcp-orch"),
        |d| d.data_dir().to_path_buf(),
    )
}

/// The orchestrator.
pub struct Orchestrator {
    state: StateDir,
    env: Environment,
    launcher: SelfCommand,
    clock: Arc<dyn Clock>,
    clients: ClientRegistry,
    catalog: Catalog,
    /// Built on the first search: most commands never search.
    index: std::sync::OnceLock<SearchIndex>,
    drafts: DraftStore,
    profiles: ProfileStore,
    secrets: SecretStore,
    registry: RegistryLoad,
    /// Unique among the orchestrators this process opens (a reload gets a new one).
    id: u64,
    /// Concurrent applies of this process to one file become one write.
    applies: writer::FileQueues<deploy::Job, Result<DeployReport>>,
    /// Concurrent audit records of this process become one append.
    audit_appends: Batcher<(AuditEvent, DateTime<Utc>), Result<AuditRecord>>,
}

/// The next [`Orchestrator::id`].
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// What `copy_draft` does with a server whose name the target's draft already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnClash {
    /// Refuse the whole copy (`NAME_CLASH`).
    #[default]
    Refuse,
    /// Replace the target's server.
    Overwrite,
    /// Keep the target's server.
    Skip,
}

/// Which clients `all` means, by what the command needs of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientSet {
    /// Clients with a stored draft of the profile.
    Drafted,
    /// Clients with a published release of the profile.
    Published,
    /// Clients deployed or published.
    Tracked,
}

/// A client as `mcp-orch clients` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ClientStatus {
    /// Client id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// File format.
    pub format: &'static str,
    /// Whether its config file exists.
    pub detected: bool,
    /// The chosen path and every candidate probed.
    pub config: ResolvedPath,
    /// Servers in the file now (absent when the file is missing or unreadable).
    pub server_count: Option<usize>,
    /// Why the file could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Profile ids.
    pub profiles: Vec<String>,
    /// Native remote support or bridge.
    pub remote: RemoteSupport,
    /// Whether a project scope exists.
    pub project_scope: bool,
}

/// A request to add a catalog server to a draft.
#[derive(Debug, Clone, Default)]
pub struct AddServer {
    /// Client id.
    pub client: String,
    /// Profile id.
    pub profile: String,
    /// Catalog id.
    pub server_id: String,
    /// Name in the client's file (defaults to the id).
    pub name: Option<String>,
    /// Parameter values.
    pub params: Vec<(String, String)>,
    /// Plain env values (values of env vars the catalog marks secret are stored as secrets).
    pub env: Vec<(String, String)>,
    /// Secret env vars: name and value (`None` = reuse the value stored for this client and
    /// profile, or a shared secret of that name). Values are stored for this client and
    /// profile only.
    pub secrets: Vec<(String, Option<String>)>,
    /// Secret env vars that read a shared secret: env var and the shared secret's name.
    pub shared_secrets: Vec<(String, String)>,
    /// How the secrets reach the server (`None`: the client's default, the launcher).
    pub secret_delivery: Option<SecretDelivery>,
}

/// What adding did.
#[derive(Debug, Clone, Serialize)]
pub struct AddOutcome {
    /// Server name in the draft.
    pub name: String,
    /// The resolved server.
    pub server: DraftServer,
    /// Servers now in the draft.
    pub server_count: usize,
    /// Secrets written to the secret store (names only).
    pub stored_secrets: Vec<String>,
    /// The draft's validation result after the change.
    pub diagnostics: Vec<Diagnostic>,
}

/// A validation result.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
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
}

/// The plan for one client file.
#[derive(Debug, Clone, Serialize)]
pub struct FileDiff {
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// The file.
    pub path: PathBuf,
    /// Whether it exists now.
    pub exists: bool,
    /// Server-level changes (redacted).
    pub servers: ServerDiff,
    /// Unified diff of the file (redacted); empty when nothing changes.
    pub unified_diff: String,
    /// Things to know (comments not kept, restart needed, ...).
    pub notes: Vec<String>,
    /// The file's new text (not redacted; never printed). Previews only: empty in what an
    /// apply reports, which does not keep a second copy of a large file.
    #[serde(skip)]
    pub new_text: String,
    /// The file's current text (never printed; previews only).
    #[serde(skip)]
    pub old_text: String,
    /// The rendered entries (never printed; previews only).
    #[serde(skip)]
    pub entries: BTreeMap<String, Value>,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The file read.
    pub path: PathBuf,
    /// Servers adopted into the draft.
    pub imported: Vec<String>,
    /// Servers skipped, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Plain-text secrets moved into the secret store (names only).
    pub secrets_moved: Vec<String>,
    /// Servers now in the draft.
    pub server_count: usize,
}

impl Orchestrator {
    /// Opens the state directory (creating it with mode 0700) and loads the registry and the
    /// catalog with the user's overlays.
    pub fn open(options: Options) -> Result<Self> {
        let Options {
            home,
            env,
            launcher,
            clock,
        } = options;
        fsutil::ensure_private_dir(&home)?;
        let launcher = SelfCommand {
            program: launcher,
            home: (home != default_home()).then(|| home.clone()),
        };
        let state = StateDir::new(home);
        let clients = ClientRegistry::load(&state.join("clients.toml"))?;
        let mut catalog = Catalog::load(&state.join("catalog.toml"))?;
        let registry = RegistryLoad::merge(&state, &mut catalog);
        let locks = state.locks();
        let orch = Self {
            drafts: DraftStore::new(state.join("drafts"), locks.clone()),
            profiles: ProfileStore::new(state.join("profiles.json"), locks.join("profiles.lock")),
            secrets: SecretStore::new(state.join("secrets.json"), locks.join("secrets.lock")),
            state,
            env,
            launcher,
            clock,
            clients,
            catalog,
            index: std::sync::OnceLock::new(),
            registry,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            applies: writer::FileQueues::default(),
            audit_appends: Batcher::default(),
        };
        // What a killed process left half done is finished before anything else happens; a
        // failure (a damaged audit log) leaves it for a later run and must not lock the user
        // out of the commands that show and repair the state.
        if let Err(e) = orch.recover() {
            tracing::warn!(
                code = e.code(),
                "recovering interrupted operations failed: {e}"
            );
        }
        Ok(orch)
    }

    /// Identifies this loaded state: the catalog and the client registry do not change while
    /// it lives, so answers derived from them alone can be kept under this id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The state directory.
    pub fn home(&self) -> &Path {
        self.state.root()
    }

    /// The state directory layout.
    pub fn state(&self) -> &StateDir {
        &self.state
    }

    /// The environment snapshot.
    pub fn env(&self) -> &Environment {
        &self.env
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The client registry.
    pub fn clients(&self) -> &ClientRegistry {
        &self.clients
    }

    /// A client by id.
    pub fn client(&self, id: &str) -> Result<&ClientDef> {
        self.clients.get(id)
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The names of the stored secrets (never their values).
    pub fn secret_names(&self) -> Result<Vec<String>> {
        self.secrets.names()
    }

    /// The key a secret env var of a (client, profile) is stored under, if any: its scoped
    /// key, else the shared one.
    pub fn stored_secret_key(
        &self,
        client: &str,
        profile: &str,
        var: &str,
    ) -> Result<Option<String>> {
        self.secrets.stored_key(client, profile, var)
    }

    /// Stores a secret (the name checked).
    pub fn set_secret(&self, name: &str, value: &str) -> Result<()> {
        secrets::check_secret_name(name)?;
        self.secrets.set(name, value)
    }

    /// Removes a secret: `UNKNOWN_SECRET` when there is none of that name.
    pub fn remove_secret(&self, name: &str) -> Result<()> {
        if self.secrets.remove(name)? {
            Ok(())
        } else {
            Err(Error::invalid(
                Code::UnknownSecret,
                "name",
                format!("no secret named `{}`", crate::core::error::echo(name)),
                Hint::step(
                    "list the stored secrets' names",
                    crate::core::next::Op::ListSecrets,
                    &[],
                ),
            ))
        }
    }

    /// How client files start this binary (the launcher, the bridge, `serve`).
    pub fn launcher(&self) -> &SelfCommand {
        &self.launcher
    }

    /// The audit records `filter` selects, oldest first.
    pub fn audit_records(&self, filter: &crate::core::audit::Filter) -> Result<Vec<AuditRecord>> {
        self.audit_log().read(filter)
    }

    /// Checks the audit log's hash chain.
    pub fn verify_audit(&self) -> Result<crate::core::audit::VerifyReport> {
        self.audit_log().verify()
    }

    /// The audit log's file (for tailing it).
    pub fn audit_path(&self) -> PathBuf {
        self.audit_log().path().clone()
    }

    /// The audit log.
    pub(crate) fn audit_log(&self) -> AuditLog {
        AuditLog::new(
            self.state.join("audit.jsonl"),
            self.state.locks().join("audit.lock"),
        )
    }

    /// Appends an event to the audit log.
    pub fn record(&self, event: AuditEvent) -> Result<AuditRecord> {
        // Records of concurrent operations of this process share one append and one fsync.
        self.audit_appends.submit((event, self.now()), |events| {
            let count = events.len();
            match self.audit_log().append_all(events) {
                Ok(records) => records.into_iter().map(Ok).collect(),
                Err(e) => (0..count).map(|_| Err(e.replicate())).collect(),
            }
        })
    }

    /// The actor a local front-end records: `face:user` (`cli:alice`, `tui:alice`), the user
    /// from `USER` or `LOGNAME`.
    pub fn local_actor(&self, face: &str) -> String {
        let user = self
            .env
            .var("USER")
            .or_else(|| self.env.var("LOGNAME"))
            .filter(|u| !u.is_empty())
            .unwrap_or("unknown");
        format!("{face}:{user}")
    }

    /// Runs `op` and appends its audit record: `ok` builds the success event from the result;
    /// a failure is recorded with its error code (and the original error is returned even if
    /// recording it fails). The log is checked first, so an operation whose record could not
    /// be appended is refused before it acts (`AUDIT_CORRUPT`), never after.
    pub(crate) fn audited<T>(
        &self,
        failed: impl FnOnce(&str) -> AuditEvent,
        op: impl FnOnce() -> Result<T>,
        ok: impl FnOnce(&T) -> AuditEvent,
    ) -> Result<T> {
        self.audit_log().check_appendable()?;
        match op() {
            Ok(value) => {
                self.record(ok(&value))?;
                Ok(value)
            }
            Err(e) => {
                let _ = self.record(failed(e.code()));
                Err(e)
            }
        }
    }

    /// Appends the events of one operation to the audit log, in order, with one write.
    pub fn record_all(&self, events: Vec<AuditEvent>) -> Result<Vec<AuditRecord>> {
        let now = self.now();
        self.audit_log()
            .append_all(events.into_iter().map(|e| (e, now)).collect())
    }

    /// The intent records of operations in flight.
    fn intents(&self) -> crate::core::intent::IntentStore {
        crate::core::intent::IntentStore::new(self.state.join("intents"))
    }

    // ---- clients and profiles -------------------------------------------------------------

    /// The clients a command names: one id, a comma-separated list, or `all`: every client
    /// with a stored draft of `profile` ([`ClientSet::Drafted`]: validate, publish, apply),
    /// with a published release of it ([`ClientSet::Published`]: deploy), or deployed or
    /// published ([`ClientSet::Tracked`]: status). Whether the client's file exists yet
    /// does not matter. Unknown ids and profiles are errors, before anything is done.
    pub fn select_clients(&self, spec: &str, profile: &str, set: ClientSet) -> Result<Vec<String>> {
        if spec.trim() != "all" {
            let ids: Vec<String> = spec
                .split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect();
            if ids.is_empty() {
                return Err(Error::invalid(
                    Code::InvalidArgument,
                    "client_id",
                    "no client named",
                    "name a client id, a comma-separated list, or `all`",
                ));
            }
            for id in &ids {
                self.profile(id, profile)?;
            }
            return Ok(ids);
        }
        let mut chosen = Vec::new();
        for id in self.clients.ids() {
            if self.profiles.get(&id, profile).is_err() {
                continue;
            }
            let wanted = match set {
                ClientSet::Drafted => self.drafts.exists(&id, profile),
                ClientSet::Published => self.latest_release(&id, profile)?.is_some(),
                ClientSet::Tracked => {
                    self.latest_release(&id, profile)?.is_some()
                        || self.deploy_record(&id, profile)?.deployed_at.is_some()
                }
            };
            if wanted {
                chosen.push(id);
            }
        }
        Ok(chosen)
    }

    /// Every client with its detected state.
    pub fn client_statuses(&self) -> Result<Vec<ClientStatus>> {
        self.clients
            .all()
            .iter()
            .map(|c| self.client_status(c))
            .collect()
    }

    /// One client's detected state.
    pub fn client_status(&self, client: &ClientDef) -> Result<ClientStatus> {
        let config = client.resolve_user(&self.env);
        let (server_count, error) = match (&config.path, config.exists) {
            (Some(path), true) => match self.read_entries(client, path) {
                Ok((_, entries)) => (Some(entries.len()), None),
                Err(e) => (None, Some(e.to_string())),
            },
            _ => (None, None),
        };
        Ok(ClientStatus {
            id: client.id.clone(),
            name: client.name.clone(),
            format: client.format.as_str(),
            detected: config.exists,
            config,
            server_count,
            error,
            profiles: self
                .profiles
                .list(&client.id)?
                .into_iter()
                .map(|p| p.id)
                .collect(),
            remote: client.remote.support,
            project_scope: client.has_project_scope(),
        })
    }

    /// The profiles of a client.
    pub fn profiles(&self, client: &str) -> Result<Vec<Profile>> {
        self.client(client)?;
        self.profiles.list(client)
    }

    /// A profile of a client.
    pub fn profile(&self, client: &str, profile: &str) -> Result<Profile> {
        self.client(client)?;
        self.profiles.get(client, profile)
    }

    /// Creates a profile.
    pub fn create_profile(&self, client: &str, profile: Profile) -> Result<Profile> {
        let def = self.client(client)?;
        if profile.scope == Scope::Project && !def.has_project_scope() && profile.path.is_none() {
            return Err(Error::invalid(
                Code::NoProjectScope,
                "scope",
                format!("{} has no project-scope config file", def.name),
                "use the user scope, or pin a file with --path",
            ));
        }
        self.profiles.create(client, profile, self.now())
    }

    /// Deletes a profile and its draft.
    pub fn delete_profile(&self, client: &str, profile: &str) -> Result<()> {
        self.client(client)?;
        self.profiles.delete(client, profile)?;
        self.drafts.delete(client, profile)
    }

    /// The file a profile deploys to.
    pub fn target(&self, client: &str, profile: &str) -> Result<ResolvedPath> {
        let def = self.client(client)?;
        let profile = self.profiles.get(client, profile)?;
        Ok(match (&profile.path, profile.scope) {
            (Some(path), _) => {
                let path = self
                    .env
                    .expand(&path.display().to_string())
                    .unwrap_or_else(|| path.clone());
                let exists = path.is_file();
                ResolvedPath {
                    path: Some(path.clone()),
                    exists,
                    candidates: vec![crate::core::clients::Candidate { path, exists }],
                }
            }
            (None, Scope::Project) => {
                def.resolve_project(profile.project_dir.as_deref().unwrap_or(&self.env.cwd))
            }
            (None, Scope::User) => def.resolve_user(&self.env),
        })
    }

    /// The target file, or an error when the client has no candidate path on this OS.
    pub fn target_path(&self, client: &str, profile: &str) -> Result<PathBuf> {
        self.target(client, profile)?.path.ok_or_else(|| {
            Error::invalid(
                Code::NoConfigPath,
                "client_id",
                format!("no config path is known for `{client}` on this system"),
                Hint::step(
                    format!(
                        "pin a file on a profile, or set {}",
                        self.client(client)
                            .map(ClientDef::override_var)
                            .unwrap_or_default()
                    ),
                    crate::core::next::Op::CreateProfile,
                    &[
                        ("client_id", client),
                        ("profile_id", "PROFILE"),
                        ("path", "FILE"),
                    ],
                ),
            )
        })
    }

    /// Reads a client file's text (empty when missing) and entries.
    pub fn read_entries(
        &self,
        client: &ClientDef,
        path: &Path,
    ) -> Result<(String, Vec<(String, Value)>)> {
        let bytes = fsutil::read_optional(path)?.unwrap_or_default();
        let text = String::from_utf8(bytes).map_err(|_| Error::Parse {
            path: path.to_path_buf(),
            message: "the file is not UTF-8".into(),
            code: Code::ConfigParseError,
        })?;
        let doc = document::open(client, &text, path)?;
        Ok((text, doc.entries()))
    }

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

    // ---- drafts ---------------------------------------------------------------------------

    fn check_target(&self, client: &str, profile: &str) -> Result<()> {
        self.client(client)?;
        self.profiles.get(client, profile).map(|_| ())
    }

    /// The draft of a (client, profile).
    pub fn draft(&self, client: &str, profile: &str) -> Result<Draft> {
        self.check_target(client, profile)?;
        self.drafts.load(client, profile)
    }

    /// Adds a catalog server to a draft. Parameters are type-checked and defaults applied;
    /// secrets go to the secret store and the draft keeps their names.
    pub fn add_server(&self, req: &AddServer) -> Result<AddOutcome> {
        let resolve::Resolved {
            name,
            server,
            pending_secrets,
            ..
        } = self.resolve_server(req, resolve::Missing::Refuse)?;
        let mut stored_secrets = Vec::new();
        let ((), draft) = self
            .drafts
            .update(&req.client, &req.profile, self.now(), |draft| {
                if draft.servers.contains_key(&name) {
                    return Err(resolve::duplicate_name(&name));
                }
                // Only once the add cannot be rejected: a failed add leaves the secret store as it was.
                for (key, value) in &pending_secrets {
                    self.secrets.set(key, value)?;
                    stored_secrets.push(key.clone());
                }
                draft.servers.insert(name.clone(), server.clone());
                Ok(())
            })?;
        Ok(AddOutcome {
            diagnostics: self.validate_draft(&draft),
            server_count: draft.servers.len(),
            name,
            server,
            stored_secrets,
        })
    }

    /// Removes a server from a draft.
    pub fn remove_server(&self, client: &str, profile: &str, name: &str) -> Result<Draft> {
        self.check_target(client, profile)?;
        let ((), draft) = self.drafts.update(client, profile, self.now(), |draft| {
            draft
                .servers
                .remove(name)
                .map(|_| ())
                .ok_or_else(|| Error::NotInDraft {
                    client: client.to_owned(),
                    profile: profile.to_owned(),
                    name: name.to_owned(),
                })
        })?;
        Ok(draft)
    }

    /// Empties a draft; returns how many servers it had.
    pub fn clear_draft(&self, client: &str, profile: &str) -> Result<usize> {
        self.check_target(client, profile)?;
        let (count, _) = self.drafts.update(client, profile, self.now(), |draft| {
            let count = draft.servers.len();
            draft.servers.clear();
            Ok(count)
        })?;
        Ok(count)
    }

    /// Copies the draft's servers into other clients' drafts (same or another profile).
    /// Secrets scoped to the source get the target's own key (value copied). A server whose
    /// name the target's draft already has is a `NAME_CLASH`, refused before anything is
    /// copied, unless `on_clash` says to overwrite or skip it.
    pub fn copy_draft(
        &self,
        client: &str,
        profile: &str,
        targets: &[String],
        target_profile: &str,
        on_clash: OnClash,
    ) -> Result<Vec<(String, usize)>> {
        let source = self.draft(client, profile)?;
        for target in targets {
            self.check_target(target, target_profile)?;
        }
        if on_clash == OnClash::Refuse {
            let clashes: Vec<String> = targets
                .iter()
                .map(|target| Ok((target, self.draft(target, target_profile)?)))
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .flat_map(|(target, draft)| {
                    source
                        .servers
                        .keys()
                        .filter(|name| draft.servers.contains_key(*name))
                        .map(|name| format!("{target}: {name}"))
                        .collect::<Vec<_>>()
                })
                .collect();
            if !clashes.is_empty() {
                return Err(Error::invalid(
                    Code::NameClash,
                    "to",
                    format!(
                        "the target drafts already have servers of these names: {}",
                        clashes.join(", ")
                    ),
                    "replace them with --overwrite, keep them with --skip, or rename the servers first",
                ));
            }
        }
        let source_scope = format!("{client}/{profile}/");
        let stored = self.secrets.all()?;
        targets
            .iter()
            .map(|target| {
                let mut servers = source.servers.clone();
                for value in servers.values_mut().flat_map(|s| s.env.values_mut()) {
                    if let EnvValue::Secret { secret } = value
                        && let Some(var) = secret.strip_prefix(&source_scope)
                    {
                        let key = secrets::scoped_key(target, target_profile, var);
                        if !stored.contains_key(&key)
                            && let Some(v) = stored.get(secret.as_str())
                        {
                            self.secrets.set(&key, v)?;
                        }
                        *secret = key;
                    }
                }
                let (count, _) =
                    self.drafts
                        .update(target, target_profile, self.now(), |draft| {
                            for (name, server) in &servers {
                                if on_clash == OnClash::Skip && draft.servers.contains_key(name) {
                                    continue;
                                }
                                draft.servers.insert(name.clone(), server.clone());
                            }
                            Ok(draft.servers.len())
                        })?;
                Ok((target.clone(), count))
            })
            .collect()
    }

    /// Adopts the servers already in the client's file into the draft. Plain-text secrets are
    /// moved into the secret store; servers whose names are already in the draft are skipped.
    pub fn import(&self, client: &str, profile: &str) -> Result<ImportReport> {
        self.check_target(client, profile)?;
        let def = self.client(client)?;
        let path = self.target_path(client, profile)?;
        let (_, entries) = self.read_entries(def, &path)?;
        let stored = self.secrets.all()?;
        let mut converted = Vec::new();
        let mut skipped = Vec::new();
        let mut to_store: BTreeMap<String, String> = BTreeMap::new();
        let scope = secrets::scoped_key(client, profile, "");
        // Servers the draft has are skipped before their secrets are moved (checked again
        // under the lock below).
        let present = self.drafts.load(client, profile)?.servers;
        for (name, value) in entries {
            if present.contains_key(&name) {
                skipped.push((name, "already in the draft".into()));
                continue;
            }
            match import::parse_entry(def, &value, &self.launcher) {
                Ok(mut server) => {
                    import::move_secrets(&name, &scope, &mut server, &stored, &mut to_store);
                    converted.push((name, server));
                }
                Err(reason) => skipped.push((name, reason)),
            }
        }
        for (key, value) in &to_store {
            self.secrets.set(key, value)?;
        }
        let (imported, draft) = self.drafts.update(client, profile, self.now(), |draft| {
            let mut imported = Vec::new();
            for (name, server) in converted {
                if draft.servers.contains_key(&name) {
                    skipped.push((name, "already in the draft".into()));
                } else {
                    draft.servers.insert(name.clone(), server);
                    imported.push(name);
                }
            }
            Ok(imported)
        })?;
        Ok(ImportReport {
            path,
            imported,
            skipped,
            secrets_moved: to_store.into_keys().collect(),
            server_count: draft.servers.len(),
        })
    }

    // ---- validation and diff --------------------------------------------------------------

    /// Validates a draft (pure apart from cached lookups; fast enough for every keystroke).
    pub fn validate_draft(&self, draft: &Draft) -> Vec<Diagnostic> {
        let secret_names: BTreeSet<String> = self
            .secrets
            .names()
            .unwrap_or_default()
            .into_iter()
            .collect();
        self.validate_with(draft, &secret_names)
    }

    /// Validates a draft against a known set of secret names.
    pub fn validate_with(&self, draft: &Draft, secret_names: &BTreeSet<String>) -> Vec<Diagnostic> {
        let env = &self.env;
        let launcher = &self.launcher;
        let command_exists = |c: &str| launcher.is_self(c) || env.command_exists(c);
        let ctx = validate::Context {
            client: self.clients.get(&draft.client).ok(),
            catalog: &self.catalog,
            secret_names,
            command_exists: &command_exists,
        };
        validate::validate(draft, &ctx)
    }

    /// Validates the stored draft of a (client, profile).
    pub fn validate(&self, client: &str, profile: &str) -> Result<ValidationReport> {
        let draft = self.draft(client, profile)?;
        let diagnostics = self.validate_draft(&draft);
        let (errors, warnings): (Vec<_>, Vec<_>) =
            diagnostics.into_iter().partition(Diagnostic::is_error);
        Ok(ValidationReport {
            client_id: client.to_owned(),
            profile_id: profile.to_owned(),
            valid: errors.is_empty(),
            server_count: draft.servers.len(),
            errors,
            warnings,
        })
    }

    /// Renders a draft's servers in the client's spelling.
    pub fn render_entries(
        &self,
        client: &ClientDef,
        servers: &BTreeMap<String, DraftServer>,
        style: SecretStyle,
    ) -> Result<BTreeMap<String, Value>> {
        let values = if style == SecretStyle::Inline {
            Some(self.secrets.all()?)
        } else {
            None
        };
        let opts = RenderOptions {
            launcher: &self.launcher,
            secret_style: style,
            secret_values: values.as_ref(),
        };
        servers
            .iter()
            .map(|(name, server)| {
                Ok((
                    name.clone(),
                    render::render_entry(client, name, server, &opts)?,
                ))
            })
            .collect()
    }

    /// The deploy record of a (client, profile).
    pub fn deploy_record(&self, client: &str, profile: &str) -> Result<DeployRecord> {
        DeployRecord::load(&self.state.deploy_record(client, profile))
    }

    /// Plans writing `entries` into the client's file: the structured diff against what the
    /// file holds and the unified diff, redacted. Only entries the deploy record owns are
    /// removed. Writes nothing.
    pub fn plan_file(
        &self,
        client: &str,
        profile: &str,
        entries: BTreeMap<String, Value>,
        adoptable: &BTreeSet<String>,
    ) -> Result<FileDiff> {
        let def = self.client(client)?;
        let path = self.target_path(client, profile)?;
        let target = writer::resolve(&path, true)?;
        let text = writer::read_text(&target.real_path)?;
        let record = self.deploy_record(client, profile)?;
        let merged = merge_entries(
            def,
            &path,
            text.as_deref().unwrap_or_default(),
            &entries,
            &record.owned,
            adoptable,
        )?;
        let now = deploy::FileNow {
            path: &path,
            target: &target,
            text: text.as_deref(),
        };
        self.file_diff(
            def,
            (client, profile),
            &now,
            &merged.text,
            merged.servers,
            merged.notes,
            &[merged.current, entries],
            true,
        )
    }

    /// Diffs the draft against the client's file.
    pub fn diff(&self, client: &str, profile: &str) -> Result<FileDiff> {
        let draft = self.draft(client, profile)?;
        let def = self.client(client)?;
        let entries = self.render_entries(def, &draft.servers, SecretStyle::AsConfigured)?;
        let adoptable = draft
            .servers
            .iter()
            .filter(|(_, s)| s.origin == Origin::Imported)
            .map(|(n, _)| n.clone())
            .collect();
        let mut plan = self.plan_file(client, profile, entries, &adoptable)?;
        plan.notes
            .extend(render::client_env_notes(def, &draft.servers));
        Ok(plan)
    }
}

/// The result of merging wanted entries into a file's text.
pub struct Merged {
    /// The entries in the file before.
    pub current: BTreeMap<String, Value>,
    /// Server-level changes (not redacted).
    pub servers: ServerDiff,
    /// The new text (the old text when nothing changes).
    pub text: String,
    /// The entries in the new text.
    pub after: BTreeMap<String, Value>,
    /// Editor notes.
    pub notes: Vec<String>,
}

/// Merges `entries` into `old_text`: adds and changes the wanted entries, removes the `owned`
/// ones that are no longer wanted, and leaves everything else as it is. Pure.
pub fn merge_entries(
    def: &ClientDef,
    path: &Path,
    old_text: &str,
    entries: &BTreeMap<String, Value>,
    owned: &BTreeSet<String>,
    adoptable: &BTreeSet<String>,
) -> Result<Merged> {
    let mut doc = document::open(def, old_text, path)?;
    let current: BTreeMap<String, Value> = doc.entries().into_iter().collect();
    let servers = diff::diff_entries(&current, entries, owned, adoptable);
    if servers.is_empty() {
        return Ok(Merged {
            after: current.clone(),
            current,
            servers,
            text: old_text.to_owned(),
            notes: doc.notes(),
        });
    }
    for name in servers
        .added
        .iter()
        .chain(servers.modified.iter().map(|m| &m.name))
    {
        doc.set_entry(name, &entries[name])?;
    }
    for name in &servers.removed {
        doc.remove_entry(name)?;
    }
    Ok(Merged {
        after: doc.entries().into_iter().collect(),
        current,
        servers,
        text: doc.text(),
        notes: doc.notes(),
    })
}

fn check_env_name(key: &str) -> Result<()> {
    let var_like = !key.contains('/') && secrets::check_secret_name(key).is_ok();
    var_like.then_some(()).ok_or_else(|| {
        Error::invalid(
            Code::InvalidEnvName,
            format!("env_vars.{}", crate::core::error::echo(key)),
            format!(
                "`{}` is not a valid environment variable name",
                crate::core::error::echo(key)
            ),
            "use letters, digits and `_`, not starting with a digit",
        )
    })
}

/// Checks and normalises one parameter value.
pub fn check_param(spec: &ParamSpec, value: &str, env: &Environment) -> Result<String> {
    let bad = |what: &str| {
        Error::invalid(
            Code::InvalidParamType,
            format!("params.{}", spec.name),
            format!(
                "parameter `{}` must be {what}, got `{}`",
                spec.name,
                crate::core::error::echo(value)
            ),
            Hint::give(
                "give it",
                &format!("params.{}", spec.name),
                &format!("<{}>", spec.kind.as_str()),
            ),
        )
    };
    if !spec.choices.is_empty() && !spec.choices.iter().any(|c| c == value) {
        return Err(Error::invalid(
            Code::InvalidParamValue,
            format!("params.{}", spec.name),
            format!(
                "parameter `{}` must be one of {}, got `{}`",
                spec.name,
                spec.choices.join(", "),
                crate::core::error::echo(value)
            ),
            Hint::give(
                "give one",
                &format!("params.{}", spec.name),
                &spec.choices[0],
            ),
        ));
    }
    match spec.kind {
        ParamType::String => Ok(value.to_owned()),
        ParamType::Int => value
            .trim()
            .parse::<i64>()
            .map(|n| n.to_string())
            .map_err(|_| bad("an integer")),
        ParamType::Bool => match value.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok("true".into()),
            "false" | "no" | "0" => Ok("false".into()),
            _ => Err(bad("true or false")),
        },
        ParamType::Path if value.trim().is_empty() => Err(bad("a path")),
        ParamType::Path => Ok(env
            .expand(value)
            .map_or_else(|| value.to_owned(), |p| p.display().to_string())),
        ParamType::Url if value.starts_with("http://") || value.starts_with("https://") => {
            Ok(value.to_owned())
        }
        ParamType::Url => Err(bad("an http(s) URL")),
    }
}

/// Type-checks given params against the entry and applies defaults; every problem at once.
fn resolve_params(
    entry: &ServerEntry,
    given: &[(String, String)],
    env: &Environment,
    problems: &mut Vec<Error>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, value) in given {
        let Some(spec) = entry.param(key) else {
            let known: Vec<&str> = entry.params.iter().map(|p| p.name.as_str()).collect();
            problems.push(Error::invalid(
                Code::UnknownParam,
                format!("params.{key}"),
                format!("`{}` has no parameter `{key}`", entry.id),
                if known.is_empty() {
                    "this server takes no parameters".to_owned()
                } else {
                    format!("its parameters are: {}", known.join(", "))
                },
            ));
            continue;
        };
        match check_param(spec, value, env) {
            Ok(value) => {
                out.insert(key.clone(), value);
            }
            Err(e) => problems.push(e),
        }
    }
    for spec in &entry.params {
        if out.contains_key(&spec.name) || given.iter().any(|(k, _)| *k == spec.name) {
            continue;
        }
        match (&spec.default, spec.required) {
            (Some(default), _) => match check_param(spec, default, env) {
                Ok(value) => {
                    out.insert(spec.name.clone(), value);
                }
                Err(e) => problems.push(e),
            },
            (None, true) => {
                let example = spec.example.as_deref().unwrap_or("VALUE");
                problems.push(Error::invalid(
                    Code::MissingRequiredParam,
                    format!("params.{}", spec.name),
                    format!(
                        "`{}` needs parameter `{}`: {}",
                        entry.id, spec.name, spec.description
                    ),
                    Hint::give("give it", &format!("params.{}", spec.name), example),
                ));
            }
            (None, false) => {}
        }
    }
    out
}

/// Substitutes `{param}` placeholders; optional params without a value drop the args that
/// mention them (with a preceding `--flag`), so no literal placeholder reaches a client.
fn substitute(template: &str, params: &BTreeMap<String, String>) -> Option<String> {
    let mut out = template.to_owned();
    for placeholder in validate::placeholders(template) {
        let value = params.get(placeholder)?;
        out = out.replace(&format!("{{{placeholder}}}"), value);
    }
    Some(out)
}

fn build_server(
    entry: &ServerEntry,
    params: &BTreeMap<String, String>,
    env: BTreeMap<String, EnvValue>,
) -> Result<DraftServer> {
    let unresolved = |field: &str, text: &str| {
        let names = validate::placeholders(text).join(", ");
        Error::invalid(
            Code::UnresolvedPlaceholder,
            field.to_owned(),
            format!(
                "`{text}` in {field} of `{}` needs a value for {{{names}}}",
                entry.id
            ),
            Hint::give(
                "give it",
                &format!(
                    "params.{}",
                    validate::placeholders(text)
                        .first()
                        .copied()
                        .unwrap_or("NAME")
                ),
                "VALUE",
            ),
        )
    };
    let mut args = Vec::new();
    let mut skip_next_flag = false;
    for (i, arg) in entry.args.iter().enumerate().rev() {
        if skip_next_flag && arg.starts_with('-') {
            skip_next_flag = false;
            continue;
        }
        skip_next_flag = false;
        if let Some(value) = substitute(arg, params) {
            args.push(value);
        } else {
            let optional = validate::placeholders(arg)
                .iter()
                .all(|p| entry.param(p).is_some_and(|s| !s.required));
            if !optional {
                return Err(unresolved(&format!("args[{i}]"), arg));
            }
            skip_next_flag = !arg.starts_with('-');
        }
    }
    args.reverse();
    let url = match &entry.url {
        Some(u) => Some(substitute(u, params).ok_or_else(|| unresolved("url", u))?),
        None => None,
    };
    let mut headers = BTreeMap::new();
    for h in &entry.headers {
        match substitute(&h.value, params) {
            Some(v) => {
                let refs_missing =
                    render::replace_refs(&v, |name| env.contains_key(name).then(String::new))
                        .is_none();
                if refs_missing && !h.required {
                    continue;
                }
                headers.insert(h.name.clone(), v);
            }
            None if !h.required => {}
            None => return Err(unresolved(&format!("headers.{}", h.name), &h.value)),
        }
    }
    if entry.transport == Transport::Stdio && entry.command.is_none() {
        return Err(Error::Internal(format!(
            "catalog entry `{}` is stdio but has no command",
            entry.id
        )));
    }
    Ok(DraftServer {
        server_id: Some(entry.id.clone()),
        transport: entry.transport,
        command: entry.command.clone(),
        args,
        url,
        headers,
        env,
        params: params.clone(),
        secret_delivery: None,
        origin: Origin::Catalog,
        extra: BTreeMap::new(),
    })
}
