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

cargo fmt --check
cargo clippy --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
cargo nextest run --no-fail-fast
