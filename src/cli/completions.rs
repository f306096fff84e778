//! `mcp-orch completions SHELL`.

/// Arguments of `completions`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  mcp-orch completions bash > ~/.local/share/bash-completion/completions/mcp-orch"
)]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

/// Prints the completion script.
pub fn run(args: &Args, cmd: &mut clap::Command) {
    clap_complete::generate(args.shell, cmd, "mcp-orch", &mut std::io::stdout());
}
