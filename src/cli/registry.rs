//! `mcp-orch registry sync|status`: the official MCP Registry (or a team's) as a catalog
//! source; `registry approve|deprecate|remove|approved`: the approved catalog this machine's
//! `serve --http` serves as the team's registry (`/v0.1/servers`).

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::process::ExitCode;

use super::Ctx;
use crate::core::approvals::Status;
use crate::core::probe::parse_duration;
use crate::core::registry::{Skipped, SyncOptions, SyncProgress};

/// Registry subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Fetch the registry's active servers into the local cache (incremental after the first
    /// sync), so that search includes them, offline too.
    Sync(SyncArgs),
    /// Show the last sync, the cached count, the URL and what was skipped (no network).
    Status(StatusArgs),
    /// Approve a catalog server for the team registry this machine serves (`serve --http`,
    /// `/v0.1/servers`); approving it again after it changed makes a new version.
    Approve(ApproveArgs),
    /// Mark every version of an approved name deprecated, with what to use instead.
    Deprecate(StatusChangeArgs),
    /// Remove an approved name from the team registry (mirrors see it as deleted).
    Remove(StatusChangeArgs),
    /// List what the team registry serves.
    Approved,
}

/// Arguments of `registry approve`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  mcp-orch registry approve github\n  mcp-orch registry approve filesystem --name com.example/filesystem"
)]
pub struct ApproveArgs {
    /// Catalog id of the server.
    pub server_id: String,
    /// Registry name to serve it under (namespace/name; default: its registry name, or
    /// local/<id>).
    #[arg(long)]
    pub name: Option<String>,
}

/// Arguments of `registry deprecate` and `registry remove`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  mcp-orch registry deprecate local/github --message 'use com.example/github'"
)]
pub struct StatusChangeArgs {
    /// The approved registry name.
    pub name: String,
    /// Why, and what to use instead.
    #[arg(long)]
    pub message: Option<String>,
}

/// Arguments of `registry sync`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The URL is, in order: --url, $MCP_ORCH_REGISTRY_URL, https://registry.modelcontextprotocol.io.\n\nExamples:\n  mcp-orch registry sync\n  mcp-orch registry sync --full --json\n  mcp-orch registry sync --url https://mirror.example.com"
)]
pub struct SyncArgs {
    /// Base URL of the registry (serving the v0.1 API).
    #[arg(long)]
    pub url: Option<String>,
    /// Fetch everything again instead of the changes since the last sync.
    #[arg(long)]
    pub full: bool,
    /// Timeout of one request (e.g. 30s, 500ms).
    #[arg(long, default_value = "30s")]
    pub timeout: String,
    /// Retries of a request after a 5xx answer, a timeout or a connection failure.
    #[arg(long, default_value_t = 4)]
    pub retries: u32,
}

/// Arguments of `registry status`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  mcp-orch registry status --json")]
pub struct StatusArgs {
    /// List every skipped server (text output shows the first 10).
    #[arg(long)]
    pub all: bool,
}

const SHOWN_SKIPPED: usize = 10;

fn skipped_text(out: &mut String, skipped: &[Skipped], all: bool) {
    let shown = if all { skipped.len() } else { SHOWN_SKIPPED };
    for s in skipped.iter().take(shown) {
        let version = s
            .version
            .as_deref()
            .map(|v| format!("@{v}"))
            .unwrap_or_default();
        let _ = writeln!(out, "  skipped {}{version}: {}", s.name, s.reason);
    }
    if skipped.len() > shown {
        let _ = writeln!(
            out,
            "  ... and {} more (`mcp-orch registry status --all` lists them)",
            skipped.len() - shown
        );
    }
}

