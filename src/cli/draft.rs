//! `mcp-orch draft add|remove|show|clear|copy`.

use crate::core::code::Code;
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use serde_json::json;

use super::Ctx;
use super::output::{Target, diagnostics_text, parse_pair};
use crate::api;
use crate::core::draft::Draft;
use crate::core::orchestrator::{AddServer, OnClash};
use crate::core::render::SecretDelivery;
use crate::core::{self, Orchestrator};

/// Draft subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Add a catalog server to the draft.
    Add(AddArgs),
    /// Remove a server from the draft.
    Remove(RemoveArgs),
    /// Show the draft.
    Show(ShowArgs),
    /// Remove every server from the draft.
    Clear(ShowArgs),
    /// Copy the draft's servers into other clients' drafts.
    Copy(CopyArgs),
}

/// Arguments of `draft add`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  mcp-orch draft add filesystem --client cursor --param path=~/code
  mcp-orch draft add github --client claude-code --secret GITHUB_PERSONAL_ACCESS_TOKEN   # prompts, or reads stdin
  mcp-orch draft add n8n --client claude-desktop --param port=5679 --secret N8N_API_KEY=...
Secret values go to the local secret store; the draft keeps only their names.")]
pub struct AddArgs {
    /// Catalog id (see `mcp-orch servers search`).
    pub server_id: String,
    #[command(flatten)]
    target: Target,
    /// Name of the server in the client's file (default: the catalog id).
    #[arg(long, short = 'n')]
    pub name: Option<String>,
    /// Parameter value, KEY=VALUE (repeatable).
    #[arg(long = "param", short = 'P', value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Environment value, KEY=VALUE (repeatable). Secret vars go to the secret store.
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Secret env var: KEY=VALUE, or KEY alone to reuse a stored secret or type it (repeatable).
    #[arg(long = "secret", short = 's', value_name = "KEY[=VALUE]")]
    pub secrets: Vec<String>,
    /// Secret env var read from a shared secret, KEY=NAME (repeatable): every client and
    /// profile that names NAME uses the same value.
    #[arg(long = "shared-secret", value_name = "KEY=NAME")]
    pub shared_secrets: Vec<String>,
    /// How the secrets reach the server: `launcher` (default: mcp-orch starts it with values
    /// from the secret store, nothing to export) or `env` (the client's own `${VAR}`
    /// reference: export VAR in the client's environment).
    #[arg(long, value_name = "launcher|env")]
    pub secret_delivery: Option<SecretDelivery>,
    /// When the draft already has a server of that name: `error` (`DUPLICATE_NAME`) or `keep`
    /// (the same server, defined the same way, stays and nothing changes).
    #[arg(long, value_name = "error|keep", default_value = "error")]
    pub if_exists: crate::core::draft::IfExists,
}

/// Arguments of `draft remove`.
#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// Server name in the draft.
    pub name: String,
    #[command(flatten)]
    target: Target,
}

/// Arguments of `draft show` and `draft clear`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    #[command(flatten)]
    target: Target,
}

/// Arguments of `draft copy`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "A server whose name a target draft already has stops the copy (NAME_CLASH) unless --overwrite\nor --skip says what to do.\n\nExamples:\n  mcp-orch draft copy --client cursor --to claude-code,vscode\n  mcp-orch draft copy --client cursor --to vscode --skip"
)]
pub struct CopyArgs {
    #[command(flatten)]
    target: Target,
    /// Target clients, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub to: Vec<String>,
    /// Target profile (default: the same profile id).
    #[arg(long)]
    pub to_profile: Option<String>,
    /// Replace servers of the same name in the target drafts (refused otherwise).
    #[arg(long, conflicts_with = "skip")]
    pub overwrite: bool,
    /// Keep the target drafts' servers of the same name (refused otherwise).
    #[arg(long)]
    pub skip: bool,
}

fn secret_values(
    orch: &Orchestrator,
    target: &Target,
    raw: &[String],
) -> core::Result<Vec<(String, Option<String>)>> {
    let mut stdin_lines = None;
    raw.iter()
        .map(|item| match item.split_once('=') {
            Some((k, v)) => Ok((k.trim().to_owned(), Some(v.to_owned()))),
            None if orch
                .stored_secret_key(&target.client, &target.profile, item)?
                .is_some() =>
            {
                Ok((item.clone(), None))
            }
            None => {
                let value = if std::io::stdin().is_terminal() {
                    rpassword::prompt_password(format!("value for secret {item}: "))
                        .map_err(|e| core::Error::io("reading the secret from the terminal", e))?
                } else {
                    let lines = stdin_lines.get_or_insert_with(|| std::io::stdin().lock().lines());
                    lines.next().transpose().map_err(|e| core::Error::io("reading the secret from stdin", e))?.unwrap_or_default()
                };
                if value.is_empty() {
                    return Err(core::Error::invalid(
                        Code::MissingSecret,
                        format!("env_vars.{item}"),
                        format!("no value was given for secret `{item}`"),
                        format!("give it as --secret {item}=VALUE, type it at the prompt, or pipe it on stdin"),
                    ));
                }
                Ok((item.clone(), Some(value)))
            }
        })
        .collect()
}

