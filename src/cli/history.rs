//! `mcp-orch history`.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::Ctx;
use super::output::Target;
use crate::api;
use crate::core::artifact::short_id;

/// Arguments of `history`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Lists the published releases of a client and profile, newest first, each checked
(signature with the trusted key it names, and payload hash).

Examples:
  mcp-orch history --client cursor
  mcp-orch history --client vscode --profile work --json"
)]
pub struct Args {
    #[command(flatten)]
    target: Target,
}

/// Runs `history`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let (client, profile) = (&args.target.client, &args.target.profile);
    let list = api::releases::history(&orch, client, profile, None)?;
    if ctx.json {
        ctx.print_json(&list)?;
        return Ok(ExitCode::SUCCESS);
    }
    if list.releases.is_empty() {
        ctx.print(&format!(
            "no releases of {client}/{profile} yet; publish one with `mcp-orch publish --client {client} --profile {profile}`"
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = format!(
        "{:<8} {:<16} {:<20} {:<16} {:>7}  {:<18} CHANGELOG\n",
        "VERSION", "ARTIFACT", "CREATED", "KEY", "SERVERS", "CHECK"
    );
    for r in &list.releases {
        let _ = writeln!(
            out,
            "{:<8} {:<16} {:<20} {:<16} {:>7}  {:<18} {}",
            r.version,
            short_id(&r.artifact_id),
            r.created_at.format("%Y-%m-%d %H:%M:%S"),
            r.key_id,
            r.server_count,
            r.error_code.as_deref().unwrap_or("ok"),
            r.changelog.as_deref().unwrap_or("")
        );
    }
    ctx.print(&out)?;
    Ok(ExitCode::SUCCESS)
}
