//! `mcp-orch manifest`: the Universal Loadability manifest (`mcp-server.json`), derived from
//! the live tool list; the HTTP server serves the same document at
//! `/.well-known/mcp-server.json`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::Ctx;
use crate::server::http::mcp::manifest_json;

/// Arguments of `manifest`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  mcp-orch manifest                                   # stdio endpoint only
  mcp-orch manifest --url https://orch.example.com --out mcp-server.json")]
pub struct Args {
    /// The HTTP server's base URL, to include its endpoints.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Write to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `manifest`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let base = args.url.as_deref().map(|u| u.trim_end_matches('/'));
    let doc = manifest_json(base, true);
    match &args.out {
        Some(path) => {
            let mut text = serde_json::to_string_pretty(&doc)?;
            text.push('\n');
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            if !ctx.json {
                ctx.print(&format!("wrote {}", path.display()))?;
            }
        }
        None => ctx.print_json(&doc)?,
    }
    Ok(ExitCode::SUCCESS)
}
