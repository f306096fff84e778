//! Update tests: actions in, state and effects out. No runtime, no sleeps, no files.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use rstest::rstest;

use super::*;
use crate::app::action::{Added, DeployPlan, FormCheck};
use crate::app::keymap::Keymap;
use crate::app::state::{
    DiffView, DraftSnapshot, HistoryData, ReleaseRow, ServerInfo, ServerStatus, Toast,
};
use crate::core::catalog::{EnvSpec, ParamSpec, ParamType, ServerEntry, Source};
use crate::core::draft::{Draft, DraftServer, Origin};
use crate::core::events::StateSnapshot;

fn entry(id: &str, params: Vec<ParamSpec>, env: Vec<EnvSpec>) -> ServerEntry {
    ServerEntry {
        id: id.into(),
        name: id.to_uppercase(),
        description: format!("{id} server"),
        tags: vec!["test".into()],
        transport: Transport::Stdio,
        command: Some("npx".into()),
        args: vec!["-y".into(), id.into()],
        url: None,
        headers: Vec::new(),
        params,
        env,
        docs_url: None,
        package: None,
        source: Source::Bundled,
        version: None,
        server_json: None,
    }
}

fn catalog() -> Arc<[ServerEntry]> {
    vec![
        entry(
            "filesystem",
            vec![ParamSpec {
                name: "path".into(),
                kind: ParamType::Path,
                description: "Directory".into(),
                required: true,
                default: None,
                example: None,
                choices: Vec::new(),
            }],
            Vec::new(),
        ),
        entry(
            "github",
            Vec::new(),
            vec![EnvSpec {
                name: "GITHUB_TOKEN".into(),
                description: "token".into(),
                required: true,
                secret: true,
                default: None,
                choices: Vec::new(),
            }],
        ),
        entry("memory", Vec::new(), Vec::new()),
    ]
    .into()
}

fn target() -> Target {
    Target {
        client: "cursor".into(),
        profile: "default".into(),
    }
}

fn state() -> State {
    State::new(
        Arc::new(Keymap::default_keymap()),
        catalog(),
        Some(target()),
    )
}

fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ch(c: char) -> Action {
    key(KeyCode::Char(c))
}

fn feed(state: &mut State, actions: impl IntoIterator<Item = Action>) -> Vec<Effect> {
    actions.into_iter().flat_map(|a| update(state, a)).collect()
}

fn typed(state: &mut State, text: &str) -> Vec<Effect> {
    feed(state, text.chars().map(ch))
}

fn draft_with(names: &[&str]) -> DraftSnapshot {
    let mut draft = Draft::empty("cursor", "default");
    for n in names {
        draft.servers.insert(
            (*n).to_owned(),
            DraftServer {
                server_id: Some((*n).to_owned()),
                transport: Transport::Stdio,
                command: Some("npx".into()),
                args: Vec::new(),
                url: None,
                headers: std::collections::BTreeMap::new(),
                env: std::collections::BTreeMap::new(),
                params: std::collections::BTreeMap::new(),
                secret_delivery: None,
                origin: Origin::Catalog,
                extra: std::collections::BTreeMap::new(),
            },
        );
    }
    DraftSnapshot {
        draft,
        diagnostics: Vec::new(),
    }
}

fn polled(files: u64) -> Action {
    Action::Polled {
        snapshot: StateSnapshot::default(),
        files,
    }
}

fn form(state: &State) -> &AddForm {
    match &state.modal {
        Some(Modal::Form(f)) => f,
        other => panic!("expected the form, got {other:?}"),
    }
}

#[test]
fn init_loads_clients_and_the_draft() {
    assert_eq!(
        init(&state()),
        vec![Effect::LoadClients, Effect::LoadDraft(target())]
    );
}

