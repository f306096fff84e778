//! `mcp-orch audit`.

use crate::core::code::Code;
use std::fmt::Write as _;
use std::process::ExitCode;

use chrono::{DateTime, Duration, Utc};

use super::Ctx;
use crate::core;

/// Arguments of `audit`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  mcp-orch audit --client cursor --since 7d\n  mcp-orch audit --verify        # exit 1 when a record was edited, removed or reordered\n  mcp-orch audit export-head > head.json   # keep it off this machine\n  mcp-orch audit --verify --head head.json # the log still holds that head"
)]
pub struct Args {
    /// `export-head`.
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// Only this client.
    #[arg(long, short = 'c')]
    pub client: Option<String>,
    /// Only this profile.
    #[arg(long, short = 'p')]
    pub profile: Option<String>,
    /// Only records newer than this: `30m`, `12h`, `7d`, or an RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only this action (publish, deploy, rollback, restore, key.init, ...).
    #[arg(long)]
    pub action: Option<String>,
    /// Check the hash chain and the signed head instead of listing.
    #[arg(long)]
    pub verify: bool,
    /// With `--verify`: a head exported earlier (`audit export-head`) the log must still hold.
    #[arg(long, requires = "verify", value_name = "FILE")]
    pub head: Option<std::path::PathBuf>,
}

/// `audit` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Print the signed head of the audit log (JSON), to keep somewhere an attacker on this
    /// machine cannot rewrite; `audit --verify --head FILE` later checks the log still holds it.
    ExportHead,
}

fn read_exported_head(path: &std::path::Path) -> core::Result<core::audit::Checkpoint> {
    let bytes = std::fs::read(path)
        .map_err(|e| core::Error::io(format!("reading {}", path.display()), e))?;
    serde_json::from_slice(&bytes).map_err(|e| core::Error::Parse {
        path: path.to_path_buf(),
        message: format!("not a head exported by `mcp-orch audit export-head`: {e}"),
        code: Code::DataFileError,
    })
}

/// Parses `--since`.
pub fn parse_since(raw: &str, now: DateTime<Utc>) -> core::Result<DateTime<Utc>> {
    let bad = || {
        core::Error::invalid(
            Code::InvalidDuration,
            "since",
            format!("`{raw}` is not a duration or a time"),
            "use e.g. 30m, 12h, 7d, or 2026-11-01T00:00:00Z",
        )
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    let (number, unit) = raw.split_at(raw.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    let span = match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    }
    .ok_or_else(bad)?;
    Ok(now - span)
}

/// Runs `audit`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    if let Some(AuditCommand::ExportHead) = args.command {
        ctx.print_json(&orch.export_audit_head()?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.verify {
        let exported = args.head.as_deref().map(read_exported_head).transpose()?;
        let report = crate::api::audit::verify(&orch, exported.as_ref())?;
        if ctx.json {
            ctx.print_json(&report)?;
        } else if report.ok {
            ctx.print(&format!(
                "audit log intact: {} records, chain verified",
                report.records
            ))?;
        } else {
            let mut out = format!(
                "audit log TAMPERED: {} problem(s) in {} records",
                report.problems.len(),
                report.records
            );
            for p in &report.problems {
                let _ = write!(out, "\n  line {}: {} — {}", p.line, p.kind, p.message);
            }
            ctx.print(&out)?;
        }
        return Ok(if report.ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, orch.now()))
        .transpose()?;
    let page = crate::api::audit::read(
        &orch,
        &crate::api::AuditQuery {
            client: args.client.clone(),
            profile: args.profile.clone(),
            action: args.action.clone(),
            since,
            limit: None,
            verify: false,
        },
    )?;
    let records = &page.records;
    if ctx.json {
        ctx.print_json(&page)?;
    } else if records.is_empty() {
        ctx.print("no audit records match")?;
    } else {
        let mut out = String::new();
        for r in records {
            let e = &r.event;
            let target = match (&e.client_id, &e.profile_id) {
                (Some(c), Some(p)) => format!("{c}/{p}"),
                (Some(c), None) => c.clone(),
                _ => "-".into(),
            };
            let artifact = match (&e.artifact_id, e.version) {
                (Some(id), Some(v)) => format!("v{v} {}", &id[..id.len().min(12)]),
                _ => String::new(),
            };
            let outcome = e
                .error_code
                .as_deref()
                .map_or_else(|| "ok".to_owned(), |c| format!("FAILED {c}"));
            let _ = writeln!(
                out,
                "{:>5} {} {:<11} {:<22} {:<18} {:<6} {outcome}",
                r.seq,
                r.ts.format("%Y-%m-%d %H:%M:%S"),
                e.action,
                target,
                artifact,
                e.actor
            );
        }
        ctx.print(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}
