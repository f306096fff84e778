//! Effects: I/O that [`update`](super::update::update) asks for. [`perform`] runs one against
//! the core and turns its outcome into exactly one [`Action`], errors included. It is
//! synchronous (the façade is); the runtime calls it on a blocking thread, and tests call it
//! directly.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use super::action::{Action, Added, DeployPlan, FormCheck};
use super::state::{
    ClientRow, DiffView, DraftSnapshot, Health, HistoryData, PlanPin, ReleaseRow, ServerStatus,
    Target, UiError,
};
use crate::core::Orchestrator;
use crate::core::audit::Filter;
use crate::core::catalog::Transport;
use crate::core::events::StateSnapshot;
use crate::core::orchestrator::{
    Action as CoreAction, AddServer, DeployReport, DriftState, FileDiff, OnClash, PlanRequest,
    RollbackTarget,
};
use crate::core::search::Query;
use crate::core::validate;

/// The face named in the audit log (`tui:<user>`).
pub const ACTOR: &str = "tui";

/// Requested I/O.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Load every client's status.
    LoadClients,
    /// Search the catalog.
    Search {
        /// Generation (latest wins).
        generation: u64,
        /// Fuzzy text.
        text: String,
        /// Only this transport.
        transport: Option<Transport>,
        /// Only this tag.
        tag: Option<String>,
    },
    /// Load the draft and validate it.
    LoadDraft(Target),
    /// Check the add form.
    CheckForm {
        /// Generation (latest wins).
        generation: u64,
        /// The candidate.
        request: AddRequest,
    },
    /// Add a server.
    Add(AddRequest),
    /// Remove a server.
    Remove(Target, String),
    /// Rename a server.
    Rename(Target, String, String),
    /// Copy the draft into other clients' drafts (same profile id).
    Copy(Target, Vec<String>),
    /// Import the client's servers.
    Import(Target),
    /// Compute the diff.
    LoadDiff {
        /// Generation (latest wins).
        generation: u64,
        /// Of what.
        target: Target,
    },
    /// Plan deploying the latest release (a dry run), for confirmation.
    PlanDeploy(Target),
    /// Plan rolling back to an artifact (a dry run), for confirmation.
    PlanRollback(Target, String),
    /// Plan applying the draft (a dry run), for confirmation.
    PlanApply(Target),
    /// Plan restoring a backup (a dry run), for confirmation.
    PlanRestore(Target, String),
    /// Apply the plan confirmed (a deploy, rollback or apply).
    Apply(Target, PlanPin),
    /// Publish the draft with a changelog.
    Publish(Target, String),
    /// Create a signing key.
    InitKeys,
    /// Load the audit log and backups.
    LoadHistory(Target),
    /// Verify the audit chain.
    Verify,
    /// Fingerprint the files shown.
    Poll(Option<Target>),
    /// Start the background server.
    StartServer,
    /// Stop it.
    StopServer,
    /// Ask the background server how it is.
    ServerStatus,
    /// Probe every server of a draft.
    CheckHealth(Target),
    /// Load the remotes.
    LoadRemotes,
    /// Pull from a remote.
    Pull(String),
    /// Put this text on the terminal's clipboard (OSC 52).
    Clipboard(String),
    /// Draw again.
    Redraw,
    /// Leave.
    Quit,
}

/// An add request built from the form (the façade's [`AddServer`], comparable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddRequest {
    /// Target.
    pub target: Target,
    /// Catalog id.
    pub server_id: String,
    /// Name.
    pub name: String,
    /// Parameter values typed (empty ones left out).
    pub params: Vec<(String, String)>,
    /// Plain env values typed.
    pub env: Vec<(String, String)>,
    /// Secret values typed.
    pub secrets: Vec<(String, String)>,
}

impl AddRequest {
    fn to_core(&self) -> AddServer {
        AddServer {
            client: self.target.client.clone(),
            profile: self.target.profile.clone(),
            server_id: self.server_id.clone(),
            name: Some(self.name.clone()),
            params: self.params.clone(),
            env: self.env.clone(),
            secrets: self
                .secrets
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                .collect(),
            ..AddServer::default()
        }
    }
}

