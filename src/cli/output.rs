//! Shared output helpers: JSON or human text, and the context every subcommand gets.

use crate::core::code::Code;
use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::core::{self, Orchestrator};

/// What every subcommand gets: the output mode and a way to open the core.
pub struct Ctx {
    /// Print JSON instead of text.
    pub json: bool,
    home: Option<PathBuf>,
    store: Option<String>,
}

impl Ctx {
    /// A context for one invocation.
    pub fn new(json: bool, home: Option<PathBuf>, store: Option<String>) -> Self {
        Self { json, home, store }
    }

    /// The orchestrator's options for this invocation: the process's, with `--store`.
    pub fn options(&self) -> crate::core::Options {
        let mut options = crate::core::Options::from_process(self.home.clone());
        if let Some(store) = &self.store {
            options.store = Some(store.clone());
        }
        options
    }

    /// The state directory given with `--home`, if any.
    pub fn home(&self) -> Option<PathBuf> {
        self.home.clone()
    }

    /// The state directory this invocation uses, resolved without opening it.
    pub fn home_dir(&self) -> std::path::PathBuf {
        crate::core::orchestrator::resolve_home(self.home.clone())
    }

    /// Opens the orchestrator.
    pub fn open(&self) -> core::Result<Orchestrator> {
        Orchestrator::open(self.options())
    }

    /// Prints a value as pretty JSON on stdout.
    pub fn print_json<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        // Serialised first, so a closed stdout surfaces as the `io::Error` that `report` treats
        // as success, not as a serde error (exit 2).
        let mut bytes = serde_json::to_vec_pretty(value)?;
        bytes.push(b'\n');
        std::io::stdout().lock().write_all(&bytes)?;
        Ok(())
    }

    /// Prints human text on stdout.
    pub fn print(&self, text: &str) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            writeln!(out)?;
        }
        Ok(())
    }
}

/// An error's body as the CLI shows it (its hint spelled as commands).
pub fn error_body(e: &core::Error) -> core::ErrorBody {
    crate::api::next::error_body(e, crate::api::next::Face::Cli)
}

/// Draft servers as text, a line each (transport, command or URL) and a line per env var
/// (secrets by reference, never their values), each line starting with `indent`.
pub fn servers_text(
    servers: &std::collections::BTreeMap<String, core::draft::DraftServer>,
    indent: &str,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for (name, s) in servers {
        let what = match (&s.command, &s.url) {
            (Some(c), _) => format!("{c} {}", s.args.join(" ")),
            (None, Some(u)) => u.clone(),
            _ => String::new(),
        };
        let _ = writeln!(out, "{indent}{name:<20} {:<6} {what}", s.transport.as_str());
        for (k, v) in &s.env {
            let value = match v {
                core::draft::EnvValue::Secret { secret } => format!("<secret {secret}>"),
                core::draft::EnvValue::Plain(p) => p.clone(),
            };
            let _ = writeln!(out, "{indent}{:<20}        {k} = {value}", "");
        }
    }
    out
}

/// The log filter: `MCP_ORCH_LOG`, else `RUST_LOG`, else `default`, with rmcp held at `info`
/// at most: at `debug` and below it logs every message it receives, tool arguments (secret
/// values) included, and no log may hold a secret.
pub fn log_filter(default: &str) -> tracing_subscriber::EnvFilter {
    let wanted = std::env::var("MCP_ORCH_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| default.to_owned());
    let mut directives: Vec<String> = wanted
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect();
    let level = |d: &String| {
        d.rsplit_once('=')
            .map_or(d.as_str(), |(_, l)| l)
            .to_ascii_lowercase()
    };
    // The level rmcp gets: its own directive, else the bare default one.
    let rmcp = directives
        .iter()
        .rev()
        .find(|d| d.starts_with("rmcp"))
        .or_else(|| directives.iter().rev().find(|d| !d.contains('=')))
        .map(level);
    if matches!(rmcp.as_deref(), Some("debug" | "trace")) {
        directives.retain(|d| !d.starts_with("rmcp"));
        directives.push("rmcp=info".into());
    }
    tracing_subscriber::EnvFilter::try_new(directives.join(","))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
}

/// Opens (creating) a log file readable by its owner only: logs name files and servers.
pub fn open_log_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(file)
}

/// One line for a diagnostic given as JSON.
pub fn diagnostic_line(d: &serde_json::Value) -> String {
    let s = |k: &str| {
        d.get(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    format!(
        "{} [{}] {}: {} (hint: {})",
        s("severity"),
        s("code"),
        s("path"),
        s("message"),
        s("hint")
    )
}

/// Lines for a list of diagnostics.
pub fn diagnostics_text(diags: &[core::validate::Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| diagnostic_line(&serde_json::to_value(d).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses `KEY=VALUE`, naming the flag on failure.
pub fn parse_pair(flag: &'static str, raw: &str) -> core::Result<(String, String)> {
    match raw.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(core::Error::invalid(
            Code::InvalidKeyValue,
            flag,
            format!("`{raw}` given to {flag} is not KEY=VALUE"),
            format!("write it as {flag} name=value"),
        )),
    }
}

/// The client and profile flags shared by draft commands.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// Client id (see `mcp-orch clients`).
    #[arg(long, short = 'c')]
    pub client: String,
    /// Profile id.
    #[arg(long, short = 'p', default_value = crate::core::profiles::DEFAULT_PROFILE)]
    pub profile: String,
}
