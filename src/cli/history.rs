//! `mcp-orch history`.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::{Value, json};

use super::Ctx;
use super::output::Target;
use super::publish::release_json;
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
    let releases = orch.history(client, profile)?;
    let rows: Vec<Value> = releases
        .iter()
        .map(|r| {
            let mut row = release_json(r);
            match orch.verify_release(r) {
                Ok(_) => {
                    row["verified"] = json!(true);
                    row["error_code"] = Value::Null;
                }
                Err(e) => {
                    row["verified"] = json!(false);
                    row["error_code"] = json!(e.code());
                }
            }
            row
        })
        .collect();
    if ctx.json {
        ctx.print_json(&json!({
            "client_id": client,
            "profile_id": profile,
            "releases": rows,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        ctx.print(&format!(
            "no releases of {client}/{profile} yet; publish one with `mcp-orch publish --client {client} --profile {profile}`"
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = format!(
        "{:<8} {:<16} {:<20} {:<16} {:>7}  {:<18} CHANGELOG\n",
        "VERSION", "ARTIFACT", "CREATED", "KEY", "SERVERS", "CHECK"
    );
    for (r, row) in releases.iter().zip(&rows) {
        let check = row["error_code"].as_str().unwrap_or("ok");
        let _ = writeln!(
            out,
            "{:<8} {:<16} {:<20} {:<16} {:>7}  {:<18} {}",
            r.version(),
            short_id(r.artifact_id()),
            r.envelope.created_at.format("%Y-%m-%d %H:%M:%S"),
            r.key_id,
            r.envelope.metadata.server_count,
            check,
            r.envelope.changelog.as_deref().unwrap_or("")
        );
    }
    ctx.print(&out)?;
    Ok(ExitCode::SUCCESS)
}
