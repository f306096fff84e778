//! `mcp-orch serve` over stdio, driven by independent clients: the MCP Inspector CLI
//! (`@modelcontextprotocol/inspector` 2.12.0 on Node 22) and the Python SDK (`mcp` 2.3.0), both
//! installed into `.tools/` by `scripts/test-all.sh`. A missing client fails these tests: they
//! never skip. Every run uses a temporary HOME and `MCP_ORCH_HOME`.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{node_dir, require, root};

fn inspector() -> PathBuf {
    require(
        &root().join(".tools/inspector/node_modules/.bin/mcp-inspector"),
        "the MCP Inspector (npm @modelcontextprotocol/inspector@2.12.0)",
    )
}

fn python() -> PathBuf {
    require(
        &root().join(".tools/py/bin/python"),
        "the Python SDK venv (PyPI mcp==2.3.0)",
    )
}

/// The binary under test. (It used to be copied into a temp directory held by a static, which
/// is never dropped: every test process left a 300 MB copy behind in /tmp.)
fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_mcp-orch"))
}

/// A temporary home with a Cursor file holding one hand-written server.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("cursor")).unwrap();
        std::fs::write(
            dir.path().join("cursor/mcp.json"),
            serde_json::to_string_pretty(&json!({
                "mcpServers": { "handmade": { "command": "node", "args": ["server.js"] } }
            }))
            .unwrap(),
        )
        .unwrap();
        Self { dir }
    }

    fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).display().to_string()
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("HOME".into(), self.path("home")),
            ("MCP_ORCH_HOME".into(), self.path("orch")),
            (
                "MCP_ORCH_CLIENT_PATH_CURSOR".into(),
                self.path("cursor/mcp.json"),
            ),
            ("MCP_ORCH_LOG".into(), "error".into()),
        ]
    }

    /// Runs the Inspector CLI with `args`; returns its exit code and parsed JSON output.
    fn inspect(&self, args: &[&str]) -> (i32, Value) {
        let mut cmd = Command::new(inspector());
        cmd.arg("--cli").args(args).args(["--format", "json"]);
        for (k, v) in self.env() {
            cmd.arg("-e").arg(format!("{k}={v}"));
        }
        cmd.arg("--").arg(bin()).arg("serve");
        let path = format!(
            "{}:{}",
            node_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = cmd
            .env("PATH", path)
            .env("HOME", self.path("home"))
            .env("MCP_STORAGE_DIR", self.path("inspector"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        // Results go to stdout; protocol errors come as an error envelope on stderr.
        let stdout = if out.stdout.is_empty() {
            String::from_utf8_lossy(&out.stderr)
        } else {
            String::from_utf8_lossy(&out.stdout)
        };
        let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "inspector {args:?}: not JSON ({e}): {stdout}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), value)
    }

    /// Calls a tool through the Inspector; returns (exit code, isError, structuredContent).
    /// The result goes through `--output`, which holds the whole result even for a tool error
    /// (exit code 5), where stdout only gets an error envelope.
    fn tool(&self, name: &str, args: &Value) -> (i32, bool, Value) {
        let file = self.path("tool-result.json");
        let _ = std::fs::remove_file(&file);
        let json_args = args.to_string();
        let (code, _) = self.inspect(&[
            "--method",
            "tools/call",
            "--tool-name",
            name,
            "--tool-args-json",
            &json_args,
            "--output",
            &file,
        ]);
        let result: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let is_error = result["isError"].as_bool().unwrap_or(false);
        // The text block carries the same JSON as structuredContent.
        let text: Value =
            serde_json::from_str(result["content"][0]["text"].as_str().unwrap_or("null"))
                .unwrap_or(Value::Null);
        assert_eq!(
            text, result["structuredContent"],
            "{name}: text and structuredContent differ"
        );
        (code, is_error, result["structuredContent"].clone())
    }
}

fn assert_error(got: &(i32, bool, Value), code: &str, field: Option<&str>) {
    let (exit, is_error, body) = got;
    assert_eq!(
        (*exit, *is_error),
        (5, true),
        "expected a tool error: {body}"
    );
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(
        body.get("field").and_then(Value::as_str),
        field,
        "field of {body}"
    );
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut want = vec!["code", "details", "hint", "message"];
    if field.is_some() {
        want.push("field");
    }
    // The steps the hint names, as data, when it names any.
    if let Some(next) = body.get("next") {
        assert!(next.as_array().is_some_and(|n| !n.is_empty()), "{body}");
        want.push("next");
    }
    want.sort_unstable();
    assert_eq!(keys, want, "{body}");
}

#[test]
fn inspector_cli_covers_every_tool_resource_and_prompt() {
    let f = Fixture::new();
    let cursor_file = f.path("cursor/mcp.json");

    let (code, out) = f.inspect(&["--method", "tools/list"]);
    assert_eq!(code, 0);
    let names: Vec<&str> = out["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "list_clients",
            "list_profiles",
            "get_config",
            "diff_config",
            "list_available_servers",
            "describe_server",
            "add_server_to_config",
            "remove_server_from_config",
            "view_draft_config",
            "clear_draft_config",
            "publish_config",
            "initialize_keys",
            "validate_config",
            "deploy_config",
            "apply_config",
            "undeploy_config",
            "get_config_history",
            "get_audit_log",
            "config_status",
            "rollback_config",
            "check_server_health",
            "import_client_config"
        ]
    );
    let remove = &out["result"]["tools"][7];
    assert_eq!(
        remove["annotations"],
        json!({"title": "Remove a server from the draft", "readOnlyHint": false, "destructiveHint": true, "idempotentHint": false, "openWorldHint": false})
    );

    // list_clients
    let ok = f.tool("list_clients", &json!({}));
    assert_eq!((ok.0, ok.1), (0, false));
    let cursor = ok.2["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "cursor")
        .unwrap()
        .clone();
    assert_eq!(cursor["config_location"], cursor_file);
    assert_eq!(cursor["server_count"], 1);
    assert_error(
        &f.tool("list_clients", &json!({"extra": true})),
        "INVALID_ARGUMENTS",
        Some("extra"),
    );

    // list_profiles
    let ok = f.tool("list_profiles", &json!({"client_id": "cursor"}));
    assert_eq!(ok.2["count"], 1);
    assert_eq!(ok.2["profiles"][0]["profile_id"], "default");
    assert_eq!(ok.2["profiles"][0]["target_path"], cursor_file);
    let err = f.tool("list_profiles", &json!({"client_id": "nope"}));
    assert_error(&err, "UNKNOWN_CLIENT", Some("client_id"));
    assert_eq!(err.2["details"]["client"], "nope");

    // list_available_servers: both filters at once
    let ok = f.tool(
        "list_available_servers",
        &json!({"search_query": "github", "transport_filter": "http"}),
    );
    let ids: Vec<&str> = ok.2["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["server_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"github-remote") && !ids.contains(&"github"),
        "{ids:?}"
    );
    assert!(
        ok.2["servers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["transport"] == "http")
    );
    assert_error(
        &f.tool(
            "list_available_servers",
            &json!({"transport_filter": "smoke"}),
        ),
        "INVALID_TRANSPORT",
        Some("transport_filter"),
    );

    // describe_server
    let ok = f.tool("describe_server", &json!({"server_id": "github"}));
    assert_eq!(
        ok.2["env_vars"]["required"][0]["name"],
        "GITHUB_PERSONAL_ACCESS_TOKEN"
    );
    assert_eq!(ok.2["env_vars"]["required"][0]["secret"], true);
    let err = f.tool("describe_server", &json!({"server_id": "githb"}));
    assert_error(&err, "UNKNOWN_SERVER", Some("server_id"));
    assert_eq!(
        err.2["details"],
        json!({"server_id": "githb", "suggestions": ["github", "github-remote"]})
    );

    // add_server_to_config (params as a JSON string, the Claude Desktop way)
    let ok = f.tool(
        "add_server_to_config",
        &json!({"server_id": "filesystem", "client_id": "cursor", "params": "{\"path\": \"/srv/code\"}"}),
    );
    assert_eq!(
        (
            ok.1,
            &ok.2["status"],
            &ok.2["server_name"],
            &ok.2["server_count"]
        ),
        (false, &json!("added"), &json!("filesystem"), &json!(1))
    );
    assert_eq!(
        ok.2["server"]["args"],
        json!(["-y", "@modelcontextprotocol/server-filesystem", "/srv/code"])
    );
    assert_error(
        &f.tool(
            "add_server_to_config",
            &json!({"server_id": "filesystem", "client_id": "cursor", "server_name": "other"}),
        ),
        "MISSING_REQUIRED_PARAM",
        Some("params.path"),
    );

    // view_draft_config
    let ok = f.tool("view_draft_config", &json!({"client_id": "cursor"}));
    assert_eq!(
        (&ok.2["servers"], &ok.2["server_count"], &ok.2["revision"]),
        (&json!(["filesystem"]), &json!(1), &json!(1))
    );
    assert_error(
        &f.tool(
            "view_draft_config",
            &json!({"client_id": "cursor", "profile_id": "nope"}),
        ),
        "UNKNOWN_PROFILE",
        Some("profile_id"),
    );

    // validate_config
    let ok = f.tool("validate_config", &json!({"client_id": "cursor"}));
    assert_eq!(
        (
            &ok.2["client_id"],
            &ok.2["profile_id"],
            &ok.2["server_count"]
        ),
        (&json!("cursor"), &json!("default"), &json!(1))
    );
    assert_error(
        &f.tool("validate_config", &json!({"client_id": 7})),
        "INVALID_ARGUMENTS",
        Some("arguments"),
    );

    // diff_config
    let ok = f.tool("diff_config", &json!({"client_id": "cursor"}));
    assert_eq!(
        (
            &ok.2["status"],
            &ok.2["diff"]["servers_added"],
            &ok.2["path"]
        ),
        (
            &json!("outdated"),
            &json!(["filesystem"]),
            &json!(cursor_file)
        )
    );
    assert_error(
        &f.tool(
            "diff_config",
            &json!({"client_id": "cursor", "local_payload": "[1]"}),
        ),
        "INVALID_ARGUMENTS",
        Some("local_payload"),
    );

    // import_client_config
    let ok = f.tool("import_client_config", &json!({"client_id": "cursor"}));
    assert_eq!(
        (&ok.2["imported"], &ok.2["server_count"]),
        (&json!(["handmade"]), &json!(2))
    );
    assert_error(
        &f.tool("import_client_config", &json!({"client_id": "zz"})),
        "UNKNOWN_CLIENT",
        Some("client_id"),
    );

    // remove_server_from_config
    let ok = f.tool(
        "remove_server_from_config",
        &json!({"server_name": "handmade", "client_id": "cursor"}),
    );
    assert_eq!(ok.2["servers"], json!(["filesystem"]));
    assert_error(
        &f.tool(
            "remove_server_from_config",
            &json!({"server_name": "handmade", "client_id": "cursor"}),
        ),
        "SERVER_NOT_IN_DRAFT",
        Some("server_name"),
    );

    // clear_draft_config
    let ok = f.tool("clear_draft_config", &json!({"client_id": "cursor"}));
    assert_eq!(
        ok.2,
        json!({"status": "cleared", "client_id": "cursor", "profile_id": "default", "previous_count": 1})
    );
    assert_error(
        &f.tool(
            "clear_draft_config",
            &json!({"client_id": "cursor", "profile_id": "x y"}),
        ),
        "UNKNOWN_PROFILE",
        Some("profile_id"),
    );

    // publish, deploy, status, rollback, history, audit, get_config
    let cc = json!({"client_id": "cursor"});
    f.tool(
        "add_server_to_config",
        &json!({"server_id": "memory", "client_id": "cursor"}),
    );
    assert_error(&f.tool("publish_config", &cc), "KEY_NOT_FOUND", Some("key"));
    let ok = f.tool("initialize_keys", &json!({}));
    assert_eq!((ok.1, &ok.2["status"]), (false, &json!("initialized")));
    assert_error(
        &f.tool("initialize_keys", &json!({})),
        "KEY_EXISTS",
        Some("key"),
    );
    let ok = f.tool(
        "publish_config",
        &json!({"client_id": "cursor", "changelog": "v1"}),
    );
    assert_eq!(
        (&ok.2["status"], &ok.2["version"]),
        (&json!("published"), &json!(1))
    );
    let dry = f.tool("deploy_config", &cc);
    assert_eq!(
        (&dry.2["status"], &dry.2["changed"]),
        (&json!("dry_run"), &json!(false))
    );
    let ok = f.tool(
        "deploy_config",
        &json!({"client_id": "cursor", "confirm": true}),
    );
    assert_eq!(
        (&ok.2["status"], &ok.2["changed"]),
        (&json!("deployed"), &json!(true))
    );
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(&cursor_file).unwrap()).unwrap();
    assert_eq!(file["mcpServers"]["memory"]["command"], "npx");
    assert_eq!(file["mcpServers"]["handmade"]["command"], "node");
    assert_error(
        &f.tool(
            "deploy_config",
            &json!({"client_id": "cursor", "artifact_id": "zz"}),
        ),
        "INVALID_ARTIFACT_ID",
        Some("artifact_id"),
    );
    let ok = f.tool("config_status", &cc);
    assert_eq!(ok.2["targets"][0]["drift"], "in_sync");
    assert_error(
        &f.tool("config_status", &json!({"client_id": "nope"})),
        "UNKNOWN_CLIENT",
        Some("client_id"),
    );
    let ok = f.tool("get_config_history", &cc);
    assert_eq!(ok.2["total"], 1);
    assert_error(
        &f.tool(
            "get_config_history",
            &json!({"client_id": "cursor", "limit": -2}),
        ),
        "INVALID_ARGUMENTS",
        Some("limit"),
    );
    let ok = f.tool("get_config", &cc);
    assert_eq!(
        (&ok.2["version"], &ok.2["verified"]),
        (&json!(1), &json!(true))
    );
    assert_error(
        &f.tool("get_config", &json!({"client_id": "vscode"})),
        "ARTIFACT_NOT_FOUND",
        Some("artifact_id"),
    );
    let ok = f.tool(
        "get_audit_log",
        &json!({"client_id": "cursor", "verify": true}),
    );
    assert_eq!(ok.2["verification"]["ok"], true);
    assert_error(
        &f.tool("get_audit_log", &json!({"client_id": "nope"})),
        "UNKNOWN_CLIENT",
        Some("client_id"),
    );
    let dry = f.tool("rollback_config", &cc);
    assert_error(&dry, "NO_EARLIER_ARTIFACT", Some("steps"));
    let ok = f.tool(
        "rollback_config",
        &json!({"client_id": "cursor", "artifact_id": ok_artifact(&f), "confirm": true}),
    );
    assert_eq!(
        (&ok.2["status"], &ok.2["version"]),
        (&json!("rolled_back"), &json!(1))
    );
    f.tool("clear_draft_config", &cc);

    // resources
    let (code, out) = f.inspect(&["--method", "resources/list"]);
    assert_eq!(code, 0);
    let uris: Vec<&str> = out["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        uris,
        [
            "capabilities://server",
            "capabilities://clients",
            "server://registry",
            "config://cursor/default/draft",
            "config://cursor/default/latest",
            "config://cursor/default/deployed",
            "audit://cursor/default"
        ]
    );
    let (_, out) = f.inspect(&["--method", "resources/templates/list"]);
    let templates: Vec<&str> = out["result"]["resourceTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uriTemplate"].as_str().unwrap())
        .collect();
    assert_eq!(
        templates,
        [
            "server://{server_id}",
            "config://{client_id}/{profile_id}/draft",
            "config://{client_id}/{profile_id}/latest",
            "config://{client_id}/{profile_id}/deployed",
            "audit://{client_id}/{profile_id}"
        ]
    );
    for (uri, pointer, want) in [
        ("capabilities://server", "/name", json!("mcp-orch")),
        (
            "capabilities://clients",
            "/clients/2/client_id",
            json!("cursor"),
        ),
        ("server://registry", "/servers/0/id", json!("atlassian")),
        ("server://memory", "/id", json!("memory")),
        ("config://cursor/default/draft", "/server_count", json!(0)),
        ("config://cursor/default/latest", "/version", json!(1)),
        (
            "config://cursor/default/deployed",
            "/deployed_version",
            json!(1),
        ),
        (
            "audit://cursor/default",
            "/records/0/action",
            json!("publish"),
        ),
    ] {
        let (code, out) = f.inspect(&["--method", "resources/read", "--uri", uri]);
        assert_eq!(code, 0, "{uri}: {out}");
        let content = &out["result"]["contents"][0];
        assert_eq!(content["mimeType"], "application/json");
        let body: Value = serde_json::from_str(content["text"].as_str().unwrap()).unwrap();
        assert_eq!(body.pointer(pointer), Some(&want), "{uri}{pointer}");
    }
    let (code, out) = f.inspect(&["--method", "resources/read", "--uri", "server://nope"]);
    assert_ne!(code, 0, "{out}");
    assert_eq!(
        out["error"]["message"],
        "server://nope: unknown server `nope`: it is not in the catalog"
    );

    // prompts
    let (_, out) = f.inspect(&["--method", "prompts/list"]);
    let prompts: Vec<&str> = out["result"]["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        prompts,
        ["setup_client", "troubleshoot_config", "migrate_config"]
    );
    for name in prompts {
        let (code, out) = f.inspect(&[
            "--method",
            "prompts/get",
            "--prompt-name",
            name,
            "--prompt-args",
            "client_id=cursor",
        ]);
        assert_eq!(code, 0, "{name}: {out}");
        let text = out["result"]["messages"][0]["content"]["text"]
            .as_str()
            .unwrap();
        assert!(text.contains("`cursor`"), "{name}: {text}");
    }
    let (code, out) = f.inspect(&["--method", "prompts/get", "--prompt-name", "setup_client"]);
    assert_ne!(code, 0);
    assert_eq!(
        out["error"]["message"],
        "prompt `setup_client` needs the argument `client_id`"
    );
}

