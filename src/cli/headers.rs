//! `mcp-orch headers`: the header helper written into client files that run a command for
//! their credentials when they connect (Claude Code's `headersHelper`). It prints the headers,
//! `{secret:KEY}` placeholders filled from the secret store, as one JSON object on stdout.

use std::process::ExitCode;

use super::Ctx;
use super::connect::resolve_headers;

/// Arguments of `headers`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example (as deployed, in Claude Code's headersHelper):
  mcp-orch headers --header 'Authorization: Bearer {secret:claude-code/default/EXAMPLE_TOKEN}'")]
pub struct Args {
    /// A header, `Name: value` (repeatable); `{secret:KEY}` in the value is read from the
    /// secret store.
    #[arg(
        long = "header",
        short = 'H',
        value_name = "NAME: VALUE",
        required = true
    )]
    pub headers: Vec<String>,
}

/// Runs `headers`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let headers = resolve_headers(ctx, &args.headers, "the header helper")?;
    let object: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(name, value)| {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), serde_json::Value::String(text))
        })
        .collect();
    ctx.print(&serde_json::Value::Object(object).to_string())?;
    Ok(ExitCode::SUCCESS)
}
