//! `mcp-orch show ARTIFACT_ID`.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::json;

use super::Ctx;

/// Arguments of `show`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Shows an artifact's payload (servers and the rendered client entries; secrets appear
only as references, their values are never stored in artifacts) and every release of it.
The payload's hash is checked first.

Examples:
  mcp-orch show 4aff2339
  mcp-orch show 4aff23397f17dfe028fbcc7604b7fa97625869dbf28a7d482dd0e86dc5c4407f --json"
)]
pub struct Args {
    /// Artifact id, or a unique prefix of at least 8 hex digits.
    pub artifact_id: String,
}

/// Runs `show`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let id = orch.resolve_artifact(&args.artifact_id)?;
    let payload = orch.load_payload(&id)?;
    let releases = orch.releases_of(&id)?;
    if ctx.json {
        ctx.print_json(&json!({
            "artifact_id": id,
            "payload": payload,
            "releases": releases,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = format!(
        "artifact {id}\n  client: {}\n  servers ({}):\n",
        payload.client_id,
        payload.servers.len()
    );
    out.push_str(&super::output::servers_text(&payload.servers, "    "));
    let _ = writeln!(
        out,
        "  entries:\n{}",
        serde_json::to_string_pretty(&payload.entries)?
            .lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let _ = writeln!(out, "  releases ({}):", releases.len());
    for r in &releases {
        let _ = writeln!(
            out,
            "    {}/{} version {} at {} by key {}{}",
            r.client_id(),
            r.profile_id(),
            r.version(),
            r.envelope.created_at.to_rfc3339(),
            r.key_id,
            r.envelope
                .changelog
                .as_deref()
                .map(|c| format!(": {c}"))
                .unwrap_or_default()
        );
    }
    ctx.print(&out)?;
    Ok(ExitCode::SUCCESS)
}
