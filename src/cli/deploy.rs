//! `mcp-orch deploy` and `mcp-orch rollback`.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use super::Ctx;
use super::diff::plan_text;
use crate::core::orchestrator::{DeployFlags, DeployReport, DeployRequest, RollbackTarget};
use crate::core::{self, Orchestrator};

/// Arguments of `deploy`.
#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools)] // independent command-line switches
#[command(
    after_help = "Verifies the artifact's signature, that it belongs to this client and profile and is not older\nthan the deployed one, then merges only mcp-orch's entries into the client's file (a backup is kept).\n\nExamples:\n  mcp-orch deploy --client cursor --dry-run     # plan and unified diff; writes nothing\n  mcp-orch deploy --client cursor --yes\n  mcp-orch deploy --client all --yes            # every detected client with a published artifact"
)]
pub struct Args {
    /// Client id, or `all` for every detected client that has this profile published.
    #[arg(long, short = 'c')]
    pub client: String,
    /// Profile id.
    #[arg(long, short = 'p', default_value = crate::core::profiles::DEFAULT_PROFILE)]
    pub profile: String,
    /// Artifact id (or unique prefix); default: the latest published.
    #[arg(long)]
    pub artifact: Option<String>,
    /// Print the plan and the diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Take over servers with the same name that were added to the file by hand.
    #[arg(long)]
    pub adopt: bool,
    /// Write secret values into the client's file instead of references (not recommended).
    #[arg(long)]
    pub inline_secrets: bool,
}

/// Arguments of `rollback`.
#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools)] // independent command-line switches
#[command(
    after_help = "Examples:\n  mcp-orch rollback --client cursor                 # one version back\n  mcp-orch rollback --client cursor --steps 2\n  mcp-orch rollback --client cursor --to 3f2a9c1e --yes"
)]
pub struct RollbackArgs {
    /// Client id.
    #[arg(long, short = 'c')]
    pub client: String,
    /// Profile id.
    #[arg(long, short = 'p', default_value = crate::core::profiles::DEFAULT_PROFILE)]
    pub profile: String,
    /// The artifact to go back to (id or unique prefix).
    #[arg(long, conflicts_with = "steps")]
    pub to: Option<String>,
    /// How many published versions to go back.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Print the plan and the diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Take over servers with the same name that were added to the file by hand.
    #[arg(long)]
    pub adopt: bool,
}

/// Asks on the terminal; refuses without one (scripts pass --yes).
fn confirm(question: &str) -> core::Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(core::Error::invalid(
            "CONFIRMATION_REQUIRED",
            "yes",
            "deploying changes files on this machine and needs confirmation",
            "review the plan with --dry-run, then run again with --yes",
        ));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| core::Error::io("reading the answer", e))?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(core::Error::invalid(
            "CANCELLED",
            "yes",
            "cancelled; nothing was written",
            "run again and answer y, or pass --yes",
        ))
    }
}

fn report_text(r: &DeployReport) -> String {
    let what = r.version.map(|v| format!(" v{v}")).unwrap_or_default();
    if r.dry_run {
        return plan_text(&r.plan);
    }
    if !r.changed {
        return format!(
            "{}/{}{what}: {} already up to date",
            r.client_id,
            r.profile_id,
            r.plan.path.display()
        );
    }
    let mut text = format!(
        "{}/{}{what}: wrote {}",
        r.client_id,
        r.profile_id,
        r.plan.path.display()
    );
    if let Some(b) = &r.backup_id {
        let _ = write!(text, " (backup {b})");
    }
    for note in &r.plan.notes {
        let _ = write!(text, "\n  note: {note}");
    }
    text
}