impl Effect {
    /// Effects of the same slot replace each other: only the latest one's result matters, so
    /// the runtime aborts the older task.
    pub fn slot(&self) -> Option<&'static str> {
        match self {
            Self::Search { .. } => Some("search"),
            Self::CheckForm { .. } => Some("check-form"),
            Self::LoadDiff { .. } => Some("diff"),
            Self::LoadDraft(_) => Some("draft"),
            Self::LoadClients => Some("clients"),
            Self::LoadHistory(_) => Some("history"),
            Self::Poll(_) => Some("poll"),
            Self::ServerStatus => Some("server-status"),
            Self::CheckHealth(_) => Some("health"),
            Self::LoadRemotes => Some("remotes"),
            _ => None,
        }
    }
}

/// The background MCP HTTP server, behind a seam (implemented by
/// `server::http::background::Background`), so that the TUI knows nothing of HTTP.
pub trait ServerControl: Send + Sync {
    /// Starts it; returns its status.
    fn start(&self, orch: &Arc<Orchestrator>) -> ServerStatus;
    /// Stops it; returns its status.
    fn stop(&self) -> ServerStatus;
    /// Its status now.
    fn status(&self) -> ServerStatus;
}

/// What effects run against.
#[derive(Clone)]
pub struct Services {
    /// The core.
    pub orch: Arc<Orchestrator>,
    /// The background server.
    pub server: Arc<dyn ServerControl>,
}

