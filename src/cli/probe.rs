//! `mcp-orch probe`: start a server as its client would and check that it answers.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::Ctx;
use super::output::parse_pair;
use crate::core::probe::{ProbeReport, parse_duration};
use crate::core::profiles::DEFAULT_PROFILE;
use crate::core::{ProbeTarget, any_probe_failed};

/// Arguments of `probe`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "With --client, NAME is looked up in that client's draft first, then in the catalog.\nWith --as-client, every entry of that client's file (or NAME) is started exactly as the client\nwould: its references expanded from this shell's environment, with the environment the client\ngives its servers (Codex's allow-list, Gemini's redaction). An entry that needs a variable the\nclient does not have fails with MISSING_CLIENT_ENV.\nExits 0 when every server answered initialize and tools/list, 1 otherwise.\n\nExamples:\n  mcp-orch probe github --client cursor\n  mcp-orch probe --as-client claude-code\n  mcp-orch probe filesystem --param path=/tmp --timeout 30s --json"
)]
pub struct Args {
    /// Server name in the client's draft, or catalog id (with --as-client: in its file).
    #[arg(required_unless_present = "as_client")]
    pub name: Option<String>,
    /// Start the entries of this client's file as the client would.
    #[arg(long, value_name = "CLIENT", conflicts_with_all = ["client", "params"])]
    pub as_client: Option<String>,
    /// Client whose draft holds the server.
    #[arg(long, short = 'c')]
    pub client: Option<String>,
    /// Profile of the client (default: default).
    #[arg(long, short = 'p')]
    pub profile: Option<String>,
    /// Give up after this long (e.g. 10s, 500ms, 2m).
    #[arg(long, default_value = "10s")]
    pub timeout: String,
    /// KEY=VALUE for a parameter of a catalog entry.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

/// Human text for a probe report.
pub fn report_text(r: &ProbeReport) -> String {
    let mut out = String::new();
    let from = if r.resolved_from.is_empty() {
        String::new()
    } else {
        format!(" ({})", r.resolved_from)
    };
    let _ = write!(out, "{}{from}: {}", r.name, r.status.as_str());
    if let (Some(code), Some(error)) = (r.error_code, &r.error) {
        let _ = write!(out, " [{code}] {error}");
    }
    out.push('\n');
    if let Some(cmd) = &r.command {
        let _ = writeln!(out, "  command:  {}", cmd.join(" "));
    }
    if let Some(url) = &r.url {
        let _ = writeln!(out, "  url:      {url}");
    }
    if r.server_name.is_some() || r.protocol_version.is_some() {
        let _ = writeln!(
            out,
            "  server:   {} {} (protocol {})",
            r.server_name.as_deref().unwrap_or("?"),
            r.server_version.as_deref().unwrap_or(""),
            r.protocol_version.as_deref().unwrap_or("?")
        );
    }
    if let Some(n) = r.tool_count {
        let _ = writeln!(out, "  tools:    {n}");
    }
    match r.initialize_ms {
        Some(init) => {
            let _ = writeln!(
                out,
                "  latency:  {} ms (initialize {init} ms)",
                r.latency_ms
            );
        }
        None => {
            let _ = writeln!(out, "  latency:  {} ms", r.latency_ms);
        }
    }
    if !r.stderr_tail.is_empty() {
        let _ = writeln!(out, "  stderr (last {} lines):", r.stderr_tail.len());
        for line in &r.stderr_tail {
            let _ = writeln!(out, "    | {line}");
        }
    }
    out
}

/// Runs `probe`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let timeout = parse_duration(&args.timeout)?;
    let params = args
        .params
        .iter()
        .map(|p| parse_pair("--param", p))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(client) = &args.as_client {
        let profile = args.profile.as_deref().unwrap_or(DEFAULT_PROFILE);
        let reports =
            orch.probe_as_client_blocking(client, profile, args.name.as_deref(), false, timeout)?;
        if ctx.json {
            ctx.print_json(&crate::api::HealthReport::of(
                Some(client.clone()),
                Some(profile.to_owned()),
                reports.clone(),
            ))?;
        } else if reports.is_empty() {
            ctx.print(&format!("{client}'s file has no servers"))?;
        } else {
            ctx.print(&reports.iter().map(report_text).collect::<String>())?;
        }
        return Ok(if any_probe_failed(&reports) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    let target = ProbeTarget::Named {
        name: args.name.clone().unwrap_or_default(),
        client: args.client.clone(),
        profile: args.profile.clone(),
        params,
    };
    let report = orch.probe_blocking(&target, timeout)?;
    if ctx.json {
        ctx.print_json(&report)?;
    } else {
        ctx.print(&report_text(&report))?;
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
