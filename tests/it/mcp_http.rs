//! MCP over HTTP against the real server on a random loopback port: the protocol by hand
//! (authentication, Host and Origin, sessions, per-token scopes on tools, the 2024-11-05
//! HTTP+SSE bridge, the stateless endpoint, the manifest), then independent clients installed
//! into `.tools/` by scripts/install-tools.sh: the MCP Inspector CLI and the Python SDK with a
//! bearer token, `mcp-remote` bridging stdio to the server (Streamable HTTP and SSE), and the
//! official conformance suite with its committed expected-failures baseline. A missing client
//! fails these tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::http_support as support;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Sandbox, node_dir, require, root};
use serde_json::{Value, json};

use support::{Resp, Server};

const SECS: Duration = Duration::from_secs(15);

fn with_node(cmd: &mut Command) -> &mut Command {
    let path = format!(
        "{}:{}",
        node_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.env("PATH", path)
}

struct Fixture {
    sb: Sandbox,
    server: Server,
    write: String,
    read: String,
}

impl Fixture {
    fn new() -> Self {
        let sb = Sandbox::new();
        let write = sb.token("write", "writer");
        let read = sb.token("read", "reader");
        let server = Server::start(&sb, &["--rate-limit", "0"]);
        Self {
            sb,
            server,
            write,
            read,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base())
    }

    /// A JSON-RPC POST to /mcp.
    fn rpc(&self, token: &str, session: Option<&str>, body: &Value) -> Resp {
        self.rpc_at("2025-11-25", token, session, body)
    }

    /// [`Self::rpc`] for a session at protocol revision `version`.
    fn rpc_at(&self, version: &str, token: &str, session: Option<&str>, body: &Value) -> Resp {
        let mut req = self
            .server
            .req()
            .method("POST")
            .path("/mcp")
            .bearer(token)
            .header("Accept", "application/json, text/event-stream")
            .json(body);
        if let Some(s) = session {
            req = req
                .header("Mcp-Session-Id", s)
                .header("MCP-Protocol-Version", version);
        }
        req.send()
    }
}

/// The JSON-RPC message with `id` in an SSE or JSON body.
fn answer(r: &Resp, id: u64) -> Value {
    let text = r.text();
    if r.header("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream"))
    {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|v| v["id"] == id)
            .unwrap_or_else(|| panic!("no answer {id} in {text}"))
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}})
}

fn call(id: u64, tool: &str, args: &Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": args}})
}

