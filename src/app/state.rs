//! The TUI's state: plain data, no terminal types, no handles. Views read it; only
//! [`update`](super::update::update) changes it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::core::audit::{AuditRecord, VerifyReport};
use crate::core::backup::BackupInfo;
use crate::core::catalog::{ServerEntry, Transport};
use crate::core::draft::Draft;
use crate::core::orchestrator::{PullReport, RemoteView};
use crate::core::validate::Diagnostic;

use super::keymap::{KeyChord, Keymap, Layer};

/// How many ticks a notice stays (ticks are 500 ms apart).
pub const TOAST_TICKS: u8 = 8;

/// The screens, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Screen {
    /// Every client, detected state, paths, profiles, drift.
    #[default]
    Clients,
    /// The catalog with its fuzzy filter.
    Catalog,
    /// The current draft.
    Draft,
    /// What deploying would change.
    Diff,
    /// Releases, backups and the audit log.
    History,
    /// The background MCP HTTP server.
    Server,
    /// The team servers this machine pulls from (team mode).
    Team,
}

impl Screen {
    /// Every screen in tab order.
    pub const ALL: [Self; 7] = [
        Self::Clients,
        Self::Catalog,
        Self::Draft,
        Self::Diff,
        Self::History,
        Self::Server,
        Self::Team,
    ];

    /// The tab title.
    pub fn title(self) -> &'static str {
        match self {
            Self::Clients => "Clients",
            Self::Catalog => "Catalog",
            Self::Draft => "Draft",
            Self::Diff => "Diff",
            Self::History => "History",
            Self::Server => "Server",
            Self::Team => "Team",
        }
    }

    /// The routing layer of the screen.
    pub fn layer(self) -> Layer {
        match self {
            Self::Clients => Layer::Clients,
            Self::Catalog => Layer::Catalog,
            Self::Draft => Layer::Draft,
            Self::Diff => Layer::Diff,
            Self::History => Layer::History,
            Self::Server => Layer::Server,
            Self::Team => Layer::Team,
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    /// The next screen (wrapping).
    #[must_use]
    pub fn next(self) -> Self {
        Self::ALL[(self.index() + 1) % Self::ALL.len()]
    }

    /// The previous screen (wrapping).
    #[must_use]
    pub fn prev(self) -> Self {
        Self::ALL[(self.index() + Self::ALL.len() - 1) % Self::ALL.len()]
    }
}

/// The (client, profile) being worked on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Client id.
    pub client: String,
    /// Profile id.
    pub profile: String,
}

/// A problem reported by the core, in the shape the TUI shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiError {
    /// Stable code.
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
    /// The bad input, when known (`params.path`, `name`, ...).
    pub field: Option<String>,
}

impl UiError {
    /// An error with only a message.
    pub fn msg(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            hint: String::new(),
            field: None,
        }
    }
}

impl From<crate::core::Error> for UiError {
    fn from(e: crate::core::Error) -> Self {
        let body = crate::api::next::error_body(&e, crate::api::next::Face::Cli);
        Self {
            code: body.code.to_owned(),
            message: body.message,
            hint: body.hint,
            field: body.field,
        }
    }
}

/// One client on the Clients screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    /// Client id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// File format.
    pub format: String,
    /// Whether its config file exists.
    pub detected: bool,
    /// The chosen config path.
    pub path: Option<String>,
    /// Servers in the file now.
    pub servers: Option<Vec<String>>,
    /// Why the file could not be read.
    pub error: Option<String>,
    /// Profile ids.
    pub profiles: Vec<String>,
    /// Drift of the default profile (`never deployed`, `in sync`, `drifted`, ...).
    pub drift: String,
}

/// The Clients screen.
#[derive(Debug, Clone, Default)]
pub struct ClientsState {
    /// Rows, once loaded.
    pub rows: Vec<ClientRow>,
    /// Whether the first load finished.
    pub loaded: bool,
    /// The selected row.
    pub selected: usize,
    /// A load error.
    pub error: Option<String>,
}