/// Runs a registry subcommand.
pub fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    match cmd {
        Command::Sync(args) => {
            let opts = SyncOptions {
                url: orch.registry_url(args.url.as_deref()),
                full: args.full,
                timeout: parse_duration(&args.timeout)?,
                retries: args.retries,
                ..SyncOptions::default()
            };
            let bar = (!ctx.json && std::io::stderr().is_terminal()).then(|| {
                let bar = indicatif::ProgressBar::with_draw_target(
                    None,
                    indicatif::ProgressDrawTarget::stderr(),
                );
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                bar.set_message(format!("contacting {}", opts.url));
                bar
            });
            let mut progress = |p: &SyncProgress| {
                if let Some(bar) = &bar {
                    bar.set_message(match &p.retrying {
                        Some(why) => {
                            format!("{} servers, page {}: {why}, retrying", p.received, p.pages)
                        }
                        None => format!("{} servers, page {}", p.received, p.pages),
                    });
                }
            };
            let result = orch.sync_registry_blocking(&opts, &mut progress);
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            let report = result?;
            if ctx.json {
                ctx.print_json(&report)?;
            } else {
                let mut out = format!(
                    "synced {} ({}): {} servers received in {} pages, {} added, {} updated, {} removed; {} in the cache, {} in the catalog, {} skipped ({} ms)\n",
                    report.url,
                    report.mode,
                    report.received,
                    report.pages,
                    report.added,
                    report.updated,
                    report.removed,
                    report.server_count,
                    report.entry_count,
                    report.skipped.len(),
                    report.duration_ms
                );
                skipped_text(&mut out, &report.skipped, false);
                ctx.print(&out)?;
            }
        }
        Command::Status(args) => {
            let status = orch.registry_status()?;
            if ctx.json {
                ctx.print_json(&status)?;
            } else {
                let mut out = String::new();
                let _ = writeln!(out, "url:          {}", status.url);
                match (&status.last_sync_at, &status.synced_url) {
                    (Some(at), Some(url)) => {
                        let _ = writeln!(out, "last sync:    {} from {url}", at.to_rfc3339());
                    }
                    _ => {
                        let _ = writeln!(out, "last sync:    never (run `mcp-orch registry sync`)");
                    }
                }
                let _ = writeln!(out, "cached:       {} servers", status.server_count);
                let _ = writeln!(out, "in catalog:   {} entries", status.entry_count);
                let _ = writeln!(out, "skipped:      {}", status.skipped_count);
                if !status.shadowed.is_empty() {
                    let _ = writeln!(
                        out,
                        "shadowed:     {} (a bundled or user entry has the same id)",
                        status.shadowed.join(", ")
                    );
                }
                let _ = writeln!(out, "cache:        {}", status.cache_path.display());
                if let Some(e) = &status.error {
                    let _ = writeln!(out, "error:        {e}");
                }
                skipped_text(&mut out, &status.skipped, args.all);
                ctx.print(&out)?;
            }
        }
        Command::Approve(args) => {
            let approval = orch.approve_server(
                &args.server_id,
                args.name.as_deref(),
                &orch.local_actor("cli"),
            )?;
            if ctx.json {
                ctx.print_json(&approval)?;
            } else {
                ctx.print(&format!(
                    "approved {} as {} {} (served at /v0.1/servers by `mcp-orch serve --http`)\n",
                    approval.catalog_id, approval.name, approval.version
                ))?;
            }
        }
        Command::Deprecate(args) => change_status(ctx, &orch, &args, Status::Deprecated)?,
        Command::Remove(args) => change_status(ctx, &orch, &args, Status::Deleted)?,
        Command::Approved => {
            let approvals = orch.approvals()?;
            if ctx.json {
                ctx.print_json(&approvals)?;
            } else if approvals.is_empty() {
                ctx.print("nothing approved yet (`mcp-orch registry approve ID`)\n")?;
            } else {
                let mut out = String::new();
                for a in &approvals {
                    let _ = writeln!(
                        out,
                        "{} {}  {}  from {}{}",
                        a.name,
                        a.version,
                        status_word(a.status),
                        a.catalog_id,
                        a.status_message
                            .as_deref()
                            .map(|m| format!(" ({m})"))
                            .unwrap_or_default()
                    );
                }
                ctx.print(&out)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn change_status(
    ctx: &Ctx,
    orch: &crate::core::Orchestrator,
    args: &StatusChangeArgs,
    status: Status,
) -> anyhow::Result<()> {
    let changed = orch.set_approval_status(
        &args.name,
        status,
        args.message.as_deref(),
        &orch.local_actor("cli"),
    )?;
    if ctx.json {
        ctx.print_json(&changed)?;
    } else {
        ctx.print(&format!(
            "{} {} ({} version(s))\n",
            args.name,
            status_word(status),
            changed.len()
        ))?;
    }
    Ok(())
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Active => "active",
        Status::Deprecated => "deprecated",
        Status::Deleted => "removed",
    }
}
