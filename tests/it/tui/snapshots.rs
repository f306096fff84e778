//! Every screen at 80x24 and 160x48. Paths are fixed (`/tmp/mcp-orch-tui-tests/<test>`) and so
//! is the clock, so the frames are the same on every run; notices are cleared before drawing
//! because one of them names a random key id.

use crossterm::event::KeyCode;
use mcp_orch::app::action::Action;
use mcp_orch::app::state::{Health, RequestLine, ServerInfo, ServerStatus};

use super::harness::{Harness, fixed_root};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn snap(h: &mut Harness, name: &str) {
    h.state.toasts.clear();
    for (w, ht) in SIZES {
        let text = h.render(w, ht);
        insta::assert_snapshot!(format!("{name}_{w}x{ht}"), text);
    }
}

#[test]
fn clients() {
    let root = fixed_root("clients");
    let mut h = Harness::new(&root);
    h.press(KeyCode::Char('1'));
    h.press(KeyCode::Char('j'));
    h.press(KeyCode::Char('j'));
    snap(&mut h, "clients");
}

#[test]
fn catalog_filtered() {
    let root = fixed_root("catalog");
    let mut h = Harness::new(&root);
    h.press(KeyCode::Char('2'));
    snap(&mut h, "catalog");
    h.press(KeyCode::Char('/'));
    h.type_text("git");
    snap(&mut h, "catalog_filter_git");
}

#[test]
fn add_form_with_a_validation_error() {
    let root = fixed_root("form");
    let mut h = Harness::new(&root);
    h.press(KeyCode::Char('a'));
    h.type_text("filesystem");
    h.press(KeyCode::Enter);
    snap(&mut h, "form_required");
    h.type_text("relative/..");
    h.press(KeyCode::Up);
    h.press(KeyCode::Char(' '));
    snap(&mut h, "form_bad_name");
}

#[test]
fn form_with_a_masked_secret() {
    let root = fixed_root("secret");
    let mut h = Harness::new(&root);
    h.press(KeyCode::Char('a'));
    h.type_text("github");
    h.press(KeyCode::Enter);
    h.type_text("ghp_secret");
    let frame = h.render(80, 24);
    assert!(
        !frame.contains("ghp_secret"),
        "the secret is shown:\n{frame}"
    );
    snap(&mut h, "form_secret");
}

fn with_two_servers(name: &str) -> Harness {
    let root = fixed_root(name);
    let mut h = Harness::new(&root);
    h.press(KeyCode::Char('a'));
    h.type_text("filesystem");
    h.press(KeyCode::Enter);
    let docs = h.home.join("docs").display().to_string();
    h.type_text(&docs);
    h.press(KeyCode::Enter);
    h.press(KeyCode::Char('a'));
    h.type_text("time");
    h.press(KeyCode::Enter);
    h.press(KeyCode::Enter);
    assert_eq!(
        h.state
            .draft
            .snapshot
            .as_ref()
            .map(|s| s.draft.servers.len()),
        Some(2)
    );
    h
}

#[test]
fn draft() {
    let mut h = with_two_servers("draft");
    snap(&mut h, "draft");
}

#[test]
fn diff() {
    let mut h = with_two_servers("diff");
    h.press(KeyCode::Char('4'));
    snap(&mut h, "diff");
}

#[test]
fn publish_deploy_history() {
    let mut h = with_two_servers("history");
    h.press(KeyCode::Char('P'));
    h.type_text("first release");
    snap(&mut h, "publish_prompt");
    h.press(KeyCode::Enter);
    // No key yet: the TUI offers to create one.
    h.press(KeyCode::Char('y'));
    h.press(KeyCode::Char('P'));
    h.type_text("first release");
    h.press(KeyCode::Enter);
    h.press(KeyCode::Char('D'));
    snap(&mut h, "deploy_confirm");
    h.press(KeyCode::Char('y'));
    let file = std::fs::read_to_string(h.home.join(".cursor/mcp.json")).unwrap();
    assert!(
        file.contains("\"filesystem\"") && file.contains("\"hand-made\""),
        "{file}"
    );
    h.press(KeyCode::Char('5'));
    h.press(KeyCode::Char('v'));
    snap(&mut h, "history");
}

#[test]
fn server_panel() {
    let root = fixed_root("server");
    let mut h = Harness::new(&root);
    h.press(KeyCode::Char('6'));
    snap(&mut h, "server");
    // Running: what the background server reports (its own test is tests/it/tui/e2e.rs).
    h.state.server = ServerStatus::Running(ServerInfo {
        addr: "http://127.0.0.1:8000".into(),
        token: Some("mcpo_k7Qx2v9TzP4mW8nR3sL6yB1cF5hJ0dG2aE7uK9oN4qM".into()),
        sessions: 2,
        recent: vec![
            RequestLine {
                at: "12:00:03".into(),
                what: "tools/call add_server_to_config".into(),
                outcome: "ok 4 ms".into(),
            },
            RequestLine {
                at: "12:00:01".into(),
                what: "POST /mcp".into(),
                outcome: "401 0 ms".into(),
            },
        ],
        warnings: Vec::new(),
    });
    snap(&mut h, "server_running");
}