#[test]
fn streamable_http_by_hand_auth_origin_session_and_scopes() {
    let f = Fixture::new();
    // No credentials: 401 with the challenge on every MCP endpoint.
    let r = f.rpc("", None, &initialize());
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    for (method, path) in [
        ("GET", "/mcp/sse"),
        ("POST", "/mcp/message"),
        ("POST", "/mcp/tools/list"),
        ("POST", "/mcp/tools/call"),
        ("GET", "/mcp"),
        ("DELETE", "/mcp"),
    ] {
        let r = f.server.req().method(method).path(path).send();
        assert_eq!(r.status, 401, "{method} {path}");
    }
    // Foreign Origin and Host: 403 before any MCP processing.
    let r = f
        .server
        .req()
        .method("POST")
        .path("/mcp")
        .bearer(&f.write)
        .header("Origin", "https://evil.example")
        .json(&initialize())
        .send();
    assert_eq!((r.status, r.code()), (403, "FORBIDDEN_ORIGIN".into()));
    let r = f
        .server
        .req()
        .method("POST")
        .path("/mcp")
        .bearer(&f.write)
        .header("Host", "evil.example")
        .json(&initialize())
        .send();
    assert_eq!((r.status, r.code()), (403, "FORBIDDEN_HOST".into()));

    // A session with a read token.
    let r = f.rpc(&f.read, None, &initialize());
    assert_eq!(r.status, 200, "{}", r.text());
    let session = r.header("mcp-session-id").unwrap().to_owned();
    assert_eq!(answer(&r, 1)["result"]["serverInfo"]["name"], "mcp-orch");
    let r = f.rpc(
        &f.read,
        Some(&session),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    assert_eq!(r.status, 202);
    let r = f.rpc(
        &f.read,
        Some(&session),
        &call(2, "list_available_servers", &json!({"search_query": "git"})),
    );
    let ok = answer(&r, 2);
    assert_eq!(ok["result"]["isError"], false, "{ok}");
    assert_eq!(
        ok["result"]["structuredContent"]["servers"][0]["server_id"],
        "git"
    );
    // Read tokens cannot publish, deploy, roll back or touch keys; the draft tools need write.
    for (i, tool) in [
        "publish_config",
        "deploy_config",
        "rollback_config",
        "initialize_keys",
        "add_server_to_config",
        "clear_draft_config",
    ]
    .iter()
    .enumerate()
    {
        let id = 10 + i as u64;
        let r = f.rpc(
            &f.read,
            Some(&session),
            &call(
                id,
                tool,
                &json!({"client_id": "cursor", "server_id": "memory"}),
            ),
        );
        let a = answer(&r, id);
        assert_eq!(a["result"]["isError"], true, "{tool}: {a}");
        assert_eq!(
            a["result"]["structuredContent"]["code"], "INSUFFICIENT_SCOPE",
            "{tool}"
        );
    }
    // The session is not a credential: the same session id without the token is refused.
    let r = f.rpc("", Some(&session), &call(30, "list_clients", &json!({})));
    assert_eq!(r.status, 401);
    // A write token in its own session may change the draft, but not manage keys.
    let r = f.rpc(&f.write, None, &initialize());
    let ws = r.header("mcp-session-id").unwrap().to_owned();
    f.rpc(
        &f.write,
        Some(&ws),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    let r = f.rpc(
        &f.write,
        Some(&ws),
        &call(
            3,
            "add_server_to_config",
            &json!({"client_id": "cursor", "server_id": "memory"}),
        ),
    );
    assert_eq!(answer(&r, 3)["result"]["isError"], false);
    let r = f.rpc(&f.write, Some(&ws), &call(4, "initialize_keys", &json!({})));
    assert_eq!(
        answer(&r, 4)["result"]["structuredContent"]["code"],
        "INSUFFICIENT_SCOPE"
    );
    // DELETE ends the session; the id is then unknown.
    let r = f
        .server
        .req()
        .method("DELETE")
        .path("/mcp")
        .bearer(&f.write)
        .header("Mcp-Session-Id", &ws)
        .send();
    assert!(r.status == 202 || r.status == 200, "{}", r.status);
    let r = f.rpc(&f.write, Some(&ws), &call(5, "list_clients", &json!({})));
    assert_eq!(r.status, 404);
    // A body over 1 MiB is refused before the handler sees it.
    let big = vec![b' '; 2 * 1024 * 1024];
    let r = f
        .server
        .req()
        .method("POST")
        .path("/mcp")
        .bearer(&f.write)
        .header("Content-Type", "application/json")
        .body(big)
        .send();
    assert_eq!(r.status, 413);
}

#[test]
fn http_sse_bridge_stateless_endpoint_and_convenience_routes() {
    let f = Fixture::new();
    // The 2024-11-05 transport: endpoint event, 202 for POSTs, answers on the stream.
    let mut es = f
        .server
        .req()
        .path("/mcp/sse")
        .bearer(&f.write)
        .open_stream();
    assert_eq!(es.status, 200);
    let endpoint = es.next(SECS).unwrap();
    assert_eq!(endpoint.event, "endpoint");
    assert!(endpoint.data.starts_with("/mcp/message?sessionId="));
    let post = |token: &str, body: &Value| {
        f.server
            .req()
            .method("POST")
            .path(&endpoint.data)
            .bearer(token)
            .json(body)
            .send()
    };
    let mut init = initialize();
    init["params"]["protocolVersion"] = json!("2024-11-05");
    assert_eq!(post(&f.write, &init).status, 202);
    let msg = es.until(SECS, |e| e.event == "message").unwrap();
    let init_answer = msg.last().unwrap().json();
    assert_eq!(init_answer["id"], 1);
    assert_eq!(init_answer["result"]["serverInfo"]["name"], "mcp-orch");
    assert_eq!(
        post(
            &f.write,
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
        )
        .status,
        202
    );
    assert_eq!(
        post(&f.write, &call(2, "list_clients", &json!({}))).status,
        202
    );
    let got = es
        .until(SECS, |e| e.event == "message" && e.json()["id"] == 2)
        .unwrap();
    let result = got.last().unwrap().json();
    assert_eq!(result["result"]["isError"], false);
    assert!(
        result["result"]["structuredContent"]["count"]
            .as_u64()
            .unwrap()
            > 5
    );
    // The session belongs to its opener: another token gets 404, like an unknown session.
    let r = post(&f.read, &call(3, "list_clients", &json!({})));
    assert_eq!((r.status, r.code()), (404, "UNKNOWN_SESSION".into()));
    let r = f
        .server
        .req()
        .method("POST")
        .path("/mcp/message?sessionId=nope")
        .bearer(&f.write)
        .json(&call(3, "list_clients", &json!({})))
        .send();
    assert_eq!(r.status, 404);
    let r = post(&f.write, &json!({"not": "json-rpc"}));
    assert_eq!((r.status, r.code()), (400, "MALFORMED_JSON_RPC".into()));
    drop(es);

    // Stateless: one request, one JSON answer, no session.
    let r = f
        .server
        .req()
        .method("POST")
        .path("/mcp/message")
        .bearer(&f.read)
        .json(&call(
            7,
            "list_available_servers",
            &json!({"transport_filter": "http"}),
        ))
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("mcp-session-id").is_none());
    let a = answer(&r, 7);
    assert_eq!(a["result"]["isError"], false);
    let r = f
        .server
        .req()
        .method("POST")
        .path("/mcp/message")
        .bearer(&f.read)
        .json(&call(8, "deploy_config", &json!({"client_id": "cursor"})))
        .send();
    assert_eq!(
        answer(&r, 8)["result"]["structuredContent"]["code"],
        "INSUFFICIENT_SCOPE"
    );

    // Convenience routes.
    let r = f
        .server
        .req()
        .method("POST")
        .path("/mcp/tools/list")
        .bearer(&f.read)
        .send();
    assert_eq!(r.status, 200);
    let tools: Vec<String> = r.json()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tools.len(), 22);
    let r = f.server.post(
        "/mcp/tools/call",
        &f.read,
        &json!({"name": "describe_server", "arguments": {"server_id": "github"}}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["structuredContent"]["server_id"], "github");
    let r = f.server.post(
        "/mcp/tools/call",
        &f.read,
        &json!({"name": "no_such_tool", "arguments": {}}),
    );
    assert_eq!((r.status, r.code()), (400, "JSONRPC_ERROR".into()));
    let r = f
        .server
        .post("/mcp/tools/call", &f.read, &json!({"arguments": {}}));
    assert_eq!((r.status, r.code()), (400, "MISSING_FIELD".into()));

    // The manifest, from the live tool list, over HTTP (no credentials) and from the CLI.
    let r = f.server.req().path("/.well-known/mcp-server.json").send();
    assert_eq!(r.status, 200);
    let m = r.json();
    let names: Vec<&str> = m["mcp"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, tools);
    assert_eq!(m["capabilities"]["tools"]["count"], 22);
    assert_eq!(m["endpoints"]["http"]["url"], f.url("/mcp"));
    assert_eq!(m["authentication"]["required"], true);
    let out = f.sb.dir_manifest();
    assert_eq!(out["mcp"]["tools"], m["mcp"]["tools"]);
    assert!(out["endpoints"]["http"].is_null());
}

trait ManifestCli {
    fn dir_manifest(&self) -> Value;
}

impl ManifestCli for Sandbox {
    fn dir_manifest(&self) -> Value {
        let path = self.root.join("mcp-server.json");
        self.run(&["manifest", "--out", path.to_str().unwrap()]);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }
}

/// Runs the Inspector CLI against the HTTP endpoint; returns (exit code, JSON output).
fn inspect(f: &Fixture, token: &str, args: &[&str]) -> (i32, Value) {
    let inspector = require(
        &root().join(".tools/inspector/node_modules/.bin/mcp-inspector"),
        "the MCP Inspector (npm @modelcontextprotocol/inspector@2.12.0)",
    );
    let mut cmd = Command::new(inspector);
    cmd.arg("--cli")
        .arg(f.url("/mcp"))
        .args(["--transport", "http"]);
    if !token.is_empty() {
        cmd.args(["--header", &format!("Authorization: Bearer {token}")]);
    }
    cmd.args(args).args(["--format", "json"]);
    let out = with_node(&mut cmd)
        .env("HOME", &f.sb.home)
        .env("MCP_STORAGE_DIR", f.sb.root.join("inspector"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = if out.stdout.is_empty() {
        String::from_utf8_lossy(&out.stderr)
    } else {
        String::from_utf8_lossy(&out.stdout)
    };
    let value: Value = serde_json::from_str(stdout.trim()).unwrap_or(Value::String(stdout.into()));
    // Results come wrapped in `{"result": ...}`.
    let value = value.get("result").cloned().unwrap_or(value);
    (out.status.code().unwrap_or(-1), value)
}

#[test]
fn inspector_cli_over_http_with_a_bearer_token() {
    let f = Fixture::new();
    let (code, init) = inspect(&f, &f.write, &["--method", "initialize"]);
    assert_eq!(code, 0, "{init}");
    let text = init.to_string();
    assert!(
        text.contains("mcp-orch") && text.contains("2025-11-25"),
        "{text}"
    );
    let (code, list) = inspect(&f, &f.read, &["--method", "tools/list"]);
    assert_eq!(code, 0, "{list}");
    assert_eq!(list["tools"].as_array().unwrap().len(), 22);
    let (code, res) = inspect(
        &f,
        &f.read,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "list_available_servers",
            "--tool-arg",
            "search_query=filesystem",
        ],
    );
    assert_eq!(code, 0, "{res}");
    assert_eq!(
        res["structuredContent"]["servers"][0]["server_id"],
        "filesystem"
    );
    let (code, res) = inspect(
        &f,
        &f.read,
        &[
            "--method",
            "resources/read",
            "--uri",
            "capabilities://server",
        ],
    );
    assert_eq!(code, 0, "{res}");
    assert!(res.to_string().contains("mcp-orch"));
    // A read token calling publish: a tool error (exit 5).
    let (code, res) = inspect(
        &f,
        &f.read,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "publish_config",
            "--tool-arg",
            "client_id=cursor",
        ],
    );
    assert_eq!(code, 5, "{res}");
    assert!(res.to_string().contains("INSUFFICIENT_SCOPE"), "{res}");
    // Without a token the Inspector cannot connect.
    let (code, res) = inspect(&f, "", &["--method", "tools/list"]);
    assert_ne!(code, 0, "{res}");
}

fn python(f: &Fixture, args: &[&str], env: &[(&str, &str)]) {
    let py = require(
        &root().join(".tools/py/bin/python"),
        "the Python SDK venv (PyPI mcp==2.3.0)",
    );
    let mut cmd = Command::new(py);
    cmd.arg(root().join("tests/interop/py_http_client.py"))
        .args(args)
        .env("HOME", &f.sb.home)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = with_node(&mut cmd).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        out.status.success() && last.ends_with(" passed, 0 failed"),
        "python client {args:?} failed:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn python_sdk_over_streamable_http_both_eras_and_http_sse() {
    let f = Fixture::new();
    let url = f.url("/mcp");
    python(
        &f,
        &["http", &url, &f.write, &f.read],
        &[("MODE", "legacy")],
    );
    python(&f, &["http", &url, &f.write, &f.read], &[("MODE", "auto")]);
    let sse = f.url("/mcp/sse");
    python(&f, &["sse", &sse, &f.write, &f.read], &[]);
}

#[test]
fn mcp_remote_bridges_stdio_to_the_server() {
    let f = Fixture::new();
    let remote = require(
        &root().join(".tools/mcp-remote/node_modules/.bin/mcp-remote"),
        "mcp-remote (npm mcp-remote@0.15.1)",
    );
    let node = node_dir().join("node");
    for (path, transport, label) in [
        ("/mcp", "http-only", "via-remote-http"),
        ("/mcp/sse", "sse-only", "via-remote-sse"),
    ] {
        let cmd = json!([
            node,
            remote,
            f.url(path),
            "--transport",
            transport,
            "--header",
            format!("Authorization: Bearer {}", f.write),
        ])
        .to_string();
        python(&f, &["stdio", &cmd], &[("LABEL", label)]);
    }
    // What mcp-remote added through the server is in the draft the CLI sees.
    let draft = f.sb.json_ok(&["draft", "show", "--client", "cursor"]);
    let text = draft.to_string();
    assert!(
        text.contains("via-remote-http") && text.contains("via-remote-sse"),
        "{text}"
    );
}

#[test]
fn conformance_suite_passes_every_applicable_scenario() {
    let conformance = require(
        &root().join(".tools/conformance/node_modules/.bin/conformance"),
        "the MCP conformance suite (npm @modelcontextprotocol/conformance@0.1.16)",
    );
    // The suite cannot send credentials: a loopback server with authentication off.
    let sb = Sandbox::new();
    let server = Server::start(&sb, &["--no-auth", "--rate-limit", "0"]);
    let baseline = root().join("tests/interop/conformance-baseline.yml");
    let out_dir = sb.root.join("conformance");
    let mut cmd = Command::new(conformance);
    cmd.arg("server")
        .arg("--url")
        .arg(format!("{}/mcp", server.base()))
        .arg("--expected-failures")
        .arg(&baseline)
        .arg("-o")
        .arg(&out_dir);
    let out = with_node(&mut cmd)
        .env("HOME", &sb.home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "conformance failed (an unlisted failure, or a listed scenario that now passes):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for must_pass in [
        "server-initialize",
        "ping",
        "tools-list",
        "resources-list",
        "prompts-list",
        "logging-set-level",
        "completion-complete",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains(&format!("✓ {must_pass}:"))),
            "{must_pass} did not pass:\n{stdout}"
        );
    }
}