#[test]
fn typing_in_the_filter_searches_and_latest_wins() {
    let mut s = state();
    s.screen = Screen::Catalog;
    assert!(feed(&mut s, [ch('/')]).is_empty());
    assert!(s.catalog.filter_focused);
    let effects = typed(&mut s, "gi");
    assert_eq!(effects.len(), 2);
    assert!(matches!(&effects[1], Effect::Search { generation: 2, text, .. } if text == "gi"));
    // A stale result is dropped, the latest one applied.
    update(
        &mut s,
        Action::SearchDone {
            generation: 1,
            hits: vec![0, 1, 2],
        },
    );
    assert_eq!(s.catalog.hits, vec![0, 1, 2]);
    update(
        &mut s,
        Action::SearchDone {
            generation: 1,
            hits: vec![2],
        },
    );
    assert_eq!(s.catalog.hits, vec![0, 1, 2], "generation 1 is stale");
    update(
        &mut s,
        Action::SearchDone {
            generation: 2,
            hits: vec![1],
        },
    );
    assert_eq!(s.catalog.hits, vec![1]);
    // Global keys are text while the filter has focus.
    let effects = feed(&mut s, [ch('q')]);
    assert!(!s.quit);
    assert!(matches!(&effects[0], Effect::Search { text, .. } if text == "giq"));
    let effects = feed(&mut s, [key(KeyCode::Backspace)]);
    assert!(matches!(&effects[0], Effect::Search { text, .. } if text == "gi"));
    feed(&mut s, [key(KeyCode::Esc)]);
    assert!(!s.catalog.filter_focused);
}

/// Enter typed before the search for the filter's text answered adds the first hit of that
/// search, not the first entry of the list shown before it.
#[test]
fn enter_before_the_search_answers_adds_from_its_results() {
    let mut s = state();
    s.screen = Screen::Catalog;
    feed(&mut s, [ch('/')]);
    typed(&mut s, "gith");
    assert!(feed(&mut s, [key(KeyCode::Enter)]).is_empty());
    assert!(
        s.modal.is_none(),
        "no form before the results: {:?}",
        s.modal
    );
    let generation = s.catalog.generation;
    let effects = update(
        &mut s,
        Action::SearchDone {
            generation,
            hits: vec![1],
        },
    );
    assert_eq!(form(&s).server_id, "github");
    assert!(!effects.is_empty());
    assert!(!s.catalog.add_when_searched);
}

#[test]
fn transport_filter_cycles_and_searches() {
    let mut s = state();
    s.screen = Screen::Catalog;
    let effects = feed(&mut s, [ch('t')]);
    assert!(matches!(
        &effects[0],
        Effect::Search {
            transport: Some(Transport::Stdio),
            ..
        }
    ));
    feed(&mut s, [ch('t'), ch('t'), ch('t')]);
    assert_eq!(s.catalog.transport, None);
}

#[test]
fn tag_picker_sets_the_tag_filter() {
    let mut s = state();
    s.screen = Screen::Catalog;
    feed(&mut s, [ch('T')]);
    assert!(matches!(&s.modal, Some(Modal::Picker(p)) if p.items.len() == 2));
    let effects = feed(&mut s, [key(KeyCode::Down), key(KeyCode::Enter)]);
    assert_eq!(s.catalog.tag.as_deref(), Some("test"));
    assert!(matches!(&effects[0], Effect::Search { tag: Some(t), .. } if t == "test"));
}

