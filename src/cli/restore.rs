//! `mcp-orch restore`.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::Ctx;
use super::deploy::{Confirm, plan_and_apply, report_text};
use super::output::Target;
use crate::core::orchestrator::{Action, PlanRequest};

/// Arguments of `restore`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Every write keeps the file's previous bytes as a content-addressed backup.\n\nExamples:\n  mcp-orch restore --client cursor --list\n  mcp-orch restore --client cursor --backup 3f2a9c1e0b7d --yes\n\nThe entries mcp-orch owned in those bytes are its own again (known from the record kept with the backup)."
)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// The backup to bring back (its id or a unique prefix).
    #[arg(long, required_unless_present = "list")]
    pub backup: Option<String>,
    /// List the backups instead.
    #[arg(long)]
    pub list: bool,
    #[command(flatten)]
    pub confirm: Confirm,
}

/// Runs `restore`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    if args.list {
        let backups = orch.backups(&args.target.client)?;
        if ctx.json {
            ctx.print_json(&serde_json::json!({ "backups": backups }))?;
        } else if backups.is_empty() {
            ctx.print("no backups yet")?;
        } else {
            let mut out = String::new();
            for b in &backups {
                let _ = writeln!(
                    out,
                    "{}  {}  {:>7} B  {}",
                    b.id,
                    b.created_at.format("%Y-%m-%d %H:%M:%S"),
                    b.size,
                    b.path.display()
                );
            }
            ctx.print(&out)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let id = args.backup.clone().unwrap_or_default();
    let req = PlanRequest {
        adopt: args.confirm.adopt,
        break_hard_link: args.confirm.break_hard_link,
        ..PlanRequest::new(
            &args.target.client,
            &args.target.profile,
            Action::Restore { backup_id: id },
        )
    };
    let report = plan_and_apply(&orch, ctx, &req, args.confirm)?;
    if ctx.json {
        ctx.print_json(&crate::api::DeployOutcome::of(&report))?;
    } else {
        ctx.print(&report_text(&report))?;
    }
    Ok(ExitCode::SUCCESS)
}