/// Runs an effect and returns the action it ends with (`None` for `Redraw` and `Quit`,
/// which the runtime handles itself).
pub fn perform(effect: Effect, svc: &Services) -> Option<Action> {
    let orch = &*svc.orch;
    Some(match effect {
        Effect::LoadClients => Action::ClientsLoaded(load_clients(orch).map_err(UiError::from)),
        Effect::Search {
            generation,
            text,
            transport,
            tag,
        } => Action::SearchDone {
            generation,
            hits: orch
                .search(&Query {
                    text,
                    transport,
                    tag,
                })
                .into_iter()
                .map(|(_, h)| h.index)
                .collect(),
        },
        Effect::LoadDraft(t) => Action::DraftLoaded(load_draft(orch, &t).map_err(UiError::from)),
        Effect::CheckForm {
            generation,
            request,
        } => Action::FormChecked {
            generation,
            check: check_form(orch, &request),
        },
        Effect::Add(request) => Action::Added(
            orch.add_server(&request.to_core())
                .map(|o| Added {
                    name: o.name,
                    server_count: o.server_count,
                    stored_secrets: o.stored_secrets,
                })
                .map_err(UiError::from),
        ),
        Effect::Remove(t, name) => Action::Changed(
            orch.remove_server(&t.client, &t.profile, &name)
                .map(|d| format!("removed `{name}` ({} servers left)", d.servers.len()))
                .map_err(UiError::from),
        ),
        Effect::Rename(t, from, to) => Action::Changed(
            orch.rename_server(&t.client, &t.profile, &from, &to)
                .map(|_| format!("renamed `{from}` to `{to}`"))
                .map_err(UiError::from),
        ),
        Effect::Copy(t, to) => Action::Changed(
            orch.copy_draft(&t.client, &t.profile, &to, &t.profile, OnClash::Refuse)
                .map(|done| {
                    let list: Vec<String> = done
                        .iter()
                        .map(|(c, n)| format!("{c} ({n} servers)"))
                        .collect();
                    format!("copied into {}", list.join(", "))
                })
                .map_err(UiError::from),
        ),
        Effect::Import(t) => Action::Changed(
            orch.import(&t.client, &t.profile)
                .map(|r| {
                    let mut text = format!(
                        "imported {} server(s) from {}",
                        r.imported.len(),
                        r.path.display()
                    );
                    if !r.skipped.is_empty() {
                        let _ = write!(text, ", skipped {}", r.skipped.len());
                    }
                    text
                })
                .map_err(UiError::from),
        ),
        Effect::LoadDiff { generation, target } => Action::DiffLoaded {
            generation,
            result: orch
                .diff(&target.client, &target.profile)
                .map(|d| diff_view(&d))
                .map_err(UiError::from),
        },
        Effect::PlanDeploy(t) => planned(orch, &t, deploy_action(None)),
        Effect::PlanRollback(t, id) => planned(orch, &t, rollback_action(id)),
        Effect::PlanApply(t) => planned(orch, &t, CoreAction::Apply { changelog: None }),
        Effect::PlanRestore(t, id) => planned(orch, &t, CoreAction::Restore { backup_id: id }),
        Effect::Apply(t, pin) => {
            // The request that was planned; the plan id pins the artifact it chose and the
            // file, so a publish or an edit since is PLAN_STALE, as on every face.
            let action = match pin.action {
                "rollback" => rollback_action(pin.subject),
                "restore" => CoreAction::Restore {
                    backup_id: pin.subject,
                },
                "apply" => CoreAction::Apply { changelog: None },
                _ => deploy_action(None),
            };
            let verb = match pin.action {
                "rollback" => "rolled back",
                "restore" => "restored",
                "apply" => "applied",
                _ => "deployed",
            };
            Action::Changed(
                orch.apply(
                    &PlanRequest::new(&t.client, &t.profile, action),
                    Some(&pin.plan_id),
                    &orch.local_actor(ACTOR),
                )
                .map(|r| done_text(&r, verb))
                .map_err(UiError::from),
            )
        }
        Effect::Publish(t, changelog) => Action::Changed(
            orch.publish(
                &t.client,
                &t.profile,
                Some(&changelog),
                &orch.local_actor(ACTOR),
            )
            .map(|r| {
                format!(
                    "published {}/{} v{} (artifact {}); deploy it with D",
                    t.client,
                    t.profile,
                    r.version(),
                    short_id(r.artifact_id())
                )
            })
            .map_err(UiError::from),
        ),
        Effect::InitKeys => Action::Changed(
            orch.init_keys(false, &orch.local_actor(ACTOR))
                .map(|k| format!("created signing key {}; publish again with P", k.key_id))
                .map_err(UiError::from),
        ),
        Effect::LoadHistory(t) => {
            Action::HistoryLoaded(load_history(orch, &t).map_err(UiError::from))
        }
        Effect::Verify => Action::Verified(orch.verify_audit(None).map_err(UiError::from)),
        Effect::Poll(t) => Action::Polled {
            snapshot: StateSnapshot::take(orch),
            files: fingerprint(orch, t.as_ref()),
        },
        Effect::StartServer => Action::ServerStatus(svc.server.start(&svc.orch)),
        Effect::StopServer => Action::ServerStatus(svc.server.stop()),
        Effect::ServerStatus => Action::ServerStatus(svc.server.status()),
        Effect::CheckHealth(t) => {
            let result = check_health(orch, &t).map_err(UiError::from);
            Action::HealthChecked(t, result)
        }
        Effect::LoadRemotes => Action::RemotesLoaded(orch.remotes().map_err(UiError::from)),
        Effect::Pull(remote) => {
            let report = orch.pull(Some(&remote), None, &orch.local_actor(ACTOR));
            Action::Pulled(remote, report.map_err(UiError::from))
        }
        Effect::Redraw | Effect::Quit | Effect::Clipboard(_) => return None,
    })
}

/// How long each server may take to answer a health check.
pub const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Servers already deployed are started from the client's file as the client starts them
/// (its environment, its expansion of references); the others from the draft.
fn check_health(orch: &Orchestrator, t: &Target) -> crate::core::Result<Vec<(String, Health)>> {
    let mut draft = orch.draft(&t.client, &t.profile)?;
    let deployed: Vec<_> = orch
        .probe_as_client_blocking(&t.client, &t.profile, None, true, HEALTH_TIMEOUT)?
        .into_iter()
        .filter(|r| draft.servers.contains_key(&r.name))
        .collect();
    draft
        .servers
        .retain(|name, _| deployed.iter().all(|r| &r.name != name));
    let reports = orch.probe_draft_blocking(&draft, HEALTH_TIMEOUT)?;
    Ok(reports
        .into_iter()
        .chain(deployed)
        .map(|r| {
            let health = if r.ok {
                Health::Ok {
                    tools: r.tool_count.unwrap_or(0),
                    latency_ms: r.latency_ms,
                }
            } else {
                Health::Failed {
                    code: r.error_code.unwrap_or_default().to_owned(),
                    message: r.error.unwrap_or_default(),
                    stderr_tail: r.stderr_tail,
                }
            };
            (r.name, health)
        })
        .collect())
}

