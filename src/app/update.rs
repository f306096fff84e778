//! `update`: the one place the state changes. It is pure and synchronous: no `.await`, no
//! file or network access, no clock (time arrives as [`Action::Tick`]). Slow work is
//! returned as [`Effect`]s whose results come back as actions.

use std::fmt::Write as _;

use crossterm::event::{KeyEvent, KeyEventKind};

use super::action::{Action, DeployPlan, FormCheck};
use super::command::Command;
use super::effect::{AddRequest, Effect, short_id};
use super::keymap::{KeyChord, Resolved};
use super::state::{
    AddForm, Confirm, DiffLine, DiffLineKind, FieldKey, Health, HistoryPane, Modal, Pending,
    PickItem, PickPurpose, Picker, PlanPin, Prompt, Screen, ServerInfo, ServerStatus, State,
    Target, ToastLevel, UiError,
};
use crate::core::catalog::Transport;
use crate::core::events::{DomainEvent, changes};
use crate::core::orchestrator::{PullReport, PullStatus};
use crate::core::validate::is_valid_server_name;

/// The effects to run when the TUI starts.
pub fn init(state: &State) -> Vec<Effect> {
    let mut effects = vec![Effect::LoadClients];
    if let Some(t) = &state.target {
        effects.push(Effect::LoadDraft(t.clone()));
    }
    effects
}

/// Applies one action; returns the effects it asks for.
pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Key(key) => on_key(state, key),
        Action::Paste(text) => {
            let text: String = text.chars().filter(|c| !c.is_control()).collect();
            type_text(state, &text)
        }
        Action::Resize(w, h) => {
            state.size = (w, h);
            Vec::new()
        }
        Action::Tick => on_tick(state),
        Action::Run(cmd) => run(state, cmd),
        Action::ClientsLoaded(result) => {
            match result {
                Ok(rows) => {
                    state.clients.rows = rows;
                    state.clients.error = None;
                    state.clients.selected =
                        clamp(state.clients.selected, state.clients.rows.len());
                }
                Err(e) => state.clients.error = Some(e.message),
            }
            state.clients.loaded = true;
            Vec::new()
        }
        Action::SearchDone { generation, hits } => {
            let cat = &mut state.catalog;
            if generation != cat.generation {
                return Vec::new();
            }
            cat.hits = hits;
            cat.selected = clamp(cat.selected, cat.hits.len());
            cat.shown_generation = generation;
            if std::mem::take(&mut cat.add_when_searched) {
                return open_form(state);
            }
            Vec::new()
        }
        Action::DraftLoaded(result) => {
            match result {
                Ok(snapshot) => {
                    let matches = state.target.as_ref().is_some_and(|t| {
                        t.client == snapshot.draft.client && t.profile == snapshot.draft.profile
                    });
                    if matches {
                        state.draft.selected =
                            clamp(state.draft.selected, snapshot.draft.servers.len());
                        state.draft.snapshot = Some(snapshot);
                        state.draft.error = None;
                    }
                }
                Err(e) => state.draft.error = Some(e.message),
            }
            Vec::new()
        }
        Action::FormChecked { generation, check } => {
            if let Some(Modal::Form(form)) = &mut state.modal
                && form.generation == generation
            {
                apply_check(form, &check);
            }
            Vec::new()
        }
        Action::Added(result) => on_added(state, result),
        Action::Changed(result) => match result {
            Ok(text) => {
                state.toast(ToastLevel::Ok, text);
                reload(state)
            }
            Err(e) if e.code == "PLAN_STALE" => {
                state.toast(
                    ToastLevel::Warn,
                    "stale plan, nothing was written: the file or the artifact changed since it was shown; press D (or A) again for the new plan",
                );
                reload(state)
            }
            Err(e) if e.code == "KEY_NOT_FOUND" => {
                state.modal = Some(Modal::Confirm(Confirm {
                    title: "No signing key".into(),
                    body: text_lines(&[
                        "Publishing signs the release, and no signing key exists yet.",
                        "Create one now (mcp-orch keys init)?",
                    ]),
                    then: Pending::InitKeys,
                    scroll: 0,
                }));
                Vec::new()
            }
            Err(e) => {
                error_toast(state, &e);
                Vec::new()
            }
        },
        Action::DiffLoaded { generation, result } => {
            if generation == state.diff.generation {
                match result {
                    Ok(view) => {
                        state.diff.scroll = clamp(state.diff.scroll, view.lines.len());
                        state.diff.view = Some(view);
                        state.diff.error = None;
                    }
                    Err(e) => {
                        state.diff.view = None;
                        state.diff.error = Some(format!("{} ({})", e.message, e.hint));
                    }
                }
            }
            Vec::new()
        }
        Action::DeployPlanned(result) => {
            match result {
                Ok(plan) => state.modal = Some(Modal::Confirm(deploy_confirm(&plan))),
                Err(e) if e.code == "ARTIFACT_NOT_FOUND" => state.toast(
                    ToastLevel::Warn,
                    "nothing has been published for this profile yet: publish the draft with P",
                ),
                Err(e) => error_toast(state, &e),
            }
            Vec::new()
        }
        Action::HistoryLoaded(result) => {
            match result {
                Ok(data) => {
                    state.history.audit_selected =
                        clamp(state.history.audit_selected, data.audit.len());
                    state.history.backup_selected =
                        clamp(state.history.backup_selected, data.backups.len());
                    state.history.data = Some(data);
                    state.history.error = None;
                }
                Err(e) => state.history.error = Some(e.message),
            }
            Vec::new()
        }
        Action::Verified(result) => {
            match result {
                Ok(report) => {
                    if report.ok {
                        state.toast(
                            ToastLevel::Ok,
                            format!("audit chain intact ({} records)", report.records),
                        );
                    } else {
                        state.toast(
                            ToastLevel::Error,
                            format!("audit chain broken: {} problem(s)", report.problems.len()),
                        );
                    }
                    state.history.verify = Some(report);
                }
                Err(e) => error_toast(state, &e),
            }
            Vec::new()
        }
        Action::Polled { snapshot, files } => {
            state.polling = false;
            // The first poll is the baseline, taken after the screens were first loaded:
            // whatever changed in between is only caught by loading them again.
            let first = state.snapshot.is_none();
            let events = state
                .snapshot
                .as_ref()
                .map(|old| changes(old, &snapshot))
                .unwrap_or_default();
            let files_changed = state.fingerprint.is_some_and(|f| f != files);
            state.snapshot = Some(snapshot);
            state.fingerprint = Some(files);
            if events.contains(&DomainEvent::CatalogChanged) {
                state.toast(
                    ToastLevel::Info,
                    "the catalog changed on disk; restart the TUI to see it",
                );
            }
            if events.is_empty() && !files_changed && !first {
                Vec::new()
            } else {
                tracing::debug!(events = events.len(), files_changed, "outside change");
                reload(state)
            }
        }
        Action::HealthChecked(target, result) => on_health_checked(state, target, result),
        Action::RemotesLoaded(result) => {
            if let Ok(list) = &result {
                state.team.selected = state.team.selected.min(list.len().saturating_sub(1));
            }
            state.team.remotes = Some(result);
            Vec::new()
        }
        Action::Pulled(remote, result) => on_pulled(state, remote, result),
        Action::ServerStatus(status) => {
            state.server_polling = false;
            if state.server == status {
                Vec::new()
            } else {
                state.server = status;
                vec![Effect::Redraw]
            }
        }
    }
}

