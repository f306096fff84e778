//! `mcp-orch restore`.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::Ctx;
use super::output::Target;

/// Arguments of `restore`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Every write keeps the file's previous bytes as a content-addressed backup.\n\nExamples:\n  mcp-orch restore --client cursor --list\n  mcp-orch restore --client cursor --backup 3f2a9c1e0b7d"
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
    let (info, written) = orch.restore(&args.target.client, &args.target.profile, &id, "cli")?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "status": "restored",
            "backup_id": info.id,
            "path": written.real_path,
            "changed": written.changed,
            "previous_backup_id": written.backup_id,
        }))?;
    } else {
        let mut text = format!(
            "restored {} from backup {}",
            written.real_path.display(),
            info.id
        );
        if let Some(prev) = &written.backup_id {
            let _ = write!(text, " (the bytes it replaced are backup {prev})");
        }
        ctx.print(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}