fn load_clients(orch: &Orchestrator) -> crate::core::Result<Vec<ClientRow>> {
    let statuses = orch.client_statuses()?;
    Ok(statuses
        .into_iter()
        .map(|s| {
            let servers = match (&s.config.path, s.detected) {
                (Some(path), true) => orch
                    .client(&s.id)
                    .and_then(|def| orch.read_entries(def, path))
                    .ok()
                    .map(|(_, entries)| entries.into_iter().map(|(n, _)| n).collect()),
                _ => None,
            };
            let drift = orch
                .target_status(&s.id, crate::core::profiles::DEFAULT_PROFILE)
                .map_or_else(
                    |_| "unknown".to_owned(),
                    |t| drift_label(&t.drift).to_owned(),
                );
            ClientRow {
                id: s.id,
                name: s.name,
                format: s.format.to_owned(),
                detected: s.detected,
                path: s.config.path.map(|p| p.display().to_string()),
                servers,
                error: s.error,
                profiles: s.profiles,
                drift,
            }
        })
        .collect())
}

/// A short label for a drift state.
pub fn drift_label(d: &DriftState) -> &'static str {
    match d {
        DriftState::NeverDeployed => "never deployed",
        DriftState::InSync => "in sync",
        DriftState::Drifted => "drifted",
        DriftState::FileMissing => "file missing",
        DriftState::Unreadable => "unreadable",
    }
}

fn load_draft(orch: &Orchestrator, t: &Target) -> crate::core::Result<DraftSnapshot> {
    let draft = orch.draft(&t.client, &t.profile)?;
    let diagnostics = orch.validate_draft(&draft);
    Ok(DraftSnapshot { draft, diagnostics })
}

/// Checks a candidate add: each field with the same checks `add_server` makes, then the
/// candidate draft (the draft plus the new server) with the validation engine.
pub fn check_form(orch: &Orchestrator, req: &AddRequest) -> FormCheck {
    let mut check = FormCheck::default();
    // The add's own resolver: every field problem at once, so a form that validates is a
    // form that adds.
    match orch.preview_server(&req.to_core()) {
        Err(e) => {
            for problem in e.problems() {
                // A field the form marks only needs a word; the rest needs the message.
                let missing = matches!(
                    problem.error_code(),
                    crate::core::code::Code::MissingRequiredParam
                        | crate::core::code::Code::MissingRequiredEnv
                );
                let problem = UiError::from(problem.replicate());
                match problem.field {
                    Some(f) if missing => check.fields.push((f, "required".into())),
                    Some(f) => check.fields.push((f, problem.message)),
                    None => check.general.push(problem.message),
                }
            }
        }
        Ok((name, server)) => {
            let mut candidate = orch
                .draft(&req.target.client, &req.target.profile)
                .unwrap_or_else(|_| {
                    crate::core::draft::Draft::empty(&req.target.client, &req.target.profile)
                });
            candidate.servers.insert(name.clone(), server);
            let mut secrets: BTreeSet<String> = orch
                .secret_names()
                .unwrap_or_default()
                .into_iter()
                .collect();
            // The secrets typed are stored under the target's scoped keys when added.
            secrets.extend(req.secrets.iter().map(|(k, _)| {
                crate::core::secrets::scoped_key(&req.target.client, &req.target.profile, k)
            }));
            let prefix = format!("servers.{name}");
            let mut errors = false;
            for d in orch.validate_with(&candidate, &secrets) {
                let Some(rest) = d.path.strip_prefix(&prefix) else {
                    continue;
                };
                let text = format!("{}: {}", severity_word(&d), d.message);
                let rest = rest.trim_start_matches('.');
                let is_error = d.is_error();
                errors |= is_error;
                if is_error && (rest.starts_with("params.") || rest.starts_with("env.")) {
                    check.fields.push((rest.to_owned(), d.message));
                } else {
                    check.general.push(text);
                }
            }
            check.valid = !errors;
        }
    }
    check
}