/// The Catalog screen.
#[derive(Debug, Clone, Default)]
pub struct CatalogState {
    /// Every catalog entry (a snapshot taken at start-up; the catalog does not change while
    /// the TUI runs).
    pub entries: Arc<[ServerEntry]>,
    /// Tags by how many entries carry them.
    pub tags: Vec<String>,
    /// The fuzzy filter text.
    pub query: String,
    /// Only this transport.
    pub transport: Option<Transport>,
    /// Only this tag.
    pub tag: Option<String>,
    /// Indices into `entries`, best first.
    pub hits: Vec<usize>,
    /// The selected hit.
    pub selected: usize,
    /// The generation of the latest search; older results are dropped.
    pub generation: u64,
    /// The generation whose results `hits` holds (behind `generation` while a search runs).
    pub shown_generation: u64,
    /// An add asked for while a search was running: it opens the form for the first hit of
    /// that search when its results arrive, not for a hit of the query before.
    pub add_when_searched: bool,
    /// Whether keys go to the filter.
    pub filter_focused: bool,
}

impl CatalogState {
    /// A catalog state over `entries` listing everything.
    pub fn new(entries: Arc<[ServerEntry]>) -> Self {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for e in entries.iter() {
            for t in &e.tags {
                *counts.entry(t.as_str()).or_default() += 1;
            }
        }
        let mut tags: Vec<(&str, usize)> = counts.into_iter().collect();
        tags.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        Self {
            hits: (0..entries.len()).collect(),
            tags: tags.into_iter().map(|(t, _)| t.to_owned()).collect(),
            entries,
            ..Self::default()
        }
    }

    /// The selected entry.
    pub fn selected_entry(&self) -> Option<&ServerEntry> {
        self.hits
            .get(self.selected)
            .and_then(|&i| self.entries.get(i))
    }
}

/// The draft and its validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftSnapshot {
    /// The draft.
    pub draft: Draft,
    /// Its diagnostics.
    pub diagnostics: Vec<Diagnostic>,
}

/// Whether a server of the draft really starts (its last probe).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// A probe is running.
    Checking,
    /// It answered `initialize` and `tools/list`.
    Ok {
        /// Tools it offers.
        tools: usize,
        /// Time to answer both.
        latency_ms: u64,
    },
    /// It failed or timed out.
    Failed {
        /// The probe's error code (`COMMAND_NOT_FOUND`, `TIMEOUT`, ...).
        code: String,
        /// Why.
        message: String,
        /// The last lines of its stderr.
        stderr_tail: Vec<String>,
    },
}

/// The Draft screen.
#[derive(Debug, Clone, Default)]
pub struct DraftState {
    /// The loaded draft.
    pub snapshot: Option<DraftSnapshot>,
    /// The selected server.
    pub selected: usize,
    /// A load error.
    pub error: Option<String>,
    /// The health of each server by name, and the target it was checked for.
    pub health: Option<(Target, BTreeMap<String, Health>)>,
}

impl DraftState {
    /// The health of `name` when it was checked for `target`.
    pub fn health_of(&self, target: &Target, name: &str) -> Option<&Health> {
        self.health
            .as_ref()
            .filter(|(t, _)| t == target)
            .and_then(|(_, map)| map.get(name))
    }

    /// The selected server's name.
    pub fn selected_name(&self) -> Option<&str> {
        self.snapshot
            .as_ref()
            .and_then(|s| s.draft.servers.keys().nth(self.selected))
            .map(String::as_str)
    }
}

/// Kind of a unified diff line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffLineKind {
    /// `---` / `+++`.
    Header,
    /// `@@ ... @@`.
    Hunk,
    /// Added.
    Add,
    /// Removed.
    Del,
    /// Unchanged.
    Context,
}

/// One line of a unified diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    /// Its kind.
    pub kind: DiffLineKind,
    /// Its text.
    pub text: String,
}

/// A plan for one client file, ready to show.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiffView {
    /// The file.
    pub path: String,
    /// Whether it exists now.
    pub exists: bool,
    /// Servers added.
    pub added: Vec<String>,
    /// Servers removed.
    pub removed: Vec<String>,
    /// Servers changed.
    pub modified: Vec<String>,
    /// Servers unchanged.
    pub unchanged: usize,
    /// The unified diff.
    pub lines: Vec<DiffLine>,
    /// Notes (restart needed, comments dropped, ...).
    pub notes: Vec<String>,
}

