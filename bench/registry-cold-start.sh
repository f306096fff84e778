#!/usr/bin/env bash
# Cold start of one-shot commands with 5,000 registry entries in the catalog (hyperfine,
# Debian package `hyperfine`): the cache is filled by a sync from the local test registry.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -q && apt-get install -y -q hyperfine; }
cargo build --release --bin mcp-orch
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
# A copy, so another build into a shared target directory cannot swap it mid-run.
cp "${CARGO_TARGET_DIR:-target}/release/mcp-orch" "$home/mcp-orch"
bin="$home/mcp-orch"
# cargo and rustup keep finding their homes once HOME points at the temp directory.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export HOME="$home" MCP_ORCH_HOME="$home/state"
MCP_ORCH_BENCH_HOME="$home/state" cargo test --test registry -- --ignored --exact bench_home
$bin registry status | grep -q 'in catalog:   5000 entries'
hyperfine -N --warmup 10 --runs 100 \
  "$bin servers search fs --json" \
  "$bin registry status --json"