/// Whether an action can change what is on screen by itself. The runtime redraws after
/// the others; a quiet action that does change something returns [`Effect::Redraw`].
pub fn is_quiet(action: &Action) -> bool {
    matches!(
        action,
        Action::Tick | Action::Polled { .. } | Action::ServerStatus(_)
    )
}

fn on_tick(state: &mut State) -> Vec<Effect> {
    let mut effects = Vec::new();
    let before = state.toasts.len();
    for t in &mut state.toasts {
        t.ttl = t.ttl.saturating_sub(1);
    }
    state.toasts.retain(|t| t.ttl > 0);
    if state.toasts.len() != before {
        effects.push(Effect::Redraw);
    }
    if !state.polling {
        state.polling = true;
        effects.push(Effect::Poll(state.target.clone()));
    }
    // Sessions and recent requests change while the server runs; it can also stop by itself.
    if matches!(state.server, ServerStatus::Running(_)) && !state.server_polling {
        state.server_polling = true;
        effects.push(Effect::ServerStatus);
    }
    effects
}

/// Reloads whatever the current screen shows (after a change here or on disk).
fn reload(state: &mut State) -> Vec<Effect> {
    let mut effects = vec![Effect::LoadClients];
    if let Some(t) = state.target.clone() {
        effects.push(Effect::LoadDraft(t.clone()));
        match state.screen {
            Screen::Diff => effects.push(load_diff(state, t)),
            Screen::History => effects.push(Effect::LoadHistory(t)),
            _ => {}
        }
    }
    effects
}

fn load_diff(state: &mut State, target: Target) -> Effect {
    state.diff.generation += 1;
    Effect::LoadDiff {
        generation: state.diff.generation,
        target,
    }
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    let chord = KeyChord::from_event(&key);
    let layers = state.layers();
    let mut resolved = state.keymap.resolve(&layers, &state.pending_keys, chord);
    if resolved == Resolved::Unbound && !state.pending_keys.is_empty() {
        state.pending_keys.clear();
        resolved = state.keymap.resolve(&layers, &[], chord);
    }
    match resolved {
        Resolved::Run(cmd) => {
            state.pending_keys.clear();
            run(state, cmd)
        }
        Resolved::Pending => {
            state.pending_keys.push(chord);
            Vec::new()
        }
        Resolved::Text(c) => {
            state.pending_keys.clear();
            type_text(state, &c.to_string())
        }
        Resolved::Unbound => {
            state.pending_keys.clear();
            Vec::new()
        }
    }
}

fn clamp(selected: usize, len: usize) -> usize {
    selected.min(len.saturating_sub(1))
}

fn step(selected: usize, len: usize, delta: isize) -> usize {
    if len == 0 {
        return 0;
    }
    clamp(selected.saturating_add_signed(delta), len)
}

