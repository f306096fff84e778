//! `mcp-orch run`: the launcher written into client files for servers that need secrets when
//! the client has no env reference syntax. It fills env vars from the secret store and execs
//! the real server, so no secret value is ever stored in a client's file.

use std::process::ExitCode;

use super::Ctx;
use super::output::parse_pair;
use crate::core::{self, render};

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example (as deployed):\n  mcp-orch run github --env GITHUB_PERSONAL_ACCESS_TOKEN='${GITHUB_PERSONAL_ACCESS_TOKEN}' -- npx -y @modelcontextprotocol/server-github"
)]
pub struct Args {
    /// The server's name (for messages).
    pub name: String,
    /// VAR=TEMPLATE: sets VAR, replacing each ${SECRET} in TEMPLATE with the stored secret.
    #[arg(long = "env", value_name = "VAR=TEMPLATE")]
    pub env: Vec<String>,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// Runs `run`.
pub fn run(args: &Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let orch = ctx.open()?;
    let secrets = orch.secrets().all()?;
    let mut command = std::process::Command::new(&args.command[0]);
    command.args(&args.command[1..]);
    for pair in &args.env {
        let (var, template) = parse_pair("--env", pair)?;
        let mut missing = None;
        let value = render::replace_refs(&template, |name| {
            let v = secrets.get(name).cloned();
            if v.is_none() {
                missing = Some(name.to_owned());
            }
            v
        });
        let value = value.ok_or_else(|| {
            let name = missing.unwrap_or_default();
            core::Error::invalid(
                "MISSING_SECRET",
                format!("env.{var}"),
                format!(
                    "server `{}` needs secret `{name}`, which is not in the secret store",
                    args.name
                ),
                format!("store it with `mcp-orch secrets set {name}`"),
            )
        })?;
        command.env(var, value);
    }
    exec(command, &args.command[0])
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