#[test]
fn the_add_form_validates_as_you_type() {
    let mut s = state();
    s.screen = Screen::Catalog;
    let effects = feed(&mut s, [key(KeyCode::Enter)]);
    let f = form(&s);
    assert_eq!(f.server_id, "filesystem");
    assert_eq!(f.focus, 1, "focus starts on the first required field");
    assert!(matches!(
        &effects[0],
        Effect::CheckForm { generation: 1, .. }
    ));
    update(
        &mut s,
        Action::FormChecked {
            generation: 1,
            check: FormCheck {
                fields: vec![("params.path".into(), "required".into())],
                general: Vec::new(),
                valid: false,
            },
        },
    );
    assert_eq!(form(&s).fields[1].error.as_deref(), Some("required"));
    // Submitting with an error adds nothing and keeps the focus on the field.
    assert!(feed(&mut s, [key(KeyCode::Enter)]).is_empty());
    let effects = typed(&mut s, "/x");
    let Some(Effect::CheckForm {
        generation,
        request,
    }) = effects.last()
    else {
        panic!("expected a check");
    };
    assert_eq!(*generation, 3);
    assert_eq!(request.params, vec![("path".to_owned(), "/x".to_owned())]);
    // A stale result does not overwrite the newer state.
    update(
        &mut s,
        Action::FormChecked {
            generation: 2,
            check: FormCheck::default(),
        },
    );
    assert!(form(&s).fields[1].error.is_some());
    update(
        &mut s,
        Action::FormChecked {
            generation: 3,
            check: FormCheck {
                valid: true,
                ..FormCheck::default()
            },
        },
    );
    assert!(form(&s).valid);
    let effects = feed(&mut s, [key(KeyCode::Enter)]);
    assert!(matches!(&effects[..], [Effect::Add(r)] if r.name == "filesystem"));
    assert!(form(&s).submitting);
    let effects = update(
        &mut s,
        Action::Added(Ok(Added {
            name: "filesystem".into(),
            server_count: 1,
            stored_secrets: Vec::new(),
        })),
    );
    assert!(s.modal.is_none());
    assert_eq!(s.screen, Screen::Draft);
    assert!(effects.contains(&Effect::LoadDraft(target())));
}

#[test]
fn secrets_are_masked_and_sent_as_secrets() {
    let mut s = state();
    s.screen = Screen::Catalog;
    s.catalog.selected = 1;
    feed(&mut s, [key(KeyCode::Enter)]);
    assert!(form(&s).fields[1].masked());
    let effects = typed(&mut s, "tok");
    let Some(Effect::CheckForm { request, .. }) = effects.last() else {
        panic!("expected a check");
    };
    assert_eq!(
        request.secrets,
        vec![("GITHUB_TOKEN".to_owned(), "tok".to_owned())]
    );
    assert!(request.env.is_empty());
}

#[test]
fn an_add_error_lands_on_its_field() {
    let mut s = state();
    s.screen = Screen::Catalog;
    feed(&mut s, [key(KeyCode::Enter)]);
    update(
        &mut s,
        Action::Added(Err(UiError {
            code: "DUPLICATE_NAME".into(),
            message: "taken".into(),
            hint: String::new(),
            field: Some("server_name".into()),
        })),
    );
    let f = form(&s);
    assert_eq!(f.fields[0].error.as_deref(), Some("taken"));
    assert_eq!(f.focus, 0);
    assert!(!f.submitting);
}

#[test]
fn adding_needs_a_client() {
    let mut s = state();
    s.target = None;
    s.screen = Screen::Catalog;
    assert!(feed(&mut s, [ch('a')]).is_empty());
    assert!(s.modal.is_none());
    assert_eq!(s.toasts.len(), 1);
}

#[test]
fn deploy_is_confirmed_by_a_message_round_trip() {
    let mut s = state();
    assert_eq!(feed(&mut s, [ch('D')]), vec![Effect::PlanDeploy(target())]);
    update(
        &mut s,
        Action::DeployPlanned(Ok(DeployPlan {
            artifact_id: "abc".into(),
            version: 2,
            action: "deploy",
            plan_id: "p1".into(),
            publishes: false,
            backup_id: None,
            view: DiffView::default(),
        })),
    );
    let pin = PlanPin {
        action: "deploy",
        subject: "abc".into(),
        plan_id: "p1".into(),
    };
    assert!(matches!(&s.modal, Some(Modal::Confirm(c)) if c.then == Pending::Apply(pin.clone())));
    assert!(feed(&mut s, [ch('n')]).is_empty(), "no cancels");
    assert!(s.modal.is_none());
    feed(&mut s, [ch('D')]);
    update(
        &mut s,
        Action::DeployPlanned(Ok(DeployPlan {
            artifact_id: "abc".into(),
            version: 2,
            action: "deploy",
            plan_id: "p1".into(),
            publishes: false,
            backup_id: None,
            view: DiffView::default(),
        })),
    );
    assert_eq!(feed(&mut s, [ch('y')]), vec![Effect::Apply(target(), pin)]);
}

