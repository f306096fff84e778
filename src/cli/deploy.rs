//! `mcp-orch apply`, `deploy`, `rollback` and `undeploy`: each plans, shows the plan, asks, and
//! applies exactly the plan shown (a change meanwhile is `PLAN_STALE`, nothing written).

use crate::core::code::Code;
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use serde_json::json;

use super::Ctx;
use super::diff::plan_text;
use crate::api;
use crate::core::orchestrator::{Action, ClientSet, DeployReport, PlanRequest, RollbackTarget};
use crate::core::{self, Orchestrator};

/// How a plan is confirmed: the switches every planning command shares.
#[derive(Debug, Clone, Copy, clap::Args)]
#[allow(clippy::struct_excessive_bools)] // independent command-line switches
pub struct Confirm {
    /// Print the plan and the diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (the plan is made and applied under the file's lock).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Take over servers with the same name that were added to the file by hand.
    #[arg(long)]
    pub adopt: bool,
    /// Write a new file at this name when the client's file has other hard links (they keep
    /// the old content); refused otherwise.
    #[arg(long)]
    pub break_hard_link: bool,
}

/// Arguments of `deploy`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Verifies the artifact's signature, that it belongs to this client and profile and is not older\nthan the deployed one, then merges only mcp-orch's entries into the client's file (a backup is kept).\nWithout --yes the plan is shown and exactly that plan is applied after you confirm.\n\nExamples:\n  mcp-orch deploy --client cursor --dry-run     # plan and unified diff; writes nothing\n  mcp-orch deploy --client cursor --yes\n  mcp-orch deploy --client cursor,vscode --yes  # several clients\n  mcp-orch deploy --client all --yes            # every client with a published artifact of the profile"
)]
pub struct Args {
    /// Client id, a comma-separated list, or `all` (every client with this profile published).
    #[arg(long, short = 'c')]
    pub client: String,
    /// Profile id.
    #[arg(long, short = 'p', default_value = crate::core::profiles::DEFAULT_PROFILE)]
    pub profile: String,
    /// Artifact id (or unique prefix); default: the latest published.
    #[arg(long)]
    pub artifact: Option<String>,
    /// Write secret values into the client's file instead of references (not recommended).
    #[arg(long)]
    pub inline_secrets: bool,
    #[command(flatten)]
    pub confirm: Confirm,
}

/// Arguments of `rollback`.
#[derive(Debug, clap::Args)]
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
    #[command(flatten)]
    pub confirm: Confirm,
}

/// Arguments of `undeploy`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Removes every entry mcp-orch owns from the client's file (entries added by hand stay).\n\nExamples:\n  mcp-orch undeploy --client cursor --dry-run\n  mcp-orch undeploy --client all --yes"
)]
pub struct UndeployArgs {
    /// Client id, a comma-separated list, or `all` (every client deployed or published).
    #[arg(long, short = 'c')]
    pub client: String,
    /// Profile id.
    #[arg(long, short = 'p', default_value = crate::core::profiles::DEFAULT_PROFILE)]
    pub profile: String,
    #[command(flatten)]
    pub confirm: Confirm,
}

/// Arguments of `apply`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "From the draft to the client in one step: validates the draft, shows what the client's file\nwill become, and after you confirm publishes the draft (when it differs from the latest release;\na signing key is created on first use, after asking) and deploys that release.\n\nExamples:\n  mcp-orch apply --client cursor\n  mcp-orch apply --client cursor,claude-code -m \"add github\" --yes\n  mcp-orch apply --client all --dry-run"
)]
pub struct ApplyArgs {
    /// Client id, a comma-separated list, or `all` (every client with a draft of the profile).
    #[arg(long, short = 'c')]
    pub client: String,
    /// Profile id.
    #[arg(long, short = 'p', default_value = crate::core::profiles::DEFAULT_PROFILE)]
    pub profile: String,
    /// What changed (signed with the release, when one is published).
    #[arg(long = "message", short = 'm', value_name = "CHANGELOG")]
    pub message: Option<String>,
    #[command(flatten)]
    pub confirm: Confirm,
}

/// Asks on the terminal; refuses without one (scripts pass --yes).
pub fn ask(question: &str) -> core::Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(core::Error::invalid(
            Code::ConfirmationRequired,
            "yes",
            "this changes files on this machine and needs confirmation",
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
            Code::Cancelled,
            "yes",
            "cancelled; nothing was written",
            "run again and answer y, or pass --yes",
        ))
    }
}

