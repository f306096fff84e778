//! `mcp-orch validate`.

use std::process::ExitCode;

use super::Ctx;
use super::output::{Target, diagnostics_text};

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exits 0 when the draft is valid (warnings allowed), 1 when it has errors.\n\nExample:\n  mcp-orch validate --client cursor --json"
)]
pub struct Args {
    #[command(flatten)]
    target: Target,
}

/// Runs `validate`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let report = orch.validate(&args.target.client, &args.target.profile)?;
    if ctx.json {
        ctx.print_json(&report)?;
    } else {
        let verdict = if report.valid { "valid" } else { "NOT valid" };
        let mut text = format!(
            "{}/{}: {verdict} ({} servers, {} errors, {} warnings)",
            report.client_id,
            report.profile_id,
            report.server_count,
            report.errors.len(),
            report.warnings.len()
        );
        let all: Vec<_> = report
            .errors
            .iter()
            .chain(&report.warnings)
            .cloned()
            .collect();
        if !all.is_empty() {
            text.push('\n');
            text.push_str(&diagnostics_text(&all));
        }
        ctx.print(&text)?;
    }
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
