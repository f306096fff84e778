//! The `mcp-orch` binary: parse the command line and run it.

use std::process::ExitCode;

fn main() -> ExitCode {
    mcp_orch::cli::main()
}
