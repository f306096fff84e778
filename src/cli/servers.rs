//! `mcp-orch servers search|show`.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::Ctx;
use crate::api;
use crate::core::catalog::ServerEntry;

/// Server subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Fuzzy-search the catalog (all entries without a query).
    Search(SearchArgs),
    /// Show one catalog entry in full.
    Show(ShowArgs),
}

/// Arguments of `servers search`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  mcp-orch servers search fs\n  mcp-orch servers search --transport http\n  mcp-orch servers search db --tag database --json"
)]
pub struct SearchArgs {
    /// Fuzzy query over id, name, tags and description.
    pub query: Option<String>,
    /// Only this transport (stdio, http, sse).
    #[arg(long, short = 't')]
    pub transport: Option<String>,
    /// Only entries with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// At most this many results.
    #[arg(long, short = 'n')]
    pub limit: Option<usize>,
}

/// Arguments of `servers show`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  mcp-orch servers show github")]
pub struct ShowArgs {
    /// Catalog id.
    pub id: String,
}

/// Runs a servers subcommand.
pub fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    match cmd {
        Command::Search(args) => {
            let list = api::catalog::search_servers(
                &orch,
                &api::catalog::Search {
                    text: args.query.clone().unwrap_or_default(),
                    transport: args.transport.clone(),
                    tag: args.tag.clone(),
                    limit: args.limit,
                },
            )?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else if list.servers.is_empty() {
                ctx.print("no servers match")?;
            } else {
                let mut out = String::new();
                for e in &list.servers {
                    let _ = writeln!(
                        out,
                        "{:<24} {:<6} {}",
                        e.server_id,
                        e.transport.as_str(),
                        e.description
                    );
                }
                ctx.print(&out)?;
            }
        }
        Command::Show(args) => {
            if ctx.json {
                ctx.print_json(&api::catalog::describe_server(&orch, &args.id)?)?;
            } else {
                let entry = orch.server_details(&args.id)?;
                ctx.print(&describe(&entry))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(e: &ServerEntry) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} ({})\n  {}", e.name, e.id, e.description);
    let _ = writeln!(out, "  transport: {}", e.transport);
    if e.source == crate::core::catalog::Source::Registry {
        let name = e
            .server_json
            .as_ref()
            .and_then(|j| j.get("name"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  source:    MCP Registry ({name} {})",
            e.version.as_deref().unwrap_or_default()
        );
    }
    if let Some(cmd) = &e.command {
        let _ = writeln!(out, "  command:   {cmd} {}", e.args.join(" "));
    }
    if let Some(url) = &e.url {
        let _ = writeln!(out, "  url:       {url}");
    }
    for h in &e.headers {
        let _ = writeln!(out, "  header:    {}: {}", h.name, h.value);
    }
    if let Some(p) = &e.package {
        let _ = writeln!(out, "  package:   {} {}", p.registry, p.name);
    }
    if !e.tags.is_empty() {
        let _ = writeln!(out, "  tags:      {}", e.tags.join(", "));
    }
    if let Some(d) = &e.docs_url {
        let _ = writeln!(out, "  docs:      {d}");
    }
    if !e.params.is_empty() {
        let _ = writeln!(out, "  parameters:");
        for p in &e.params {
            let mut extra = Vec::new();
            if p.required {
                extra.push("required".to_owned());
            }
            if let Some(d) = &p.default {
                extra.push(format!("default {d}"));
            }
            if let Some(x) = &p.example {
                extra.push(format!("e.g. {x}"));
            }
            let _ = writeln!(
                out,
                "    {} ({}) {} [{}]",
                p.name,
                p.kind.as_str(),
                p.description,
                extra.join(", ")
            );
        }
    }
    if !e.env.is_empty() {
        let _ = writeln!(out, "  env vars:");
        for v in &e.env {
            let flags = [
                (v.required, "required"),
                (!v.required, "optional"),
                (v.secret, "secret"),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, s)| *s)
            .collect::<Vec<_>>()
            .join(", ");
            let _ = writeln!(out, "    {} [{flags}] {}", v.name, v.description);
        }
    }
    out
}
