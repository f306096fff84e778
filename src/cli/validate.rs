//! `mcp-orch validate`.

use std::process::ExitCode;

use super::Ctx;
use super::output::{Target, diagnostics_text};
use crate::api;
use crate::core::probe::parse_duration;
use crate::core::{ClientSet, any_probe_failed};

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exits 0 when the draft is valid (warnings allowed), 1 when it has errors (or, with --probe, when a server fails its probe).\n\nExamples:\n  mcp-orch validate --client cursor --json\n  mcp-orch validate --client cursor --probe --timeout 20s\n  mcp-orch validate --client all            # every client with a draft of the profile"
)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Also start every server and check that it answers initialize and tools/list.
    #[arg(long)]
    probe: bool,
    /// Timeout of each probe (with --probe).
    #[arg(long, default_value = "10s", requires = "probe")]
    timeout: String,
}

/// Runs `validate`: one client as before, or every client a list or `all` names (each
/// client's report; exit 1 when one is invalid).
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let spec = args.target.client.trim();
    if spec == "all" || spec.contains(',') {
        let mut reports = Vec::new();
        for client in orch.select_clients(spec, &args.target.profile, ClientSet::Drafted)? {
            reports.push(api::drafts::validate(&orch, &client, &args.target.profile)?);
        }
        let valid = reports.iter().all(|r| r.valid);
        if ctx.json {
            ctx.print_json(&serde_json::json!({ "valid": valid, "results": reports }))?;
        } else {
            for r in &reports {
                let verdict = if r.valid { "valid" } else { "NOT valid" };
                let mut text = format!("{}/{}: {verdict}", r.client_id, r.profile_id);
                let all: Vec<_> = r.errors.iter().chain(&r.warnings).cloned().collect();
                if !all.is_empty() {
                    text.push('\n');
                    text.push_str(&diagnostics_text(&all));
                }
                ctx.print(&text)?;
            }
        }
        return Ok(if valid {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let mut report = api::drafts::validate(&orch, &args.target.client, &args.target.profile)?;
    report.probes = if args.probe {
        let timeout = parse_duration(&args.timeout)?;
        let draft = orch.draft(&args.target.client, &args.target.profile)?;
        Some(orch.probe_draft_blocking(&draft, timeout)?)
    } else {
        None
    };
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
        for p in report.probes.iter().flatten() {
            text.push('\n');
            text.push_str(super::probe::report_text(p).trim_end());
        }
        ctx.print(&text)?;
    }
    let probes_ok = report
        .probes
        .as_deref()
        .is_none_or(|p| !any_probe_failed(p));
    Ok(if report.valid && probes_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
