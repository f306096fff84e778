//! `mcp-orch serve`: the MCP server over stdio (the default: what a client's config runs), or
//! with `--http` the HTTP server (MCP over Streamable HTTP and HTTP+SSE, the REST API, the event
//! feed).

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use super::Ctx;
use crate::server::http::config::ServerConfig;
use crate::server::http::{self, AppState};
use crate::server::{stdio, watch::SharedCore};

/// How long shutdown waits for background work once the stdio session ended.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(200);

/// The log filter when neither `MCP_ORCH_LOG` nor `RUST_LOG` is set.
const DEFAULT_LOG_FILTER: &str = "mcp_orch=info,rmcp=warn";

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  mcp-orch serve                                    # MCP over stdio (what a client's config runs)
  mcp-orch serve --log-file /tmp/orch.log
  mcp-orch token create --name me --scope write     # prints a token once
  mcp-orch serve --http                             # http://127.0.0.1:8000 (REST /v1, MCP /mcp)
  mcp-orch serve --http --port 0                    # a free port, printed on stderr
  mcp-orch serve --http --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem --allowed-host orch.example.com

Configuration: defaults, then <home>/server.toml (or --config), then MCP_ORCH_* environment
variables, then flags. See docs/HTTP.md. With stdio, stdout carries only the protocol; logs go
to stderr (or --log-file), filtered by MCP_ORCH_LOG, else RUST_LOG; the server exits when stdin
closes.")]
pub struct Args {
    /// Serve over stdin/stdout (the default).
    #[arg(long, default_value_t = true, conflicts_with = "http")]
    pub stdio: bool,
    /// Serve over HTTP instead.
    #[arg(long)]
    pub http: bool,
    /// Options of the HTTP server.
    #[command(flatten)]
    pub options: HttpOptions,
    /// Write logs to this file instead of stderr.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

/// The HTTP server's options, shared by `serve --http` and the TUI's background server.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HttpOptions {
    /// Config file (default: <home>/server.toml when it exists).
    #[arg(long, env = "MCP_ORCH_SERVER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to bind (default 127.0.0.1).
    #[arg(long, env = "MCP_ORCH_HOST", value_name = "ADDR")]
    pub host: Option<IpAddr>,
    /// Port (default 8000; 0 picks a free one).
    #[arg(long, env = "MCP_ORCH_PORT")]
    pub port: Option<u16>,
    /// PEM certificate chain for TLS.
    #[arg(
        long,
        env = "MCP_ORCH_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS.
    #[arg(
        long,
        env = "MCP_ORCH_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Accept requests without credentials (refused on a non-loopback address).
    #[arg(long, env = "MCP_ORCH_NO_AUTH")]
    pub no_auth: bool,
    /// Browser origins allowed by CORS (repeat, or comma-separate in the env var).
    #[arg(
        long = "cors-origin",
        env = "MCP_ORCH_CORS_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN"
    )]
    pub cors_origins: Vec<String>,
    /// Extra Host names accepted (besides localhost, 127.0.0.1 and `::1`).
    #[arg(
        long = "allowed-host",
        env = "MCP_ORCH_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "HOST"
    )]
    pub allowed_hosts: Vec<String>,
    /// Requests per second per credential (0 = no limit).
    #[arg(long, env = "MCP_ORCH_RATE_LIMIT", value_name = "N")]
    pub rate_limit: Option<u32>,
    /// Burst size of the rate limit.
    #[arg(long, env = "MCP_ORCH_RATE_BURST", value_name = "N")]
    pub rate_burst: Option<u32>,
    /// Open connections at most.
    #[arg(long, env = "MCP_ORCH_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Open event streams at most.
    #[arg(long, env = "MCP_ORCH_MAX_STREAMS", value_name = "N")]
    pub max_streams: Option<usize>,
}

fn init_logging(file: Option<&PathBuf>) -> anyhow::Result<()> {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(super::output::log_filter(DEFAULT_LOG_FILTER))
        .with_ansi(false);
    match file {
        Some(path) => {
            let file = super::output::open_log_file(path)
                .with_context(|| format!("opening the log file {}", path.display()))?;
            let _ = builder.with_writer(Arc::new(file)).try_init();
            eprintln!("mcp-orch: logging to {}", path.display());
        }
        None => {
            let _ = builder.with_writer(std::io::stderr).try_init();
        }
    }
    Ok(())
}