fn page(state: &State) -> isize {
    isize::try_from(state.size.1.saturating_sub(8).max(1)).unwrap_or(1)
}

fn error_toast(state: &mut State, e: &UiError) {
    let text = if e.hint.is_empty() {
        e.message.clone()
    } else {
        format!("{} — {}", e.message, e.hint)
    };
    state.toast(ToastLevel::Error, text);
}

fn need_target(state: &mut State) -> Option<Target> {
    if state.target.is_none() {
        state.toast(
            ToastLevel::Warn,
            "choose a client first: Clients screen (1), then enter",
        );
    }
    state.target.clone()
}

/// Runs a command in the context of the top layer.
pub fn run(state: &mut State, cmd: Command) -> Vec<Effect> {
    if cmd == Command::Noop {
        return Vec::new();
    }
    match state.modal.take() {
        Some(modal) => run_modal(state, modal, cmd),
        None if state.screen == Screen::Catalog && state.catalog.filter_focused => {
            run_filter(state, cmd)
        }
        None => run_screen(state, cmd),
    }
}

fn run_modal(state: &mut State, modal: Modal, cmd: Command) -> Vec<Effect> {
    match modal {
        Modal::Help { scroll } => {
            let scroll = match cmd {
                Command::Help | Command::Cancel => return Vec::new(),
                Command::Up => scroll.saturating_sub(1),
                Command::Down => scroll + 1,
                _ => scroll,
            };
            state.modal = Some(Modal::Help { scroll });
            Vec::new()
        }
        Modal::Confirm(mut c) => match cmd {
            Command::Confirm => confirmed(state, c.then),
            Command::Cancel => {
                state.toast(ToastLevel::Info, "cancelled");
                Vec::new()
            }
            Command::Up | Command::Down | Command::PageUp | Command::PageDown => {
                let delta = match cmd {
                    Command::Up => -1,
                    Command::Down => 1,
                    Command::PageUp => -page(state),
                    _ => page(state),
                };
                c.scroll = step(c.scroll, c.body.len(), delta);
                state.modal = Some(Modal::Confirm(c));
                Vec::new()
            }
            _ => {
                state.modal = Some(Modal::Confirm(c));
                Vec::new()
            }
        },
        Modal::Prompt(mut p) => match cmd {
            Command::Cancel => Vec::new(),
            Command::Submit => prompt_submitted(state, p),
            Command::DeleteChar => {
                p.value.pop();
                p.error = None;
                state.modal = Some(Modal::Prompt(p));
                Vec::new()
            }
            Command::ClearInput => {
                p.value.clear();
                p.error = None;
                state.modal = Some(Modal::Prompt(p));
                Vec::new()
            }
            _ => {
                state.modal = Some(Modal::Prompt(p));
                Vec::new()
            }
        },
        Modal::Form(mut form) => {
            let len = form.fields.len();
            match cmd {
                Command::Cancel => return Vec::new(),
                Command::NextField => form.focus = (form.focus + 1) % len.max(1),
                Command::PrevField => form.focus = (form.focus + len.max(1) - 1) % len.max(1),
                Command::DeleteChar | Command::ClearInput => {
                    if let Some(f) = form.fields.get_mut(form.focus) {
                        if cmd == Command::DeleteChar {
                            f.value.pop();
                        } else {
                            f.value.clear();
                        }
                    }
                    state.modal = Some(Modal::Form(form));
                    return check_form(state);
                }
                Command::Submit => {
                    if form.submitting {
                    } else if let Some(i) = form.fields.iter().position(|f| f.error.is_some()) {
                        form.focus = i;
                        state.toast(ToastLevel::Warn, "fix the marked fields first");
                    } else if let Some(t) = state.target.clone() {
                        form.submitting = true;
                        let req = add_request(&form, t);
                        state.modal = Some(Modal::Form(form));
                        return vec![Effect::Add(req)];
                    }
                }
                _ => {}
            }
            state.modal = Some(Modal::Form(form));
            Vec::new()
        }
        Modal::Picker(mut p) => match cmd {
            Command::Cancel => Vec::new(),
            Command::Up => {
                p.selected = step(p.selected, p.items.len(), -1);
                state.modal = Some(Modal::Picker(p));
                Vec::new()
            }
            Command::Down => {
                p.selected = step(p.selected, p.items.len(), 1);
                state.modal = Some(Modal::Picker(p));
                Vec::new()
            }
            Command::Toggle => {
                if p.multi
                    && let Some(item) = p.items.get_mut(p.selected)
                {
                    item.checked = !item.checked;
                }
                state.modal = Some(Modal::Picker(p));
                Vec::new()
            }
            Command::Submit => picked(state, p),
            _ => {
                state.modal = Some(Modal::Picker(p));
                Vec::new()
            }
        },
    }
}

