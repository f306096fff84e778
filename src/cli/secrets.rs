//! `mcp-orch secrets list|set|remove`.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use super::Ctx;
use crate::core;

/// Secret subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List secret names (never values).
    List,
    /// Store a secret; the value is typed at a prompt or read from stdin.
    #[command(
        after_help = "Examples:\n  mcp-orch secrets set GITHUB_PERSONAL_ACCESS_TOKEN\n  printf '%s' \"$TOKEN\" | mcp-orch secrets set BRAVE_API_KEY"
    )]
    Set {
        /// Secret name (like an env var).
        name: String,
    },
    /// Remove a secret.
    Remove {
        /// Secret name.
        name: String,
    },
}

/// Runs a secrets subcommand.
pub fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let store = orch.secrets();
    match cmd {
        Command::List => {
            let names = store.names()?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "secrets": names, "count": names.len() }))?;
            } else if names.is_empty() {
                ctx.print("no secrets stored")?;
            } else {
                ctx.print(&names.join("\n"))?;
            }
        }
        Command::Set { name } => {
            core::secrets::check_secret_name(&name)?;
            let value = if std::io::stdin().is_terminal() {
                rpassword::prompt_password(format!("value for secret {name}: "))?
            } else {
                std::io::stdin()
                    .lock()
                    .lines()
                    .next()
                    .transpose()?
                    .unwrap_or_default()
            };
            if value.is_empty() {
                return Err(core::Error::invalid(
                    "MISSING_SECRET",
                    "value",
                    format!("no value was given for secret `{name}`"),
                    "type it at the prompt or pipe it on stdin",
                )
                .into());
            }
            store.set(&name, &value)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "status": "stored", "name": name }))?;
            } else {
                ctx.print(&format!("stored secret {name}"))?;
            }
        }
        Command::Remove { name } => {
            if !store.remove(&name)? {
                return Err(core::Error::invalid(
                    "UNKNOWN_SECRET",
                    "name",
                    format!("no secret named `{name}`"),
                    "list them with `mcp-orch secrets list`",
                )
                .into());
            }
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "status": "removed", "name": name }))?;
            } else {
                ctx.print(&format!("removed secret {name}"))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
