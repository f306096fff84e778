//! The façade: the one handle the CLI, the TUI, the MCP server and the HTTP API all call.
//! It owns the registry, the catalog and the stores, and every front-end gets the same
//! behaviour and the same errors from it. This file opens it and holds its accessors; each use
//! case is one module of methods: `targets` (clients and profiles), `drafts`, `resolve` (a
//! catalog entry plus input to a draft server), `release`, `deploy` (plan and apply, status),
//! `keys`, `tokens`, `audit`, `health` (probes, `doctor`), `registry` (catalog and the
//! official registry), `recover` (intents left by a killed process).

use crate::core::code::Code;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::core::approvals::ApprovalStore;
use crate::core::artifact::ArtifactStore;
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
use crate::core::search::SearchIndex;
use crate::core::secrets::{self, SecretStore};
use crate::core::state::StateDir;
use crate::core::store::postgres::{
    PgApprovals, PgDrafts, PgLedger, PgReleases, PgRoots, PgStore, PgTokens,
};
use crate::core::store::{Approvals, Drafts, Ledger, Releases, RootFile, StoreUrl, TeamRoots};
use crate::core::validate::{self, Diagnostic};
use crate::core::writer;

mod approvals;
mod audit;
mod deploy;
mod drafts;
mod health;
mod keys;
mod migrate;
pub mod outcome;
mod plaintext;
mod policy;
mod recover;
mod registry;
mod release;
mod remote;
mod resolve;
mod rewrite;
mod targets;
mod team;
mod tokens;

pub use deploy::{
    Action, DeployReport, DriftState, PlanRequest, RollbackTarget, TargetStatus, entry_hash,
};
pub use migrate::{MigratedFile, Migration, MigrationReport, MigrationSkip};
pub use plaintext::{
    FileScan, FileSweep, SecretFinding, SecretScan, ServerSweep, SweepReport, SweepSkip,
};
pub use policy::{ClientPolicy, ManagedRoot, PolicyReport, PolicyServer};
pub use registry::{
    CheckStatus, DoctorCheck, DoctorReport, ProbeTarget, RegistryLoad, RegistryStatus,
    any_probe_failed,
};
pub use release::nothing_published;
pub use remote::{ChannelPull, PullReport, PullStatus, RemoteView};
pub use resolve::{Missing, Resolved};
pub use team::{RootPlan, TeamStatus};

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
    /// Where shared state lives, as typed (`--store`, `MCP_ORCH_STORE`, the server config's
    /// `store`): `None` or `files` for the state directory, or a PostgreSQL URL.
    pub store: Option<String>,
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
        let store = env.var(STORE_ENV).map(str::to_owned);
        Self {
            home,
            env,
            launcher,
            clock: Arc::new(SystemClock),
            store,
        }
    }
}

/// The environment variable that names the store.
pub const STORE_ENV: &str = "MCP_ORCH_STORE";

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
    /// Each client's definition for its installed version, found on first use (registry order).
    resolved: Vec<std::sync::OnceLock<ClientDef>>,
    catalog: Catalog,
    /// Built on the first search: most commands never search.
    index: std::sync::OnceLock<SearchIndex>,
    drafts: Arc<dyn Drafts>,
    profiles: ProfileStore,
    secrets: SecretStore,
    registry: RegistryLoad,
    /// Unique among the orchestrators this process opens (a reload gets a new one).
    id: u64,
    /// Concurrent applies of this process to one file become one write.
    applies: writer::FileQueues<deploy::Job, Result<DeployReport>>,
    /// The audit chain (the state directory's log, or a shared store's).
    ledger: Arc<dyn Ledger>,
    /// Published releases and payloads (the state directory's, or a shared store's).
    releases: Arc<dyn Releases>,
    /// The team's roots (team trust, docs/TEAM.md).
    roots: Arc<dyn TeamRoots>,
    /// The approvals of the team's registry.
    approvals: Arc<dyn Approvals>,
    /// The shared store's chain, in team mode (a publish appends to it in its own
    /// transaction).
    shared: Option<PgLedger>,
    /// Concurrent audit records of this process become one append.
    audit_appends: Batcher<(AuditEvent, DateTime<Utc>), Result<AuditRecord>>,
}