/// Whether an SSE body holds a priming event (an event whose `data` is empty).
fn has_priming_event(text: &str) -> bool {
    text.split("\n\n").any(|event| {
        event
            .lines()
            .any(|l| l.trim_end() == "data:" || l.trim_end() == "data: ")
    })
}

/// Clients before 2025-11-25 (Gemini CLI's SDK negotiates 2025-06-18) parse every `data:` as
/// JSON and drop the server on an empty priming event, so only sessions at 2025-11-25 or later
/// get one, on the `initialize` answer and on later requests alike.
#[test]
fn priming_events_only_for_sessions_at_2025_11_25_or_later() {
    let f = Fixture::new();
    for (version, primed) in [
        ("2025-06-18", false),
        ("2025-03-26", false),
        ("2025-11-25", true),
    ] {
        let mut init = initialize();
        init["params"]["protocolVersion"] = json!(version);
        let r = f.rpc(&f.read, None, &init);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(answer(&r, 1)["result"]["protocolVersion"], version);
        assert_eq!(
            has_priming_event(&r.text()),
            primed,
            "{version}: {}",
            r.text()
        );
        let session = r.header("mcp-session-id").unwrap().to_owned();
        let later = |body: &Value| f.rpc_at(version, &f.read, Some(&session), body);
        let r = later(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        assert_eq!(r.status, 202);
        let r = later(&call(2, "list_clients", &json!({})));
        assert_eq!(answer(&r, 2)["result"]["isError"], false);
        assert_eq!(
            has_priming_event(&r.text()),
            primed,
            "{version}: {}",
            r.text()
        );
    }
}

/// `notifications/message` is opt-in from 2026-07-28 on: a session at that revision gets none
/// unless the request asks in its `_meta`; a 2025-11-25 session gets `info` and above on its
/// GET stream until it calls `logging/setLevel`.
#[test]
fn log_messages_are_opt_in_for_sessions_at_2026_07_28() {
    let f = Fixture::new();
    let open = |version: &str| {
        let mut init = initialize();
        init["params"]["protocolVersion"] = json!(version);
        let r = f.rpc(&f.read, None, &init);
        assert_eq!(r.status, 200, "{}", r.text());
        let session = r.header("mcp-session-id").unwrap().to_owned();
        // (From 2026-07-28 on every message needs `Mcp-Method`; this revision's requests below
        // carry it, and the session serves them without `initialized`.)
        if version < "2026-07-28" {
            let r = f.rpc_at(
                version,
                &f.read,
                Some(&session),
                &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            );
            assert_eq!(r.status, 202);
        }
        session
    };
    let failing = |id: u64| call(id, "get_config", &json!({"client_id": "nope"}));

    let old = open("2025-11-25");
    let mut stream = f
        .server
        .req()
        .path("/mcp")
        .bearer(&f.read)
        .header("Accept", "text/event-stream")
        .header("Mcp-Session-Id", &old)
        .header("MCP-Protocol-Version", "2025-11-25")
        .open_stream();
    let r = f.rpc_at("2025-11-25", &f.read, Some(&old), &failing(2));
    assert_eq!(answer(&r, 2)["result"]["isError"], true);
    assert!(
        stream
            .until(Duration::from_secs(5), |e| e
                .data
                .contains("notifications/message"))
            .is_some()
    );

    let modern = open("2026-07-28");
    let ask = |id: u64, level: Option<&str>| {
        let mut body = failing(id);
        body["params"]["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
        });
        if let Some(level) = level {
            body["params"]["_meta"]["io.modelcontextprotocol/logLevel"] = json!(level);
        }
        let r = f
            .server
            .req()
            .method("POST")
            .path("/mcp")
            .bearer(&f.read)
            .header("Accept", "application/json, text/event-stream")
            .header("Mcp-Session-Id", &modern)
            .header("MCP-Protocol-Version", "2026-07-28")
            .header("Mcp-Method", "tools/call")
            .header("Mcp-Name", "get_config")
            .json(&body)
            .send();
        assert_eq!(answer(&r, id)["result"]["isError"], true, "{}", r.text());
        r.text().contains("notifications/message")
    };
    assert!(
        !ask(3, None),
        "a 2026-07-28 session got a log message it did not ask for"
    );
    assert!(ask(4, Some("warning")));
}