/// Human text for a plan or what applying it did.
pub fn report_text(r: &DeployReport) -> String {
    let what = r.version.map(|v| format!(" v{v}")).unwrap_or_default();
    if r.dry_run {
        let mut text = plan_text(&r.plan);
        if r.publishes {
            text.push_str("  (the draft is published first)\n");
        }
        let _ = write!(text, "  plan {}", r.plan_id);
        return text;
    }
    if !r.changed {
        return format!(
            "{}/{}{what}: {} already up to date",
            r.client_id,
            r.profile_id,
            r.plan.path.display()
        );
    }
    let verb = match r.action {
        "restore" => "restored",
        "undeploy" => "removed mcp-orch's servers from",
        _ => "wrote",
    };
    let mut text = format!(
        "{}/{}{what}: {verb} {}",
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

/// Plans `req`, shows the plan and asks (unless `--yes` or `--dry-run`), then applies exactly
/// that plan. With `--yes` the plan is made and applied under the file's lock in one step.
pub fn plan_and_apply(
    orch: &Orchestrator,
    ctx: &Ctx,
    req: &PlanRequest,
    confirm: Confirm,
) -> core::Result<DeployReport> {
    let actor = orch.local_actor("cli");
    if confirm.yes && !confirm.dry_run {
        return orch.apply(req, None, &actor);
    }
    let plan = orch.plan(req)?;
    if confirm.dry_run {
        return Ok(plan);
    }
    // Nothing in the file changes (the record may: the same entries under a new version).
    if !plan.plan.servers.is_empty() || plan.publishes {
        if !ctx.json {
            eprintln!("{}", report_text(&plan));
        }
        let verb = match req.action {
            Action::Rollback { .. } => "Roll back",
            Action::Restore { .. } => "Restore",
            Action::Undeploy => "Remove mcp-orch's servers from",
            _ => "Write",
        };
        ask(&format!("{verb} {}?", plan.plan.path.display()))?;
    }
    orch.apply(req, Some(&plan.plan_id), &actor)
}

/// Runs one planning command for every client `spec` names and prints the outcome: one
/// report for one client, else every report and every failure (exit 1 when one failed).
fn run_for_clients(
    ctx: &Ctx,
    spec: &str,
    profile: &str,
    set: ClientSet,
    confirm: Confirm,
    action: impl Fn(&Orchestrator, &str) -> core::Result<Action>,
) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let clients = orch.select_clients(spec, profile, set)?;
    let request = |client: &str| -> core::Result<PlanRequest> {
        Ok(PlanRequest {
            adopt: confirm.adopt,
            break_hard_link: confirm.break_hard_link,
            ..PlanRequest::new(client, profile, action(&orch, client)?)
        })
    };
    let single = spec != "all" && clients.len() == 1;
    if single {
        let report = plan_and_apply(&orch, ctx, &request(&clients[0])?, confirm)?;
        if ctx.json {
            ctx.print_json(&api::DeployOutcome::of(&report))?;
        } else {
            ctx.print(&report_text(&report))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for client in &clients {
        match request(client).and_then(|req| plan_and_apply(&orch, ctx, &req, confirm)) {
            Ok(r) => reports.push(r),
            Err(e) => failures
                .push(json!({ "client_id": client, "error": super::output::error_body(&e) })),
        }
    }
    if ctx.json {
        let results: Vec<api::DeployOutcome> = reports.iter().map(api::DeployOutcome::of).collect();
        ctx.print_json(&json!({ "results": results, "failures": failures }))?;
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
        if clients.is_empty() {
            ctx.print(&format!("no client has the `{profile}` profile to act on"))?;
        }
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs `deploy`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if args.artifact.is_some() && (args.client == "all" || args.client.contains(',')) {
        return Err(core::Error::invalid(
            Code::InvalidArgument,
            "artifact_id",
            "--artifact names one client's artifact and cannot be used with several clients",
            "deploy each client separately",
        )
        .into());
    }
    run_for_clients(
        ctx,
        &args.client,
        &args.profile,
        ClientSet::Published,
        args.confirm,
        |_, _| {
            Ok(Action::Deploy {
                artifact: args.artifact.clone(),
                inline_secrets: args.inline_secrets,
            })
        },
    )
}

/// Runs `rollback`.
pub fn run_rollback(args: &RollbackArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let to = match &args.to {
        Some(id) => RollbackTarget::Artifact(id.clone()),
        None => RollbackTarget::Steps(args.steps.unwrap_or(1).max(1)),
    };
    run_for_clients(
        ctx,
        &args.client,
        &args.profile,
        ClientSet::Published,
        args.confirm,
        |_, _| Ok(Action::Rollback { to: to.clone() }),
    )
}

/// Runs `undeploy`.
pub fn run_undeploy(args: &UndeployArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    run_for_clients(
        ctx,
        &args.client,
        &args.profile,
        ClientSet::Tracked,
        args.confirm,
        |_, _| Ok(Action::Undeploy),
    )
}

/// Runs `apply`: creates the signing key first when there is none (after asking).
pub fn run_apply(args: &ApplyArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    run_for_clients(
        ctx,
        &args.client,
        &args.profile,
        ClientSet::Drafted,
        args.confirm,
        |orch, _| {
            if !args.confirm.dry_run {
                super::publish::ensure_signing_key(orch, ctx, args.confirm.yes)?;
            }
            Ok(Action::Apply {
                changelog: args.message.clone(),
            })
        },
    )
}
