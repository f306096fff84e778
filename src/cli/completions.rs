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

/// Prints the completion script (generated into memory first: `clap_complete` panics on a
/// closed stdout, which must stay a quiet success like everywhere else).
pub fn run(args: &Args, cmd: &mut clap::Command) -> std::io::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, cmd, "mcp-orch", &mut script);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &script)
}