/// A tool call whose HTTP request times out (408) stops: the probe's server process, which
/// never answers, is killed within a second instead of running on for nobody.
#[test]
fn a_timed_out_tool_call_stops_its_tool() {
    let sb = Sandbox::new();
    let token = sb.token("write", "writer");
    let pid_file = sb.root.join("hangs.pid");
    sb.write(
        "state/catalog.toml",
        &format!(
            "[[servers]]\nid = \"hangs\"\nname = \"Hangs\"\ndescription = \"never answers\"\ntransport = \"stdio\"\ncommand = \"sh\"\nargs = [\"-c\", \"echo $$ > {}; exec sleep 60\"]\n",
            pid_file.display()
        ),
    );
    sb.json_ok(&["draft", "add", "hangs", "--client", "cursor"]);
    sb.write("state/server.toml", "[limits]\nrequest_timeout_secs = 1\n");
    let server = Server::start(&sb, &[]);
    let r = server.post(
        "/mcp/tools/call",
        &token,
        &json!({"name": "check_server_health", "arguments": {
            "client_id": "cursor", "server_name": "hangs", "timeout_secs": 30}}),
    );
    assert_eq!(r.status, 408, "{}", r.text());
    let timed_out = std::time::Instant::now();
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.is_empty() || stat.contains(") Z ") {
            break;
        }
        assert!(
            timed_out.elapsed() < Duration::from_secs(1),
            "the probed server still runs: {stat}"
        );
        #[allow(clippy::disallowed_methods)] // polling another process: no event to wait on
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A session's GET stream resumes exactly after `Last-Event-ID`: the priming event's id is
/// not a message's, `Last-Event-ID: N` resends nothing up to N, and a new stream without it
/// does not replay what earlier streams delivered.
#[test]
#[allow(clippy::disallowed_methods)] // waits for the server to notice a closed stream
fn get_stream_resumption_sends_each_event_once() {
    let f = Fixture::new();
    let r = f.rpc(&f.read, None, &initialize());
    let session = r.header("mcp-session-id").unwrap().to_owned();
    let later = |body: &Value| f.rpc(&f.read, Some(&session), body);
    assert_eq!(
        later(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).status,
        202
    );
    // Each failing call logs one warning on the GET stream.
    let mut calls = 10;
    let mut log_one = || {
        calls += 1;
        later(&call(calls, "get_config", &json!({"client_id": "nope"})));
    };
    let open = |last: Option<&str>| {
        let mut req = f
            .server
            .req()
            .path("/mcp")
            .bearer(&f.read)
            .header("Accept", "text/event-stream")
            .header("Mcp-Session-Id", &session)
            .header("MCP-Protocol-Version", "2025-11-25");
        if let Some(id) = last {
            req = req.header("Last-Event-ID", id);
        }
        req.open_stream()
    };
    let ids = |stream: &mut support::EventStream, n: usize| -> Vec<(String, bool)> {
        (0..n)
            .map(|_| {
                let e = stream.next(SECS).expect("an event");
                (
                    e.id.unwrap_or_default(),
                    e.data.contains("notifications/message"),
                )
            })
            .collect()
    };
    let mut first = open(None);
    log_one();
    log_one();
    log_one();
    assert_eq!(
        ids(&mut first, 4),
        [
            ("0".into(), false),
            ("1".into(), true),
            ("2".into(), true),
            ("3".into(), true)
        ]
    );
    drop(first);
    // One more while no stream is open; the server notices the closed stream when it writes.
    log_one();
    std::thread::sleep(Duration::from_millis(300));
    // The client saw up to 2: it gets 3 and 4, once each.
    let mut resumed = open(Some("2"));
    assert_eq!(
        ids(&mut resumed, 2),
        [("3".into(), true), ("4".into(), true)]
    );
    assert!(resumed.next(Duration::from_millis(300)).is_none());
    drop(resumed);
    log_one();
    std::thread::sleep(Duration::from_millis(300));
    // A new stream starts after what was delivered (4): its priming event says so, and only
    // the event sent while no stream was open follows.
    let mut fresh = open(None);
    assert_eq!(
        ids(&mut fresh, 2),
        [("4".into(), false), ("5".into(), true)]
    );
    assert!(fresh.next(Duration::from_millis(300)).is_none());
}

/// A message that gives a key twice in one object means what its parser decides: refused on
/// every JSON-RPC entry point, in a session or not (found by the `jsonrpc` fuzz target).
#[test]
fn messages_with_a_key_given_twice_are_refused() {
    let f = Fixture::new();
    let r = f.rpc(&f.read, None, &initialize());
    let session = r.header("mcp-session-id").unwrap().to_owned();
    let twice = br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"list_clients","name":"get_config","arguments":{}}}"#;
    for (path, session) in [
        ("/mcp", None),
        ("/mcp", Some(session.as_str())),
        ("/mcp/message", None),
    ] {
        let mut req = f
            .server
            .req()
            .method("POST")
            .path(path)
            .bearer(&f.read)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .body(twice.to_vec());
        if let Some(s) = session {
            req = req
                .header("Mcp-Session-Id", s)
                .header("MCP-Protocol-Version", "2025-11-25");
        }
        let r = req.send();
        assert_eq!(
            (r.status, r.code()),
            (400, "MALFORMED_JSON_RPC".into()),
            "{path} {session:?}: {}",
            r.text()
        );
        assert!(r.text().contains("`name` twice"), "{}", r.text());
    }
    let r = f
        .server
        .req()
        .method("POST")
        .path("/mcp/tools/call")
        .bearer(&f.read)
        .header("Content-Type", "application/json")
        .body(br#"{"name":"list_clients","arguments":{},"arguments":{"x":1}}"#.to_vec())
        .send();
    assert_eq!(
        (r.status, r.code()),
        (400, "MALFORMED_JSON".into()),
        "{}",
        r.text()
    );
}

