#!/usr/bin/env bash
# Cold start of a one-shot command, with hyperfine (Debian package `hyperfine`).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -q && apt-get install -y -q hyperfine; }
cargo build --release --bin mcp-orch
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export HOME="$home" MCP_ORCH_HOME="$home/state"
./target/release/mcp-orch servers search fs --json >/dev/null   # creates the state dir once
hyperfine -N --warmup 20 --runs 300 './target/release/mcp-orch servers search fs --json'
