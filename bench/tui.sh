#!/usr/bin/env bash
# TUI figures on the real binary in a real pseudo-terminal (tmux), with a 10,000-entry
# catalog at 200x60: first frame after launch, keystroke to updated frame while typing in
# the catalog filter, and frames and CPU while idle. Results go in docs/BENCHMARKS.md.
#
#   bench/tui.sh [path/to/release/mcp-orch]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "tmux is needed (apt-get install tmux)" >&2; exit 1; }

BIN=${1:-}
if [ -z "$BIN" ]; then
  cargo build --release --quiet
  BIN="${CARGO_TARGET_DIR:-target}/release/mcp-orch"
fi
WORK=$(mktemp -d)
trap 'tmux -L mcp-orch-bench kill-server 2>/dev/null || true; rm -rf "$WORK"' EXIT
cp "$BIN" "$WORK/mcp-orch"   # a private copy: a shared target directory may be rebuilt meanwhile
mkdir -p "$WORK/home/.cursor" "$WORK/state"
echo '{"mcpServers":{}}' > "$WORK/home/.cursor/mcp.json"

# 10,000 synthetic entries (the shape of benches/tui.rs).
awk 'BEGIN {
  split("file git postgres slack search browser memory docs cloud kube redis notion issue tracker vector graph mail calendar sql shell", W, " ");
  print "schema = 1";
  for (i = 0; i < 10000; i++) {
    a = W[i % 20 + 1]; b = W[int(i / 20) % 20 + 1];
    printf "\n[[servers]]\nid = \"%s-%s-mcp-%d\"\nname = \"%s %s server %d\"\n", a, b, i, a, b, i;
    printf "description = \"Lets the model work with %s and %s through tool number %d, with read and write access.\"\n", a, b, i;
    printf "tags = [\"%s\", \"%s\"]\n", a, b;
    if (i % 7 == 0) printf "transport = \"http\"\nurl = \"https://%s.example.com/%d/mcp\"\n", a, i;
    else printf "transport = \"stdio\"\ncommand = \"npx\"\nargs = [\"-y\", \"@acme/%s-%s-%d\"]\n", a, b, i;
  }
}' > "$WORK/state/catalog.toml"

T="tmux -L mcp-orch-bench"
LOG="$WORK/state/logs/tui.log"
launch_us=$(( $(date +%s%N) / 1000 ))
$T new-session -d -s b -x 200 -y 60 \
  "env -i HOME=$WORK/home PATH=/usr/bin:/bin TERM=xterm-256color MCP_ORCH_HOME=$WORK/state \
   MCP_ORCH_CONFIG=$WORK/config MCP_ORCH_LOG=mcp_orch=debug $WORK/mcp-orch tui --client cursor"
for _ in $(seq 400); do grep -q "first frame" "$LOG" 2>/dev/null && break; sleep 0.05; done
first_us=$(grep "first frame" "$LOG" | sed -E 's/.*unix_us=([0-9]+).*/\1/')
loop_us=$(grep "first frame" "$LOG" | sed -E 's/.*loop_us=([0-9]+).*/\1/')
splash_us=$(grep "splash frame" "$LOG" | sed -E 's/.*since_launch_us=([0-9]+).*/\1/')
core_us=$(grep "core opened" "$LOG" | sed -E 's/.*since_launch_us=([0-9]+).*/\1/')
echo "first frame (splash, before the catalog loads): $(( splash_us / 1000 )).$(( splash_us % 1000 / 100 )) ms after main started"
echo "core opened (10k catalog loaded): $(( core_us / 1000 )) ms after main started"
echo "first frame with data: $(( (first_us - launch_us) / 1000 )) ms after tmux launched the process (loop start to frame: $(( loop_us / 1000 )) ms)"

sleep 1
$T send-keys -t b 2 /
sleep 0.3
for k in p o s t g r e s BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace g i t i s s; do
  $T send-keys -t b "$k"; sleep 0.15
done
sleep 0.5
grep -oE "key_to_frame_us=[0-9]+" "$LOG" | cut -d= -f2 > "$WORK/k2f.order"
echo "per key, in order (us): $(tr "\n" " " < "$WORK/k2f.order")"
sort -n "$WORK/k2f.order" > "$WORK/k2f"
n=$(wc -l < "$WORK/k2f")
echo "keystroke to updated frame over $n keys: p50 $(( $(sed -n "$(( (n + 1) / 2 ))p" "$WORK/k2f") / 1000 )).$(( $(sed -n "$(( (n + 1) / 2 ))p" "$WORK/k2f") % 1000 / 100 )) ms, max $(( $(tail -1 "$WORK/k2f") / 1000 )).$(( $(tail -1 "$WORK/k2f") % 1000 / 100 )) ms"

pid=$($T list-panes -t b -F '#{pane_pid}')
# The pane runs `env`, which execs mcp-orch: same pid.
tick=$(getconf CLK_TCK)
frames_before=$(grep -c "frame drawn" "$LOG")
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
sleep 10
read -r u2 s2 < <(awk '{print $14, $15}' "/proc/$pid/stat")
frames_after=$(grep -c "frame drawn" "$LOG")
cpu_ticks=$(( u2 + s2 - u1 - s1 ))
echo "idle 10 s: $(( frames_after - frames_before )) frames drawn, $cpu_ticks CPU ticks of 1/$tick s ($(awk "BEGIN { printf \"%.2f\", 100 * $cpu_ticks / $tick / 10 }")% of one core)"
echo "RSS: $(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status")"
$T send-keys -t b Escape q