#[test]
fn team_screen() {
    use mcp_orch::core::error::ErrorBody;
    use mcp_orch::core::orchestrator::{ChannelPull, PullReport, PullStatus, RemoteView};
    use mcp_orch::core::remote::LastPull;

    let root = fixed_root("team");
    let mut h = Harness::new(&root);
    h.press(KeyCode::Char('7'));
    snap(&mut h, "team_empty");
    let at = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
        .unwrap()
        .to_utc();
    let channel =
        |client: &str, version: u64, status: PullStatus, code: Option<&'static str>| ChannelPull {
            client_id: client.into(),
            profile_id: "default".into(),
            version,
            artifact_id: "c".repeat(64),
            status,
            error: code.map(|code| ErrorBody {
                code,
                message: String::new(),
                field: None,
                hint: String::new(),
                next: Vec::new(),
                details: serde_json::json!({}),
            }),
        };
    h.state.team.remotes = Some(Ok(vec![RemoteView {
        name: "team".into(),
        url: "https://orch.example.com/".into(),
        fingerprint: "3f9a1c0e5b7d2a64".repeat(4),
        root_version: 2,
        snapshot_version: 41,
        added_at: at,
        last_pull: Some(LastPull {
            at,
            error_code: None,
            deployed: vec!["cursor/default v3".into()],
            pending: vec!["zed/default v1".into()],
        }),
    }]));
    h.state.team.reports.insert(
        "team".into(),
        Ok(PullReport {
            remote: "team".into(),
            root_version: 2,
            snapshot_version: 41,
            channels: vec![
                channel("cursor", 3, PullStatus::Deployed, None),
                channel("vscode", 2, PullStatus::UpToDate, None),
                channel("zed", 1, PullStatus::Skipped, Some("UNKNOWN_PROFILE")),
            ],
        }),
    );
    snap(&mut h, "team_pulled");
}

#[test]
fn draft_health() {
    let mut h = with_two_servers("health");
    // The harness's npx and uvx are empty scripts: the real probes see them exit at once.
    h.press(KeyCode::Char('h'));
    let target = h.state.target.clone().unwrap();
    for name in ["filesystem", "time"] {
        match h.state.draft.health_of(&target, name) {
            Some(Health::Failed { code, message, .. }) => {
                assert_eq!(code, "INITIALIZE_FAILED");
                assert_eq!(
                    message,
                    "initialize failed: connection closed before the server answered (see its stderr)"
                );
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // One healthy and one failing server, as a real check of other servers would report.
    h.send(Action::HealthChecked(
        target,
        Ok(vec![
            (
                "filesystem".into(),
                Health::Failed {
                    code: "INITIALIZE_FAILED".into(),
                    message: "initialize failed: connection closed before the server answered (see its stderr)".into(),
                    stderr_tail: vec!["Error: Access denied - path outside allowed directories".into()],
                },
            ),
            (
                "time".into(),
                Health::Ok {
                    tools: 2,
                    latency_ms: 840,
                },
            ),
        ]),
    ));
    snap(&mut h, "draft_health");
}

#[test]
fn help_overlay() {
    let root = fixed_root("help");
    let mut h = Harness::new(&root);
    h.press(KeyCode::Char('2'));
    h.press(KeyCode::Char('?'));
    snap(&mut h, "help");
}

#[test]
fn copy_picker() {
    let mut h = with_two_servers("picker");
    h.press(KeyCode::Char('c'));
    h.press(KeyCode::Char(' '));
    snap(&mut h, "copy_picker");
}

#[test]
fn no_color_draws_no_colour_and_the_selection_stays_visible() {
    use mcp_orch::ui::Theme;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::style::{Color, Modifier};

    let root = fixed_root("no-color");
    let mut h = Harness::new(&root);
    h.press(KeyCode::Char('2'));
    let (theme, _) = Theme::load(true, None);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|f| mcp_orch::ui::root(f, &h.state, &mut h.view, &theme))
        .unwrap();
    let buf = terminal.backend().buffer();
    let mut reversed = 0;
    for cell in buf.content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
        if cell.modifier.contains(Modifier::REVERSED) {
            reversed += 1;
        }
    }
    assert!(reversed > 0, "the selected row and tab are shown reversed");
}