#[test]
fn apply_plans_the_draft_first() {
    let mut s = state();
    assert_eq!(feed(&mut s, [ch('A')]), vec![Effect::PlanApply(target())]);
}

#[test]
fn deploy_without_a_release_says_publish_first() {
    let mut s = state();
    update(
        &mut s,
        Action::DeployPlanned(Err(UiError::msg("ARTIFACT_NOT_FOUND", "nothing"))),
    );
    assert!(s.modal.is_none());
    assert!(s.toasts[0].text.contains("publish"));
}

#[test]
fn publish_asks_for_a_changelog_and_offers_a_key() {
    let mut s = state();
    feed(&mut s, [ch('P')]);
    assert!(matches!(&s.modal, Some(Modal::Prompt(_))));
    assert!(feed(&mut s, [key(KeyCode::Enter)]).is_empty());
    assert!(matches!(&s.modal, Some(Modal::Prompt(p)) if p.error.is_some()));
    typed(&mut s, "first");
    assert_eq!(
        feed(&mut s, [key(KeyCode::Enter)]),
        vec![Effect::Publish(target(), "first".into())]
    );
    update(
        &mut s,
        Action::Changed(Err(UiError::msg("KEY_NOT_FOUND", "no key"))),
    );
    assert!(matches!(&s.modal, Some(Modal::Confirm(c)) if c.then == Pending::InitKeys));
    assert_eq!(feed(&mut s, [ch('y')]), vec![Effect::InitKeys]);
}

#[test]
fn remove_and_rename_go_through_dialogs() {
    let mut s = state();
    update(&mut s, Action::DraftLoaded(Ok(draft_with(&["a", "b"]))));
    feed(&mut s, [ch('j'), ch('d')]);
    assert_eq!(
        feed(&mut s, [ch('y')]),
        vec![Effect::Remove(target(), "b".into())]
    );
    feed(&mut s, [ch('r'), key(KeyCode::Backspace)]);
    assert!(matches!(&s.modal, Some(Modal::Prompt(p)) if p.value.is_empty()));
    typed(&mut s, "!bad");
    assert!(feed(&mut s, [key(KeyCode::Enter)]).is_empty());
    assert!(matches!(&s.modal, Some(Modal::Prompt(p)) if p.error.is_some()));
    feed(
        &mut s,
        [KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)].map(Action::Key),
    );
    typed(&mut s, "c");
    assert_eq!(
        feed(&mut s, [key(KeyCode::Enter)]),
        vec![Effect::Rename(target(), "b".into(), "c".into())]
    );
}

#[test]
fn copy_picks_clients() {
    let mut s = state();
    s.clients.rows = ["cursor", "vscode", "zed"]
        .iter()
        .map(|id| crate::app::state::ClientRow {
            id: (*id).into(),
            name: (*id).into(),
            format: "json".into(),
            detected: true,
            path: None,
            servers: None,
            error: None,
            profiles: vec!["default".into()],
            drift: "in sync".into(),
        })
        .collect();
    s.screen = Screen::Draft;
    feed(&mut s, [ch('c')]);
    assert!(matches!(&s.modal, Some(Modal::Picker(p)) if p.items.len() == 2));
    assert!(
        feed(&mut s, [key(KeyCode::Enter)]).is_empty(),
        "nothing ticked"
    );
    let effects = feed(
        &mut s,
        [ch(' '), key(KeyCode::Down), ch(' '), key(KeyCode::Enter)],
    );
    assert_eq!(
        effects,
        vec![Effect::Copy(target(), vec!["vscode".into(), "zed".into()])]
    );
}

