//! `mcp-orch tui`: the interactive configuration manager. Sets up logging to a file, loads the
//! keymap and theme (with the user's overrides), enters the terminal, runs the loop and always
//! restores the terminal, on errors and panics too.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use super::Ctx;
use super::serve::{self, HttpOptions};
use crate::app::effect::{ServerControl, Services};
use crate::app::keymap::Keymap;
use crate::app::runtime;
use crate::app::state::{State, Target, ToastLevel};
use crate::core::Orchestrator;
use crate::core::profiles::DEFAULT_PROFILE;
use crate::server::http::background::Background;
use crate::ui::{Theme, ViewState};

/// Arguments of `tui`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Keys: press ? inside for help; the keymap is in docs/keymap.md.
Overrides: keymap.toml and theme.toml in $MCP_ORCH_CONFIG (else the platform config directory).
Logs: <home>/logs/tui.log (filter with MCP_ORCH_LOG, else RUST_LOG). NO_COLOR is respected."
)]
pub struct Args {
    /// Start on this client's draft.
    #[arg(long, short = 'c')]
    pub client: Option<String>,
    /// The profile to work on.
    #[arg(long, short = 'p', default_value = DEFAULT_PROFILE)]
    pub profile: String,
    /// Start the background MCP HTTP server right away (else press `s` in the Server panel).
    #[arg(long)]
    pub serve: bool,
    /// Options of the background MCP HTTP server (as for `serve --http`).
    #[command(flatten, next_help_heading = "Background MCP HTTP server")]
    pub http: HttpOptions,
}

/// The configuration directory: `$MCP_ORCH_CONFIG`, else the platform's.
pub fn config_dir() -> Option<PathBuf> {
    std::env::var_os("MCP_ORCH_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            directories::ProjectDirs::from("dev", "mcp-orch", "mcp-orch")
                .map(|d| d.config_dir().to_path_buf())
        })
}

fn init_logging(dir: &std::path::Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    std::fs::create_dir_all(dir).ok()?;
    // Created 0600 first: the appender opens it as it is.
    drop(super::output::open_log_file(&dir.join("tui.log")).ok()?);
    let appender = tracing_appender::rolling::never(dir, "tui.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(super::output::log_filter("info"))
        .try_init()
        .ok()?;
    Some(guard)
}

/// Restores the terminal when dropped, whatever happened.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableBracketedPaste);
        ratatui::restore();
    }
}

/// Runs the TUI. The terminal is entered and a first frame drawn before the catalog is
/// loaded (a 10,000-entry catalog takes longer to parse than a first frame may take).
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let launched = std::time::Instant::now();
    let options = ctx.options();
    let log_dir = options.home.join("logs");
    let _guard = init_logging(&log_dir);
    tracing::info!(home = %options.home.display(), "starting the TUI");
    let config = config_dir();
    let (keymap, keymap_err) =
        Keymap::load(config.as_ref().map(|d| d.join("keymap.toml")).as_deref());
    let keymap = Arc::new(keymap);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (theme, theme_err) = Theme::load(
        no_color,
        config.as_ref().map(|d| d.join("theme.toml")).as_deref(),
    );
    let target = args.client.as_ref().map(|c| Target {
        client: c.clone(),
        profile: args.profile.clone(),
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .context("starting the async runtime")?;
    eprintln!(
        "mcp-orch tui: logging to {}",
        log_dir.join("tui.log").display()
    );
    // Installs a panic hook that restores the terminal before the message is printed.
    let mut terminal = ratatui::try_init().context("entering the terminal (is this a TTY?)")?;
    let restore = TerminalGuard;
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableBracketedPaste);
    let splash = State::new(keymap.clone(), Arc::from(Vec::new()), target.clone());
    runtime::draw(&mut terminal, &splash, &mut ViewState::default(), &theme)
        .context("drawing the first frame")?;
    tracing::info!(
        since_launch_us = launched.elapsed().as_micros(),
        "splash frame"
    );

    let options_for_server = options.clone();
    let orch = Arc::new(Orchestrator::open(options)?);
    if let Some(t) = &target {
        orch.profile(&t.client, &t.profile)?;
    }
    // The first search builds the search index (20 ms for 10,000 entries): build it now, off
    // the loop, rather than on the first key typed in the filter. A search that comes first
    // waits for it.
    let warm = orch.clone();
    std::thread::spawn(move || {
        warm.search(&crate::core::search::Query::default());
    });
    let entries: Arc<[_]> = orch.catalog().entries().to_vec().into();
    let mut state = State::new(keymap, entries, target);
    for e in [keymap_err, theme_err].into_iter().flatten() {
        tracing::warn!(error = %e, "using the defaults");
        state.toast(ToastLevel::Warn, format!("{e} (using the defaults)"));
    }
    let http_config = serve::resolve_config(&args.http, orch.home())?;
    let api_key = serve::api_key(&http_config)?;
    let server = Arc::new(Background::new(options_for_server, http_config, api_key));
    if args.serve {
        state.server = ServerControl::start(&*server, &orch);
    }
    let svc = Services {
        orch,
        server: server.clone(),
    };
    tracing::info!(
        since_launch_us = launched.elapsed().as_micros(),
        "core opened"
    );
    let result = rt.block_on(runtime::run(
        &mut terminal,
        crossterm::event::EventStream::new(),
        state,
        svc,
        &theme,
    ));
    // The terminal first: stopping the server may wait for requests in flight.
    drop(restore);
    if let Err(e) = server.stop() {
        tracing::warn!("stopping the background server: {e:#}");
    }
    match result {
        Ok((_, timings)) => {
            tracing::info!(frames = timings.frames, "the TUI ended");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e).context("running the TUI"),
    }
}
