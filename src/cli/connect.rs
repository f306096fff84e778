//! `mcp-orch connect`: the stdio-to-remote bridge written into client files for remote
//! servers that need credentials from the secret store, or whose transport the client does
//! not speak (legacy SSE for Codex and Goose, any remote server for Claude Desktop). It fills
//! `{secret:KEY}` placeholders in header values from the store and relays the session.

use crate::core::code::Code;
use std::process::ExitCode;

use super::Ctx;
use super::run::missing_secret;
use crate::core::probe::sensitive_header;
use crate::core::{self, render, secrets::SecretStore};
use crate::server::bridge::{self, RemoteTransport};

/// Arguments of `connect`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples (as deployed):
  mcp-orch connect https://mcp.example.com/mcp --header 'Authorization: Bearer {secret:claude-code/default/EXAMPLE_TOKEN}'
  mcp-orch connect http://127.0.0.1:5678/mcp/sse --transport sse")]
pub struct Args {
    /// The remote server's URL; `{secret:KEY}` in it is read from the secret store.
    pub url: String,
    /// The remote server's transport: `http` (Streamable HTTP) or `sse` (HTTP+SSE, 2024-11-05).
    #[arg(long, default_value = "http", value_parser = ["http", "sse"])]
    pub transport: String,
    /// A header, `Name: value` (repeatable); `{secret:KEY}` in the value is read from the
    /// secret store.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
}

/// Runs `connect`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    // A secret in the URL: filled from the store, and masked again in every error (HTTP
    // errors quote the URL).
    let mut in_url = Vec::new();
    let url = if render::has_placeholder(&args.url) {
        let secrets = SecretStore::at_home(&ctx.home_dir()).all()?;
        render::fill_placeholders(&args.url, |key| {
            let value = secrets.get(key).cloned();
            in_url.extend(value.clone());
            value
        })
        .map_err(|key| missing_secret(&args.url, "url", &key))?
    } else {
        args.url.clone()
    };
    // Named in errors as written, so a filled-in secret never reaches a message.
    let headers = resolve_headers(ctx, &args.headers, &args.url)?;
    let transport = if args.transport == "sse" {
        RemoteTransport::Sse
    } else {
        RemoteTransport::StreamableHttp
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime
        .block_on(bridge::run(&url, transport, headers))
        .map_err(|e| {
            let message = in_url
                .iter()
                .fold(e.to_string(), |m, secret| m.replace(secret.as_str(), "***"));
            anyhow::anyhow!(message)
        })?;
    Ok(ExitCode::SUCCESS)
}

/// Parses `Name: value` headers and fills their `{secret:KEY}` placeholders from the secret
/// store (opened alone: a client waits for this); `subject` names the server in errors.
pub fn resolve_headers(
    ctx: &Ctx,
    raw: &[String],
    subject: &str,
) -> anyhow::Result<reqwest::header::HeaderMap> {
    let store = SecretStore::at_home(&ctx.home_dir());
    let mut secrets = None;
    let mut headers = reqwest::header::HeaderMap::new();
    for header in raw {
        let (name, template) = header.split_once(':').ok_or_else(|| {
            core::Error::invalid(
                Code::InvalidHeader,
                "header",
                format!(
                    "`{}` is not `Name: value`",
                    header.chars().take(80).collect::<String>()
                ),
                "write each header as --header 'Name: value'",
            )
        })?;
        let value = render::fill_secrets(template.trim_start(), |key| {
            let all = secrets.get_or_insert_with(|| store.all().unwrap_or_default());
            all.get(key).cloned()
        })
        .map_err(|key| missing_secret(subject, &format!("header.{}", name.trim()), &key))?;
        let (name, value) = sensitive_header(name.trim(), &value).ok_or_else(|| {
            core::Error::invalid(
                Code::InvalidHeader,
                format!("header.{}", name.trim()),
                format!("header `{}` is not a valid HTTP header", name.trim()),
                "use a token name and a value without line breaks",
            )
        })?;
        headers.append(name, value);
    }
    Ok(headers)
}
