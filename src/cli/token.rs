//! `mcp-orch token create|list|revoke`: API tokens for the HTTP server. The token is printed
//! once; only its SHA-256 is stored (`<home>/tokens.json`, mode 0600). A running server sees
//! new and revoked tokens at once.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::json;

use super::Ctx;
use crate::core::tokens::{self, Scope};

/// Token subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a token and print it once.
    #[command(after_help = "Examples:
  mcp-orch token create --name ci --scope write --expires 30d
  mcp-orch token create --scope read                # read-only, never expires
Scopes: read (list, show, diff, validate, status, history, audit, events), write (also drafts,
publish, deploy, rollback), admin (also keys). Durations: 90m, 12h, 30d, 2w, 1y, never.")]
    Create {
        /// What it may do.
        #[arg(long, default_value = "read", value_parser = ["read", "write", "admin"])]
        scope: String,
        /// Lifetime (e.g. 30d); default: never expires.
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// A name to tell tokens apart (default: generated).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },
    /// List tokens (never the tokens themselves).
    #[command(after_help = "Example:\n  mcp-orch token list --json")]
    List,
    /// Revoke a token by id (or by its name); it stops working at once.
    #[command(after_help = "Example:\n  mcp-orch token revoke 4fQ2kZx9aB")]
    Revoke {
        /// Token id (see `mcp-orch token list`).
        id: String,
    },
}

/// Runs a token subcommand.
pub fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    match cmd {
        Command::Create {
            scope,
            expires,
            name,
        } => {
            let scope: Scope = scope.parse()?;
            let expires = match expires {
                Some(e) => tokens::parse_duration(&e)?,
                None => None,
            };
            let name =
                name.unwrap_or_else(|| format!("token-{}", orch.now().format("%Y%m%d-%H%M%S%.3f")));
            let t = orch.create_token(&name, scope, expires, &orch.local_actor("cli"))?;
            if ctx.json {
                ctx.print_json(&json!({
                    "token": t.token,
                    "id": t.record.id,
                    "name": t.record.name,
                    "scope": t.record.scope,
                    "created_at": t.record.created_at,
                    "expires_at": t.record.expires_at,
                }))?;
            } else {
                let mut out = String::new();
                let _ = writeln!(out, "{}", t.token);
                let _ = writeln!(
                    out,
                    "\nid {}  name {}  scope {}  expires {}",
                    t.record.id,
                    t.record.name,
                    t.record.scope.as_str(),
                    t.record
                        .expires_at
                        .map_or_else(|| "never".to_owned(), |e| e.to_rfc3339())
                );
                let _ = writeln!(
                    out,
                    "This is the only time the token is shown: store it now. Send it as `Authorization: Bearer <token>`."
                );
                ctx.print(&out)?;
            }
        }
        Command::List => {
            let now = orch.now();
            let list = orch.list_tokens()?;
            if ctx.json {
                let items: Vec<_> = list.iter().map(|t| t.public(now)).collect();
                ctx.print_json(&json!({ "tokens": items, "count": items.len() }))?;
            } else if list.is_empty() {
                ctx.print("no tokens; create one with `mcp-orch token create`")?;
            } else {
                let mut out = format!(
                    "{:<10}  {:<24}  {:<5}  {:<7}  {:<20}  {}\n",
                    "ID", "NAME", "SCOPE", "STATE", "EXPIRES", "LAST USED"
                );
                for t in &list {
                    let _ = writeln!(
                        out,
                        "{:<10}  {:<24}  {:<5}  {:<7}  {:<20}  {}",
                        t.id,
                        t.name,
                        t.scope.as_str(),
                        t.state(now),
                        t.expires_at.map_or_else(
                            || "never".to_owned(),
                            |e| e.format("%Y-%m-%d %H:%M").to_string()
                        ),
                        t.last_used_at.map_or_else(
                            || "never".to_owned(),
                            |e| e.format("%Y-%m-%d %H:%M:%S").to_string()
                        ),
                    );
                }
                ctx.print(&out)?;
            }
        }
        Command::Revoke { id } => {
            let r = orch.revoke_token(&id, &orch.local_actor("cli"))?;
            if ctx.json {
                ctx.print_json(&r.public(orch.now()))?;
            } else {
                ctx.print(&format!("revoked token {} ({})", r.id, r.name))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
