//! `mcp-orch run`: the launcher written into client files for stdio servers that need
//! secrets. It fills env vars (and `{secret:KEY}` in arguments) from the secret store and
//! execs the real server, so no secret
//! value is stored in a client's file and nothing has to be exported into the client's
//! environment.

use crate::core::code::Code;
use std::process::ExitCode;

use super::Ctx;
use super::output::parse_pair;
use crate::core::secrets::SecretStore;
use crate::core::{self, render};

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example (as deployed):\n  mcp-orch run github --env GITHUB_PERSONAL_ACCESS_TOKEN='{secret:cursor/default/GITHUB_PERSONAL_ACCESS_TOKEN}' -- npx -y @modelcontextprotocol/server-github"
)]
pub struct Args {
    /// The server's name (for messages).
    pub name: String,
    /// VAR=TEMPLATE: sets VAR, replacing each {secret:KEY} in TEMPLATE with the stored secret.
    /// A `{secret:KEY}` in the command's arguments is replaced the same way.
    #[arg(long = "env", value_name = "VAR=TEMPLATE")]
    pub env: Vec<String>,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// Runs `run`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    // Only the secret store: the client waits for this on every start of the server.
    let secrets = SecretStore::at_home(&ctx.home_dir()).all()?;
    let mut command = std::process::Command::new(&args.command[0]);
    for (i, arg) in args.command[1..].iter().enumerate() {
        let arg = render::fill_placeholders(arg, |key| secrets.get(key).cloned())
            .map_err(|key| missing_secret(&args.name, &format!("args[{i}]"), &key))?;
        command.arg(arg);
    }
    for pair in &args.env {
        let (var, template) = parse_pair("--env", pair)?;
        let value = render::fill_secrets(&template, |key| secrets.get(key).cloned())
            .map_err(|key| missing_secret(&args.name, &format!("env.{var}"), &key))?;
        command.env(var, value);
    }
    exec(command, &args.command[0])
}

/// `MISSING_SECRET` for a placeholder the store has no value for.
pub fn missing_secret(server: &str, field: &str, key: &str) -> core::Error {
    core::Error::invalid(
        Code::MissingSecret,
        field.to_owned(),
        format!("server `{server}` needs secret `{key}`, which is not in the secret store"),
        format!("store it with `{}`", core::secrets::set_command(key)),
    )
}

#[cfg(unix)]
fn exec(mut command: std::process::Command, program: &str) -> anyhow::Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let err = command.exec();
    Err(core::Error::io(format!("starting `{program}`"), err).into())
}

#[cfg(not(unix))]
fn exec(mut command: std::process::Command, program: &str) -> anyhow::Result<ExitCode> {
    let status = command
        .status()
        .map_err(|e| core::Error::io(format!("starting `{program}`"), e))?;
    Ok(ExitCode::from(
        u8::try_from(status.code().unwrap_or(1)).unwrap_or(1),
    ))
}
