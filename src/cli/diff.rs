//! `mcp-orch diff`.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::Ctx;
use super::output::Target;
use crate::core::orchestrator::FileDiff;

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Shows the server-level changes and the unified diff of the client's file; writes nothing.\n\nExample:\n  mcp-orch diff --client cursor"
)]
pub struct Args {
    #[command(flatten)]
    target: Target,
}

/// Human text for a file plan.
pub fn plan_text(plan: &FileDiff) -> String {
    let mut out = String::new();
    let s = &plan.servers;
    let _ = writeln!(
        out,
        "{}/{} -> {}{}",
        plan.client_id,
        plan.profile_id,
        plan.path.display(),
        if plan.exists { "" } else { " (new file)" }
    );
    if s.is_empty() {
        let _ = writeln!(
            out,
            "  no changes ({} server(s) already as wanted)",
            s.unchanged.len()
        );
        return out;
    }
    for n in &s.added {
        let _ = writeln!(out, "  + {n}");
    }
    for m in &s.modified {
        let takeover = if m.takes_over_unmanaged {
            " (takes over an entry added by hand)"
        } else {
            ""
        };
        let _ = writeln!(out, "  ~ {}{takeover}", m.name);
        for c in &m.changes {
            let show = |v: &Option<serde_json::Value>| {
                v.as_ref()
                    .map_or_else(|| "(none)".to_owned(), ToString::to_string)
            };
            let _ = writeln!(
                out,
                "      {}: {} -> {}",
                c.path,
                show(&c.old_value),
                show(&c.new_value)
            );
        }
    }
    for n in &s.removed {
        let _ = writeln!(out, "  - {n}");
    }
    for note in &plan.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    let _ = write!(out, "\n{}", plan.unified_diff);
    out
}

/// Runs `diff`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let plan = orch.diff(&args.target.client, &args.target.profile)?;
    if ctx.json {
        ctx.print_json(&crate::api::FilePlan::of(&plan, "draft"))?;
    } else {
        ctx.print(&plan_text(&plan))?;
    }
    Ok(ExitCode::SUCCESS)
}
