//! A TUI without a terminal: the real core on a throwaway state directory, `update` and
//! `perform` called in turn until no effect is left, and frames drawn on a `TestBackend`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mcp_orch::app::action::Action;
use mcp_orch::app::effect::{Effect, ServerControl, Services, perform};
use mcp_orch::app::keymap::Keymap;
use mcp_orch::app::state::{State, Target};
use mcp_orch::app::update::{init, update};
use mcp_orch::core::env::{Environment, Os};
use mcp_orch::core::{Options, Orchestrator};
use mcp_orch::server::http::background::Background;
use mcp_orch::server::http::config::ServerConfig;
use mcp_orch::ui::{self, Theme, ViewState};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// A TUI over a fresh state directory.
pub struct Harness {
    /// The state.
    pub state: State,
    /// The core and the server seam.
    pub svc: Services,
    /// Scroll offsets.
    pub view: ViewState,
    /// The fake HOME.
    pub home: PathBuf,
    /// Effects performed, in order.
    pub performed: Vec<Effect>,
}

fn executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A fixed directory per test, so paths (and so the layout) are the same on every run.
pub fn fixed_root(name: &str) -> PathBuf {
    let root = PathBuf::from("/tmp/mcp-orch-tui-tests").join(name);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    root
}

impl Harness {
    /// A TUI working on cursor/default, with a Cursor file holding one hand-made server.
    pub fn new(root: &Path) -> Self {
        let home = root.join("home");
        let bin = root.join("bin");
        std::fs::create_dir_all(home.join(".cursor")).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        for tool in ["npx", "uvx", "docker"] {
            executable(&bin.join(tool));
        }
        std::fs::write(
            home.join(".cursor/mcp.json"),
            "{\n  \"mcpServers\": {\n    \"hand-made\": { \"command\": \"echo\", \"args\": [\"hi\"] }\n  }\n}\n",
        )
        .unwrap();
        let path = bin.display().to_string();
        let env = Environment::synthetic(&home, Os::Linux, &[("PATH", path.as_str())]);
        let options = Options {
            home: root.join("state"),
            env,
            launcher: PathBuf::from("/usr/local/bin/mcp-orch"),
            clock: crate::common::FixedClock::at("2026-01-02T03:04:05Z"),
            store: None,
        };
        let orch = Orchestrator::open(options.clone()).unwrap();
        // The real background server, never started here (tests/it/tui/e2e.rs starts it).
        let server = Arc::new(Background::new(options, ServerConfig::default(), None));
        let entries: Arc<[_]> = orch.catalog().entries().to_vec().into();
        let state = State::new(
            Arc::new(Keymap::default_keymap()),
            entries,
            Some(Target {
                client: "cursor".into(),
                profile: "default".into(),
            }),
        );
        let mut h = Self {
            state,
            svc: Services {
                orch: Arc::new(orch),
                server: server.clone(),
            },
            view: ViewState::default(),
            home,
            performed: Vec::new(),
        };
        let effects = init(&h.state);
        h.run(effects);
        h.send(Action::ServerStatus(ServerControl::status(&*server)));
        h
    }

    /// Performs effects (and those their results ask for) until none is left.
    pub fn run(&mut self, effects: Vec<Effect>) {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(e) = queue.pop_front() {
            self.performed.push(e.clone());
            if let Some(a) = perform(e, &self.svc) {
                queue.extend(update(&mut self.state, a));
            }
        }
    }

    /// Applies an action and everything it leads to.
    pub fn send(&mut self, action: Action) {
        let effects = update(&mut self.state, action);
        self.run(effects);
    }

    /// Presses a key.
    pub fn press(&mut self, code: KeyCode) {
        self.send(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    /// Types text, key by key.
    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c));
        }
    }

    /// Draws a frame and returns it as text.
    pub fn render(&mut self, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        self.send(Action::Resize(width, height));
        let theme = Theme::monochrome();
        terminal
            .draw(|f| ui::root(f, &self.state, &mut self.view, &theme))
            .unwrap();
        buffer_text(terminal.backend().buffer())
    }
}

/// The text of a buffer, one line per row, trailing spaces cut.
pub fn buffer_text(buf: &ratatui::buffer::Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