/// Where the state that a team shares lives: the state directory's files, or PostgreSQL.
struct Stores {
    ledger: Arc<dyn Ledger>,
    releases: Arc<dyn Releases>,
    drafts: Arc<dyn Drafts>,
    roots: Arc<dyn TeamRoots>,
    approvals: Arc<dyn Approvals>,
    shared: Option<PgLedger>,
}

impl Stores {
    /// `actor` is who changes drafts through this handle (a shared store audits them).
    fn open(
        state: &StateDir,
        store: Option<&str>,
        now: DateTime<Utc>,
        actor: String,
    ) -> Result<Self> {
        let locks = state.locks();
        Ok(match StoreUrl::parse(store.unwrap_or_default())? {
            StoreUrl::Files => Self {
                ledger: Arc::new(AuditLog::new(
                    state.join("audit.jsonl"),
                    locks.join("audit.lock"),
                )),
                releases: Arc::new(ArtifactStore::for_state(state)),
                drafts: Arc::new(DraftStore::new(state.join("drafts"), locks)),
                roots: Arc::new(RootFile::for_state(state)),
                approvals: Arc::new(ApprovalStore::new(
                    state.join("registry/approved.json"),
                    state.locks().join("approved.lock"),
                )),
                shared: None,
            },
            StoreUrl::Postgres(url) => {
                let store = PgStore::shared(&url)?;
                let ledger = PgLedger::new(
                    store.clone(),
                    crate::core::audit::key_at(&state.join("audit.key"), now)?,
                );
                Self {
                    ledger: Arc::new(ledger.clone()),
                    releases: Arc::new(PgReleases::new(store.clone())),
                    drafts: Arc::new(PgDrafts::new(ledger.clone(), actor)),
                    roots: Arc::new(PgRoots::new(store.clone())),
                    approvals: Arc::new(PgApprovals::new(store)),
                    shared: Some(ledger),
                }
            }
        })
    }
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
    /// The version entries are written for, when that matters for this client.
    pub version: Option<crate::core::clients::ResolvedVersion>,
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
    /// What to do when the draft already has a server of that name.
    pub if_exists: crate::core::draft::IfExists,
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
    /// The same server was there already and nothing changed ([`IfExists::Keep`]).
    ///
    /// [`IfExists::Keep`]: crate::core::draft::IfExists::Keep
    pub unchanged: bool,
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
            store,
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
        let Stores {
            ledger,
            releases,
            drafts,
            roots,
            approvals,
            shared,
        } = Stores::open(
            &state,
            store.as_deref(),
            clock.now(),
            audit::actor_of(&env, "local"),
        )?;
        let orch = Self {
            drafts,
            profiles: ProfileStore::new(state.join("profiles.json"), locks.join("profiles.lock")),
            secrets: SecretStore::new(state.join("secrets.json"), locks.join("secrets.lock")),
            state,
            env,
            launcher,
            clock,
            resolved: clients
                .all()
                .iter()
                .map(|_| std::sync::OnceLock::new())
                .collect(),
            clients,
            catalog,
            index: std::sync::OnceLock::new(),
            registry,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            applies: writer::FileQueues::default(),
            ledger,
            releases,
            roots,
            approvals,
            shared,
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
    ///
    /// For a client whose accepted shape depends on its version, the definition for the
    /// installed version: pinned by `MCP_ORCH_CLIENT_VERSION_<ID>`, else the client's own
    /// `--version`, else the documented default; found once per process.
    pub fn client(&self, id: &str) -> Result<&ClientDef> {
        let def = self.clients.get(id)?;
        if def.version.is_none() {
            return Ok(def);
        }
        let index = self
            .clients
            .all()
            .iter()
            .position(|c| c.id == id)
            .unwrap_or_default();
        Ok(self.resolved[index].get_or_init(|| self.for_installed_version(def)))
    }

    /// Every client, each for its installed version.
    pub fn all_clients(&self) -> Vec<&ClientDef> {
        self.clients
            .all()
            .iter()
            .filter_map(|c| self.client(&c.id).ok())
            .collect()
    }

    fn for_installed_version(&self, def: &ClientDef) -> ClientDef {
        use crate::core::clients::VersionSource;
        let Some(probe) = &def.version else {
            return def.clone();
        };
        let (version, source) =
            if let Some(pin) = self.env.var(&def.version_var()).filter(|v| !v.is_empty()) {
                (pin.to_owned(), VersionSource::Pinned)
            } else if let Some(found) = self.installed_version(&probe.command) {
                (found, VersionSource::Detected)
            } else {
                (probe.default.clone(), VersionSource::Default)
            };
        def.for_version(&version, source).unwrap_or_else(|e| {
            tracing::warn!(client = %def.id, "{e}");
            def.clone()
        })
    }

    /// What `command` prints as its version, within 5 seconds; `None` when it is not
    /// installed or says nothing that looks like one.
    fn installed_version(&self, command: &[String]) -> Option<String> {
        let (program, args) = command.split_first()?;
        if !self.env.command_exists(program) {
            return None;
        }
        let child = std::process::Command::new(program)
            .args(args)
            .env_clear()
            .envs(self.env.vars())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let (tx, rx) = std::sync::mpsc::channel();
        let pid = child.id();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let Ok(Ok(output)) = rx.recv_timeout(std::time::Duration::from_secs(5)) else {
            #[cfg(unix)]
            if let Ok(pid) = i32::try_from(pid) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            return None;
        };
        crate::core::clients::find_version(&String::from_utf8_lossy(&output.stdout))
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// How client files start this binary (the launcher, the bridge, `serve`).
    pub fn launcher(&self) -> &SelfCommand {
        &self.launcher
    }

    /// The intent records of operations in flight.
    fn intents(&self) -> crate::core::intent::IntentStore {
        crate::core::intent::IntentStore::new(self.state.join("intents"))
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

/// Refuses a parameter or plain env value that would turn into a secret reference in header
/// `name`: the launcher fills `{secret:KEY}` and `${KEY}` in header values from the secret
/// store, so such a value (from whoever called `add_server_to_config`, a model included) would
/// send any stored secret to this server's URL.
fn check_header_values(
    name: &str,
    template: &str,
    params: &BTreeMap<String, String>,
    env: &BTreeMap<String, EnvValue>,
) -> Result<()> {
    let refused = |field: String, what: &str| {
        Error::invalid(
            Code::InvalidHeader,
            field,
            format!(
                "{what} goes into header `{name}` and contains `{{secret:` or `${{`, which the launcher would read as a secret reference"
            ),
            "give a credential as a secret (env_vars with secret: true), never inside a plain value",
        )
    };
    for placeholder in validate::placeholders(template) {
        if params
            .get(placeholder)
            .is_some_and(|v| render::reads_as_secret_reference(v))
        {
            return Err(refused(
                format!("params.{placeholder}"),
                &format!("the value of parameter `{placeholder}`"),
            ));
        }
    }
    let mut plain_ref = None;
    let _ = render::replace_refs(template, |var| {
        if let Some(EnvValue::Plain(v)) = env.get(var)
            && render::reads_as_secret_reference(v)
        {
            plain_ref.get_or_insert_with(|| var.to_owned());
        }
        Some(String::new())
    });
    match plain_ref {
        Some(var) => Err(refused(
            format!("env_vars.{var}"),
            &format!("the plain value of `{var}`"),
        )),
        None => Ok(()),
    }
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
        check_header_values(&h.name, &h.value, params, &env)?;
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