#[test]
fn choosing_a_client_sets_the_target() {
    let mut s = state();
    s.target = None;
    s.screen = Screen::Clients;
    s.clients.rows = vec![crate::app::state::ClientRow {
        id: "zed".into(),
        name: "Zed".into(),
        format: "json".into(),
        detected: true,
        path: None,
        servers: None,
        error: None,
        profiles: vec!["default".into(), "work".into()],
        drift: "never deployed".into(),
    }];
    feed(&mut s, [ch('p'), key(KeyCode::Down)]);
    let effects = feed(&mut s, [key(KeyCode::Enter)]);
    let t = Target {
        client: "zed".into(),
        profile: "work".into(),
    };
    assert_eq!(s.target.as_ref(), Some(&t));
    assert_eq!(s.screen, Screen::Draft);
    assert_eq!(
        effects,
        vec![Effect::LoadDraft(t.clone()), Effect::Poll(Some(t))]
    );
}

#[test]
fn ticks_expire_notices_and_poll_once_at_a_time() {
    let mut s = state();
    s.toasts.push(Toast {
        level: ToastLevel::Info,
        text: "x".into(),
        ttl: 1,
    });
    assert_eq!(
        update(&mut s, Action::Tick),
        vec![Effect::Redraw, Effect::Poll(Some(target()))]
    );
    assert!(s.toasts.is_empty());
    assert!(
        update(&mut s, Action::Tick).is_empty(),
        "a poll is in flight"
    );
    assert_eq!(
        update(&mut s, polled(7)),
        vec![Effect::LoadClients, Effect::LoadDraft(target())],
        "the first poll is the baseline: what changed before it is loaded again"
    );
    assert_eq!(
        update(&mut s, Action::Tick),
        vec![Effect::Poll(Some(target()))]
    );
    assert!(update(&mut s, polled(7)).is_empty(), "nothing changed");
    update(&mut s, Action::Tick);
    assert_eq!(
        update(&mut s, polled(8)),
        vec![Effect::LoadClients, Effect::LoadDraft(target())]
    );
    assert!(is_quiet(&Action::Tick) && is_quiet(&polled(1)));
}

#[test]
fn outside_changes_reload_the_screen_shown() {
    let mut s = state();
    s.fingerprint = Some(1);
    s.screen = Screen::Diff;
    let effects = update(&mut s, polled(2));
    assert!(effects.contains(&Effect::LoadDiff {
        generation: 1,
        target: target()
    }));
    s.screen = Screen::History;
    assert!(update(&mut s, polled(3)).contains(&Effect::LoadHistory(target())));
}

#[test]
fn stale_diffs_are_dropped() {
    let mut s = state();
    feed(&mut s, [ch('4')]);
    feed(&mut s, [ch('4')]);
    assert_eq!(s.diff.generation, 2);
    update(
        &mut s,
        Action::DiffLoaded {
            generation: 1,
            result: Ok(DiffView {
                path: "old".into(),
                ..DiffView::default()
            }),
        },
    );
    assert!(s.diff.view.is_none());
    update(
        &mut s,
        Action::DiffLoaded {
            generation: 2,
            result: Ok(DiffView::default()),
        },
    );
    assert!(s.diff.view.is_some());
}

#[test]
fn rollback_targets_the_selected_release() {
    let mut s = state();
    s.screen = Screen::History;
    s.history.data = Some(HistoryData {
        releases: vec![ReleaseRow {
            version: 1,
            artifact_id: "a1".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            changelog: None,
            servers: Vec::new(),
            deployed: false,
        }],
        ..HistoryData::default()
    });
    assert_eq!(
        feed(&mut s, [ch('R')]),
        vec![Effect::PlanRollback(target(), "a1".into())]
    );
    feed(&mut s, [key(KeyCode::Right)]);
    assert_eq!(s.history.pane, HistoryPane::Audit);
    assert!(feed(&mut s, [ch('R')]).is_empty());
}