fn run_filter(state: &mut State, cmd: Command) -> Vec<Effect> {
    let len = state.catalog.hits.len();
    let cat = &mut state.catalog;
    match cmd {
        Command::Cancel => cat.filter_focused = false,
        Command::Select => {
            cat.filter_focused = false;
            return open_form(state);
        }
        Command::Up => cat.selected = step(cat.selected, len, -1),
        Command::Down => cat.selected = step(cat.selected, len, 1),
        Command::PageUp => {
            let p = page(state);
            state.catalog.selected = step(state.catalog.selected, len, -p);
        }
        Command::PageDown => {
            let p = page(state);
            state.catalog.selected = step(state.catalog.selected, len, p);
        }
        Command::DeleteChar => {
            cat.query.pop();
            return search(state);
        }
        Command::ClearInput => {
            cat.query.clear();
            return search(state);
        }
        _ => {}
    }
    Vec::new()
}

fn switch(state: &mut State, screen: Screen) -> Vec<Effect> {
    state.screen = screen;
    if screen == Screen::Team {
        return vec![Effect::LoadRemotes];
    }
    let Some(t) = state.target.clone() else {
        return Vec::new();
    };
    match screen {
        Screen::Draft => vec![Effect::LoadDraft(t)],
        Screen::Diff => vec![load_diff(state, t)],
        Screen::History => vec![Effect::LoadHistory(t)],
        _ => Vec::new(),
    }
}

fn run_screen(state: &mut State, cmd: Command) -> Vec<Effect> {
    match cmd {
        Command::Quit => {
            state.quit = true;
            vec![Effect::Quit]
        }
        Command::Help => {
            state.modal = Some(Modal::Help { scroll: 0 });
            Vec::new()
        }
        Command::ScreenClients => switch(state, Screen::Clients),
        Command::ScreenCatalog => switch(state, Screen::Catalog),
        Command::ScreenDraft => switch(state, Screen::Draft),
        Command::ScreenDiff => switch(state, Screen::Diff),
        Command::ScreenHistory => switch(state, Screen::History),
        Command::ScreenServer => switch(state, Screen::Server),
        Command::ScreenTeam => switch(state, Screen::Team),
        Command::NextScreen => switch(state, state.screen.next()),
        Command::PrevScreen => switch(state, state.screen.prev()),
        Command::Up => move_by(state, -1),
        Command::Down => move_by(state, 1),
        Command::PageUp => move_by(state, -page(state)),
        Command::PageDown => move_by(state, page(state)),
        Command::Top => move_by(state, isize::MIN / 2),
        Command::Bottom => move_by(state, isize::MAX / 2),
        Command::Refresh => {
            state.toast(ToastLevel::Info, "reloading");
            reload(state)
        }
        Command::Publish => {
            if need_target(state).is_some() {
                state.modal = Some(Modal::Prompt(Prompt {
                    title: "Publish the draft".into(),
                    label: "changelog".into(),
                    value: String::new(),
                    then: Pending::Publish,
                    error: None,
                }));
            }
            Vec::new()
        }
        Command::Deploy => need_target(state)
            .map(|t| vec![Effect::PlanDeploy(t)])
            .unwrap_or_default(),
        Command::Apply => need_target(state)
            .map(|t| vec![Effect::PlanApply(t)])
            .unwrap_or_default(),
        _ => match state.screen {
            Screen::Clients => run_clients(state, cmd),
            Screen::Catalog => run_catalog(state, cmd),
            Screen::Draft => run_draft(state, cmd),
            Screen::History => run_history(state, cmd),
            Screen::Server => run_server(state, cmd),
            Screen::Team => run_team(state, cmd),
            Screen::Diff => Vec::new(),
        },
    }
}

fn move_by(state: &mut State, delta: isize) -> Vec<Effect> {
    match state.screen {
        Screen::Clients => {
            state.clients.selected = step(state.clients.selected, state.clients.rows.len(), delta);
        }
        Screen::Catalog => {
            state.catalog.selected = step(state.catalog.selected, state.catalog.hits.len(), delta);
        }
        Screen::Draft => {
            let len = state
                .draft
                .snapshot
                .as_ref()
                .map_or(0, |s| s.draft.servers.len());
            state.draft.selected = step(state.draft.selected, len, delta);
        }
        Screen::Diff => {
            let len = state.diff.view.as_ref().map_or(0, |v| v.lines.len());
            state.diff.scroll = step(state.diff.scroll, len, delta);
        }
        Screen::History => {
            let h = &mut state.history;
            let (releases, audit, backups) = h.data.as_ref().map_or((0, 0, 0), |d| {
                (d.releases.len(), d.audit.len(), d.backups.len())
            });
            match h.pane {
                HistoryPane::Releases => {
                    h.release_selected = step(h.release_selected, releases, delta);
                }
                HistoryPane::Audit => h.audit_selected = step(h.audit_selected, audit, delta),
                HistoryPane::Backups => h.backup_selected = step(h.backup_selected, backups, delta),
            }
        }
        Screen::Team => {
            let len = state
                .team
                .remotes
                .as_ref()
                .and_then(|r| r.as_ref().ok())
                .map_or(0, Vec::len);
            state.team.selected = step(state.team.selected, len, delta);
        }
        Screen::Server => {}
    }
    Vec::new()
}

