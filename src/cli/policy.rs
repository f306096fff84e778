//! `mcp-orch policy [FILE]`, `policy plan [FILE]`, `policy show`: one organisation policy
//! (allowed and denied servers by name, command or URL pattern), written into each client's
//! managed policy file (docs/POLICY.md).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::Ctx;
use crate::core;
use crate::core::orchestrator::{ManagedRoot, PolicyReport};

/// Arguments of `policy`.
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:
  mcp-orch policy plan org-policy.toml   # what each client would block, and each managed file's diff
  sudo mcp-orch policy org-policy.toml   # set it and write every managed file
  mcp-orch policy --root ./image org-policy.toml   # write the files under ./image (an image, a package)"
)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    target: Target,
}

/// Policy subcommands.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Show, per client, its managed file's change and which servers in its files it would
    /// block (nothing is written or set).
    Plan(Target),
    /// Print the policy that is set.
    Show,
}

/// What a policy command reads and where it writes.
#[derive(Debug, clap::Args)]
struct Target {
    /// The policy file (TOML or JSON); without it, the policy set before.
    file: Option<PathBuf>,
    /// Only this client.
    #[arg(long, short = 'c')]
    client: Option<String>,
    /// Write the managed files under this directory instead of the system's own places (also
    /// `MCP_ORCH_MANAGED_ROOT`).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
}

fn read(file: &Path) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(file)
        .map_err(|e| core::Error::io(format!("reading {}", file.display()), e))?)
}

/// Runs `policy`.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let actor = orch.local_actor("cli");
    match args.command {
        Some(Command::Show) => {
            let policy = orch.current_policy()?;
            if ctx.json {
                ctx.print_json(&policy)?;
            } else {
                ctx.print(&toml::to_string_pretty(&policy)?)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Plan(target)) => {
            let policy = match &target.file {
                Some(file) => core::policy::Policy::parse(&read(file)?, file)?,
                None => orch.current_policy()?,
            };
            let report = orch.policy_report(
                &policy,
                target.client.as_deref(),
                ManagedRoot(target.root.as_deref()),
                false,
                &actor,
            )?;
            print(ctx, &report)
        }
        None => {
            let target = args.target;
            let policy = match &target.file {
                Some(file) => orch.set_policy(&read(file)?, file, &actor)?,
                None => orch.current_policy()?,
            };
            let report = orch.policy_report(
                &policy,
                target.client.as_deref(),
                ManagedRoot(target.root.as_deref()),
                true,
                &actor,
            )?;
            print(ctx, &report)
        }
    }
}

fn print(ctx: &Ctx, report: &PolicyReport) -> anyhow::Result<ExitCode> {
    if ctx.json {
        ctx.print_json(report)?;
    } else {
        let mut out = String::new();
        for client in &report.clients {
            match &client.managed_file {
                Some(path) => {
                    let _ = writeln!(out, "{}  {}", client.client_id, path.display());
                }
                None => {
                    let _ = writeln!(out, "{}  (no managed policy file)", client.client_id);
                }
            }
            if let Some(e) = &client.error {
                let _ = writeln!(out, "  error: {e}");
            }
            for s in &client.blocked {
                let _ = writeln!(
                    out,
                    "  blocks {} ({}): {}",
                    s.server,
                    s.path.display(),
                    s.reason
                );
            }
            for s in &client.not_enforced {
                let _ = writeln!(
                    out,
                    "  forbids but cannot block {} ({}): {}",
                    s.server,
                    s.path.display(),
                    s.reason
                );
            }
            for note in &client.notes {
                let _ = writeln!(out, "  note: {note}");
            }
            if !report.applied {
                out.push_str(&client.diff);
            } else if let Some(id) = &client.backup_id {
                let _ = writeln!(out, "  backup {id}");
            }
        }
        let _ = writeln!(
            out,
            "{} deployed server(s) blocked by their clients{}",
            report.blocked,
            if report.applied {
                "; managed files written"
            } else {
                "; nothing written: `mcp-orch policy FILE` writes the managed files"
            }
        );
        ctx.print(&out)?;
    }
    Ok(if report.clients.iter().any(|c| c.error.is_some()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
