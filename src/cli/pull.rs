//! `mcp-orch pull [--remote NAME] [--client C|all] [--watch]`: fetch the team's releases,
//! verify each against the pinned root, and deploy them through the safe deploy
//! (docs/TEAM.md). With `--watch`, follow the team server's events and pull on every publish.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::Ctx;
use crate::core::orchestrator::{PullReport, PullStatus};

/// Arguments of `pull`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  mcp-orch pull                          # every client, from the only remote
  mcp-orch pull --remote team --client cursor
  mcp-orch pull --watch --json           # one JSON report per line, as releases come
Nothing is deployed when any release fails verification; the error code names the attack.")]
pub struct Args {
    /// The remote (default: the only one).
    #[arg(long)]
    remote: Option<String>,
    /// Only this client's channels (`all`: every client).
    #[arg(long, short = 'c', value_name = "CLIENT")]
    client: Option<String>,
    /// Keep following the team server and pull on every publish.
    #[arg(long)]
    watch: bool,
}

/// Runs `pull`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let actor = orch.local_actor("cli");
    if !args.watch {
        let report = orch.pull(args.remote.as_deref(), args.client.as_deref(), &actor)?;
        show(ctx, &report)?;
        return Ok(if report.failed() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    orch.watch_remote(
        args.remote.as_deref(),
        args.client.as_deref(),
        &actor,
        |report| {
            match report {
                Ok(report) => {
                    let _ = show(ctx, &report);
                }
                Err(e) => {
                    // Keep watching: a refused pull deployed nothing, the next may succeed.
                    let _ = super::report(&anyhow::Error::new(e), ctx.json);
                }
            }
            true
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

fn show(ctx: &Ctx, report: &PullReport) -> anyhow::Result<()> {
    if ctx.json {
        // One line per report, so `--watch --json` is a stream of JSON lines.
        let mut line = serde_json::to_string(report)?;
        line.push('\n');
        return ctx.print(&line);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "pulled {} (root v{}, snapshot {})",
        report.remote, report.root_version, report.snapshot_version
    );
    if report.channels.is_empty() {
        let _ = writeln!(out, "  nothing published for the selected clients");
    }
    for c in &report.channels {
        let what = match c.status {
            PullStatus::Deployed => "deployed",
            PullStatus::UpToDate => "up to date",
            PullStatus::Skipped => "skipped",
            PullStatus::Failed => "FAILED",
        };
        let why = c
            .error
            .as_ref()
            .map(|e| format!(": {} {}", e.code, e.message))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}/{} v{}  {what}{why}",
            c.client_id, c.profile_id, c.version
        );
    }
    ctx.print(&out)
}
