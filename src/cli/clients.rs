//! `mcp-orch clients`.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::Ctx;

/// Arguments of `clients`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  mcp-orch clients\n  mcp-orch clients --paths        # every candidate path probed\n  mcp-orch clients --json"
)]
pub struct Args {
    /// Show every candidate path that was probed, not only the chosen one.
    #[arg(long)]
    pub paths: bool,
}

/// Runs `clients`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    if ctx.json {
        ctx.print_json(&crate::api::clients::list_clients(&orch)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let statuses = orch.client_statuses()?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<15} {:<15} {:<9} {:>7}  {:<18} PATH",
        "ID", "NAME", "DETECTED", "SERVERS", "PROFILES"
    );
    for s in &statuses {
        let servers = match (&s.error, s.server_count) {
            (Some(_), _) => "error".to_owned(),
            (None, Some(n)) => n.to_string(),
            (None, None) => "-".to_owned(),
        };
        let path = s.config.path.as_ref().map_or_else(
            || "(no path on this OS)".to_owned(),
            |p| p.display().to_string(),
        );
        let _ = writeln!(
            out,
            "{:<15} {:<15} {:<9} {:>7}  {:<18} {}",
            s.id,
            truncate(&s.name, 15),
            if s.detected { "yes" } else { "no" },
            servers,
            truncate(&s.profiles.join(","), 18),
            path
        );
        if let Some(err) = &s.error {
            let _ = writeln!(out, "{:<15} ! {err}", "");
        }
        if args.paths {
            for c in &s.config.candidates {
                let mark = if Some(&c.path) == s.config.path.as_ref() {
                    "*"
                } else {
                    " "
                };
                let _ = writeln!(
                    out,
                    "{:<15} {mark} {} ({})",
                    "",
                    c.path.display(),
                    if c.exists { "exists" } else { "missing" }
                );
            }
        }
    }
    ctx.print(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}