/// Over MCP the plan confirmed is the plan applied: `plan_id` from the dry run, a publish in
/// between, `PLAN_STALE` with the fresh plan; applying that one works, and the audit log names
/// the token, as the REST API does.
#[test]
fn a_stale_plan_is_refused_over_mcp_and_the_audit_names_the_token() {
    let f = Fixture::new();
    f.sb.json_ok(&["keys", "init"]);
    f.sb.json_ok(&["draft", "add", "memory", "--client", "cursor"]);
    f.sb.json_ok(&["publish", "--client", "cursor"]);
    let r = f.rpc(&f.write, None, &initialize());
    let session = r.header("mcp-session-id").unwrap().to_owned();
    let tool = |id: u64, name: &str, args: Value| {
        let r = f.rpc(&f.write, Some(&session), &call(id, name, &args));
        answer(&r, id)["result"].clone()
    };
    let cc = json!({"client_id": "cursor", "profile_id": "default"});
    let plan = tool(2, "deploy_config", cc.clone());
    assert_eq!(plan["structuredContent"]["status"], "dry_run", "{plan}");
    let plan_id = plan["structuredContent"]["plan_id"]
        .as_str()
        .unwrap()
        .to_owned();
    f.sb.json_ok(&["draft", "add", "time", "--client", "cursor"]);
    f.sb.json_ok(&["publish", "--client", "cursor"]);
    let mut confirmed = cc.clone();
    confirmed["confirm"] = json!(true);
    confirmed["plan_id"] = json!(plan_id);
    let stale = tool(3, "deploy_config", confirmed.clone());
    assert_eq!(stale["isError"], true);
    assert_eq!(stale["structuredContent"]["code"], "PLAN_STALE", "{stale}");
    let fresh = &stale["structuredContent"]["details"]["plan"];
    assert_eq!(fresh["version"], 2);
    assert!(
        !f.sb.home.join(".cursor/mcp.json").exists(),
        "nothing was written"
    );
    confirmed["plan_id"] = fresh["plan_id"].clone();
    let done = tool(4, "deploy_config", confirmed);
    assert_eq!(done["structuredContent"]["status"], "deployed", "{done}");
    assert_eq!(done["structuredContent"]["version"], 2);
    let audit = f.sb.json_ok(&["audit", "--action", "deploy"]);
    let actors: Vec<(&str, &str)> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["outcome"].as_str().unwrap(), r["actor"].as_str().unwrap()))
        .collect();
    let writer_id = f.sb.json_ok(&["token", "list"])["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "writer")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let actor = format!("http:token:{writer_id}");
    assert_eq!(actors, [("error", actor.as_str()), ("ok", actor.as_str())]);
}