fn severity_word(d: &validate::Diagnostic) -> &'static str {
    if d.is_error() { "error" } else { "warning" }
}

fn deploy_action(artifact: Option<String>) -> CoreAction {
    CoreAction::Deploy {
        artifact,
        inline_secrets: false,
    }
}

fn rollback_action(artifact: String) -> CoreAction {
    CoreAction::Rollback {
        to: RollbackTarget::Artifact(artifact),
    }
}

/// Plans an action for confirmation.
fn planned(orch: &Orchestrator, t: &Target, action: CoreAction) -> Action {
    Action::DeployPlanned(
        orch.plan(&PlanRequest::new(&t.client, &t.profile, action))
            .map(|r| plan_of(&r))
            .map_err(UiError::from),
    )
}

/// The first 12 characters of an artifact id.
pub fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn plan_of(r: &DeployReport) -> DeployPlan {
    DeployPlan {
        artifact_id: r.artifact_id.clone().unwrap_or_default(),
        version: r.version.unwrap_or_default(),
        action: r.action,
        backup_id: r.restored_backup_id.clone(),
        plan_id: r.plan_id.clone(),
        publishes: r.publishes,
        view: diff_view(&r.plan),
    }
}

fn done_text(r: &DeployReport, verb: &str) -> String {
    let version = r.version.map(|v| format!(" v{v}")).unwrap_or_default();
    if r.changed {
        format!(
            "{verb}{version} to {} (+{} −{} ~{})",
            r.plan.path.display(),
            r.plan.servers.added.len(),
            r.plan.servers.removed.len(),
            r.plan.servers.modified.len()
        )
    } else {
        format!(
            "{verb}{version}: {} already up to date",
            r.plan.path.display()
        )
    }
}

/// The view of a file plan.
pub fn diff_view(d: &FileDiff) -> DiffView {
    DiffView {
        path: d.path.display().to_string(),
        exists: d.exists,
        added: d.servers.added.clone(),
        removed: d.servers.removed.clone(),
        modified: d.servers.modified.iter().map(|m| m.name.clone()).collect(),
        unchanged: d.servers.unchanged.len(),
        lines: DiffView::parse_lines(&d.unified_diff),
        notes: d.notes.clone(),
    }
}

fn load_history(orch: &Orchestrator, t: &Target) -> crate::core::Result<HistoryData> {
    let mut audit = orch.audit_records(&Filter {
        client: Some(t.client.clone()),
        ..Filter::default()
    })?;
    audit.reverse();
    let deployed = orch.deploy_record(&t.client, &t.profile)?.artifact_id;
    let releases = orch
        .history(&t.client, &t.profile)?
        .into_iter()
        .map(|r| ReleaseRow {
            version: r.version(),
            deployed: deployed.as_deref() == Some(r.artifact_id()),
            artifact_id: r.artifact_id().to_owned(),
            created_at: r.envelope.created_at,
            changelog: r.envelope.changelog.clone(),
            servers: r.envelope.metadata.servers.clone(),
        })
        .collect();
    Ok(HistoryData {
        releases,
        audit,
        backups: orch.backups(&t.client)?,
    })
}

/// The files the TUI shows that the state snapshot does not cover: every client's config file
/// (on the Clients screen whether deployed or not) and the target's file. Only metadata is
/// read (a `stat` each), so polling every 500 ms costs next to nothing.
pub fn watched_files(orch: &Orchestrator, t: Option<&Target>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(t) = t
        && let Ok(p) = orch.target_path(&t.client, &t.profile)
    {
        files.push(p);
    }
    for c in orch.clients().all() {
        if let Some(p) = c.resolve_user(orch.env()).path {
            files.push(p);
        }
    }
    files
}

/// A hash of the size and modification time of every watched file.
pub fn fingerprint(orch: &Orchestrator, t: Option<&Target>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for path in watched_files(orch, t) {
        path.hash(&mut h);
        match std::fs::metadata(&path) {
            Ok(m) => {
                m.len().hash(&mut h);
                m.modified().ok().hash(&mut h);
            }
            Err(_) => 0u8.hash(&mut h),
        }
    }
    h.finish()
}
