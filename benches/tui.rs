//! TUI benchmarks over a 10,000-entry catalog at 200x60 on a `TestBackend` (which costs the
//! same as a real backend, RELIABILITY.md 5.4): a full frame of the catalog screen, and a
//! keystroke in the filter through to the updated frame (update, the search effect as the
//! runtime performs it, the result applied, the frame drawn). Results in docs/BENCHMARKS.md.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mcp_orch::app::action::Action;
use mcp_orch::app::effect::{Services, perform};
use mcp_orch::app::keymap::Keymap;
use mcp_orch::app::state::{Screen, State, Target};
use mcp_orch::app::update::update;
use mcp_orch::core::env::{Environment, Os};
use mcp_orch::core::orchestrator::SystemClock;
use mcp_orch::core::{Options, Orchestrator};
use mcp_orch::server::http::background::Background;
use mcp_orch::server::http::config::ServerConfig;
use mcp_orch::ui::{self, Theme, ViewState};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const WORDS: &[&str] = &[
    "file", "git", "postgres", "slack", "search", "browser", "memory", "docs", "cloud", "kube",
    "redis", "notion", "issue", "tracker", "vector", "graph", "mail", "calendar", "sql", "shell",
];

/// `<home>/catalog.toml` with `n` synthetic entries (the same shape as benches/core.rs).
pub fn synthetic_catalog(n: usize) -> String {
    let mut out = String::from("schema = 1\n");
    for i in 0..n {
        let a = WORDS[i % WORDS.len()];
        let b = WORDS[(i / WORDS.len()) % WORDS.len()];
        let transport = if i % 7 == 0 { "http" } else { "stdio" };
        let _ = write!(
            out,
            "\n[[servers]]\nid = \"{a}-{b}-mcp-{i}\"\nname = \"{a} {b} server {i}\"\n\
             description = \"Lets the model work with {a} and {b} through tool number {i}, with read and write access.\"\n\
             tags = [\"{a}\", \"{b}\"]\ntransport = \"{transport}\"\n"
        );
        if transport == "http" {
            let _ = writeln!(out, "url = \"https://{a}.example.com/{i}/mcp\"");
        } else {
            let _ = writeln!(
                out,
                "command = \"npx\"\nargs = [\"-y\", \"@acme/{a}-{b}-{i}\"]"
            );
        }
    }
    out
}

struct Bench {
    state: State,
    svc: Services,
    view: ViewState,
    theme: Theme,
    terminal: Terminal<TestBackend>,
    _dir: tempfile::TempDir,
}

fn setup() -> Bench {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    let state_dir = dir.path().join("state");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::create_dir_all(&state_dir).expect("state");
    std::fs::write(state_dir.join("catalog.toml"), synthetic_catalog(10_000)).expect("catalog");
    let options = Options {
        home: state_dir,
        env: Environment::synthetic(&home, Os::Linux, &[]),
        launcher: PathBuf::from("/usr/local/bin/mcp-orch"),
        clock: Arc::new(SystemClock),
        store: None,
    };
    let orch = Orchestrator::open(options.clone()).expect("open");
    let server = Arc::new(Background::new(options, ServerConfig::default(), None));
    assert!(orch.catalog().entries().len() >= 10_000);
    let entries: Arc<[_]> = orch.catalog().entries().to_vec().into();
    let mut state = State::new(
        Arc::new(Keymap::default_keymap()),
        entries,
        Some(Target {
            client: "cursor".into(),
            profile: "default".into(),
        }),
    );
    state.screen = Screen::Catalog;
    state.catalog.filter_focused = true;
    state.size = (200, 60);
    Bench {
        state,
        svc: Services {
            orch: Arc::new(orch),
            server,
        },
        view: ViewState::default(),
        theme: Theme::default_theme(),
        terminal: Terminal::new(TestBackend::new(200, 60)).expect("terminal"),
        _dir: dir,
    }
}

impl Bench {
    fn draw(&mut self) {
        let (state, view, theme) = (&self.state, &mut self.view, &self.theme);
        self.terminal
            .draw(|f| ui::root(f, state, view, theme))
            .expect("draw");
    }

    /// One key through update, its effects (performed as the runtime does) and a frame.
    fn key(&mut self, code: KeyCode) {
        let mut queue: VecDeque<_> = update(
            &mut self.state,
            Action::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        )
        .into();
        while let Some(e) = queue.pop_front() {
            if let Some(a) = perform(e, &self.svc) {
                queue.extend(update(&mut self.state, a));
            }
        }
        self.draw();
    }
}

fn bench_tui(c: &mut Criterion) {
    let mut b = setup();
    b.key(KeyCode::Char('g'));
    b.key(KeyCode::Char('i'));
    let mut group = c.benchmark_group("tui_10k_200x60");
    group.bench_function("full_frame_catalog", |bench| {
        let mut down = true;
        bench.iter(|| {
            // Move the selection so every frame differs from the last.
            b.state.catalog.selected = usize::from(down) * 30;
            down = !down;
            b.draw();
            black_box(b.terminal.backend().buffer().area);
        });
    });
    group.bench_function("keystroke_to_frame", |bench| {
        let mut typed = false;
        bench.iter(|| {
            // Alternate `git` and `gi`: every keystroke runs a fuzzy search over 10k entries.
            b.key(if typed {
                KeyCode::Backspace
            } else {
                KeyCode::Char('t')
            });
            typed = !typed;
            black_box(b.state.catalog.hits.len());
        });
    });
    group.bench_function("search_only_git", |bench| {
        let query = mcp_orch::core::search::Query {
            text: "git".into(),
            ..Default::default()
        };
        bench.iter(|| black_box(b.svc.orch.search(&query).len()));
    });
    group.bench_function("keystroke_to_frame_first_letter", |bench| {
        let mut typed = false;
        b.key(KeyCode::Backspace);
        b.key(KeyCode::Backspace);
        bench.iter(|| {
            // `` and `p`: from the whole catalog to a one-letter match and back.
            b.key(if typed {
                KeyCode::Backspace
            } else {
                KeyCode::Char('p')
            });
            typed = !typed;
            black_box(b.state.catalog.hits.len());
        });
    });
    group.finish();
}

criterion_group!(benches, bench_tui);
criterion_main!(benches);