#[test]
fn restore_plans_the_selected_backup_then_applies_that_plan() {
    let mut s = state();
    s.screen = Screen::History;
    s.history.data = Some(HistoryData {
        backups: vec![crate::core::backup::BackupInfo {
            id: "b1".into(),
            sha256: "b1".repeat(32),
            path: "/tmp/mcp.json".into(),
            size: 10,
            created_at: chrono::DateTime::UNIX_EPOCH,
            owned_by: None,
        }],
        ..HistoryData::default()
    });
    assert_eq!(
        feed(&mut s, [ch('u')]),
        vec![Effect::PlanRestore(target(), "b1".into())]
    );
    update(
        &mut s,
        Action::DeployPlanned(Ok(DeployPlan {
            artifact_id: String::new(),
            version: 0,
            action: "restore",
            backup_id: Some("b1".into()),
            plan_id: "p2".into(),
            publishes: false,
            view: DiffView::default(),
        })),
    );
    assert!(matches!(&s.modal, Some(Modal::Confirm(c)) if c.title == "Restore backup b1?"));
    assert_eq!(
        feed(&mut s, [ch('y')]),
        vec![Effect::Apply(
            target(),
            PlanPin {
                action: "restore",
                subject: "b1".into(),
                plan_id: "p2".into(),
            }
        )]
    );
}

#[test]
fn help_opens_and_closes() {
    let mut s = state();
    feed(&mut s, [ch('?')]);
    assert!(matches!(s.modal, Some(Modal::Help { .. })));
    feed(&mut s, [key(KeyCode::Down)]);
    assert!(matches!(s.modal, Some(Modal::Help { scroll: 1 })));
    feed(&mut s, [key(KeyCode::Esc)]);
    assert!(s.modal.is_none());
}

#[test]
fn key_sequences_and_quit() {
    let mut s = state();
    s.screen = Screen::Catalog;
    feed(&mut s, [ch('G')]);
    assert_eq!(s.catalog.selected, 2);
    feed(&mut s, [ch('g')]);
    assert_eq!(s.pending_keys.len(), 1);
    feed(&mut s, [ch('g')]);
    assert_eq!(s.catalog.selected, 0);
    assert!(s.pending_keys.is_empty());
    assert_eq!(feed(&mut s, [ch('q')]), vec![Effect::Quit]);
    assert!(s.quit);
}

#[test]
fn the_server_panel_starts_polls_copies_and_stops() {
    let mut s = state();
    s.screen = Screen::Server;
    assert!(feed(&mut s, [ch('x')]).is_empty(), "nothing to stop");
    assert_eq!(feed(&mut s, [ch('s')]), vec![Effect::StartServer]);
    assert_eq!(s.server, ServerStatus::Starting);
    let info = ServerInfo {
        addr: "http://127.0.0.1:4242".into(),
        token: Some("mcpo_secret".into()),
        sessions: 0,
        recent: Vec::new(),
        warnings: Vec::new(),
    };
    let running = ServerStatus::Running(info.clone());
    assert_eq!(
        feed(&mut s, [Action::ServerStatus(running.clone())]),
        vec![Effect::Redraw]
    );
    // While it runs, every tick asks for its status, one request at a time.
    assert!(feed(&mut s, [Action::Tick]).contains(&Effect::ServerStatus));
    assert!(!feed(&mut s, [Action::Tick]).contains(&Effect::ServerStatus));
    assert!(
        feed(&mut s, [Action::ServerStatus(running.clone())]).is_empty(),
        "an unchanged status draws nothing"
    );
    let busier = ServerStatus::Running(ServerInfo {
        sessions: 1,
        ..info.clone()
    });
    assert_eq!(
        feed(&mut s, [Action::ServerStatus(busier)]),
        vec![Effect::Redraw]
    );
    assert_eq!(
        feed(&mut s, [ch('y')]),
        vec![Effect::Clipboard("mcpo_secret".into())]
    );
    assert_eq!(feed(&mut s, [ch('x')]), vec![Effect::StopServer]);
    assert_eq!(s.server, ServerStatus::Stopping);
    feed(&mut s, [Action::ServerStatus(ServerStatus::Stopped)]);
    assert!(!feed(&mut s, [Action::Tick]).contains(&Effect::ServerStatus));
    assert!(feed(&mut s, [ch('y')]).is_empty());
    assert_eq!(
        s.toasts.last().map(|t| t.text.as_str()),
        Some("the server is not running (s starts it)")
    );
}

