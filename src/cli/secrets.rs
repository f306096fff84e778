//! `mcp-orch secrets list|set|scan|sweep|remove`.

use crate::core::code::Code;
use std::fmt::Write as _;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use super::Ctx;
use crate::core;

/// Secret subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List secret keys (never values).
    List,
    /// Store a secret for one client and profile (or a shared one); the value is typed at a
    /// prompt, read whole from stdin, or read from a file, byte for byte.
    #[command(
        after_help = "Examples:\n  mcp-orch secrets set GITHUB_PERSONAL_ACCESS_TOKEN --client cursor --profile work\n  printf '%s' \"$TOKEN\" | mcp-orch secrets set BRAVE_API_KEY --client claude-code\n  mcp-orch secrets set DEPLOY_KEY --client codex --from-file ~/.ssh/deploy.pem\n  mcp-orch secrets set GITHUB_TOKEN   # shared: drafts name it with --shared-secret VAR=GITHUB_TOKEN\n\nA value piped on stdin that is one line loses its final newline (as `echo` adds one);\nevery other value is kept byte for byte."
    )]
    Set {
        /// Secret name (like an env var), or a full key CLIENT/PROFILE/NAME.
        name: String,
        #[command(flatten)]
        scope: Scope,
        /// Read the value from this file, byte for byte (a PEM key, a JSON credential).
        #[arg(long, value_name = "PATH")]
        from_file: Option<PathBuf>,
    },
    /// Find plaintext secrets in every client's files (or one client's): values of
    /// secret-named env vars and headers, and anything shaped like a credential (tokens,
    /// JWTs, passwords and keys in URLs, credential arguments). Never prints a value.
    #[command(
        after_help = "Examples:\n  mcp-orch secrets scan\n  mcp-orch secrets scan --client cursor --check   # exit 1 when one is found"
    )]
    Scan {
        /// Only this client.
        #[arg(long, short = 'c')]
        client: Option<String>,
        /// Exit 1 when a secret is found.
        #[arg(long)]
        check: bool,
    },
    /// Move the plaintext secrets `scan` finds into the secret store and rewrite each entry
    /// that held one to have mcp-orch fill it in when the client starts the server (the
    /// launcher for stdio servers, the bridge or header helper for remote ones). Only those
    /// entries change; the rest of each file stays byte for byte, and a backup is kept.
    /// Without --yes it shows the plan (masked diffs) and writes nothing.
    #[command(
        after_help = "Examples:\n  mcp-orch secrets sweep                 # the plan\n  mcp-orch secrets sweep --client cursor --yes"
    )]
    Sweep {
        /// Only this client.
        #[arg(long, short = 'c')]
        client: Option<String>,
        /// Move the secrets and rewrite the files.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Remove a secret.
    Remove {
        /// Secret name, or a full key CLIENT/PROFILE/NAME.
        name: String,
        #[command(flatten)]
        scope: Scope,
    },
}

/// Which client and profile a secret belongs to; without `--client` it is shared.
#[derive(Debug, clap::Args)]
pub struct Scope {
    /// The client whose servers use it (default: a shared secret).
    #[arg(long, short = 'c')]
    client: Option<String>,
    /// The profile (with --client).
    #[arg(long, short = 'p', requires = "client", default_value = core::profiles::DEFAULT_PROFILE)]
    profile: String,
}

impl Scope {
    fn key(&self, name: &str) -> String {
        match &self.client {
            Some(client) => core::secrets::scoped_key(client, &self.profile, name),
            None => name.to_owned(),
        }
    }
}

/// The value to store: a file's bytes, the prompt's line, or all of stdin (a single line loses
/// the newline `echo` adds; a multi-line value such as a PEM key is kept as it is).
fn read_value(name: &str, from_file: Option<&PathBuf>) -> anyhow::Result<String> {
    if let Some(path) = from_file {
        let bytes = std::fs::read(path)
            .map_err(|e| core::Error::io(format!("reading {}", path.display()), e))?;
        return String::from_utf8(bytes).map_err(|_| {
            core::Error::invalid(
                Code::InvalidSecretValue,
                "from_file",
                format!("{} is not UTF-8 text", path.display()),
                "store text (base64-encode binary data first)",
            )
            .into()
        });
    }
    if std::io::stdin().is_terminal() {
        return Ok(rpassword::prompt_password(format!(
            "value for secret {name} (one line; use --from-file for more): "
        ))?);
    }
    let mut value = String::new();
    std::io::stdin().read_to_string(&mut value)?;
    if value.matches('\n').count() == 1 && value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    Ok(value)
}