fn run_team(state: &mut State, cmd: Command) -> Vec<Effect> {
    if cmd != Command::Pull {
        return Vec::new();
    }
    if let Some(name) = &state.team.pulling {
        state.toast(ToastLevel::Warn, format!("already pulling from {name}"));
        return Vec::new();
    }
    let Some(remote) = state.team.selected_remote().map(|r| r.name.clone()) else {
        state.toast(
            ToastLevel::Warn,
            "no remote: add one with `mcp-orch remote add NAME URL --token TOKEN`",
        );
        return Vec::new();
    };
    state.toast(ToastLevel::Info, format!("pulling from {remote}"));
    state.team.pulling = Some(remote.clone());
    vec![Effect::Pull(remote)]
}

fn on_pulled(
    state: &mut State,
    remote: String,
    result: Result<PullReport, UiError>,
) -> Vec<Effect> {
    state.team.pulling = None;
    match &result {
        Ok(report) => {
            let deployed = report
                .channels
                .iter()
                .filter(|c| c.status == PullStatus::Deployed)
                .count();
            let failed = report
                .channels
                .iter()
                .filter(|c| c.status == PullStatus::Failed)
                .count();
            if failed > 0 {
                state.toast(
                    ToastLevel::Error,
                    format!("pulled {remote}: {deployed} deployed, {failed} failed"),
                );
            } else {
                state.toast(
                    ToastLevel::Info,
                    format!("pulled {remote}: {deployed} deployed"),
                );
            }
        }
        Err(e) => error_toast(state, e),
    }
    state.team.reports.insert(remote, result);
    let mut effects = reload(state);
    effects.push(Effect::LoadRemotes);
    effects
}

fn run_clients(state: &mut State, cmd: Command) -> Vec<Effect> {
    let Some(row) = state.clients.rows.get(state.clients.selected).cloned() else {
        return Vec::new();
    };
    match cmd {
        Command::Select => {
            let profile = state
                .target
                .as_ref()
                .filter(|t| t.client == row.id)
                .map_or_else(
                    || crate::core::profiles::DEFAULT_PROFILE.to_owned(),
                    |t| t.profile.clone(),
                );
            choose_target(state, &row.id, &profile)
        }
        Command::PickProfile => {
            let current = state
                .target
                .as_ref()
                .filter(|t| t.client == row.id)
                .map(|t| t.profile.clone());
            let items: Vec<PickItem> = row
                .profiles
                .iter()
                .map(|p| PickItem {
                    label: p.clone(),
                    value: p.clone(),
                    checked: false,
                })
                .collect();
            let selected = current
                .and_then(|c| items.iter().position(|i| i.value == c))
                .unwrap_or(0);
            state.modal = Some(Modal::Picker(Picker {
                title: format!("Profile of {}", row.name),
                items,
                selected,
                multi: false,
                purpose: PickPurpose::Profile(row.id),
            }));
            Vec::new()
        }
        Command::Import => {
            let mut effects = choose_target(state, &row.id, crate::core::profiles::DEFAULT_PROFILE);
            if let Some(t) = state.target.clone() {
                effects.push(Effect::Import(t));
            }
            effects
        }
        _ => Vec::new(),
    }
}

fn choose_target(state: &mut State, client: &str, profile: &str) -> Vec<Effect> {
    let target = Target {
        client: client.to_owned(),
        profile: profile.to_owned(),
    };
    if state.target.as_ref() != Some(&target) {
        state.draft.snapshot = None;
        state.draft.selected = 0;
        state.diff.view = None;
        state.history.data = None;
        state.history.verify = None;
    }
    state.target = Some(target.clone());
    state.toast(
        ToastLevel::Info,
        format!("working on {}/{}", target.client, target.profile),
    );
    let mut effects = switch(state, Screen::Draft);
    effects.push(Effect::Poll(Some(target)));
    state.polling = true;
    effects
}

fn search(state: &mut State) -> Vec<Effect> {
    let cat = &mut state.catalog;
    cat.generation += 1;
    cat.selected = 0;
    vec![Effect::Search {
        generation: cat.generation,
        text: cat.query.clone(),
        transport: cat.transport,
        tag: cat.tag.clone(),
    }]
}

fn run_catalog(state: &mut State, cmd: Command) -> Vec<Effect> {
    match cmd {
        Command::FocusFilter => {
            state.catalog.filter_focused = true;
            Vec::new()
        }
        Command::CycleTransport => {
            let cat = &mut state.catalog;
            cat.transport = match cat.transport {
                None => Some(Transport::Stdio),
                Some(Transport::Stdio) => Some(Transport::Http),
                Some(Transport::Http) => Some(Transport::Sse),
                Some(Transport::Sse) => None,
            };
            search(state)
        }
        Command::PickTag => {
            let mut items = vec![PickItem {
                label: "(any tag)".into(),
                value: String::new(),
                checked: false,
            }];
            items.extend(state.catalog.tags.iter().map(|t| PickItem {
                label: t.clone(),
                value: t.clone(),
                checked: false,
            }));
            let selected = state
                .catalog
                .tag
                .as_ref()
                .and_then(|t| items.iter().position(|i| &i.value == t))
                .unwrap_or(0);
            state.modal = Some(Modal::Picker(Picker {
                title: "Tag filter".into(),
                items,
                selected,
                multi: false,
                purpose: PickPurpose::Tag,
            }));
            Vec::new()
        }
        Command::ClearFilters => {
            let cat = &mut state.catalog;
            cat.query.clear();
            cat.transport = None;
            cat.tag = None;
            search(state)
        }
        Command::Add | Command::Select => open_form(state),
        _ => Vec::new(),
    }
}

