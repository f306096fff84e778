//! `mcp-orch remote add|list|remove`: the team servers this machine pulls from
//! (docs/TEAM.md). Adding one pins the team's root: its fingerprint is shown to confirm, or
//! given with `--root`.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::Ctx;
use super::deploy::ask;

/// Remote subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Add a team server and pin its root.
    #[command(after_help = "Examples:
  mcp-orch remote add team https://orch.example.internal --token $ORCH_TOKEN --root 3f9a1c0e5b7d2a64
  mcp-orch remote add team http://127.0.0.1:8080 --token $ORCH_TOKEN   # shows the fingerprint and asks")]
    Add {
        /// A name for it here.
        name: String,
        /// The team server's URL.
        url: String,
        /// An API token of the team server (read scope is enough); stored 0600.
        #[arg(long, env = "MCP_ORCH_REMOTE_TOKEN", hide_env_values = true)]
        token: String,
        /// The fingerprint of the team's root (at least its first 16 hex digits), from
        /// `mcp-orch team show` on the server; without it, it is shown and asked.
        #[arg(long, value_name = "FINGERPRINT")]
        root: Option<String>,
    },
    /// List the remotes, their pinned roots and their last pulls.
    List,
    /// Remove a remote (what it deployed stays).
    Remove {
        /// Its name.
        name: String,
    },
}

/// Runs a remote subcommand.
pub fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let actor = orch.local_actor("cli");
    match cmd {
        Command::Add {
            name,
            url,
            token,
            root,
        } => {
            let fingerprint = if let Some(root) = root {
                root
            } else {
                let (root, doc) = orch.fetch_team_root(&url, &token)?;
                let fingerprint = doc.fingerprint();
                eprintln!(
                    "The team server at {url} has root v{} with fingerprint\n  {fingerprint}\nCompare it with the one the team's operator gave you.",
                    root.version
                );
                ask("Trust this root?")?;
                fingerprint
            };
            let view = orch.add_remote(&name, &url, &token, &fingerprint, &actor)?;
            if ctx.json {
                ctx.print_json(&view)?;
            } else {
                ctx.print(&format!(
                    "added remote {} ({}), root v{} {}\nPull its releases with: mcp-orch pull --remote {}\n",
                    view.name, view.url, view.root_version, view.fingerprint, view.name
                ))?;
            }
        }
        Command::List => {
            let list = crate::api::team::remotes(&orch)?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else if list.remotes.is_empty() {
                ctx.print(
                    "no remotes; add one with `mcp-orch remote add NAME URL --token TOKEN`\n",
                )?;
            } else {
                let mut out = String::new();
                for r in &list.remotes {
                    let _ = writeln!(
                        out,
                        "{}  {}  root v{} {}",
                        r.name,
                        r.url,
                        r.root_version,
                        &r.fingerprint[..16]
                    );
                    match &r.last_pull {
                        None => {
                            let _ = writeln!(out, "  never pulled");
                        }
                        Some(p) => {
                            let _ = writeln!(
                                out,
                                "  last pull {} {}; deployed: {}; pending: {}",
                                p.at.format("%Y-%m-%d %H:%M:%S"),
                                p.error_code.as_deref().unwrap_or("ok"),
                                if p.deployed.is_empty() {
                                    "none".to_owned()
                                } else {
                                    p.deployed.join(", ")
                                },
                                if p.pending.is_empty() {
                                    "none".to_owned()
                                } else {
                                    p.pending.join(", ")
                                },
                            );
                        }
                    }
                }
                ctx.print(&out)?;
            }
        }
        Command::Remove { name } => {
            orch.remove_remote(&name, &actor)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "removed": name }))?;
            } else {
                ctx.print(&format!("removed remote {name}\n"))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