#[rstest]
#[case(Screen::Clients, '2', Screen::Catalog)]
#[case(Screen::Catalog, '3', Screen::Draft)]
#[case(Screen::Draft, '5', Screen::History)]
#[case(Screen::History, '6', Screen::Server)]
#[case(Screen::Server, '1', Screen::Clients)]
fn number_keys_switch_screens(#[case] from: Screen, #[case] key: char, #[case] to: Screen) {
    let mut s = state();
    s.screen = from;
    feed(&mut s, [ch(key)]);
    assert_eq!(s.screen, to);
}

#[test]
fn h_checks_every_server_of_the_draft_and_keeps_the_results_per_target() {
    let mut s = state();
    s.screen = Screen::Draft;
    assert!(feed(&mut s, [ch('h')]).is_empty(), "no draft loaded yet");
    feed(&mut s, [Action::DraftLoaded(Ok(draft_with(&["a", "b"])))]);
    let target = s.target.clone().unwrap();
    assert_eq!(
        feed(&mut s, [ch('h')]),
        vec![Effect::CheckHealth(target.clone())]
    );
    assert_eq!(s.draft.health_of(&target, "a"), Some(&Health::Checking));
    assert_eq!(s.draft.health_of(&target, "b"), Some(&Health::Checking));

    let failed = Health::Failed {
        code: "COMMAND_NOT_FOUND".into(),
        message: "command `npx` was not found".into(),
        stderr_tail: Vec::new(),
    };
    let ok = Health::Ok {
        tools: 3,
        latency_ms: 12,
    };
    feed(
        &mut s,
        [Action::HealthChecked(
            target.clone(),
            Ok(vec![("a".into(), ok.clone()), ("b".into(), failed.clone())]),
        )],
    );
    assert_eq!(s.draft.health_of(&target, "a"), Some(&ok));
    assert_eq!(s.draft.health_of(&target, "b"), Some(&failed));
    assert_eq!(
        s.toasts.last().map(|t| t.text.as_str()),
        Some("1 healthy, 1 failing (details on the right)")
    );
    // Another target shows nothing of this one's results.
    let other = Target {
        client: "vscode".into(),
        profile: "default".into(),
    };
    assert_eq!(s.draft.health_of(&other, "a"), None);
}

fn remote(name: &str) -> crate::core::orchestrator::RemoteView {
    crate::core::orchestrator::RemoteView {
        name: name.into(),
        url: "https://orch.example.com/".into(),
        fingerprint: "ab".repeat(32),
        root_version: 1,
        snapshot_version: 7,
        added_at: chrono::DateTime::UNIX_EPOCH,
        last_pull: None,
    }
}

#[test]
fn the_team_screen_loads_remotes_and_pulls_the_selected_one() {
    let mut s = state();
    assert_eq!(update(&mut s, ch('7')), vec![Effect::LoadRemotes]);
    assert_eq!(s.screen, Screen::Team);
    // Nothing to pull yet: a notice, no effect.
    assert!(update(&mut s, ch('p')).is_empty());
    update(
        &mut s,
        Action::RemotesLoaded(Ok(vec![remote("lab"), remote("team")])),
    );
    update(&mut s, ch('j'));
    assert_eq!(update(&mut s, ch('p')), vec![Effect::Pull("team".into())]);
    assert_eq!(s.team.pulling.as_deref(), Some("team"));
    // A second p while it runs does nothing.
    assert!(update(&mut s, ch('p')).is_empty());
    let report = crate::core::orchestrator::PullReport {
        remote: "team".into(),
        root_version: 1,
        snapshot_version: 8,
        channels: Vec::new(),
    };
    let effects = update(&mut s, Action::Pulled("team".into(), Ok(report)));
    assert!(effects.contains(&Effect::LoadRemotes), "{effects:?}");
    assert_eq!(s.team.pulling, None);
    assert!(matches!(s.team.reports.get("team"), Some(Ok(_))));
}
