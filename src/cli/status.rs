//! `mcp-orch status`.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::Ctx;
use crate::core::orchestrator::{DriftState, TargetStatus};

/// Arguments of `status`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "For each client and profile: the deployed artifact, the latest published one, and drift\n(whether the entries mcp-orch owns still match what was deployed).\n\nExamples:\n  mcp-orch status\n  mcp-orch status --client cursor --check    # exit 1 on drift"
)]
pub struct Args {
    /// Only this client.
    #[arg(long, short = 'c')]
    pub client: Option<String>,
    /// Exit 1 when drift is found.
    #[arg(long)]
    pub check: bool,
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
    let drifted = targets
        .iter()
        .any(|t| matches!(t.drift, DriftState::Drifted | DriftState::FileMissing));
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "targets": targets, "drift_detected": drifted }))?;
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
            let _ = writeln!(
                out,
                "{:<15} {:<10} {:<18} {:<18} {drift}",
                t.client_id,
                t.profile_id,
                show(t.deployed_version, t.deployed_artifact_id.as_ref()),
                show(t.latest_version, t.latest_artifact_id.as_ref()),
            );
        }
        ctx.print(&out)?;
    }
    Ok(if args.check && drifted {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
