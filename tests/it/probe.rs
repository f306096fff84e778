//! Probes and `doctor`, end to end through the binary: a real MCP server from npm
//! (`@modelcontextprotocol/server-everything`, installed into the git-ignored
//! `.tools/everything` on first use) over stdio and Streamable HTTP, servers that crash, hang
//! or do not exist, secrets resolved from the store, and permission checks. State and HOME
//! live in temp directories.

#![allow(clippy::unwrap_used, clippy::struct_field_names)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::{Value, json};

/// `dist/index.js` of server-everything, installing it when missing. Fails (never skips)
/// when it cannot be installed.
pub(crate) fn everything() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/everything");
        let index = root.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
        if !index.is_file() {
            let status = std::process::Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(&root)
                .arg("@modelcontextprotocol/server-everything")
                .status()
                .expect("npm must be installed to run the probe tests");
            assert!(status.success(), "npm install of server-everything failed");
        }
        assert!(index.is_file(), "{} is missing", index.display());
        index
    })
}

struct Home {
    _dir: tempfile::TempDir,
    home: PathBuf,
    state: PathBuf,
}

impl Home {
    fn new(catalog: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let state = dir.path().join("state");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&state).unwrap();
        std::fs::write(state.join("catalog.toml"), catalog).unwrap();
        Self {
            _dir: dir,
            home,
            state,
        }
    }

    fn cli(&self, args: &[&str]) -> Output {
        self.cli_with(&[], args)
    }

    /// Runs the binary with extra environment variables (the client's environment).
    fn cli_with(&self, vars: &[(&str, &str)], args: &[&str]) -> Output {
        Command::cargo_bin("mcp-orch")
            .unwrap()
            .env("HOME", &self.home)
            .env("MCP_ORCH_HOME", &self.state)
            .env("NO_COLOR", "1")
            .env_remove("SPY_TOKEN")
            .env_remove("EV_TOKEN")
            .envs(vars.iter().copied())
            .args(args)
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> (Option<i32>, Value) {
        self.json_with(&[], args)
    }

    fn json_with(&self, vars: &[(&str, &str)], args: &[&str]) -> (Option<i32>, Value) {
        let out = self.cli_with(vars, args);
        let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code(), value)
    }
}

fn catalog() -> String {
    let index = everything().display().to_string();
    format!(
        r#"
[[servers]]
id = "everything-local"
name = "Everything (local)"
description = "server-everything from .tools"
transport = "stdio"
command = "node"
args = ["{index}", "stdio"]

[[servers]]
id = "broken"
name = "Broken"
description = "prints to stderr and exits 1"
transport = "stdio"
command = "sh"
args = ["-c", "echo starting >&2; echo 'fatal: missing config' >&2; exit 1"]

[[servers]]
id = "spy"
name = "Spy"
description = "shows what env it got, then exits"
transport = "stdio"
command = "sh"
args = ["-c", "echo \"token=$SPY_TOKEN mode=$SPY_MODE\" >&2; exit 3"]
env = [
  {{ name = "SPY_TOKEN", secret = true, required = true }},
  {{ name = "SPY_MODE", default = "fast" }},
]

[[servers]]
id = "hangs"
name = "Hangs"
description = "never answers"
transport = "stdio"
command = "sh"
args = ["-c", "echo pid=$$ >&2; exec sleep 30"]

[[servers]]
id = "missing"
name = "Missing"
description = "a command that does not exist"
transport = "stdio"
command = "mcp-orch-no-such-command-xyz"

[[servers]]
id = "legacy-sse"
name = "Legacy SSE"
description = "the old transport"
transport = "sse"
url = "http://127.0.0.1:9/sse"
"#
    )
}

fn error_code(v: &Value) -> &str {
    v["error_code"].as_str().unwrap_or("none")
}

