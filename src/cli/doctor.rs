//! `mcp-orch doctor`: is this machine ready to run the configured servers?

use std::fmt::Write as _;
use std::process::ExitCode;

use super::Ctx;
use crate::core::CheckStatus;

/// Arguments of `doctor`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Checks node, npx, uvx and docker (with versions), that every detected client file parses, and that keys (<home>/keys/*.key) and the secret store (<home>/secrets.json) are readable only by you.\nExits 1 when a check fails (a missing tool fails only when a draft uses it).\n\nExample:\n  mcp-orch doctor --json"
)]
pub struct Args {}

/// Runs `doctor`.
pub fn run(_args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let report = orch.doctor_blocking()?;
    if ctx.json {
        ctx.print_json(&report)?;
    } else {
        let mut out = String::new();
        for c in &report.checks {
            let mark = match c.status {
                CheckStatus::Ok => "ok  ",
                CheckStatus::Warn => "warn",
                CheckStatus::Error => "FAIL",
            };
            let _ = writeln!(
                out,
                "[{mark}] {:<11} {:<14} {}",
                c.category, c.name, c.message
            );
            if let Some(hint) = &c.hint {
                let _ = writeln!(out, "       hint: {hint}");
            }
        }
        let _ = writeln!(
            out,
            "{} errors, {} warnings",
            report.errors, report.warnings
        );
        ctx.print(&out)?;
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