/// The artifact id of the latest release of cursor/default.
fn ok_artifact(f: &Fixture) -> String {
    let ok = f.tool("get_config", &json!({"client_id": "cursor"}));
    ok.2["artifact_id"].as_str().unwrap().to_owned()
}

fn run_python(mode: &str) {
    let out = Command::new(python())
        .arg(root().join("tests/interop/py_client.py"))
        .arg(bin())
        .env("MODE", mode)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        out.status.success() && last.ends_with(" passed, 0 failed"),
        "python client ({mode}) failed:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every result was checked against its tool's outputSchema (see `call` in py_client.py).
    assert!(
        stdout.contains(&format!(
            "ok   {mode} output schema get_config refuses an empty object"
        )),
        "{stdout}"
    );
}

#[test]
fn python_sdk_legacy_session() {
    run_python("legacy");
}

#[test]
fn python_sdk_modern_session() {
    run_python("auto");
}

/// stdout carries only JSON-RPC, and the server exits 0 when stdin closes.
#[test]
fn stdout_is_protocol_only_and_eof_ends_the_server() {
    let f = Fixture::new();
    let mut child = Command::new(bin())
        .arg("serve")
        .envs(f.env())
        .env("MCP_ORCH_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    writeln!(stdin, "{init}").unwrap();
    writeln!(
        stdin,
        "{}",
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
    )
    .unwrap();
    writeln!(
        stdin,
        "{}",
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_clients", "arguments": {}}})
    )
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["id"], 1);
    assert_eq!(first["result"]["serverInfo"]["name"], "mcp-orch");
    let second: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(second["id"], 2);
    assert_eq!(second["result"]["isError"], false);
    drop(stdin);
    let start = Instant::now();
    for line in lines {
        let line = line.unwrap();
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("non-JSON on stdout: {line}"));
        assert_eq!(v["jsonrpc"], "2.0");
    }
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(start.elapsed() < Duration::from_secs(5));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!stderr.is_empty(), "debug logs go to stderr");
}

/// Logs never hold a secret value, at any level: a secret passed to a tool at `debug` (rmcp logs
/// every message it receives there) stays out of the log file, which is 0600.
#[test]
fn debug_logs_hold_no_secret_values_and_the_file_is_private() {
    let f = Fixture::new();
    let log = PathBuf::from(f.path("serve.log"));
    let mut child = Command::new(bin())
        .args(["serve", "--log-file"])
        .arg(&log)
        .envs(f.env())
        .env("MCP_ORCH_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let secret = "ghp_secretthatmustnotbelogged123";
    for message in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "add_server_to_config",
            "arguments": {"server_id": "github", "client_id": "cursor",
                          "env_vars": {"GITHUB_PERSONAL_ACCESS_TOKEN": secret}}}}),
    ] {
        writeln!(stdin, "{message}").unwrap();
    }
    let added = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .find(|v| v["id"] == 2)
        .unwrap();
    assert_eq!(added["result"]["isError"], false, "{added}");
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.is_empty(), "trace logs were written");
    assert!(!text.contains(secret), "a secret value reached the log");
    assert_eq!(crate::common::mode(&log) & 0o777, 0o600);
}