fn open_form(state: &mut State) -> Vec<Effect> {
    let cat = &mut state.catalog;
    if cat.shown_generation != cat.generation {
        cat.add_when_searched = true;
        return Vec::new();
    }
    let Some(entry) = state.catalog.selected_entry() else {
        state.toast(ToastLevel::Warn, "no server selected");
        return Vec::new();
    };
    let form = AddForm::for_entry(entry);
    if need_target(state).is_none() {
        return Vec::new();
    }
    let mut form = form;
    // Start on the first field that needs a value, else on the name.
    form.focus = form
        .fields
        .iter()
        .position(|f| f.required && f.value.is_empty())
        .unwrap_or(0);
    state.modal = Some(Modal::Form(form));
    check_form(state)
}

fn add_request(form: &AddForm, target: Target) -> AddRequest {
    let mut req = AddRequest {
        target,
        server_id: form.server_id.clone(),
        name: String::new(),
        params: Vec::new(),
        env: Vec::new(),
        secrets: Vec::new(),
    };
    for f in &form.fields {
        let value = f.value.clone();
        match &f.key {
            FieldKey::Name => value.trim().clone_into(&mut req.name),
            _ if value.is_empty() => {}
            FieldKey::Param(p) => req.params.push((p.clone(), value)),
            FieldKey::Env(e) => req.env.push((e.clone(), value)),
            FieldKey::Secret(s) => req.secrets.push((s.clone(), value)),
        }
    }
    req
}

fn check_form(state: &mut State) -> Vec<Effect> {
    let Some(target) = state.target.clone() else {
        return Vec::new();
    };
    let Some(Modal::Form(form)) = &mut state.modal else {
        return Vec::new();
    };
    form.generation += 1;
    vec![Effect::CheckForm {
        generation: form.generation,
        request: add_request(form, target),
    }]
}

fn apply_check(form: &mut AddForm, check: &FormCheck) {
    form.clear_messages();
    for (field, message) in &check.fields {
        match form.fields.iter_mut().find(|f| f.key.matches(field)) {
            Some(f) if f.error.is_none() => f.error = Some(message.clone()),
            Some(_) => {}
            None => form.general.push(message.clone()),
        }
    }
    form.general.extend(check.general.iter().cloned());
    form.valid = check.valid && check.fields.is_empty();
}

fn on_added(state: &mut State, result: Result<super::action::Added, UiError>) -> Vec<Effect> {
    match result {
        Ok(added) => {
            if matches!(state.modal, Some(Modal::Form(_))) {
                state.modal = None;
            }
            let mut text = format!("added `{}` ({} servers)", added.name, added.server_count);
            if !added.stored_secrets.is_empty() {
                let _ = write!(text, "; stored secrets {}", added.stored_secrets.join(", "));
            }
            state.toast(ToastLevel::Ok, text);
            let mut effects = switch(state, Screen::Draft);
            effects.push(Effect::LoadClients);
            effects
        }
        Err(e) => {
            if let Some(Modal::Form(form)) = &mut state.modal {
                form.submitting = false;
                let field = e.field.clone().unwrap_or_default();
                match form.fields.iter_mut().position(|f| f.key.matches(&field)) {
                    Some(i) => {
                        form.fields[i].error = Some(e.message.clone());
                        form.focus = i;
                    }
                    None => form.general.push(e.message.clone()),
                }
            }
            error_toast(state, &e);
            Vec::new()
        }
    }
}

fn run_draft(state: &mut State, cmd: Command) -> Vec<Effect> {
    match cmd {
        Command::Add => {
            if need_target(state).is_none() {
                return Vec::new();
            }
            state.screen = Screen::Catalog;
            state.catalog.filter_focused = true;
            if state.catalog.query.is_empty() {
                Vec::new()
            } else {
                // A fresh search: the last add's filter is not this one's.
                state.catalog.query.clear();
                search(state)
            }
        }
        Command::Import => need_target(state)
            .map(|t| vec![Effect::Import(t)])
            .unwrap_or_default(),
        Command::CheckHealth => check_health(state),
        Command::Remove | Command::Rename => {
            let Some(name) = state.draft.selected_name().map(str::to_owned) else {
                state.toast(ToastLevel::Warn, "the draft is empty");
                return Vec::new();
            };
            state.modal = Some(if cmd == Command::Remove {
                Modal::Confirm(Confirm {
                    title: "Remove a server".into(),
                    body: vec![DiffLine {
                        kind: DiffLineKind::Context,
                        text: format!("Remove `{name}` from the draft?"),
                    }],
                    then: Pending::Remove(name),
                    scroll: 0,
                })
            } else {
                Modal::Prompt(Prompt {
                    title: format!("Rename `{name}`"),
                    label: "new name".into(),
                    value: name.clone(),
                    then: Pending::Rename(name),
                    error: None,
                })
            });
            Vec::new()
        }
        Command::CopyTo => {
            let Some(t) = need_target(state) else {
                return Vec::new();
            };
            let items: Vec<PickItem> = state
                .clients
                .rows
                .iter()
                .filter(|r| r.id != t.client)
                .map(|r| PickItem {
                    label: format!("{} ({})", r.name, r.id),
                    value: r.id.clone(),
                    checked: false,
                })
                .collect();
            state.modal = Some(Modal::Picker(Picker {
                title: format!("Copy the draft to (profile {})", t.profile),
                items,
                selected: 0,
                multi: true,
                purpose: PickPurpose::CopyTo,
            }));
            Vec::new()
        }
        Command::Select => switch(state, Screen::Diff),
        _ => Vec::new(),
    }
}

