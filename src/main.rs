//! The `mcp-orch` binary: parse the command line and run it.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: the HTTP server's hot paths are allocation-bound
/// (JSON values), and under glibc malloc a quarter of their CPU went to malloc and free
/// (docs/BENCHMARKS.md, HTTP).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    mcp_orch::cli::main()
}