fn run_one(
    orch: &Orchestrator,
    ctx: &Ctx,
    req: &DeployRequest,
    yes: bool,
) -> core::Result<DeployReport> {
    if req.flags.dry_run || yes {
        return orch.deploy(req, "cli");
    }
    // Plan first to show it; a refusal is then repeated for real so the audit log records it.
    let dry = DeployRequest {
        flags: DeployFlags {
            dry_run: true,
            ..req.flags
        },
        ..req.clone()
    };
    let Ok(plan) = orch.deploy(&dry, "cli") else {
        return orch.deploy(req, "cli");
    };
    if !yes && !plan.plan.servers.is_empty() {
        if !ctx.json {
            eprintln!("{}", plan_text(&plan.plan));
        }
        confirm(&format!("Write {}?", plan.plan.path.display()))?;
    }
    orch.deploy(req, "cli")
}

/// Runs `deploy`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let flags = DeployFlags {
        dry_run: args.dry_run,
        adopt: args.adopt,
    };
    let request = |client: &str| DeployRequest {
        client: client.to_owned(),
        profile: args.profile.clone(),
        artifact: args.artifact.clone(),
        flags,
        inline_secrets: args.inline_secrets,
    };
    if args.client != "all" {
        let report = run_one(&orch, ctx, &request(&args.client), args.yes)?;
        if ctx.json {
            ctx.print_json(&report)?;
        } else {
            ctx.print(&report_text(&report))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.artifact.is_some() {
        return Err(core::Error::invalid(
            "INVALID_ARGUMENT",
            "artifact",
            "--artifact names one client's artifact and cannot be used with --client all",
            "deploy each client separately",
        )
        .into());
    }
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for status in orch.client_statuses()? {
        if !status.detected
            || !status.profiles.contains(&args.profile)
            || orch.latest_release(&status.id, &args.profile)?.is_none()
        {
            continue;
        }
        match run_one(&orch, ctx, &request(&status.id), args.yes) {
            Ok(r) => reports.push(r),
            Err(e) => {
                failures.push(serde_json::json!({ "client_id": status.id, "error": e.body() }));
            }
        }
    }
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "deployments": reports, "failures": failures }))?;
    } else {
        for r in &reports {
            ctx.print(&report_text(r))?;
        }
        for f in &failures {
            ctx.print(&format!(
                "{}: error[{}] {}",
                f["client_id"].as_str().unwrap_or_default(),
                f["error"]["code"].as_str().unwrap_or_default(),
                f["error"]["message"].as_str().unwrap_or_default()
            ))?;
        }
        if reports.is_empty() && failures.is_empty() {
            ctx.print(&format!(
                "no detected client has a published `{}` profile",
                args.profile
            ))?;
        }
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs `rollback`.
pub fn run_rollback(args: &RollbackArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let target = match &args.to {
        Some(id) => RollbackTarget::Artifact(id.clone()),
        None => RollbackTarget::Steps(args.steps.unwrap_or(1)),
    };
    let real = DeployFlags {
        dry_run: args.dry_run,
        adopt: args.adopt,
    };
    let dry = DeployFlags {
        dry_run: true,
        ..real
    };
    let report = match orch.rollback(&args.client, &args.profile, &target, dry, "cli") {
        Ok(plan) if args.dry_run => plan,
        Err(e) if args.dry_run => return Err(e.into()),
        // A refusal is repeated for real so the audit log records it.
        Err(_) => orch.rollback(&args.client, &args.profile, &target, real, "cli")?,
        Ok(plan) => {
            if !args.yes && !plan.plan.servers.is_empty() {
                if !ctx.json {
                    eprintln!("{}", plan_text(&plan.plan));
                }
                let version = plan.version.unwrap_or_default();
                confirm(&format!(
                    "Roll {} back to v{version}?",
                    plan.plan.path.display()
                ))?;
            }
            orch.rollback(&args.client, &args.profile, &target, real, "cli")?
        }
    };
    if ctx.json {
        ctx.print_json(&report)?;
    } else {
        ctx.print(&report_text(&report))?;
    }
    Ok(ExitCode::SUCCESS)
}