/// One semantic on every face: a release whose signature fails is an error with the same
/// code from the CLI, the MCP tool and the REST API.
#[test]
fn a_release_that_fails_verification_is_the_same_error_on_every_face() {
    let f = Fixture::new();
    f.sb.json_ok(&["keys", "init"]);
    f.sb.json_ok(&["draft", "add", "memory", "--client", "cursor"]);
    f.sb.json_ok(&["publish", "--client", "cursor", "-m", "honest"]);
    let release =
        f.sb.root
            .join("state/artifacts/releases/cursor/default/00000001.json");
    let text = std::fs::read_to_string(&release).unwrap();
    let tampered = text.replace(r#"\"changelog\":\"honest\""#, r#"\"changelog\":\"evil\""#);
    assert_ne!(text, tampered);
    std::fs::write(&release, tampered).unwrap();

    let cli =
        f.sb.json_err(&["deploy", "--client", "cursor", "--dry-run"], 1);
    assert_eq!(cli["code"], "SIGNATURE_INVALID");
    let rest = f.server.get("/v1/config/cursor/default", &f.write);
    assert_eq!(
        (rest.status, rest.code()),
        (422, "SIGNATURE_INVALID".into())
    );
    let r = f.rpc(&f.write, None, &initialize());
    let session = r.header("mcp-session-id").unwrap().to_owned();
    let r = f.rpc(
        &f.write,
        Some(&session),
        &call(
            2,
            "get_config",
            &json!({"client_id": "cursor", "profile_id": "default"}),
        ),
    );
    let mcp = answer(&r, 2)["result"].clone();
    assert_eq!(mcp["isError"], true);
    assert_eq!(mcp["structuredContent"]["code"], "SIGNATURE_INVALID");
    // The same code, message, field and hint on the three faces (the MCP body always has
    // `details`, `{}` when there are none).
    let rest = rest.json()["error"].clone();
    assert_eq!(cli, rest, "the CLI and REST bodies are the same");
    for key in ["code", "message", "field", "hint"] {
        assert_eq!(mcp["structuredContent"][key], rest[key], "{key}");
    }
}

/// One answer on every face: the status of the same state is the same JSON from `status
/// --json`, the MCP `config_status` tool and `GET /v1/status`, drift included.
#[test]
fn status_is_the_same_json_on_every_face() {
    let f = Fixture::new();
    f.sb.json_ok(&["keys", "init"]);
    for client in ["cursor", "claude-code"] {
        f.sb.json_ok(&["draft", "add", "memory", "--client", client]);
        f.sb.json_ok(&["apply", "--client", client, "--yes"]);
    }
    // Cursor's owned entry changed by hand: drift.
    let file = f.sb.home.join(".cursor/mcp.json");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("server-memory", "server-memory@9")).unwrap();

    let cli = f.sb.json_ok(&["status"]);
    let rest = f.server.get("/v1/status", &f.write);
    assert_eq!(rest.status, 200);
    let r = f.rpc(&f.write, None, &initialize());
    let session = r.header("mcp-session-id").unwrap().to_owned();
    let r = f.rpc(
        &f.write,
        Some(&session),
        &call(2, "config_status", &json!({})),
    );
    let mcp = answer(&r, 2)["result"]["structuredContent"].clone();
    assert_eq!(cli["count"], 2, "{cli}");
    assert_eq!(cli["drift_detected"], true);
    assert_eq!(
        cli["drifted"],
        json!([{"client_id": "cursor", "profile_id": "default"}])
    );
    assert_eq!(cli, rest.json(), "CLI and REST");
    assert_eq!(cli, mcp, "CLI and MCP");
}

/// One answer on every face: a draft is the same JSON from `draft show --json`, the MCP
/// `view_draft_config` tool and `GET /v1/config/{c}/{p}/draft`.
#[test]
fn a_draft_is_the_same_json_on_every_face() {
    let f = Fixture::new();
    f.sb.json_ok(&["draft", "add", "memory", "--client", "cursor"]);
    f.sb.json_ok(&[
        "draft",
        "add",
        "github",
        "--client",
        "cursor",
        "--secret",
        "GITHUB_PERSONAL_ACCESS_TOKEN=ghp_sameonallfaces",
    ]);
    let cli = f.sb.json_ok(&["draft", "show", "--client", "cursor"]);
    let rest = f.server.get("/v1/config/cursor/default/draft", &f.write);
    assert_eq!(rest.status, 200);
    let r = f.rpc(&f.write, None, &initialize());
    let session = r.header("mcp-session-id").unwrap().to_owned();
    let r = f.rpc(
        &f.write,
        Some(&session),
        &call(2, "view_draft_config", &json!({"client_id": "cursor"})),
    );
    let mcp = answer(&r, 2)["result"]["structuredContent"].clone();
    assert_eq!(cli["servers"], json!(["github", "memory"]), "{cli}");
    assert!(cli["draft"]["github"].is_object() && cli["mcpServers"]["github"].is_object());
    assert!(!cli.to_string().contains("ghp_sameonallfaces"));
    assert_eq!(cli, rest.json(), "CLI and REST");
    assert_eq!(cli, mcp, "CLI and MCP");
}

