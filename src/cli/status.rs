//! `mcp-orch status`.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::Ctx;
use crate::api::StatusReport;
use crate::core::orchestrator::{DriftState, TargetStatus};
use crate::core::probe::parse_duration;

/// Arguments of `status`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "For each client and profile: the deployed artifact, the latest published one, and drift\n(whether the entries mcp-orch owns still match what was deployed).\n\nExamples:\n  mcp-orch status\n  mcp-orch status --client cursor --check    # exit 1 on drift"
)]
pub struct Args {
    /// Only these clients: one id, a comma-separated list, or `all`.
    #[arg(long, short = 'c')]
    pub client: Option<String>,
    /// Exit 1 when drift is found.
    #[arg(long)]
    pub check: bool,
    /// Also start every deployed entry as its client would (initialize + tools/list), and
    /// show the client's own verdict where its CLI is installed; exit 1 when one fails.
    #[arg(long)]
    pub verify: bool,
    /// Per-server timeout of --verify (e.g. 10s, 30s).
    #[arg(long, default_value = "10s", requires = "verify")]
    pub timeout: String,
}

fn show(v: Option<u64>, id: Option<&String>) -> String {
    match (v, id) {
        (Some(v), Some(id)) => format!("v{v} {}", &id[..id.len().min(12)]),
        _ => "-".into(),
    }
}

/// Runs `status`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let targets: Vec<TargetStatus> = orch.status(args.client.as_deref())?;
    let verified = if args.verify {
        Some(orch.verify_blocking(&targets, parse_duration(&args.timeout)?)?)
    } else {
        None
    };
    let failed = verified.iter().flatten().any(|v| !v.ok);
    let report = StatusReport::of(targets.clone());
    let drifted = report.drift_detected;
    if ctx.json {
        let mut doc = serde_json::json!(report);
        if let Some(verified) = &verified {
            doc["verified"] = serde_json::json!(verified);
        }
        ctx.print_json(&doc)?;
    } else if targets.is_empty() {
        ctx.print("nothing published or deployed yet")?;
    } else {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<15} {:<10} {:<18} {:<18} DRIFT",
            "CLIENT", "PROFILE", "DEPLOYED", "LATEST"
        );
        for t in &targets {
            let drift = match t.drift {
                DriftState::Drifted => format!(
                    "drifted (changed: {}; missing: {})",
                    t.changed.join(","),
                    t.missing.join(",")
                ),
                ref other => serde_json::to_value(other)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
            };
            let drift = if t.missing_launcher.is_empty() {
                drift
            } else {
                format!(
                    "{drift}; the mcp-orch binary of {} is gone (publish and deploy again)",
                    t.missing_launcher.join(",")
                )
            };
            let _ = writeln!(
                out,
                "{:<15} {:<10} {:<18} {:<18} {drift}",
                t.client_id,
                t.profile_id,
                show(t.deployed_version, t.deployed_artifact_id.as_ref()),
                show(t.latest_version, t.latest_artifact_id.as_ref()),
            );
        }
        for v in verified.iter().flatten() {
            let _ = writeln!(
                out,
                "\n{}/{} as {} starts them:",
                v.client_id, v.profile_id, v.client_id
            );
            for r in &v.servers {
                let ours = match (r.ok, r.tool_count, r.error_code) {
                    (true, Some(n), _) => format!("ok, {n} tools"),
                    (_, _, Some(code)) => format!(
                        "{} [{code}] {}",
                        r.status.as_str(),
                        r.error.as_deref().unwrap_or_default()
                    ),
                    _ => r.status.as_str().to_owned(),
                };
                let _ = writeln!(out, "  {} {}: {ours}", if r.ok { '✓' } else { '✗' }, r.name);
                if let Some(line) = v.client_says.as_ref().and_then(|s| s.get(&r.name)) {
                    let _ = writeln!(out, "      the client says: {line}");
                }
            }
        }
        ctx.print(&out)?;
    }
    Ok(if (args.check && drifted) || failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