/// Runs a secrets subcommand.
pub fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    match cmd {
        Command::List => {
            let names = orch.secret_names()?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "secrets": names, "count": names.len() }))?;
            } else if names.is_empty() {
                ctx.print("no secrets stored")?;
            } else {
                ctx.print(&names.join("\n"))?;
            }
        }
        Command::Set {
            name,
            scope,
            from_file,
        } => {
            let name = scope.key(&name);
            core::secrets::check_secret_name(&name)?;
            let value = read_value(&name, from_file.as_ref())?;
            if value.is_empty() {
                return Err(core::Error::invalid(
                    Code::MissingSecret,
                    "value",
                    format!("no value was given for secret `{name}`"),
                    "type it at the prompt or pipe it on stdin",
                )
                .into());
            }
            orch.set_secret(&name, &value)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "status": "stored", "name": name }))?;
            } else {
                ctx.print(&format!("stored secret {name}"))?;
            }
        }
        Command::Scan { client, check } => {
            let scan = orch.scan_secrets(client.as_deref())?;
            if ctx.json {
                ctx.print_json(&scan)?;
            } else {
                let mut out = String::new();
                for file in &scan.files {
                    let _ = writeln!(out, "{}  {}", file.client_id, file.path.display());
                    if let Some(e) = &file.error {
                        let _ = writeln!(out, "  cannot read it: {e}");
                    }
                    for f in &file.findings {
                        let _ = writeln!(out, "  {}  {}: {}", f.server, f.at.field, f.at.kind);
                    }
                }
                let _ = writeln!(
                    out,
                    "{} plaintext secret(s) in {} file(s)",
                    scan.count,
                    scan.files.len()
                );
                ctx.print(&out)?;
            }
            if check && scan.count > 0 {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Sweep { client, yes } => {
            let report = orch.sweep_secrets(client.as_deref(), yes, &orch.local_actor("cli"))?;
            if ctx.json {
                ctx.print_json(&report)?;
            } else {
                ctx.print(&sweep_text(&report))?;
            }
            if report.files.iter().any(|f| f.error.is_some()) {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Remove { name, scope } => {
            let name = scope.key(&name);
            orch.remove_secret(&name)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "status": "removed", "name": name }))?;
            } else {
                ctx.print(&format!("removed secret {name}"))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The human form of a sweep: each file, what moves where, what stays and why, the diff.
fn sweep_text(report: &core::orchestrator::SweepReport) -> String {
    let mut out = String::new();
    for file in &report.files {
        let _ = writeln!(out, "{}  {}", file.client_id, file.path.display());
        if let Some(e) = &file.error {
            let _ = writeln!(out, "  not swept: {e}");
        }
        for server in &file.servers {
            let fields: Vec<&str> = server.found.iter().map(|f| f.field.as_str()).collect();
            let _ = writeln!(
                out,
                "  {}  {} -> {}",
                server.server,
                fields.join(", "),
                server.keys.join(", ")
            );
        }
        for skip in &file.skipped {
            let _ = writeln!(out, "  {}  left as it is: {}", skip.server, skip.reason);
        }
        if !report.applied && !file.diff.is_empty() {
            out.push_str(&file.diff);
        }
        if let Some(id) = &file.backup_id {
            let _ = writeln!(out, "  backup {id}");
        }
    }
    let _ = if report.files.is_empty() {
        writeln!(out, "no plaintext secrets in any client file")
    } else if report.applied {
        writeln!(
            out,
            "moved {} secret(s) into the secret store; {} entry(ies) left as they are",
            report.moved, report.skipped
        )
    } else {
        writeln!(
            out,
            "{} secret(s) to move; nothing written: run again with --yes to sweep",
            report.moved
        )
    };
    out
}