#[test]
fn a_real_server_from_npm_answers() {
    let h = Home::new(&catalog());
    let (code, r) = h.json(&["--json", "probe", "everything-local"]);
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["status"], "ok");
    assert_eq!(r["ok"], true);
    assert_eq!(r["resolved_from"], "catalog");
    assert_eq!(r["transport"], "stdio");
    assert_eq!(r["error_code"], Value::Null);
    assert_eq!(r["stderr_tail"], json!([]));
    let tools = r["tools"].as_array().unwrap();
    assert!(!tools.is_empty());
    assert_eq!(r["tool_count"], tools.len());
    assert!(tools.contains(&json!("echo")), "{tools:?}");
    assert!(r["protocol_version"].as_str().unwrap().starts_with("20"));
    assert!(!r["server_name"].as_str().unwrap().is_empty());
    assert!(r["initialize_ms"].as_u64().unwrap() <= r["latency_ms"].as_u64().unwrap());
    assert_eq!(
        r["command"],
        json!(["node", everything().display().to_string(), "stdio"])
    );

    let text = String::from_utf8_lossy(&h.cli(&["probe", "everything-local"]).stdout).into_owned();
    assert!(
        text.starts_with("everything-local (catalog): ok\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("  tools:    {}\n", tools.len())),
        "{text}"
    );
}

#[test]
fn a_crashing_server_reports_its_stderr() {
    let h = Home::new(&catalog());
    let (code, r) = h.json(&["--json", "probe", "broken"]);
    assert_eq!(code, Some(1));
    assert_eq!(r["status"], "failed");
    assert_eq!(r["ok"], false);
    assert_eq!(error_code(&r), "INITIALIZE_FAILED");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .starts_with("initialize failed: connection closed"),
        "{r:#}"
    );
    assert_eq!(
        r["stderr_tail"],
        json!(["starting", "fatal: missing config"])
    );
    assert_eq!(r["tool_count"], Value::Null);

    let out = h.cli(&["probe", "broken"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("  stderr (last 2 lines):\n    | starting\n    | fatal: missing config\n"),
        "{text}"
    );
}

#[test]
fn a_missing_command_is_named() {
    let h = Home::new(&catalog());
    let (code, r) = h.json(&["--json", "probe", "missing"]);
    assert_eq!(code, Some(1));
    assert_eq!(error_code(&r), "COMMAND_NOT_FOUND");
    assert_eq!(
        r["error"],
        "command `mcp-orch-no-such-command-xyz` was not found (is it installed and on PATH?)"
    );
}

