//! `mcp-orch profiles list|create|delete`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use super::Ctx;
use crate::core::profiles::{Profile, Scope};

/// Profile subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the profiles of one client, or of every client.
    List {
        /// Client id (all clients when omitted).
        #[arg(long, short = 'c')]
        client: Option<String>,
    },
    /// Create a profile.
    #[command(
        after_help = "Examples:\n  mcp-orch profiles create dev --client cursor\n  mcp-orch profiles create work --client vscode --project ~/src/app\n  mcp-orch profiles create app --client claude-code --local ~/src/app   # that project's servers in ~/.claude.json"
    )]
    Create {
        /// Profile id.
        name: String,
        /// Client id.
        #[arg(long, short = 'c')]
        client: String,
        /// What it is for.
        #[arg(long, short = 'd', default_value = "")]
        description: String,
        /// Deploy to this project's config file (project scope) instead of the user file.
        #[arg(long, value_name = "DIR", conflicts_with = "local")]
        project: Option<PathBuf>,
        /// Deploy to this project's own servers inside the user file (Claude Code's local
        /// scope: `projects.<DIR>.mcpServers` in ~/.claude.json).
        #[arg(long, value_name = "DIR")]
        local: Option<PathBuf>,
        /// Deploy to this file.
        #[arg(long, value_name = "FILE")]
        path: Option<PathBuf>,
    },
    /// Delete a profile and its draft.
    Delete {
        /// Profile id.
        name: String,
        /// Client id.
        #[arg(long, short = 'c')]
        client: String,
    },
}

/// Runs a profiles subcommand.
pub fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    match cmd {
        Command::List { client } => {
            let clients = match client {
                Some(c) => vec![orch.client(&c)?.id.clone()],
                None => orch.clients().ids(),
            };
            let all = clients
                .iter()
                .map(|c| crate::api::clients::list_profiles(&orch, c))
                .collect::<crate::core::Result<Vec<_>>>()?;
            if ctx.json {
                match all.as_slice() {
                    [one] => ctx.print_json(one)?,
                    _ => ctx.print_json(&serde_json::json!({ "clients": all }))?,
                }
            } else {
                let mut out = String::new();
                for list in &all {
                    for p in &list.profiles {
                        let _ = writeln!(
                            out,
                            "{:<15} {:<12} {:<8} {}",
                            list.client_id,
                            p.profile_id,
                            p.scope.as_str(),
                            p.description
                        );
                    }
                }
                ctx.print(&out)?;
            }
        }
        Command::Create {
            name,
            client,
            description,
            project,
            local,
            path,
        } => {
            let scope = match (&project, &local) {
                (Some(_), _) => Scope::Project,
                (_, Some(_)) => Scope::Local,
                _ => Scope::User,
            };
            // Claude Code keys a project by its absolute path, symlinks resolved.
            let project_dir = project.or(local).map(|p| {
                std::fs::canonicalize(&p)
                    .or_else(|_| std::path::absolute(&p))
                    .unwrap_or(p)
            });
            let profile = orch.create_profile(
                &client,
                Profile {
                    id: name,
                    description,
                    scope,
                    project_dir,
                    path,
                    created_at: None,
                },
            )?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "status": "created", "client_id": client, "profile": profile }))?;
            } else {
                ctx.print(&format!("created profile `{}` for {client}", profile.id))?;
            }
        }
        Command::Delete { name, client } => {
            orch.delete_profile(&client, &name)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "status": "deleted", "client_id": client, "profile_id": name }))?;
            } else {
                ctx.print(&format!("deleted profile `{name}` of {client}"))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
