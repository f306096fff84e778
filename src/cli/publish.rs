//! `mcp-orch publish`.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::process::ExitCode;

use serde_json::{Value, json};

use super::Ctx;
use super::output::diagnostic_line;
use crate::api;
use crate::core::orchestrator::ClientSet;
use crate::core::{self, ErrorKind, Orchestrator};

/// Arguments of `publish`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Validates each draft (refusing an invalid or empty one), renders the client's entries
(secrets as references, never values), and writes a signed, immutable artifact with the next
version of the client and profile. Exits 0 when every client was published, 1 otherwise.

Examples:
  mcp-orch publish --client cursor -m \"add github\"
  mcp-orch publish --client cursor,claude-code,vscode --profile work --json"
)]
pub struct Args {
    /// Client id, a comma-separated list, or `all` (every client with a draft of the profile);
    /// each client's draft is published on its own.
    #[arg(long, short = 'c')]
    pub client: String,
    /// Profile id.
    #[arg(long, short = 'p', default_value = crate::core::profiles::DEFAULT_PROFILE)]
    pub profile: String,
    /// What changed (signed with the release).
    #[arg(long = "message", short = 'm', value_name = "CHANGELOG")]
    pub message: Option<String>,
    /// Create the signing key without asking when there is none yet.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Creates the signing key when there is none, after asking on a terminal (or at once with
/// `yes`), so a first publish goes on with its changelog instead of stopping. Without either,
/// nothing is created and the publish itself says `KEY_NOT_FOUND`.
pub fn ensure_signing_key(orch: &Orchestrator, ctx: &Ctx, yes: bool) -> core::Result<()> {
    if orch.has_signing_key()? || !(yes || std::io::stdin().is_terminal()) {
        return Ok(());
    }
    if !yes {
        super::deploy::ask(
            "There is no signing key yet. Create one now (Ed25519, private half 0600 in the state directory)?",
        )?;
    }
    let info = orch.init_keys(false, &orch.local_actor("cli"))?;
    if !ctx.json {
        eprintln!(
            "created signing key {} (back it up with `mcp-orch keys export`)",
            info.key_id
        );
    }
    Ok(())
}

/// One line for a release just published.
fn published_line(p: &api::Published) -> String {
    let r = &p.release;
    format!(
        "{}/{}: published version {} as artifact {} ({} servers, key {})",
        r.client_id, r.profile_id, r.version, r.artifact_id, r.server_count, r.key_id
    )
}

/// Runs `publish`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let mut clients: Vec<String> = Vec::new();
    for c in orch.select_clients(&args.client, &args.profile, ClientSet::Drafted)? {
        if !clients.contains(&c) {
            clients.push(c);
        }
    }
    ensure_signing_key(&orch, ctx, args.yes)?;
    let actor = orch.local_actor("cli");
    if args.client.trim() != "all" && clients.len() == 1 {
        let published = api::releases::publish(
            &orch,
            &clients[0],
            &args.profile,
            args.message.as_deref(),
            &actor,
        )?;
        if ctx.json {
            ctx.print_json(&published)?;
        } else {
            ctx.print(&published_line(&published))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut results = Vec::new();
    let mut first_error: Option<core::Error> = None;
    let mut internal = false;
    let mut text = String::new();
    let mut errors = String::new();
    for client in clients {
        let client = client.as_str();
        match api::releases::publish(
            &orch,
            client,
            &args.profile,
            args.message.as_deref(),
            &actor,
        ) {
            Ok(published) => {
                let _ = writeln!(text, "{}", published_line(&published));
                results.push(api::to_json(&published)?);
            }
            Err(e) => {
                let body = super::output::error_body(&e);
                internal |= e.kind() == ErrorKind::Internal;
                let _ = writeln!(
                    errors,
                    "error[{}] {client}/{}: {}",
                    body.code, args.profile, body.message
                );
                if let Some(diags) = body.details.get("diagnostics").and_then(Value::as_array) {
                    for d in diags {
                        let _ = writeln!(errors, "  {}", diagnostic_line(d));
                    }
                }
                let _ = writeln!(errors, "  hint: {}", body.hint);
                results.push(json!({
                    "client_id": client,
                    "profile_id": args.profile,
                    "status": "failed",
                    "error": body,
                }));
                first_error.get_or_insert(e);
            }
        }
    }
    let failed = results.iter().filter(|r| r["status"] == "failed").count();
    if ctx.json {
        let mut doc = json!({
            "results": results,
            "published": results.len() - failed,
            "failed": failed,
        });
        if let Some(e) = &first_error {
            doc["error"] = serde_json::to_value(super::output::error_body(e))?;
        }
        ctx.print_json(&doc)?;
    } else {
        if !text.is_empty() {
            ctx.print(&text)?;
        }
        if !errors.is_empty() {
            std::io::stderr().lock().write_all(errors.as_bytes())?;
        }
    }
    Ok(match (first_error, internal) {
        (None, _) => ExitCode::SUCCESS,
        (Some(_), false) => ExitCode::from(1),
        (Some(_), true) => ExitCode::from(2),
    })
}
