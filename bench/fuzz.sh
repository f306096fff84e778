#!/usr/bin/env bash
# Runs the cargo-fuzz targets (fuzz/fuzz_targets) from the committed corpus (fuzz/corpus),
# copied to a scratch directory so the repository stays as it is.
#   bench/fuzz.sh                 # each target for 10 million executions (docs/BENCHMARKS.md)
#   bench/fuzz.sh --ci            # each target for one minute, seed 1 (scripts/test-all.sh)
#   RUNS=100000 bench/fuzz.sh edit_toml jsonrpc   # some targets, another count
#   SANITIZER=none bench/fuzz.sh  # without AddressSanitizer (2-3x faster; the code is safe Rust)
#   NO_BUILD=1 bench/fuzz.sh      # the targets as last built (while the sources change)
# Needs the nightly toolchain and cargo-fuzz (installed into .tools/cargo-fuzz when missing).
# A crash stops the run with libFuzzer's report and the input in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=(-runs="${RUNS:-10000000}")
if [ "${1:-}" = "--ci" ]; then
  # A fixed seed: CI's minute gives the same result on every run of the same code (the search
  # for new inputs is the ten-million-execution runs' job).
  LIMIT=(-max_total_time="${SECONDS_EACH:-60}" -seed="${SEED:-1}")
  shift
fi
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
export PATH="$PWD/.tools/cargo-fuzz/bin:$PATH"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --root .tools/cargo-fuzz
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || mapfile -t TARGETS < <(cargo +nightly fuzz list)
SAN=(-s "${SANITIZER:-address}")
# No debug info (cargo-fuzz asks for line tables): a report still names the panic's file and
# line and the functions on the stack, and the targets are a fifth of the size (2.1 GB built
# instead of 3.9, docs/BENCHMARKS.md "CI's disk"). RUSTFLAGS given to the script come after.
export RUSTFLAGS="-Cdebuginfo=0${RUSTFLAGS:+ $RUSTFLAGS}"
[ -n "${NO_BUILD:-}" ] || cargo +nightly fuzz build -O "${SAN[@]}" 2>&1 | grep -E '^(error|warning: unused)' -A5 || true
BUILT=fuzz/target/x86_64-unknown-linux-gnu/release
[ -x "$BUILT/${TARGETS[0]}" ]
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
# The audit and artifact targets write files on every execution: keep them in memory.
[ -d /dev/shm ] && export TMPDIR=/dev/shm
printf '%-12s %12s %8s %10s\n' target executions seconds exec/s
for t in "${TARGETS[@]}"; do
  mkdir -p "$SCRATCH/$t"
  cp fuzz/corpus/"$t"/* "$SCRATCH/$t/" 2>/dev/null || true
  start=$(date +%s.%N)
  mkdir -p fuzz/artifacts/"$t"
  log=$("$BUILT/$t" -artifact_prefix=fuzz/artifacts/"$t"/ "$SCRATCH/$t" "${LIMIT[@]}" -print_final_stats=1 2>&1) || {
    echo "$log" | tail -40
    echo "fuzz target $t failed" >&2
    exit 1
  }
  end=$(date +%s.%N)
  runs=$(echo "$log" | sed -n 's/^stat::number_of_executed_units: *//p' | tail -1)
  secs=$(echo "$end - $start" | bc)
  printf '%-12s %12s %8.0f %10.0f\n' "$t" "$runs" "$secs" "$(echo "$runs / $secs" | bc)"
done