impl DiffView {
    /// Builds the view of a unified diff text.
    pub fn parse_lines(unified: &str) -> Vec<DiffLine> {
        unified
            .lines()
            .map(|l| {
                let kind = if l.starts_with("+++") || l.starts_with("---") {
                    DiffLineKind::Header
                } else if l.starts_with("@@") {
                    DiffLineKind::Hunk
                } else if l.starts_with('+') {
                    DiffLineKind::Add
                } else if l.starts_with('-') {
                    DiffLineKind::Del
                } else {
                    DiffLineKind::Context
                };
                DiffLine {
                    kind,
                    text: l.to_owned(),
                }
            })
            .collect()
    }

    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.modified.is_empty()
    }
}

/// The Diff screen.
#[derive(Debug, Clone, Default)]
pub struct DiffState {
    /// The plan, once loaded.
    pub view: Option<DiffView>,
    /// A load error.
    pub error: Option<String>,
    /// First line shown.
    pub scroll: usize,
    /// The generation of the latest load.
    pub generation: u64,
}

/// The panes of the History screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HistoryPane {
    /// Published releases.
    #[default]
    Releases,
    /// The audit log.
    Audit,
    /// Backups of the client's file.
    Backups,
}

impl HistoryPane {
    /// The next pane.
    #[must_use]
    pub fn next(self) -> Self {
        match self {
            Self::Releases => Self::Audit,
            Self::Audit => Self::Backups,
            Self::Backups => Self::Releases,
        }
    }
}

/// One published release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRow {
    /// Version.
    pub version: u64,
    /// Artifact id.
    pub artifact_id: String,
    /// When it was published.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// What changed.
    pub changelog: Option<String>,
    /// Servers in it.
    pub servers: Vec<String>,
    /// Whether it is the deployed one.
    pub deployed: bool,
}

/// The History screen's data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryData {
    /// Releases of the target, newest first.
    pub releases: Vec<ReleaseRow>,
    /// Audit records of the target, newest first.
    pub audit: Vec<AuditRecord>,
    /// Backups of the client's files, newest first.
    pub backups: Vec<BackupInfo>,
}

/// The History screen.
#[derive(Debug, Clone, Default)]
pub struct HistoryState {
    /// The loaded data.
    pub data: Option<HistoryData>,
    /// The focused pane.
    pub pane: HistoryPane,
    /// Selected release.
    pub release_selected: usize,
    /// Selected audit record.
    pub audit_selected: usize,
    /// Selected backup.
    pub backup_selected: usize,
    /// The last chain verification.
    pub verify: Option<VerifyReport>,
    /// A load error.
    pub error: Option<String>,
}

/// One request the background server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    /// When (already formatted).
    pub at: String,
    /// Method or tool name.
    pub what: String,
    /// Outcome.
    pub outcome: String,
}

/// A running background server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// Listening address.
    pub addr: String,
    /// Bearer token to give to clients (`None` when authentication is off).
    pub token: Option<String>,
    /// Open sessions.
    pub sessions: usize,
    /// Recent requests, newest first.
    pub recent: Vec<RequestLine>,
    /// Warnings about its configuration.
    pub warnings: Vec<String>,
}

/// The background server's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ServerStatus {
    /// Not running.
    #[default]
    Stopped,
    /// Starting.
    Starting,
    /// Running.
    Running(ServerInfo),
    /// Stopping.
    Stopping,
    /// It failed.
    Failed(String),
}

/// A field of the add form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKey {
    /// The server's name in the client's file.
    Name,
    /// A catalog parameter.
    Param(String),
    /// A plain env var.
    Env(String),
    /// A secret env var (masked).
    Secret(String),
}

impl FieldKey {
    /// The error field the core uses for it: its wire name (`server_name`, `params.path`,
    /// `env_vars.X`).
    pub fn core_field(&self) -> String {
        match self {
            Self::Name => "server_name".to_owned(),
            Self::Param(p) => format!("params.{p}"),
            Self::Env(e) | Self::Secret(e) => format!("env_vars.{e}"),
        }
    }

    /// Whether a core field, or a diagnostic's path inside the server (`env.X`), names this
    /// field.
    pub fn matches(&self, field: &str) -> bool {
        match self {
            Self::Env(e) | Self::Secret(e) => {
                field == self.core_field() || field == format!("env.{e}")
            }
            _ => field == self.core_field(),
        }
    }
}

/// One field of the add form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    /// What it sets.
    pub key: FieldKey,
    /// Label.
    pub label: String,
    /// The text typed.
    pub value: String,
    /// Must be given.
    pub required: bool,
    /// What it is for (shown when there is no error).
    pub help: String,
    /// The current problem with it.
    pub error: Option<String>,
}

