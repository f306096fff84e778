#!/usr/bin/env bash
# Every check CI runs, in order: formatting, lints, docs, then all tests.
# It installs what the tests need on first use (idempotent), so it works from a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
bash scripts/install-tools.sh
# The TUI end-to-end test (tests/tui/e2e.rs) drives the real binary in tmux.
if ! command -v tmux >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq tmux >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq tmux >/dev/null; fi
fi

# No incremental compilation state: a run from a clean clone never reuses it, and it was a
# third of the test build's disk (docs/BENCHMARKS.md, "CI's disk").
export CARGO_INCREMENTAL=0
cargo fmt --check
cargo clippy --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
cargo nextest run --no-fail-fast
# Every cargo-fuzz target for a bounded minute from the committed corpus (nightly, cargo-fuzz
# installed into .tools/ on first use); a crash fails the run.
bash bench/fuzz.sh --ci