/// One face's way of asking for an operation.
enum Rest<'a> {
    Get(&'a str),
    Post(&'a str, Value),
    Delete(&'a str),
}

/// One answer on every face, for every operation offered on more than one: on the same state,
/// the CLI's `--json`, the MCP tool's `structuredContent` and the REST body are the same JSON.
/// The state is read-only for the queries and the dry runs; a change (add, remove, clear) is
/// made on each face in turn from the same starting state, undone in between.
#[test]
fn every_shared_operation_answers_the_same_json_on_every_face() {
    let f = Fixture::new();
    f.sb.json_ok(&["keys", "init"]);
    f.sb.json_ok(&["draft", "add", "memory", "--client", "cursor"]);
    f.sb.json_ok(&["apply", "--client", "cursor", "--yes", "-m", "first"]);
    f.sb.json_ok(&["draft", "add", "time", "--client", "cursor"]);
    f.sb.json_ok(&["apply", "--client", "cursor", "--yes", "-m", "second"]);
    let r = f.rpc(&f.write, None, &initialize());
    let session = r.header("mcp-session-id").unwrap().to_owned();
    let next_id = std::cell::Cell::new(1_u64);
    let mcp = |tool: &str, args: Value| -> Value {
        next_id.set(next_id.get() + 1);
        let id = next_id.get();
        let r = f.rpc(&f.write, Some(&session), &call(id, tool, &args));
        let result = answer(&r, id)["result"].clone();
        assert_eq!(result["isError"], false, "{tool}: {result}");
        result["structuredContent"].clone()
    };
    let rest = |how: Rest| -> Value {
        let r = match how {
            Rest::Get(path) => f.server.get(path, &f.write),
            Rest::Post(path, body) => f.server.post(path, &f.write, &body),
            Rest::Delete(path) => f.server.delete(path, &f.write),
        };
        assert!(r.status == 200 || r.status == 201, "{}", r.text());
        r.json()
    };
    let cc = json!({"client_id": "cursor", "profile_id": "default"});
    let base = "/v1/config/cursor/default";
    let same = |name: &str, cli: Value, mcp: Value, rest: Value| {
        assert_eq!(cli, mcp, "{name}: CLI and MCP");
        assert_eq!(cli, rest, "{name}: CLI and REST");
    };

    // Queries.
    let queries: Vec<(&str, Vec<&str>, &str, Value, Rest)> = vec![
        (
            "clients",
            vec!["clients"],
            "list_clients",
            json!({}),
            Rest::Get("/v1/clients"),
        ),
        (
            "profiles",
            vec!["profiles", "list", "--client", "cursor"],
            "list_profiles",
            json!({"client_id": "cursor"}),
            Rest::Get("/v1/clients/cursor/profiles"),
        ),
        (
            "search",
            vec!["servers", "search", "git", "--transport", "stdio"],
            "list_available_servers",
            json!({"search_query": "git", "transport_filter": "stdio"}),
            Rest::Get("/v1/servers?search=git&transport=stdio"),
        ),
        (
            "describe",
            vec!["servers", "show", "github"],
            "describe_server",
            json!({"server_id": "github"}),
            Rest::Get("/v1/servers/github"),
        ),
        (
            "draft",
            vec!["draft", "show", "--client", "cursor"],
            "view_draft_config",
            cc.clone(),
            Rest::Get("/v1/config/cursor/default/draft"),
        ),
        (
            "validate",
            vec!["validate", "--client", "cursor"],
            "validate_config",
            cc.clone(),
            Rest::Post("/v1/config/cursor/default/validate", json!({})),
        ),
        (
            "diff",
            vec!["diff", "--client", "cursor"],
            "diff_config",
            cc.clone(),
            Rest::Get("/v1/config/cursor/default/diff"),
        ),
        (
            "history",
            vec!["history", "--client", "cursor"],
            "get_config_history",
            cc.clone(),
            Rest::Get("/v1/config/cursor/default/history"),
        ),
        (
            "status",
            vec!["status", "--client", "cursor"],
            "config_status",
            json!({"client_id": "cursor"}),
            Rest::Get("/v1/status?client=cursor"),
        ),
        (
            "audit",
            vec!["audit", "--client", "cursor", "--action", "publish"],
            "get_audit_log",
            json!({"client_id": "cursor", "action": "publish"}),
            Rest::Get("/v1/audit?client=cursor&action=publish"),
        ),
        (
            "deploy plan",
            vec!["deploy", "--client", "cursor", "--dry-run"],
            "deploy_config",
            cc.clone(),
            Rest::Post("/v1/config/cursor/default/deploy", json!({"dry_run": true})),
        ),
        (
            "rollback plan",
            vec!["rollback", "--client", "cursor", "--dry-run"],
            "rollback_config",
            cc.clone(),
            Rest::Post(
                "/v1/config/cursor/default/rollback",
                json!({"dry_run": true}),
            ),
        ),
        (
            "apply plan",
            vec!["apply", "--client", "cursor", "--dry-run"],
            "apply_config",
            cc.clone(),
            Rest::Post("/v1/config/cursor/default/apply", json!({"dry_run": true})),
        ),
        (
            "undeploy plan",
            vec!["undeploy", "--client", "cursor", "--dry-run"],
            "undeploy_config",
            cc.clone(),
            Rest::Post(
                "/v1/config/cursor/default/undeploy",
                json!({"dry_run": true}),
            ),
        ),
    ];
    for (name, cli, tool, args, how) in queries {
        same(name, f.sb.json_ok(&cli), mcp(tool, args), rest(how));
    }
    // The audit chain's check: the CLI's and REST's report is the MCP tool's `verification`.
    same(
        "audit verify",
        f.sb.json_ok(&["audit", "--verify"]),
        mcp("get_audit_log", json!({"verify": true, "limit": 0}))["verification"].clone(),
        rest(Rest::Get("/v1/audit/verify")),
    );
    // The release in full (CLI: `history` lists it; `show` is the artifact across clients).
    let got_mcp = mcp("get_config", cc.clone());
    assert_eq!(got_mcp, rest(Rest::Get(base)), "get_config: MCP and REST");
    assert_eq!(got_mcp["version"], 2);

    // Changes, each made on every face from the same state.
    let add_args = json!({"client_id": "cursor", "server_id": "fetch"});
    let added = [
        f.sb.json_ok(&["draft", "add", "fetch", "--client", "cursor"]),
        {
            f.sb.json_ok(&["draft", "remove", "fetch", "--client", "cursor"]);
            mcp("add_server_to_config", add_args)
        },
        {
            f.sb.json_ok(&["draft", "remove", "fetch", "--client", "cursor"]);
            rest(Rest::Post(
                &format!("{base}/draft/add"),
                json!({"server_id": "fetch"}),
            ))
        },
    ];
    let removed = [
        f.sb.json_ok(&["draft", "remove", "fetch", "--client", "cursor"]),
        {
            f.sb.json_ok(&["draft", "add", "fetch", "--client", "cursor"]);
            mcp(
                "remove_server_from_config",
                json!({"client_id": "cursor", "server_name": "fetch"}),
            )
        },
        {
            f.sb.json_ok(&["draft", "add", "fetch", "--client", "cursor"]);
            rest(Rest::Post(
                &format!("{base}/draft/remove"),
                json!({"server_name": "fetch"}),
            ))
        },
    ];
    for (name, [cli, mcp, rest]) in [("add", added), ("remove", removed)] {
        same(name, cli, mcp, rest);
    }
    let cleared_empty = |face: &str| -> Value {
        match face {
            "cli" => f.sb.json_ok(&["draft", "clear", "--client", "vscode"]),
            "mcp" => mcp("clear_draft_config", json!({"client_id": "vscode"})),
            _ => rest(Rest::Delete("/v1/config/vscode/default/draft")),
        }
    };
    same(
        "clear",
        cleared_empty("cli"),
        cleared_empty("mcp"),
        cleared_empty("rest"),
    );

    // Publish: the same draft on each face; only the moment (version, time) differs.
    f.sb.json_ok(&["draft", "add", "memory", "--client", "vscode"]);
    let moment_free = |mut v: Value| {
        let object = v.as_object_mut().unwrap();
        assert!(object.remove("version").is_some() && object.remove("created_at").is_some());
        v
    };
    same(
        "publish",
        moment_free(f.sb.json_ok(&["publish", "--client", "vscode", "-m", "same"])),
        moment_free(mcp(
            "publish_config",
            json!({"client_id": "vscode", "changelog": "same"}),
        )),
        moment_free(rest(Rest::Post(
            "/v1/config/vscode/default/publish",
            json!({"changelog": "same"}),
        ))),
    );

    // Import (CLI and MCP): the same file into an empty draft.
    f.sb.write(
        "home/.codeium/windsurf/mcp_config.json",
        r#"{"mcpServers": {"hand": {"command": "node", "args": ["srv.js"]}}}"#,
    );
    let cli = f.sb.json_ok(&["import", "--client", "windsurf"]);
    f.sb.json_ok(&["draft", "clear", "--client", "windsurf"]);
    assert_eq!(
        cli,
        mcp("import_client_config", json!({"client_id": "windsurf"})),
        "import: CLI and MCP"
    );

    // Health (CLI and MCP): a server that cannot start, as the client would start it; only
    // the time each probe took differs.
    f.sb.write(
        "home/.codeium/windsurf/mcp_config.json",
        r#"{"mcpServers": {"gone": {"command": "no-such-command-for-mcp-orch"}}}"#,
    );
    let timeless = |mut v: Value| {
        for probe in v["probes"].as_array_mut().unwrap() {
            let probe = probe.as_object_mut().unwrap();
            assert!(probe.remove("latency_ms").is_some());
            probe.remove("initialize_ms");
        }
        v
    };
    let run = f.sb.run(&["--json", "probe", "--as-client", "windsurf"]);
    assert_eq!(run.code, 1, "{run}");
    let cli = run.json();
    assert_eq!(cli["probes"][0]["error_code"], "COMMAND_NOT_FOUND", "{cli}");
    assert_eq!(
        timeless(cli),
        timeless(mcp(
            "check_server_health",
            json!({"client_id": "windsurf", "as_client": true}),
        )),
        "health: CLI and MCP"
    );

    // An error is the same body on every face but for the hint's spelling: here the key
    // exists, and the hint names `keys rotate` in each face's terms.
    let cli = f.sb.json_err(&["keys", "init"], 1);
    let admin = f.sb.token("admin", "admin");
    let r = f.rpc(&admin, None, &initialize());
    let admin_session = r.header("mcp-session-id").unwrap().to_owned();
    let r = f.rpc(
        &admin,
        Some(&admin_session),
        &call(99, "initialize_keys", &json!({})),
    );
    let mcp_error = answer(&r, 99)["result"]["structuredContent"].clone();
    let rest_error = f.server.post_empty("/v1/keys/initialize", &admin);
    assert_eq!(rest_error.status, 409);
    let rest_error = rest_error.json()["error"].clone();
    let hints: Vec<String> = [&cli, &mcp_error, &rest_error]
        .iter()
        .map(|e| e["hint"].as_str().unwrap().to_owned())
        .collect();
    assert!(hints[0].contains("`mcp-orch keys rotate`"), "{hints:?}");
    assert!(hints[1].contains("`initialize_keys` tool"), "{hints:?}");
    assert!(hints[2].contains("`POST /v1/keys/initialize`"), "{hints:?}");
    let without_hint = |mut e: Value| {
        e.as_object_mut().unwrap().remove("hint");
        e
    };
    assert_eq!(cli["code"], "KEY_EXISTS");
    same(
        "error",
        without_hint(cli),
        without_hint(mcp_error),
        without_hint(rest_error),
    );
}