#[test]
fn a_server_that_never_answers_times_out_and_is_stopped() {
    let h = Home::new(&catalog());
    let started = Instant::now();
    // Long enough for the shell to print its pid on a loaded machine.
    let (code, r) = h.json(&["--json", "probe", "hangs", "--timeout", "2s"]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(code, Some(1));
    assert_eq!(r["status"], "timeout");
    assert_eq!(error_code(&r), "TIMEOUT");
    assert_eq!(r["error"], "no answer to initialize within 2000 ms");
    let tail = r["stderr_tail"].as_array().unwrap();
    assert_eq!(tail.len(), 1);
    let pid = tail[0].as_str().unwrap().strip_prefix("pid=").unwrap();
    // Killed: gone, or a zombie waiting for a reaper. SIGKILL is delivered asynchronously, so
    // on a loaded machine the process may still be on a CPU for a moment after the probe
    // returned: it must be dead within a second.
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.is_empty() || stat.contains(") Z ") {
            break;
        }
        assert!(Instant::now() < deadline, "still running: {stat}");
        #[allow(clippy::disallowed_methods)] // polling another process: no event to wait on
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn draft_servers_get_their_secrets_like_the_launcher_gives_them() {
    let h = Home::new(&catalog());
    let out = h.cli(&[
        "draft",
        "add",
        "spy",
        "--client",
        "cursor",
        "--name",
        "spy-1",
        "--secret",
        "SPY_TOKEN=hunter2-very-secret",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, r) = h.json(&["--json", "probe", "spy-1", "--client", "cursor"]);
    assert_eq!(code, Some(1));
    assert_eq!(r["resolved_from"], "draft");
    assert_eq!(r["server_id"], "spy");
    // The secret reached the process and is masked in the report.
    assert_eq!(r["stderr_tail"], json!(["token=******** mode=fast"]));
    assert!(
        !String::from_utf8_lossy(
            &h.cli(&["--json", "probe", "spy-1", "--client", "cursor"])
                .stdout
        )
        .contains("hunter2")
    );

    // Without the secret in the store, nothing runs.
    assert!(
        h.cli(&["secrets", "remove", "cursor/default/SPY_TOKEN"])
            .status
            .success()
    );
    let (code, r) = h.json(&["--json", "probe", "spy-1", "--client", "cursor"]);
    assert_eq!(code, Some(1));
    assert_eq!(error_code(&r), "MISSING_SECRET");
    assert_eq!(r["stderr_tail"], json!([]));
    // From the catalog, a required env var that is nowhere is reported the same way.
    let (_, r) = h.json(&["--json", "probe", "spy"]);
    assert_eq!(error_code(&r), "MISSING_REQUIRED_ENV");

    // A name that is neither in the draft nor in the catalog.
    let (code, r) = h.json(&["--json", "probe", "nope", "--client", "cursor"]);
    assert_eq!(code, Some(1));
    assert_eq!(r["error"]["code"], "UNKNOWN_SERVER");
    let (code, r) = h.json(&["--json", "probe", "spy-1", "--client", "no-such-client"]);
    assert_eq!(code, Some(1));
    assert_eq!(r["error"]["code"], "UNKNOWN_CLIENT");
}

#[test]
fn a_legacy_sse_server_that_is_not_there_fails_to_initialize() {
    let h = Home::new(&catalog());
    let (code, r) = h.json(&["--json", "probe", "legacy-sse"]);
    assert_eq!(code, Some(1));
    assert_eq!(r["status"], "failed");
    assert_eq!(error_code(&r), "INITIALIZE_FAILED");
}

#[test]
fn a_real_server_over_legacy_sse_answers() {
    let server = HttpServer::start("sse");
    let catalog = format!(
        "{}\n[[servers]]\nid = \"everything-sse\"\nname = \"Everything over SSE\"\ndescription = \"server-everything, sse\"\ntransport = \"sse\"\nurl = \"http://127.0.0.1:{}/sse\"\n",
        catalog(),
        server.port
    );
    let h = Home::new(&catalog);
    let (code, r) = h.json(&["--json", "probe", "everything-sse"]);
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["transport"], "sse");
    assert_eq!(r["status"], "ok");
    assert!(r["tools"].as_array().unwrap().contains(&json!("echo")));
}

/// A catalog entry that needs a secret and runs the real server-everything.
fn secret_everything() -> String {
    format!(
        "{}\n[[servers]]\nid = \"everything-secret\"\nname = \"Everything with a token\"\ndescription = \"server-everything, stdio\"\ntransport = \"stdio\"\ncommand = \"node\"\nargs = [{:?}, \"stdio\"]\nenv = [{{ name = \"EV_TOKEN\", secret = true, required = true }}]\n",
        catalog(),
        everything().display().to_string()
    )
}

/// `probe --as-client` starts what the client's file says, the way the client does: the
/// default launcher entry works for Codex, whose servers get only an allow-list of variables
/// (so the state directory must come from the entry's `--home`); an env reference the
/// client's environment lacks fails with `MISSING_CLIENT_ENV` and passes once it is exported.
#[test]
fn probe_as_client_starts_entries_as_the_client_would() {
    let h = Home::new(&secret_everything());
    assert!(h.cli(&["keys", "init"]).status.success());
    for client in ["codex", "claude-code"] {
        let mut args = vec![
            "draft",
            "add",
            "everything-secret",
            "--client",
            client,
            "--secret",
            "EV_TOKEN=ev-secret-1",
        ];
        if client == "claude-code" {
            args.extend(["--secret-delivery", "env"]);
        }
        assert!(h.cli(&args).status.success());
        assert!(
            h.cli(&["publish", "--client", client, "-m", "x"])
                .status
                .success()
        );
        let out = h.cli(&["deploy", "--client", client, "--yes"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (code, r) = h.json(&[
        "--json",
        "probe",
        "--as-client",
        "codex",
        "--timeout",
        "30s",
    ]);
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["probes"][0]["name"], "everything-secret");
    assert_eq!(r["probes"][0]["resolved_from"], "client");
    assert_eq!(r["probes"][0]["status"], "ok");

    let (code, r) = h.json(&["--json", "probe", "--as-client", "claude-code"]);
    assert_eq!(code, Some(1), "{r:#}");
    assert_eq!(error_code(&r["probes"][0]), "MISSING_CLIENT_ENV");
    assert!(
        r["probes"][0]["error"]
            .as_str()
            .unwrap()
            .contains("`EV_TOKEN`")
    );
    let (code, r) = h.json_with(
        &[("EV_TOKEN", "exported-value")],
        &[
            "--json",
            "probe",
            "--as-client",
            "claude-code",
            "everything-secret",
            "--timeout",
            "30s",
        ],
    );
    assert_eq!(code, Some(0), "{r:#}");
    assert!(!r.to_string().contains("exported-value"));
    // The draft's own probe of that server reads the variable where Claude Code will, too.
    let (code, r) = h.json(&[
        "--json",
        "probe",
        "everything-secret",
        "--client",
        "claude-code",
    ]);
    assert_eq!(
        (code, error_code(&r)),
        (Some(1), "MISSING_CLIENT_ENV"),
        "{r:#}"
    );
    let (code, r) = h.json_with(
        &[("EV_TOKEN", "exported-value")],
        &[
            "--json",
            "probe",
            "everything-secret",
            "--client",
            "claude-code",
            "--timeout",
            "30s",
        ],
    );
    assert_eq!(code, Some(0), "{r:#}");
    let (code, r) = h.json(&["--json", "probe", "--as-client", "claude-code", "nope"]);
    assert_eq!(
        (code, r["error"]["code"].as_str()),
        (Some(1), Some("NOT_IN_CLIENT_FILE"))
    );
}

/// `status --verify` probes each deployed entry as its client starts it and shows the
/// client's own verdict beside it (here a stand-in `claude` on PATH).
#[test]
fn status_verify_shows_our_verdict_and_the_clients() {
    let h = Home::new(&secret_everything());
    let bin = h.home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("claude");
    std::fs::write(
        &fake,
        "#!/bin/sh\n[ \"$1 $2\" = \"mcp list\" ] && echo 'Checking MCP server health...' && echo 'everything-secret: node index.js - ✓ Connected'\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    for args in [
        vec![
            "draft",
            "add",
            "everything-secret",
            "--client",
            "claude-code",
            "--secret",
            "EV_TOKEN=ev-2",
        ],
        vec!["keys", "init"],
        vec!["publish", "--client", "claude-code", "-m", "x"],
        vec!["deploy", "--client", "claude-code", "--yes"],
    ] {
        assert!(h.cli(&args).status.success(), "{args:?}");
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let (code, r) = h.json_with(
        &[("PATH", &path)],
        &["--json", "status", "--verify", "--timeout", "30s"],
    );
    assert_eq!(code, Some(0), "{r:#}");
    let v = &r["verified"][0];
    assert_eq!(v["client_id"], "claude-code");
    assert_eq!(v["ok"], true);
    assert_eq!(v["servers"][0]["status"], "ok");
    assert_eq!(
        v["client_says"]["everything-secret"],
        "everything-secret: node index.js - ✓ Connected"
    );
}

/// server-everything over Streamable HTTP on a free loopback port; killed on drop.
struct HttpServer {
    child: Child,
    port: u16,
}

impl HttpServer {
    /// server-everything in `mode` (`streamableHttp` or `sse`).
    fn start(mode: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = std::process::Command::new("node")
            .arg(everything())
            .arg(mode)
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains(&port.to_string()) {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(20))
            .expect("server-everything did not start listening");
        Self { child, port }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_server_over_streamable_http_answers_with_its_headers() {
    let server = HttpServer::start("streamableHttp");
    let catalog = format!(
        r#"{}
[[servers]]
id = "everything-http"
name = "Everything over HTTP"
description = "server-everything, streamableHttp"
transport = "http"
url = "http://127.0.0.1:{}/mcp"
headers = [{{ name = "Authorization", value = "Bearer ${{EV_TOKEN}}", secret = true }}]
env = [{{ name = "EV_TOKEN", secret = true, required = true }}]
"#,
        catalog(),
        server.port
    );
    let h = Home::new(&catalog);
    let out = h.cli(&[
        "draft",
        "add",
        "everything-http",
        "--client",
        "cursor",
        "--secret",
        "EV_TOKEN=tok-123456",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, r) = h.json(&["--json", "probe", "everything-http", "--client", "cursor"]);
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["transport"], "http");
    assert_eq!(r["status"], "ok");
    assert_eq!(r["url"], format!("http://127.0.0.1:{}/mcp", server.port));
    assert!(r["tool_count"].as_u64().unwrap() > 0);
    assert!(r["tools"].as_array().unwrap().contains(&json!("echo")));
}

#[test]
fn validate_probe_includes_every_server() {
    let h = Home::new(&catalog());
    for (id, name) in [("everything-local", "ev"), ("broken", "br")] {
        let out = h.cli(&["draft", "add", id, "--client", "cursor", "--name", name]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (code, r) = h.json(&["--json", "validate", "--client", "cursor"]);
    assert_eq!(code, Some(0));
    assert_eq!(r.get("probes"), None);
    let (code, r) = h.json(&[
        "--json",
        "validate",
        "--client",
        "cursor",
        "--probe",
        "--timeout",
        "20s",
    ]);
    assert_eq!(code, Some(1), "a failing probe fails validate: {r:#}");
    assert_eq!(r["valid"], true);
    let probes = r["probes"].as_array().unwrap();
    let summary: Vec<(&str, &str)> = probes
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["status"].as_str().unwrap()))
        .collect();
    assert_eq!(summary, [("br", "failed"), ("ev", "ok")]);
    assert_eq!(
        probes[0]["stderr_tail"],
        json!(["starting", "fatal: missing config"])
    );
}

/// `mcp-orch serve` over stdio, spoken to line by line.
struct StdioSession {
    child: Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    next_id: u64,
}

impl StdioSession {
    fn start(h: &Home) -> Self {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-orch"))
            .env("HOME", &h.home)
            .env("MCP_ORCH_HOME", &h.state)
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut session = Self {
            child,
            lines,
            next_id: 0,
        };
        let init = session.request(
            "initialize",
            &json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "probe-test", "version": "1"}}),
        );
        assert!(init["result"]["serverInfo"].is_object(), "{init}");
        session.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        session
    }

    fn send(&mut self, message: &Value) {
        use std::io::Write as _;
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    /// Sends a request and returns its response (skipping notifications).
    fn request(&mut self, method: &str, params: &Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let line = self.lines.next().expect("a response").unwrap();
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    fn tool(&mut self, name: &str, args: &Value) -> Value {
        let response = self.request("tools/call", &json!({"name": name, "arguments": args}));
        let result = &response["result"];
        assert_ne!(result["isError"], true, "{response:#}");
        result["structuredContent"].clone()
    }
}

impl Drop for StdioSession {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

#[test]
fn the_mcp_tool_check_server_health_probes_one_server_or_the_whole_draft() {
    let h = Home::new(&catalog());
    for (id, name) in [("everything-local", "ev"), ("broken", "br")] {
        let out = h.cli(&["draft", "add", id, "--client", "cursor", "--name", name]);
        assert!(out.status.success(), "{out:?}");
    }
    let mut mcp = StdioSession::start(&h);
    let listed = mcp.request("tools/list", &json!({}));
    let tool = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "check_server_health")
        .unwrap()
        .clone();
    assert_eq!(
        tool["annotations"],
        json!({"title": "Check that servers really work", "readOnlyHint": false, "destructiveHint": false, "idempotentHint": true, "openWorldHint": true})
    );

    // One server, by its name in the draft.
    let one = mcp.tool(
        "check_server_health",
        &json!({"client_id": "cursor", "server_name": "ev", "timeout_secs": 20}),
    );
    assert_eq!(
        (&one["ok"], &one["healthy"], &one["unhealthy"]),
        (&json!(true), &json!(1), &json!(0))
    );
    let probe = &one["probes"][0];
    assert_eq!(
        (&probe["name"], &probe["status"], &probe["resolved_from"]),
        (&json!("ev"), &json!("ok"), &json!("draft"))
    );
    assert!(probe["tool_count"].as_u64().unwrap() > 0, "{probe:#}");

    // The whole draft, in name order: the broken one says why.
    let all = mcp.tool(
        "check_server_health",
        &json!({"client_id": "cursor", "timeout_secs": 20}),
    );
    assert_eq!(
        (&all["ok"], &all["healthy"], &all["unhealthy"]),
        (&json!(false), &json!(1), &json!(1))
    );
    let summary: Vec<(&str, &str, &str)> = all["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["status"].as_str().unwrap(),
                p["error_code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("br", "failed", "INITIALIZE_FAILED"), ("ev", "ok", "")]
    );
    assert_eq!(
        all["probes"][0]["stderr_tail"],
        json!(["starting", "fatal: missing config"])
    );

    // Bad arguments name the field.
    let bad = mcp.request(
        "tools/call",
        &json!({"name": "check_server_health", "arguments": {"timeout_secs": 0}}),
    );
    let error = &bad["result"]["structuredContent"];
    assert_eq!(bad["result"]["isError"], true, "{bad:#}");
    assert_eq!(
        (&error["code"], &error["field"]),
        (&json!("INVALID_ARGUMENTS"), &json!("timeout_secs"))
    );
    let unknown = mcp.request(
        "tools/call",
        &json!({"name": "check_server_health", "arguments": {"client_id": "cursor", "server_name": "nope"}}),
    );
    assert_eq!(unknown["result"]["isError"], true, "{unknown:#}");
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn doctor_checks_tools_client_files_and_permissions() {
    let h = Home::new("");
    let (code, r) = h.json(&["--json", "doctor"]);
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["ok"], true);
    assert_eq!(r["errors"], 0);
    let tools: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["category"] == "tool")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(tools, ["node", "npx", "uvx", "docker"]);
    let node = &r["checks"][0];
    assert_eq!(node["status"], "ok");
    assert!(node["version"].as_str().unwrap().starts_with('v'));

    // Loose permissions and a broken client file.
    std::fs::write(h.state.join("secrets.json"), "{}").unwrap();
    chmod(&h.state.join("secrets.json"), 0o644);
    std::fs::create_dir_all(h.state.join("keys")).unwrap();
    std::fs::write(h.state.join("keys/signing.key"), "k").unwrap();
    chmod(&h.state.join("keys/signing.key"), 0o640);
    std::fs::write(h.state.join("keys/signing.pub"), "p").unwrap();
    chmod(&h.state.join("keys/signing.pub"), 0o644);
    std::fs::create_dir_all(h.home.join(".cursor")).unwrap();
    std::fs::write(h.home.join(".cursor/mcp.json"), "{ \"mcpServers\": { ").unwrap();
    let (code, r) = h.json(&["--json", "doctor"]);
    assert_eq!(code, Some(1));
    assert_eq!(r["ok"], false);
    assert_eq!(r["errors"], 3);
    let failed: Vec<(&str, &str)> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "error")
        .map(|c| (c["category"].as_str().unwrap(), c["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        failed,
        [
            ("client", "cursor"),
            ("permissions", "secrets.json"),
            ("permissions", "keys/signing.key")
        ]
    );
    let text = String::from_utf8_lossy(&h.cli(&["doctor"]).stdout).into_owned();
    assert!(text.contains("hint: run `chmod 600 "), "{text}");
    assert!(
        text.ends_with(&format!("3 errors, {} warnings\n", r["warnings"])),
        "{text}"
    );

    chmod(&h.state.join("secrets.json"), 0o600);
    chmod(&h.state.join("keys/signing.key"), 0o600);
    std::fs::write(h.home.join(".cursor/mcp.json"), "{ \"mcpServers\": {} }").unwrap();
    let (code, r) = h.json(&["--json", "doctor"]);
    assert_eq!(code, Some(0), "{r:#}");
    let cursor = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "cursor")
        .unwrap();
    assert_eq!(cursor["status"], "ok");
    assert_eq!(cursor["message"], "Cursor parses (0 servers)");
}
