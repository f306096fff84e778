//! The one-shot command line. Each subcommand lives in its own file with the same shape: an
//! `Args` struct and `run(args, ctx) -> anyhow::Result<ExitCode>`.
//!
//! Conventions: `--json` prints stable JSON shapes (docs/CLI.md); exit codes are 0 ok, 1 user or
//! validation error, 2 internal error; every error names the bad input, carries a stable code
//! and says what to do next.

use crate::core::code::Code;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::core;

mod audit;
mod clients;
mod completions;
mod connect;
mod deploy;
mod diff;
mod doctor;
mod draft;
mod headers;
mod history;
mod import;
mod keys;
mod manifest;
mod migrate;
pub mod output;
mod policy;
mod probe;
mod profiles;
mod publish;
mod pull;
mod registry;
mod remote;
mod restore;
mod run;
mod secrets;
mod serve;
mod servers;
mod show;
mod status;
mod team;
mod token;
mod tui;
mod validate;
mod verify;

pub use output::Ctx;

const AFTER_HELP: &str = "\
Examples:
  mcp-orch clients                                   # which clients are installed, where their files are
  mcp-orch servers search git                        # fuzzy search the catalog
  mcp-orch draft add filesystem --client cursor --param path=~/code
  mcp-orch diff --client cursor                      # what a deploy would change
  mcp-orch validate --client cursor

State lives in MCP_ORCH_HOME (or --home, or the platform data directory).";

/// mcp-orch: one place to manage the MCP servers of every AI client.
#[derive(Debug, Parser)]
#[command(name = "mcp-orch", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// State directory (default: `$MCP_ORCH_HOME`, else the platform data directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Print machine-readable JSON (stable shapes, see docs/CLI.md).
    #[arg(long, global = true)]
    pub json: bool,
    /// Where shared state lives: `files` (the state directory) or a PostgreSQL URL (team
    /// mode, docs/TEAM.md; default: `$MCP_ORCH_STORE`, else `files`). The audit log and the API
    /// tokens live there so far.
    #[arg(long, global = true, value_name = "URL")]
    pub store: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the known clients: detected or not, config path, server count, profiles.
    Clients(clients::Args),
    /// List, create or delete profiles.
    #[command(subcommand)]
    Profiles(profiles::Command),
    /// Search the catalog or show one server.
    #[command(subcommand)]
    Servers(servers::Command),
    /// Build the draft of a client and profile.
    #[command(subcommand)]
    Draft(draft::Command),
    /// Adopt the servers already in a client's file into its draft.
    Import(import::Args),
    /// Validate a draft (exit 1 when it has errors).
    Validate(validate::Args),
    /// Show what deploying the draft would change in the client's file.
    Diff(diff::Args),
    /// Deploy a published artifact into a client's file (only mcp-orch's entries change).
    Deploy(deploy::Args),
    /// Deploy an earlier artifact, recorded as a rollback.
    Rollback(deploy::RollbackArgs),
    /// Remove every server mcp-orch put into a client's file (after showing the plan).
    Undeploy(deploy::UndeployArgs),
    /// From the draft to the client in one step: validate, publish when changed, deploy.
    Apply(deploy::ApplyArgs),
    /// Deployed and latest artifacts, and drift, per client and profile.
    Status(status::Args),
    /// Bring back a backup of a client's file (or list them).
    Restore(restore::Args),
    /// List the audit log, or verify its hash chain.
    Audit(audit::Args),
    /// Manage the local secret store (values are never printed).
    #[command(subcommand)]
    Secrets(secrets::Command),
    /// Manage the signing key and the trust store.
    #[command(subcommand)]
    Keys(keys::Command),
    /// Publish drafts as signed, immutable artifacts.
    Publish(publish::Args),
    /// List the published releases of a client and profile.
    History(history::Args),
    /// Show an artifact: its payload and every release of it.
    Show(show::Args),
    /// Verify every release of an artifact (exit 1 when one fails).
    Verify(verify::Args),
    /// Run a server with secrets from the store (used by deployed entries).
    Run(run::Args),
    /// Bridge stdio to a remote MCP server, with headers from the secret store (used by deployed entries).
    Connect(connect::Args),
    /// Print headers with credentials from the secret store as JSON (Claude Code's headersHelper).
    Headers(headers::Args),
    /// Run the HTTP server: REST API, live events and the MCP endpoints.
    Serve(serve::Args),
    /// The interactive configuration manager (press ? inside for help).
    Tui(tui::Args),
    /// Sync the official MCP Registry into the catalog, or show its state.
    #[command(subcommand)]
    Registry(registry::Command),
    /// Start a server as its client would and check that it answers (initialize, tools/list).
    Probe(probe::Args),
    /// Check tools (node, npx, uvx, docker), client files and permissions.
    Doctor(doctor::Args),
    /// Print the Universal Loadability manifest (mcp-server.json) from the live tool list.
    Manifest(manifest::Args),
    /// Create, list and revoke API tokens for the HTTP server.
    #[command(subcommand)]
    Token(token::Command),
    /// The team's root of trust, on the team's server (team mode).
    #[command(subcommand)]
    Team(team::Command),
    /// The team servers this machine pulls releases from.
    #[command(subcommand)]
    Remote(remote::Command),
    /// Fetch, verify and deploy the team's releases (--watch: keep following).
    Pull(pull::Args),
    /// Move servers from a client's old home to its new one (Gemini CLI to Antigravity CLI,
    /// .vscode/mcp.json to .mcp.json, `OpenCode` 1 to 2); a plan first.
    Migrate(migrate::Args),
    /// Write one organisation policy (allowed and denied servers) into each client's managed
    /// policy file; `policy plan` shows what each client would block.
    Policy(policy::Args),
    /// Print shell completions.
    Completions(completions::Args),
    /// Alias of `servers search` (the original's command name).
    #[command(name = "list-servers", hide = true)]
    ListServers(servers::SearchArgs),
    /// Alias of `servers show`.
    #[command(name = "describe-server", hide = true)]
    DescribeServer(servers::ShowArgs),
    /// Alias of `draft add`.
    #[command(name = "add-server", hide = true)]
    AddServer(draft::AddArgs),
    /// Alias of `draft remove`.
    #[command(name = "remove-server", hide = true)]
    RemoveServer(draft::RemoveArgs),
}