/// The configuration: file, then environment and flags.
pub fn resolve_config(args: &HttpOptions, home: &std::path::Path) -> anyhow::Result<ServerConfig> {
    let mut config = match &args.config {
        Some(path) => ServerConfig::load(path, true)?,
        None => ServerConfig::load(&home.join("server.toml"), false)?,
    };
    if let Some(h) = args.host {
        config.host = h;
    }
    if let Some(p) = args.port {
        config.port = p;
    }
    if args.tls_cert.is_some() {
        config.tls.cert.clone_from(&args.tls_cert);
        config.tls.key.clone_from(&args.tls_key);
    }
    if args.no_auth {
        config.auth.required = false;
    }
    config
        .cors
        .origins
        .extend(args.cors_origins.iter().filter(|o| !o.is_empty()).cloned());
    config
        .security
        .allowed_hosts
        .extend(args.allowed_hosts.iter().filter(|h| !h.is_empty()).cloned());
    if let Some(n) = args.rate_limit {
        config.rate_limit.per_second = n;
    }
    if let Some(n) = args.rate_burst {
        config.rate_limit.burst = n;
    }
    if let Some(n) = args.max_connections {
        config.limits.max_connections = n;
    }
    if let Some(n) = args.max_streams {
        config.limits.max_streams = n;
    }
    Ok(config)
}

/// The static API key, from the environment variable the configuration names; a key that
/// could be guessed (under 128 bits) is refused (`WEAK_API_KEY`).
pub fn api_key(config: &ServerConfig) -> crate::core::Result<Option<String>> {
    let key = std::env::var(&config.auth.api_key_env)
        .ok()
        .filter(|k| !k.is_empty());
    if let Some(key) = &key {
        crate::server::http::auth::check_api_key(key)?;
    }
    Ok(key)
}

/// Runs `serve`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    init_logging(args.log_file.as_ref())?;
    if args.http {
        return run_http(args, ctx);
    }
    let core = Arc::new(SharedCore::open(ctx.options())?);
    // One stdio session whose requests take well under a millisecond: a single-threaded runtime
    // starts faster and answers with less jitter than a pool (docs/BENCHMARKS.md).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(stdio::serve(core));
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    result?;
    Ok(ExitCode::SUCCESS)
}

fn run_http(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let mut options = ctx.options();
    let config = resolve_config(&args.options, &options.home)?;
    if options.store.is_none() {
        options.store.clone_from(&config.store);
    }
    // The state directory exists before the token file and the server's probes need it.
    drop(crate::core::Orchestrator::open(options.clone())?);
    let api_key = api_key(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let state = AppState::new(options, config, api_key.as_deref())?;
        let warnings = state
            .config
            .check(state.auth.has_credentials(chrono::Utc::now()))?;
        for w in warnings {
            tracing::warn!("{w}");
            eprintln!("mcp-orch: warning: {w}");
        }
        let addr = state.config.addr();
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let local = listener.local_addr()?;
        let scheme = if state.config.tls_enabled() { "https" } else { "http" };
        eprintln!(
            "mcp-orch: listening on {scheme}://{local} (REST /v1, MCP /mcp, events /v1/events)"
        );
        if state.auth.required() && !state.auth.has_credentials(chrono::Utc::now()) {
            eprintln!(
                "mcp-orch: no token exists yet: create one with `mcp-orch token create --scope write`"
            );
        }
        state.start_background();
        let shutdown = state.shutdown.clone();
        let signal = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            eprintln!("mcp-orch: shutting down");
            signal.cancel();
        });
        let auth = state.auth.clone();
        http::launch_with_listener(state, listener, shutdown).await?;
        let _ = tokio::task::spawn_blocking(move || auth.flush_uses()).await;
        anyhow::Ok(())
    })?;
    runtime.shutdown_timeout(Duration::from_millis(500));
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
