//! `mcp-orch migrate KIND`: move servers from a client's old home to its new one (Gemini CLI
//! to Antigravity CLI, `.vscode/mcp.json` to `.mcp.json`, `OpenCode` 1 to 2), keeping
//! everything else in both files. A plan first; `--yes` writes it.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use super::Ctx;
use crate::core::orchestrator::Migration;

/// Arguments of `migrate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  mcp-orch migrate gemini-to-antigravity          # the plan: what moves, both files' diffs
  mcp-orch migrate gemini-to-antigravity --yes
  mcp-orch migrate vscode-to-mcp-json --project ~/src/app --yes
  mcp-orch migrate opencode-v2 --yes              # after upgrading OpenCode to 2")]
pub struct Args {
    /// Which move: gemini-to-antigravity, vscode-to-mcp-json, opencode-v2.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(Migration::ALL.map(|(n, _)| n)))]
    migration: String,
    /// A project's files instead of the user's (default for vscode-to-mcp-json: the current
    /// directory).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// Write the plan.
    #[arg(long, short = 'y')]
    yes: bool,
}

/// Runs `migrate`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    // clap accepted only these names.
    let migration = Migration::ALL
        .iter()
        .find(|(n, _)| *n == args.migration)
        .map_or(Migration::OpencodeV2, |(_, m)| *m);
    let report = orch.migrate(
        migration,
        args.project.as_deref(),
        args.yes,
        &orch.local_actor("cli"),
    )?;
    if ctx.json {
        ctx.print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    let _ = writeln!(out, "{} -> {}", report.from.display(), report.to.display());
    for name in &report.moved {
        let _ = writeln!(out, "  moves {name}");
    }
    for skip in &report.skipped {
        let _ = writeln!(out, "  stays {}: {}", skip.server, skip.reason);
    }
    for note in &report.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    for file in &report.files {
        if report.applied {
            let _ = match &file.backup_id {
                Some(id) => writeln!(out, "  {} written (backup {id})", file.path.display()),
                None => writeln!(out, "  {} written", file.path.display()),
            };
        } else {
            out.push_str(&file.diff);
        }
    }
    let _ = if report.moved.is_empty() {
        writeln!(out, "nothing to move")
    } else if report.applied {
        writeln!(out, "moved {} server(s)", report.moved.len())
    } else {
        writeln!(
            out,
            "{} server(s) to move; nothing written: run again with --yes",
            report.moved.len()
        )
    };
    ctx.print(&out)?;
    Ok(ExitCode::SUCCESS)
}
