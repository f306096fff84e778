//! `mcp-orch serve`: run the MCP server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tracing_subscriber::EnvFilter;

use super::Ctx;
use crate::core::Options;
use crate::server::{stdio, watch::SharedCore};

/// The log filter when neither `MCP_ORCH_LOG` nor `RUST_LOG` is set.
const DEFAULT_LOG_FILTER: &str = "mcp_orch=info,rmcp=warn";

/// How long shutdown waits for background work once the session ended.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(200);

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  mcp-orch serve                         # MCP over stdio (what a client's config runs)
  mcp-orch serve --log-file /tmp/orch.log
stdout carries only the protocol; logs go to stderr (or --log-file). The filter comes from
MCP_ORCH_LOG, else RUST_LOG (default: info). The server exits when stdin closes.")]
pub struct Args {
    /// Serve over stdin/stdout (the default).
    #[arg(long, default_value_t = true)]
    pub stdio: bool,
    /// Write logs to this file instead of stderr.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

fn init_logging(file: Option<&PathBuf>) -> anyhow::Result<()> {
    let filter = std::env::var("MCP_ORCH_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| DEFAULT_LOG_FILTER.to_owned());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER)),
        )
        .with_ansi(false);
    match file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
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

/// Runs `serve`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    init_logging(args.log_file.as_ref())?;
    let core = Arc::new(SharedCore::open(Options::from_process(ctx.home()))?);
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