impl FormField {
    /// Whether the value is shown masked.
    pub fn masked(&self) -> bool {
        matches!(self.key, FieldKey::Secret(_))
    }
}

/// The add-server form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddForm {
    /// Catalog id.
    pub server_id: String,
    /// The server's display name.
    pub title: String,
    /// Fields, the name first.
    pub fields: Vec<FormField>,
    /// The focused field.
    pub focus: usize,
    /// The generation of the latest check; older results are dropped.
    pub generation: u64,
    /// Problems that concern no single field.
    pub general: Vec<String>,
    /// Whether the latest check found no error.
    pub valid: bool,
    /// Whether the add is in flight.
    pub submitting: bool,
}

impl AddForm {
    /// A form for a catalog entry: the name, then parameters, then env vars.
    pub fn for_entry(entry: &ServerEntry) -> Self {
        let mut fields = vec![FormField {
            key: FieldKey::Name,
            label: "name".to_owned(),
            value: entry.id.clone(),
            required: true,
            help: "name of the server in the client's file".to_owned(),
            error: None,
        }];
        for p in &entry.params {
            let mut help = format!("{} ({})", p.description, p.kind.as_str());
            if let Some(d) = &p.default {
                let _ = write!(help, ", default {d}");
            } else if let Some(ex) = &p.example {
                let _ = write!(help, ", e.g. {ex}");
            }
            fields.push(FormField {
                key: FieldKey::Param(p.name.clone()),
                label: p.name.clone(),
                value: String::new(),
                required: p.required && p.default.is_none(),
                help,
                error: None,
            });
        }
        for e in &entry.env {
            let key = if e.secret {
                FieldKey::Secret(e.name.clone())
            } else {
                FieldKey::Env(e.name.clone())
            };
            let mut help = e.description.clone();
            if e.secret {
                help.push_str(if help.is_empty() {
                    "secret"
                } else {
                    " (secret)"
                });
            }
            fields.push(FormField {
                key,
                label: e.name.clone(),
                value: String::new(),
                required: e.required && e.default.is_none(),
                help,
                error: None,
            });
        }
        Self {
            server_id: entry.id.clone(),
            title: entry.name.clone(),
            fields,
            focus: 0,
            generation: 0,
            general: Vec::new(),
            valid: false,
            submitting: false,
        }
    }

    /// Clears every message.
    pub fn clear_messages(&mut self) {
        for f in &mut self.fields {
            f.error = None;
        }
        self.general.clear();
    }
}

/// What a confirmation or prompt leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// Remove a server from the draft.
    Remove(String),
    /// Rename a server.
    Rename(String),
    /// Publish with a changelog.
    Publish,
    /// Create a signing key (offered when publishing finds none).
    InitKeys,
    /// Apply this plan (a deploy, rollback or apply).
    Apply(PlanPin),
}

/// The plan a confirmation applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanPin {
    /// `deploy`, `rollback` or `apply`.
    pub action: &'static str,
    /// What the plan names: the artifact of a rollback, the backup of a restore.
    pub subject: String,
    /// The plan's id.
    pub plan_id: String,
}

/// A yes/no question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    /// Title.
    pub title: String,
    /// Lines of the question (a plan, a diff, ...).
    pub body: Vec<DiffLine>,
    /// What `yes` does.
    pub then: Pending,
    /// First body line shown.
    pub scroll: usize,
}

/// A one-line text prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// Title.
    pub title: String,
    /// Label before the input.
    pub label: String,
    /// The text typed.
    pub value: String,
    /// What submitting does.
    pub then: Pending,
    /// A problem with the value.
    pub error: Option<String>,
}

/// What a picker chooses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickPurpose {
    /// The profile of a client.
    Profile(String),
    /// The catalog tag filter.
    Tag,
    /// Clients to copy the draft to.
    CopyTo,
}

/// An item of a picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickItem {
    /// Shown text.
    pub label: String,
    /// The value chosen.
    pub value: String,
    /// Ticked (multi-select pickers).
    pub checked: bool,
}

/// A list to choose from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    /// Title.
    pub title: String,
    /// Items.
    pub items: Vec<PickItem>,
    /// The highlighted item.
    pub selected: usize,
    /// Whether several can be ticked.
    pub multi: bool,
    /// What choosing does.
    pub purpose: PickPurpose,
}