/// Parses the process arguments, runs the command and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 1,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let json = cli.json;
    match run(cli) {
        Ok(code) => code,
        Err(err) => report(&err, json),
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ctx = Ctx::new(cli.json, cli.home, cli.store);
    match cli.command {
        Command::Clients(a) => clients::run(&a, &ctx),
        Command::Profiles(c) => profiles::run(c, &ctx),
        Command::Servers(c) => servers::run(c, &ctx),
        Command::Draft(c) => draft::run(c, &ctx),
        Command::Import(a) => import::run(&a, &ctx),
        Command::Validate(a) => validate::run(&a, &ctx),
        Command::Diff(a) => diff::run(&a, &ctx),
        Command::Deploy(a) => deploy::run(&a, &ctx),
        Command::Rollback(a) => deploy::run_rollback(&a, &ctx),
        Command::Undeploy(a) => deploy::run_undeploy(&a, &ctx),
        Command::Apply(a) => deploy::run_apply(&a, &ctx),
        Command::Status(a) => status::run(&a, &ctx),
        Command::Restore(a) => restore::run(&a, &ctx),
        Command::Audit(a) => audit::run(&a, &ctx),
        Command::Secrets(c) => secrets::run(c, &ctx),
        Command::Keys(c) => keys::run(c, &ctx),
        Command::Publish(a) => publish::run(&a, &ctx),
        Command::History(a) => history::run(&a, &ctx),
        Command::Show(a) => show::run(&a, &ctx),
        Command::Verify(a) => verify::run(&a, &ctx),
        Command::Run(a) => run::run(&a, &ctx),
        Command::Connect(a) => connect::run(&a, &ctx),
        Command::Headers(a) => headers::run(&a, &ctx),
        Command::Serve(a) => serve::run(&a, &ctx),
        Command::Tui(a) => tui::run(&a, &ctx),
        Command::Registry(c) => registry::run(c, &ctx),
        Command::Probe(a) => probe::run(&a, &ctx),
        Command::Doctor(a) => doctor::run(&a, &ctx),
        Command::Token(c) => token::run(c, &ctx),
        Command::Team(c) => team::run(c, &ctx),
        Command::Remote(c) => remote::run(c, &ctx),
        Command::Pull(a) => pull::run(&a, &ctx),
        Command::Policy(a) => policy::run(a, &ctx),
        Command::Migrate(a) => migrate::run(&a, &ctx),
        Command::Manifest(a) => manifest::run(&a, &ctx),
        Command::Completions(a) => {
            completions::run(&a, &mut Cli::command())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ListServers(a) => servers::run(servers::Command::Search(a), &ctx),
        Command::DescribeServer(a) => servers::run(servers::Command::Show(a), &ctx),
        Command::AddServer(a) => draft::run(draft::Command::Add(a), &ctx),
        Command::RemoveServer(a) => draft::run(draft::Command::Remove(a), &ctx),
    }
}

/// Prints an error (JSON on stdout with `--json`, text on stderr otherwise) and returns its
/// exit code: 1 for the user's errors, 2 for ours. A closed stdout is not an error.
pub(crate) fn report(err: &anyhow::Error, json: bool) -> ExitCode {
    if let Some(io) = err.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        return ExitCode::SUCCESS;
    }
    // The exit code is the code's category's (docs/CLI.md's table): 1 for the user's input,
    // 2 for failures of ours or of what we depend on.
    let (body, exit) = match err.downcast_ref::<core::Error>() {
        Some(e) => (output::error_body(e), e.error_code().category().exit_code()),
        None => (
            core::ErrorBody {
                code: Code::InternalError.as_str(),
                message: format!("{err:#}"),
                field: None,
                hint: "this is a bug; please report it with the command you ran".into(),
                next: Vec::new(),
                details: serde_json::json!({}),
            },
            2,
        ),
    };
    if json {
        let doc = serde_json::json!({ "error": body });
        let _ = writeln!(
            std::io::stdout(),
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        );
    } else {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "error[{}]: {}", body.code, body.message);
        if let Some(diags) = body.details.get("diagnostics").and_then(|d| d.as_array()) {
            for d in diags {
                let _ = writeln!(stderr, "  {}", output::diagnostic_line(d));
            }
        }
        let _ = writeln!(stderr, "  hint: {}", body.hint);
    }
    ExitCode::from(exit)
}
