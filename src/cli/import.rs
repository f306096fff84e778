//! `mcp-orch import`.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::Ctx;
use super::output::Target;

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  mcp-orch import --client claude-desktop\nPlain-text secrets found in the file are moved into the secret store."
)]
pub struct Args {
    #[command(flatten)]
    target: Target,
}

/// Runs `import`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let report = crate::api::drafts::import(&orch, &args.target.client, &args.target.profile)?;
    if ctx.json {
        ctx.print_json(&report)?;
    } else {
        let mut out = format!(
            "imported {} server(s) from {}",
            report.imported.len(),
            report.path.display()
        );
        for name in &report.imported {
            let _ = write!(out, "\n  + {name}");
        }
        for skipped in &report.skipped {
            let _ = write!(
                out,
                "\n  skipped {}: {}",
                skipped.server_name, skipped.reason
            );
        }
        if !report.secrets_moved.is_empty() {
            let _ = write!(
                out,
                "\nmoved to the secret store: {}",
                report.secrets_moved.join(", ")
            );
        }
        ctx.print(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}