/// A dialog over the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modal {
    /// The help overlay.
    Help {
        /// First line shown.
        scroll: usize,
    },
    /// A confirmation.
    Confirm(Confirm),
    /// A text prompt.
    Prompt(Prompt),
    /// The add form.
    Form(AddForm),
    /// A picker.
    Picker(Picker),
}

/// Severity of a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastLevel {
    /// Information.
    Info,
    /// Success.
    Ok,
    /// Something to look at.
    Warn,
    /// Failure.
    Error,
}

/// A short-lived notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    /// Severity.
    pub level: ToastLevel,
    /// Text.
    pub text: String,
    /// Ticks left.
    pub ttl: u8,
}

/// The Team screen: the remotes, and what a pull in flight or just done said.
#[derive(Debug, Clone, Default)]
pub struct TeamState {
    /// The remotes, once loaded.
    pub remotes: Option<Result<Vec<RemoteView>, UiError>>,
    /// The selected remote.
    pub selected: usize,
    /// The remote being pulled from.
    pub pulling: Option<String>,
    /// The last pull made here, by remote.
    pub reports: BTreeMap<String, Result<PullReport, UiError>>,
}

impl TeamState {
    /// The selected remote.
    pub fn selected_remote(&self) -> Option<&RemoteView> {
        self.remotes
            .as_ref()
            .and_then(|r| r.as_ref().ok())
            .and_then(|list| list.get(self.selected))
    }
}

/// Everything the TUI shows.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// The current screen.
    pub screen: Screen,
    /// The (client, profile) being worked on.
    pub target: Option<Target>,
    /// Clients screen.
    pub clients: ClientsState,
    /// Catalog screen.
    pub catalog: CatalogState,
    /// Draft screen.
    pub draft: DraftState,
    /// Diff screen.
    pub diff: DiffState,
    /// History screen.
    pub history: HistoryState,
    /// Server panel.
    pub server: ServerStatus,
    /// Team screen.
    pub team: TeamState,
    /// The open dialog.
    pub modal: Option<Modal>,
    /// Notices, oldest first.
    pub toasts: Vec<Toast>,
    /// Keys of an unfinished sequence (`g` of `g g`).
    pub pending_keys: Vec<KeyChord>,
    /// The keymap.
    pub keymap: Arc<Keymap>,
    /// Fingerprint of the files the TUI shows, from the last poll.
    pub fingerprint: Option<u64>,
    /// Stamps of the state files from the last poll.
    pub snapshot: Option<crate::core::events::StateSnapshot>,
    /// Whether a poll is in flight.
    pub polling: bool,
    /// Whether a server status request is in flight.
    pub server_polling: bool,
    /// Terminal size (columns, rows), for paging.
    pub size: (u16, u16),
    /// Set when the user asked to quit.
    pub quit: bool,
}

impl State {
    /// A fresh state over a catalog snapshot.
    pub fn new(keymap: Arc<Keymap>, entries: Arc<[ServerEntry]>, target: Option<Target>) -> Self {
        Self {
            screen: if target.is_some() {
                Screen::Draft
            } else {
                Screen::Clients
            },
            target,
            catalog: CatalogState::new(entries),
            keymap,
            size: (80, 24),
            ..Self::default()
        }
    }

    /// The routing layers for the current state, top first.
    pub fn layers(&self) -> Vec<Layer> {
        match &self.modal {
            Some(Modal::Help { .. }) => vec![Layer::Help],
            Some(Modal::Confirm(_)) => vec![Layer::Confirm],
            Some(Modal::Prompt(_)) => vec![Layer::Prompt],
            Some(Modal::Form(_)) => vec![Layer::Form],
            Some(Modal::Picker(_)) => vec![Layer::Picker],
            None if self.screen == Screen::Catalog && self.catalog.filter_focused => {
                vec![Layer::Filter]
            }
            None => vec![self.screen.layer(), Layer::Global],
        }
    }

    /// Adds a notice.
    pub fn toast(&mut self, level: ToastLevel, text: impl Into<String>) {
        self.toasts.push(Toast {
            level,
            text: text.into(),
            ttl: TOAST_TICKS,
        });
        if self.toasts.len() > 4 {
            self.toasts.remove(0);
        }
    }
}