fn run_history(state: &mut State, cmd: Command) -> Vec<Effect> {
    match cmd {
        Command::NextPane => {
            state.history.pane = state.history.pane.next();
            Vec::new()
        }
        Command::Verify => vec![Effect::Verify],
        Command::Restore => {
            let backup = state
                .history
                .data
                .as_ref()
                .and_then(|d| d.backups.get(state.history.backup_selected))
                .cloned();
            let Some(b) = backup else {
                state.toast(ToastLevel::Warn, "no backup selected (→ shows the backups)");
                return Vec::new();
            };
            // Planned first, like every change to a client file: the confirmation shows what
            // the file becomes, and applies exactly that.
            need_target(state)
                .map(|t| vec![Effect::PlanRestore(t, b.id)])
                .unwrap_or_default()
        }
        Command::Rollback => {
            let release = state
                .history
                .data
                .as_ref()
                .filter(|_| state.history.pane == HistoryPane::Releases)
                .and_then(|d| d.releases.get(state.history.release_selected))
                .map(|r| r.artifact_id.clone());
            let Some(id) = release else {
                state.toast(
                    ToastLevel::Warn,
                    "select the release to roll back to in the Releases pane",
                );
                return Vec::new();
            };
            need_target(state)
                .map(|t| vec![Effect::PlanRollback(t, id)])
                .unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

/// Marks every server of the draft as being checked and asks for the probes.
fn check_health(state: &mut State) -> Vec<Effect> {
    let Some(target) = need_target(state) else {
        return Vec::new();
    };
    let names: Vec<String> = state
        .draft
        .snapshot
        .as_ref()
        .map(|s| s.draft.servers.keys().cloned().collect())
        .unwrap_or_default();
    if names.is_empty() {
        state.toast(ToastLevel::Warn, "the draft is empty");
        return Vec::new();
    }
    state.toast(
        ToastLevel::Info,
        format!("checking {} server(s)…", names.len()),
    );
    let checking = names.into_iter().map(|n| (n, Health::Checking)).collect();
    state.draft.health = Some((target.clone(), checking));
    vec![Effect::CheckHealth(target)]
}

fn on_health_checked(
    state: &mut State,
    target: Target,
    result: Result<Vec<(String, Health)>, UiError>,
) -> Vec<Effect> {
    match result {
        Ok(results) => {
            let failing = results
                .iter()
                .filter(|(_, h)| matches!(h, Health::Failed { .. }))
                .count();
            let healthy = results.len() - failing;
            if failing == 0 {
                state.toast(ToastLevel::Info, format!("{healthy} healthy"));
            } else {
                state.toast(
                    ToastLevel::Error,
                    format!("{healthy} healthy, {failing} failing (details on the right)"),
                );
            }
            state.draft.health = Some((target, results.into_iter().collect()));
        }
        Err(e) => {
            state.draft.health = None;
            error_toast(state, &e);
        }
    }
    Vec::new()
}

fn run_server(state: &mut State, cmd: Command) -> Vec<Effect> {
    match cmd {
        Command::StartServer if !matches!(state.server, ServerStatus::Running(_)) => {
            state.server = ServerStatus::Starting;
            vec![Effect::StartServer]
        }
        Command::StopServer if matches!(state.server, ServerStatus::Running(_)) => {
            state.server = ServerStatus::Stopping;
            vec![Effect::StopServer]
        }
        Command::CopyToken => match &state.server {
            ServerStatus::Running(ServerInfo {
                token: Some(token), ..
            }) => {
                let token = token.clone();
                state.toast(ToastLevel::Info, "token copied to the clipboard");
                vec![Effect::Clipboard(token)]
            }
            ServerStatus::Running(_) => {
                state.toast(ToastLevel::Warn, "authentication is off: there is no token");
                Vec::new()
            }
            _ => {
                state.toast(ToastLevel::Warn, "the server is not running (s starts it)");
                Vec::new()
            }
        },
        _ => Vec::new(),
    }
}

fn text_lines(lines: &[&str]) -> Vec<DiffLine> {
    lines
        .iter()
        .map(|l| DiffLine {
            kind: DiffLineKind::Context,
            text: (*l).to_owned(),
        })
        .collect()
}

fn deploy_confirm(plan: &DeployPlan) -> Confirm {
    let view = &plan.view;
    let mut body = vec![
        DiffLine {
            kind: DiffLineKind::Context,
            text: format!(
                "{}: {} {}",
                plan_title(plan),
                if view.exists { "update" } else { "create" },
                view.path
            ),
        },
        DiffLine {
            kind: DiffLineKind::Context,
            text: format!(
                "add {}  remove {}  change {}  unchanged {}",
                list(&view.added),
                list(&view.removed),
                list(&view.modified),
                view.unchanged
            ),
        },
    ];
    body.extend(view.notes.iter().map(|n| DiffLine {
        kind: DiffLineKind::Hunk,
        text: format!("note: {n}"),
    }));
    if view.lines.is_empty() {
        body.push(DiffLine {
            kind: DiffLineKind::Context,
            text: "The file already holds these entries; only the deploy record changes.".into(),
        });
    }
    body.extend(view.lines.iter().cloned());
    Confirm {
        title: format!("{}?", plan_title(plan)),
        body,
        then: Pending::Apply(PlanPin {
            action: plan.action,
            subject: plan
                .backup_id
                .clone()
                .unwrap_or_else(|| plan.artifact_id.clone()),
            plan_id: plan.plan_id.clone(),
        }),
        scroll: 0,
    }
}

/// What a plan does, in a few words.
fn plan_title(plan: &DeployPlan) -> String {
    match plan.action {
        "rollback" => format!("Roll back to v{}", plan.version),
        "restore" => format!(
            "Restore backup {}",
            plan.backup_id.as_deref().unwrap_or_default()
        ),
        "apply" if plan.publishes => "Publish the draft and deploy it".to_owned(),
        "apply" => format!(
            "Apply v{} (artifact {})",
            plan.version,
            short_id(&plan.artifact_id)
        ),
        _ => format!(
            "Deploy v{} (artifact {})",
            plan.version,
            short_id(&plan.artifact_id)
        ),
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "-".to_owned()
    } else {
        names.join(", ")
    }
}

fn confirmed(state: &mut State, then: Pending) -> Vec<Effect> {
    let Some(t) = need_target(state) else {
        return Vec::new();
    };
    match then {
        Pending::Remove(name) => vec![Effect::Remove(t, name)],
        Pending::Apply(pin) => vec![Effect::Apply(t, pin)],
        Pending::InitKeys => vec![Effect::InitKeys],
        Pending::Rename(_) | Pending::Publish => Vec::new(),
    }
}

fn prompt_submitted(state: &mut State, mut p: Prompt) -> Vec<Effect> {
    let value = p.value.trim().to_owned();
    let Some(t) = need_target(state) else {
        return Vec::new();
    };
    match &p.then {
        Pending::Rename(from) => {
            if !is_valid_server_name(&value) {
                p.error = Some(
                    "use 1 to 64 letters, digits, `-`, `_` or `.`, starting with a letter or digit"
                        .into(),
                );
                state.modal = Some(Modal::Prompt(p));
                return Vec::new();
            }
            if value == *from {
                return Vec::new();
            }
            vec![Effect::Rename(t, from.clone(), value)]
        }
        Pending::Publish => {
            if value.is_empty() {
                p.error = Some("say what changed".into());
                state.modal = Some(Modal::Prompt(p));
                return Vec::new();
            }
            vec![Effect::Publish(t, value)]
        }
        _ => Vec::new(),
    }
}

fn picked(state: &mut State, p: Picker) -> Vec<Effect> {
    match p.purpose {
        PickPurpose::Profile(client) => match p.items.get(p.selected) {
            Some(item) => choose_target(state, &client, &item.value.clone()),
            None => Vec::new(),
        },
        PickPurpose::Tag => {
            state.catalog.tag = p
                .items
                .get(p.selected)
                .map(|i| i.value.clone())
                .filter(|v| !v.is_empty());
            search(state)
        }
        PickPurpose::CopyTo => {
            let to: Vec<String> = p
                .items
                .iter()
                .filter(|i| i.checked)
                .map(|i| i.value.clone())
                .collect();
            if to.is_empty() {
                state.toast(ToastLevel::Warn, "tick clients with space first");
                state.modal = Some(Modal::Picker(p));
                return Vec::new();
            }
            need_target(state)
                .map(|t| vec![Effect::Copy(t, to)])
                .unwrap_or_default()
        }
    }
}

fn type_text(state: &mut State, text: &str) -> Vec<Effect> {
    if text.is_empty() {
        return Vec::new();
    }
    match &mut state.modal {
        Some(Modal::Prompt(p)) => {
            p.value.push_str(text);
            p.error = None;
            Vec::new()
        }
        Some(Modal::Form(form)) => {
            if let Some(f) = form.fields.get_mut(form.focus) {
                f.value.push_str(text);
            }
            check_form(state)
        }
        None if state.screen == Screen::Catalog && state.catalog.filter_focused => {
            state.catalog.query.push_str(text);
            search(state)
        }
        Some(_) | None => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