fn show_text(draft: &Draft) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "draft {}/{} ({} servers, revision {})",
        draft.client,
        draft.profile,
        draft.servers.len(),
        draft.revision
    );
    out.push_str(&super::output::servers_text(&draft.servers, "  "));
    out
}

/// Runs a draft subcommand.
pub fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    match cmd {
        Command::Add(args) => {
            let params = args
                .params
                .iter()
                .map(|p| parse_pair("--param", p))
                .collect::<core::Result<Vec<_>>>()?;
            let env = args
                .env
                .iter()
                .map(|p| parse_pair("--env", p))
                .collect::<core::Result<Vec<_>>>()?;
            let secrets = secret_values(&orch, &args.target, &args.secrets)?;
            let shared_secrets = args
                .shared_secrets
                .iter()
                .map(|p| parse_pair("--shared-secret", p))
                .collect::<core::Result<Vec<_>>>()?;
            let change = api::drafts::add_server(
                &orch,
                &AddServer {
                    client: args.target.client.clone(),
                    profile: args.target.profile.clone(),
                    server_id: args.server_id.clone(),
                    name: args.name.clone(),
                    params,
                    env,
                    secrets,
                    shared_secrets,
                    secret_delivery: args.secret_delivery,
                    if_exists: args.if_exists,
                },
            )?;
            if ctx.json {
                ctx.print_json(&change)?;
            } else {
                let mut text = format!(
                    "{} `{}` {} {}/{} ({} servers)",
                    if change.status == "unchanged" {
                        "kept"
                    } else {
                        "added"
                    },
                    change.server_name,
                    if change.status == "unchanged" {
                        "already in"
                    } else {
                        "to"
                    },
                    change.client_id,
                    change.profile_id,
                    change.server_count
                );
                if !change.stored_secrets.is_empty() {
                    let _ = write!(
                        text,
                        "\nstored secrets: {}",
                        change.stored_secrets.join(", ")
                    );
                }
                if !change.diagnostics.is_empty() {
                    let _ = write!(text, "\n{}", diagnostics_text(&change.diagnostics));
                }
                ctx.print(&text)?;
            }
        }
        Command::Remove(args) => {
            let change = api::drafts::remove_server(
                &orch,
                &args.target.client,
                &args.target.profile,
                &args.name,
            )?;
            if ctx.json {
                ctx.print_json(&change)?;
            } else {
                ctx.print(&format!(
                    "removed `{}` ({} servers left)",
                    args.name, change.server_count
                ))?;
            }
        }
        Command::Show(args) => {
            if ctx.json {
                ctx.print_json(&api::drafts::view_draft(
                    &orch,
                    &args.target.client,
                    &args.target.profile,
                )?)?;
            } else {
                let draft = orch.draft(&args.target.client, &args.target.profile)?;
                ctx.print(&show_text(&draft))?;
            }
        }
        Command::Clear(args) => {
            let cleared =
                api::drafts::clear_draft(&orch, &args.target.client, &args.target.profile)?;
            if ctx.json {
                ctx.print_json(&cleared)?;
            } else {
                ctx.print(&format!(
                    "cleared the draft ({} servers removed)",
                    cleared.previous_count
                ))?;
            }
        }
        Command::Copy(args) => {
            let to_profile = args
                .to_profile
                .clone()
                .unwrap_or_else(|| args.target.profile.clone());
            let on_clash = match (args.overwrite, args.skip) {
                (true, _) => OnClash::Overwrite,
                (_, true) => OnClash::Skip,
                _ => OnClash::Refuse,
            };
            let copied = orch.copy_draft(
                &args.target.client,
                &args.target.profile,
                &args.to,
                &to_profile,
                on_clash,
            )?;
            if ctx.json {
                let targets: Vec<_> = copied.iter().map(|(c, n)| json!({ "client_id": c, "profile_id": to_profile, "server_count": n })).collect();
                ctx.print_json(&json!({ "status": "copied", "targets": targets }))?;
            } else {
                for (c, n) in &copied {
                    ctx.print(&format!("copied into {c}/{to_profile} ({n} servers)"))?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
