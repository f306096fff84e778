//! The one-shot CLI end to end, through the real binary: every subcommand, its `--json` shape,
//! exact exit codes (0 ok, 1 user or validation error, 2 internal error) and exact error codes,
//! persistence across processes, concurrency, the secret store's privacy, and the rendering of
//! remote servers for bridged and native clients.
//!
//! Every test runs in its own sandbox (see `common`): the binary never sees the real home.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use clap::CommandFactory;
use mcp_orch::core::catalog::Catalog;
use serde_json::{Value, json};

use common::{REDACTED, Run, Sandbox, apply_unified, launcher_path, strings};

/// Sandbox paths and the launcher path replaced by placeholders, for snapshots.
fn redact_paths(sb: &Sandbox, text: &str) -> String {
    text.replace(&launcher_path(), "[LAUNCHER]")
        .replace(&sb.root.display().to_string(), "[SANDBOX]")
}

fn catalog() -> Catalog {
    Catalog::load(Path::new("/nonexistent/mcp-orch/catalog.toml")).unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["server_id"].as_str().unwrap().to_owned())
        .collect()
}

fn client<'a>(clients: &'a Value, id: &str) -> &'a Value {
    clients["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == id)
        .unwrap_or_else(|| panic!("no client {id}"))
}

/// The value the launcher gives `{secret:NAME}`: proves what the secret store holds without any
/// command printing it.
fn stored_secret(sb: &Sandbox, name: &str) -> Run {
    sb.run(&[
        "run",
        "probe",
        "--env",
        &format!("PROBE_VALUE={{secret:{name}}}"),
        "--",
        "sh",
        "-c",
        "printf %s \"$PROBE_VALUE\"",
    ])
}

fn assert_stored_secret(sb: &Sandbox, name: &str, value: &str) {
    let run = stored_secret(sb, name);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.stdout, value);
}

/// The client file a deploy would write into an empty place: the diff applied to nothing.
fn new_file(sb: &Sandbox, client: &str) -> Value {
    let plan = sb.json_ok(&["diff", "--client", client]);
    serde_json::from_str(&apply_unified("", plan["unified_diff"].as_str().unwrap())).unwrap()
}

/// The draft file as stored on disk.
fn draft_file(sb: &Sandbox, client: &str, profile: &str) -> std::path::PathBuf {
    sb.state
        .join("drafts")
        .join(client)
        .join(format!("{profile}.json"))
}

// ---- clients ---------------------------------------------------------------------------------

#[test]
fn clients_json_reports_detection_paths_candidates_counts_and_profiles() {
    let sb = Sandbox::new();
    // Claude Code's second candidate (~/.claude.json) exists; the first ($CLAUDE_CONFIG_DIR) not.
    sb.write(
        "home/.claude.json",
        r#"{"numStartups": 3, "mcpServers": {"a": {"command": "x"}, "b": {"url": "https://b.example/mcp"}}}"#,
    );
    sb.json_ok(&["profiles", "create", "work", "--client", "claude-code"]);

    let all = sb.json_ok(&["clients"]);
    assert_eq!(all["count"], 28);
    assert_eq!(all["clients"].as_array().unwrap().len(), 28);

    let home = sb.home.display().to_string();
    let code = client(&all, "claude-code");
    assert_eq!(
        *code,
        json!({
            "client_id": "claude-code",
            "display_name": "Claude Code",
            "config_format": "json",
            "config_location": format!("{home}/.claude.json"),
            "detected": true,
            "server_count": 2,
            "available_profiles": ["default", "work"],
            "remote_support": "native",
            "project_scope": true,
            "candidates": [
                {"path": format!("{home}/.claude/.claude.json"), "exists": false},
                {"path": format!("{home}/.claude.json"), "exists": true},
            ],
        })
    );

    let cursor = client(&all, "cursor");
    assert_eq!(cursor["detected"], false);
    assert_eq!(
        cursor["config_location"],
        json!(format!("{home}/.cursor/mcp.json"))
    );
    assert_eq!(
        cursor["candidates"],
        json!([{"path": format!("{home}/.cursor/mcp.json"), "exists": false}])
    );
    assert_eq!(cursor["server_count"], Value::Null);
    assert!(cursor.get("error").is_none());
    assert_eq!(cursor["available_profiles"], json!(["default"]));

    let desktop = client(&all, "claude-desktop");
    assert_eq!(desktop["remote_support"], "bridge");
    assert_eq!(desktop["project_scope"], false);
    assert_eq!(client(&all, "codex")["config_format"], "toml");
    assert_eq!(client(&all, "continue")["config_format"], "yaml");
    assert_eq!(client(&all, "vscode")["config_format"], "jsonc");
}

#[test]
fn clients_never_look_outside_the_sandbox() {
    let sb = Sandbox::new();
    let all = sb.json_ok(&["clients"]);
    let root = sb.root.display().to_string();
    for c in all["clients"].as_array().unwrap() {
        for candidate in c["candidates"].as_array().unwrap() {
            let path = candidate["path"].as_str().unwrap();
            assert!(path.starts_with(&root), "{}: {path}", c["client_id"]);
            assert_eq!(candidate["exists"], false);
        }
        if cfg!(target_os = "linux") {
            assert!(c["config_location"].is_string(), "{}", c["client_id"]);
        }
    }
}

#[test]
fn client_path_variable_is_probed_first_and_the_first_existing_candidate_wins() {
    let mut sb = Sandbox::new();
    let pinned = sb.root.join("pinned/mcp.json");
    sb.pin_client("cursor", &pinned);
    let home_file = sb.write(
        "home/.cursor/mcp.json",
        r#"{"mcpServers": {"h": {"command": "x"}}}"#,
    );

    // The pinned file is missing: the existing home file is chosen, the pin listed first.
    let all = sb.json_ok(&["clients"]);
    let cursor = client(&all, "cursor");
    assert_eq!(
        cursor["candidates"],
        json!([
            {"path": pinned.display().to_string(), "exists": false},
            {"path": home_file.display().to_string(), "exists": true},
        ])
    );
    assert_eq!(cursor["config_location"], home_file.display().to_string());
    assert_eq!(cursor["server_count"], 1);

    // Once it exists, the pinned file wins.
    sb.write(
        "pinned/mcp.json",
        r#"{"mcpServers": {"p1": {"command": "x"}, "p2": {"command": "y"}}}"#,
    );
    let all = sb.json_ok(&["clients"]);
    let cursor = client(&all, "cursor");
    assert_eq!(cursor["config_location"], pinned.display().to_string());
    assert_eq!(cursor["server_count"], 2);
    assert_eq!(cursor["detected"], true);
}

#[test]
fn clients_text_table() {
    let sb = Sandbox::new();
    sb.write(
        "home/.cursor/mcp.json",
        r#"{"mcpServers": {"h": {"command": "x"}}}"#,
    );
    sb.write(
        "home/.codeium/windsurf/mcp_config.json",
        "{ \"mcpServers\": { broken",
    );
    let run = sb.run(&["clients", "--paths"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.stderr, "");
    insta::assert_snapshot!("clients_text", redact_paths(&sb, &run.stdout));
}

#[test]
fn an_unparseable_client_file_is_reported_by_clients_and_refused_by_diff_and_import() {
    let sb = Sandbox::new();
    let broken = "{ \"mcpServers\": { broken";
    let path = sb.write("home/.codeium/windsurf/mcp_config.json", broken);
    let shown = path.display().to_string();

    let all = sb.json_ok(&["clients"]);
    let windsurf = client(&all, "windsurf");
    assert_eq!(windsurf["detected"], true);
    assert_eq!(windsurf["server_count"], Value::Null);
    let error = windsurf["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!("cannot parse {shown}: ")),
        "{error}"
    );
    // Other clients are unaffected.
    assert!(client(&all, "cursor").get("error").is_none());

    sb.json_ok(&["draft", "add", "memory", "--client", "windsurf"]);
    for cmd in ["diff", "import"] {
        let err = sb.user_error(&[cmd, "--client", "windsurf"], "CONFIG_PARSE_ERROR");
        assert_eq!(err["details"], json!({ "path": shown }), "{cmd}");
        assert_eq!(err["message"].as_str().unwrap(), error, "{cmd}");
        assert_eq!(
            err["hint"],
            format!("fix the syntax of {shown} (it was left untouched)")
        );
        assert!(err.get("field").is_none());
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
}

#[test]
fn a_client_file_that_is_not_utf8_is_a_parse_error() {
    let sb = Sandbox::new();
    let path = sb.root.join("home/.cursor/mcp.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"{\"mcpServers\": {\"\xff\": {}}}").unwrap();
    let err = sb.user_error(&["import", "--client", "cursor"], "CONFIG_PARSE_ERROR");
    assert_eq!(
        err["message"],
        format!("cannot parse {}: the file is not UTF-8", path.display())
    );
}

/// A Codex file whose servers are one inline table is valid TOML: it is read (counted,
/// imported), and writing into it is refused with a clear error rather than mangling it.
#[test]
fn codex_inline_table_servers_are_read_and_writes_are_refused() {
    let sb = Sandbox::new();
    // (`args` given: rendering always writes it, so an entry without it would re-render as
    // modified.)
    let text = "mcp_servers = { a = { command = \"x\", args = [\"y\"] }, \
                b = { url = \"https://b.example/mcp\" } }\n";
    let path = sb.write("home/.codex/config.toml", text);
    let all = sb.json_ok(&["clients"]);
    assert_eq!(client(&all, "codex")["server_count"], 2);
    let report = sb.json_ok(&["import", "--client", "codex"]);
    assert_eq!(report["imported"], json!(["a", "b"]));
    let plan = sb.json_ok(&["diff", "--client", "codex"]);
    assert_eq!(plan["diff"]["servers_unchanged"], json!(["a", "b"]));
    sb.json_ok(&["draft", "add", "memory", "--client", "codex"]);
    let err = sb.user_error(&["diff", "--client", "codex"], "CONFIG_SHAPE_ERROR");
    assert_eq!(err["field"], "mcp_servers");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

// ---- profiles --------------------------------------------------------------------------------

#[test]
fn profiles_list_always_has_default_for_every_client() {
    let sb = Sandbox::new();
    let all = sb.json_ok(&["profiles", "list"]);
    let clients = all["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 28);
    for c in clients {
        let profiles = c["profiles"].as_array().unwrap();
        assert_eq!(profiles.len(), 1, "{}", c["client_id"]);
        let p = &profiles[0];
        assert_eq!(
            (
                &p["profile_id"],
                &p["description"],
                &p["scope"],
                &p["created_at"]
            ),
            (
                &json!("default"),
                &json!("Standard configuration (the client's user-scope file)"),
                &json!("user"),
                &Value::Null
            ),
            "{}",
            c["client_id"]
        );
        assert_eq!(p["draft_server_count"], 0);
    }
    let one = sb.json_ok(&["profiles", "list", "--client", "zed"]);
    assert_eq!(
        (&one["client_id"], &one["count"]),
        (&json!("zed"), &json!(1))
    );
    sb.user_error(&["profiles", "list", "--client", "nope"], "UNKNOWN_CLIENT");
}

#[test]
fn profiles_create_and_delete() {
    let sb = Sandbox::new();
    let created = sb.json_ok(&[
        "profiles",
        "create",
        "dev",
        "--client",
        "cursor",
        "-d",
        "Dev servers",
    ]);
    assert_eq!(created["status"], "created");
    assert_eq!(created["client_id"], "cursor");
    assert_eq!(created["profile"]["id"], "dev");
    assert_eq!(created["profile"]["description"], "Dev servers");
    assert_eq!(created["profile"]["scope"], "user");
    assert!(created["profile"]["created_at"].is_string());

    let listed = sb.json_ok(&["profiles", "list", "--client", "cursor"]);
    let ids: Vec<&str> = listed["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["profile_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["default", "dev"]);
    // Other clients do not see it.
    let zed = sb.json_ok(&["profiles", "list", "--client", "zed"]);
    assert_eq!(zed["profiles"].as_array().unwrap().len(), 1);

    let err = sb.user_error(
        &["profiles", "create", "dev", "--client", "cursor"],
        "PROFILE_EXISTS",
    );
    assert_eq!(err["field"], "profile_id");
    assert_eq!(
        err["details"],
        json!({"client": "cursor", "profile": "dev"})
    );
    assert_eq!(
        err["message"],
        "profile `dev` already exists for client `cursor`"
    );
    sb.user_error(
        &["profiles", "create", "default", "--client", "cursor"],
        "PROFILE_EXISTS",
    );
    let err = sb.user_error(
        &["profiles", "delete", "default", "--client", "cursor"],
        "PROFILE_PROTECTED",
    );
    assert_eq!(err["field"], "profile_id");
    let err = sb.user_error(
        &["profiles", "delete", "nope", "--client", "cursor"],
        "UNKNOWN_PROFILE",
    );
    assert_eq!(
        err["details"],
        json!({"client": "cursor", "profile": "nope"})
    );
    sb.user_error(
        &["profiles", "create", "x", "--client", "nope"],
        "UNKNOWN_CLIENT",
    );
    let err = sb.user_error(
        &["profiles", "create", "../evil", "--client", "cursor"],
        "INVALID_ID",
    );
    assert_eq!(err["field"], "profile_id");

    // Deleting a profile deletes its draft: a recreated profile starts empty.
    sb.json_ok(&[
        "draft",
        "add",
        "memory",
        "--client",
        "cursor",
        "--profile",
        "dev",
    ]);
    assert!(draft_file(&sb, "cursor", "dev").is_file());
    let deleted = sb.json_ok(&["profiles", "delete", "dev", "--client", "cursor"]);
    assert_eq!(
        deleted,
        json!({"status": "deleted", "client_id": "cursor", "profile_id": "dev"})
    );
    assert!(!draft_file(&sb, "cursor", "dev").exists());
    sb.user_error(
        &["draft", "show", "--client", "cursor", "--profile", "dev"],
        "UNKNOWN_PROFILE",
    );
    sb.json_ok(&["profiles", "create", "dev", "--client", "cursor"]);
    let draft = sb.json_ok(&["draft", "show", "--client", "cursor", "--profile", "dev"]);
    assert_eq!(draft["server_count"], 0);
}

#[test]
fn profile_targets_project_scope_and_pinned_paths() {
    let sb = Sandbox::new();
    let project = sb.root.join("project");
    std::fs::create_dir_all(&project).unwrap();
    let created = sb.json_ok(&[
        "profiles",
        "create",
        "proj",
        "--client",
        "cursor",
        "--project",
        project.to_str().unwrap(),
    ]);
    assert_eq!(created["profile"]["scope"], "project");
    assert_eq!(
        created["profile"]["project_dir"],
        project.display().to_string()
    );
    let err = sb.user_error(
        &[
            "profiles",
            "create",
            "proj",
            "--client",
            "windsurf",
            "--project",
            project.to_str().unwrap(),
        ],
        "NO_PROJECT_SCOPE",
    );
    assert_eq!(err["field"], "scope");

    let pinned = sb.root.join("elsewhere/pinned.json");
    sb.json_ok(&[
        "profiles",
        "create",
        "pin",
        "--client",
        "cursor",
        "--path",
        pinned.to_str().unwrap(),
    ]);
    for profile in ["proj", "pin"] {
        sb.json_ok(&[
            "draft",
            "add",
            "memory",
            "--client",
            "cursor",
            "--profile",
            profile,
        ]);
    }
    let plan = sb.json_ok(&["diff", "--client", "cursor", "--profile", "proj"]);
    assert_eq!(
        plan["path"],
        project.join(".cursor/mcp.json").display().to_string()
    );
    assert_eq!(plan["exists"], false);
    let plan = sb.json_ok(&["diff", "--client", "cursor", "--profile", "pin"]);
    assert_eq!(plan["path"], pinned.display().to_string());
    // A diff writes nothing.
    assert!(!pinned.exists());
    assert!(!project.join(".cursor").exists());
}

// ---- servers ---------------------------------------------------------------------------------

#[test]
fn search_ranks_an_exact_id_first() {
    let sb = Sandbox::new();
    for query in ["git", "github", "memory", "MEMORY", "n8n"] {
        let found = sb.json_ok(&["servers", "search", query]);
        assert_eq!(
            ids(&found["servers"])[0],
            query.to_lowercase(),
            "{query}: {found:#}"
        );
        assert_eq!(found["count"], found["total"]);
        assert_eq!(
            (
                &found["search_query"],
                &found["transport_filter"],
                &found["tag"]
            ),
            (&json!(query), &Value::Null, &Value::Null)
        );
    }
    let found = sb.json_ok(&["servers", "search", "github"]);
    let got = ids(&found["servers"]);
    assert_eq!(&got[..2], ["github", "github-remote"]);
}

#[test]
fn search_filters_combine_with_the_query() {
    let sb = Sandbox::new();
    let cat = catalog();

    // Transport and query together: the stdio `github` is filtered out, exact id or not.
    let found = sb.json_ok(&["servers", "search", "github", "--transport", "http"]);
    let got = ids(&found["servers"]);
    assert_eq!(got[0], "github-remote");
    assert!(!got.contains(&"github".to_owned()));
    assert_eq!(found["transport_filter"], "http");
    for s in found["servers"].as_array().unwrap() {
        assert_eq!(s["transport"], "http");
    }
    let found = sb.json_ok(&["servers", "search", "github", "--transport", "stdio"]);
    let got = ids(&found["servers"]);
    assert_eq!(got[0], "github");
    assert!(!got.contains(&"github-remote".to_owned()));

    // Without a query: every entry that passes the filters, by id.
    let expected: Vec<String> = cat
        .entries()
        .iter()
        .filter(|e| e.tags.iter().any(|t| t == "database"))
        .map(|e| e.id.clone())
        .collect();
    assert!(expected.len() > 3);
    let found = sb.json_ok(&["servers", "search", "--tag", "DataBase"]);
    assert_eq!(ids(&found["servers"]), expected);
    let sse: Vec<String> = cat
        .entries()
        .iter()
        .filter(|e| e.transport.as_str() == "sse")
        .map(|e| e.id.clone())
        .collect();
    let found = sb.json_ok(&["servers", "search", "--transport", "sse"]);
    assert_eq!(ids(&found["servers"]), sse);
    assert!(sse.contains(&"n8n".to_owned()));
    let found = sb.json_ok(&["servers", "search", "--transport", "streamable-http"]);
    assert_eq!(found["transport_filter"], "http");

    // Everything, and a limit that keeps the total.
    let all = sb.json_ok(&["servers", "search"]);
    assert_eq!(all["count"], cat.entries().len());
    let limited = sb.json_ok(&["servers", "search", "--limit", "2"]);
    assert_eq!(limited["count"], 2);
    assert_eq!(limited["total"], cat.entries().len());
    assert_eq!(ids(&limited["servers"]), ids(&all["servers"])[..2].to_vec());

    // Summary shape.
    let found = sb.json_ok(&["servers", "search", "n8n"]);
    assert_eq!(
        found["servers"][0],
        json!({
            "server_id": "n8n",
            "display_name": "n8n",
            "description": cat.find("n8n").unwrap().description,
            "transport": "sse",
            "tags": ["automation", "workflow", "remote"],
            "package": null,
            "source": "bundled",
            "has_parameters": true,
            "requires_env": true,
        })
    );

    let none = sb.json_ok(&["servers", "search", "zzqqxxj"]);
    assert_eq!(none["count"], 0);
    assert_eq!(none["servers"], json!([]));
    let run = sb.run(&["servers", "search", "zzqqxxj"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "no servers match\n"));

    let err = sb.user_error(
        &["servers", "search", "--transport", "carrier-pigeon"],
        "INVALID_TRANSPORT",
    );
    assert_eq!(err["field"], "transport_filter");
}

#[test]
fn servers_show_prints_the_whole_entry() {
    let sb = Sandbox::new();
    let shown = sb.json_ok(&["servers", "show", "n8n"]);
    let entry = catalog().find("n8n").unwrap().clone();
    assert_eq!(shown["server_id"], entry.id);
    assert_eq!(shown["description"], entry.description);
    assert_eq!(
        shown["transport"],
        json!({"type": "sse", "url": "http://localhost:{port}/mcp/sse", "headers": entry.headers})
    );
    assert_eq!(
        shown["parameters"],
        json!([{"name": "port", "type": "int", "description": "Port of the n8n instance", "required": false, "default": "5679"}])
    );
    assert_eq!(shown["env_vars"]["required"][0]["secret"], true);
    assert_eq!(
        shown["usage_example"]["arguments"],
        json!({"server_id": "n8n", "env_vars": {"N8N_API_KEY": "<N8N_API_KEY>"}})
    );

    let run = sb.run(&["servers", "show", "n8n"]);
    assert_eq!(run.code, 0, "{run}");
    insta::assert_snapshot!("servers_show_n8n", run.stdout);
}

#[test]
fn servers_show_unknown_id_suggests_close_ids() {
    let sb = Sandbox::new();
    let err = sb.user_error(&["servers", "show", "githb"], "UNKNOWN_SERVER");
    let expected = mcp_orch::core::catalog::suggest(&catalog(), "githb", 3);
    assert_eq!(expected[0], "github");
    assert_eq!(
        err,
        json!({
            "code": "UNKNOWN_SERVER",
            "message": "unknown server `githb`: it is not in the catalog",
            "field": "server_id",
            "hint": format!("did you mean {}? Search the catalog: `mcp-orch servers search`", expected.join(", ")),
            "next": [{"op": "search_servers"}],
            "details": {"server_id": "githb", "suggestions": expected},
        })
    );
    let err = sb.user_error(&["servers", "show", "zzqqxxj"], "UNKNOWN_SERVER");
    assert_eq!(err["details"]["suggestions"], json!([]));
    assert_eq!(err["hint"], "search the catalog: `mcp-orch servers search`");
}

// ---- draft -----------------------------------------------------------------------------------

#[test]
fn draft_changes_persist_across_processes() {
    let sb = Sandbox::new();
    let added = sb.json_ok(&["draft", "add", "memory", "--client", "cursor"]);
    assert_eq!(added["status"], "added");
    assert_eq!(added["server_name"], "memory");
    assert_eq!(added["server_count"], 1);
    assert_eq!(added["stored_secrets"], json!([]));
    assert_eq!(
        added["server"],
        json!({
            "server_id": "memory",
            "transport": "stdio",
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-memory"],
            "origin": "catalog",
        })
    );

    // A new process sees it.
    let shown = sb.json_ok(&["draft", "show", "--client", "cursor"]);
    assert_eq!(shown["client_id"], "cursor");
    assert_eq!(shown["profile_id"], "default");
    assert_eq!(shown["servers"], json!(["memory"]));
    assert_eq!(shown["revision"], 1);
    assert_eq!(shown["draft"]["memory"], added["server"]);
    assert!(shown["updated_at"].is_string());

    let added = sb.json_ok(&["draft", "add", "time", "--client", "cursor"]);
    assert_eq!(added["server_count"], 2);
    // Another client's draft is separate.
    let other = sb.json_ok(&["draft", "show", "--client", "vscode"]);
    assert_eq!(other["server_count"], 0);
    assert_eq!(other["revision"], 0);

    let removed = sb.json_ok(&["draft", "remove", "memory", "--client", "cursor"]);
    assert_eq!(
        removed,
        json!({"status": "removed", "server_name": "memory", "client_id": "cursor", "profile_id": "default", "server_count": 1, "servers": ["time"], "stored_secrets": [], "diagnostics": []})
    );
    let err = sb.user_error(
        &["draft", "remove", "memory", "--client", "cursor"],
        "SERVER_NOT_IN_DRAFT",
    );
    assert_eq!(err["field"], "server_name");
    assert_eq!(
        err["details"],
        json!({"client": "cursor", "profile": "default", "name": "memory"})
    );

    let shown = sb.json_ok(&["draft", "show", "--client", "cursor"]);
    assert_eq!(shown["servers"], json!(["time"]));
    assert_eq!(shown["revision"], 3, "a rejected change is not saved");

    let cleared = sb.json_ok(&["draft", "clear", "--client", "cursor"]);
    assert_eq!(
        cleared,
        json!({"status": "cleared", "client_id": "cursor", "profile_id": "default", "previous_count": 1})
    );
    let shown = sb.json_ok(&["draft", "show", "--client", "cursor"]);
    assert_eq!(shown["server_count"], 0);
    assert_eq!(shown["revision"], 4);
}

#[test]
fn draft_text_output() {
    let sb = Sandbox::new();
    let run = sb.run(&["draft", "add", "memory", "--client", "cursor"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.stdout, "added `memory` to cursor/default (1 servers)\n");
    let run = sb.run(&[
        "draft",
        "add",
        "github",
        "--client",
        "cursor",
        "--secret",
        "GITHUB_PERSONAL_ACCESS_TOKEN=ghp-text-output-secret",
    ]);
    assert_eq!(
        run.stdout,
        "added `github` to cursor/default (2 servers)\nstored secrets: cursor/default/GITHUB_PERSONAL_ACCESS_TOKEN\n"
    );
    let run = sb.run(&["draft", "show", "--client", "cursor"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains(
            "GITHUB_PERSONAL_ACCESS_TOKEN = <secret cursor/default/GITHUB_PERSONAL_ACCESS_TOKEN>"
        ),
        "{run}"
    );
    assert!(!run.stdout.contains("ghp-text-output-secret"));
    let run = sb.run(&["draft", "remove", "memory", "--client", "cursor"]);
    assert_eq!(run.stdout, "removed `memory` (1 servers left)\n");
    let run = sb.run(&["draft", "clear", "--client", "cursor"]);
    assert_eq!(run.stdout, "cleared the draft (1 servers removed)\n");
}

#[test]
fn draft_add_applies_and_checks_parameters() {
    let sb = Sandbox::new();
    let added = sb.json_ok(&["draft", "add", "custom-api", "--client", "cursor"]);
    assert_eq!(
        added["server"],
        json!({
            "server_id": "custom-api",
            "transport": "http",
            "url": "http://localhost:8080/mcp",
            "params": {"host": "localhost", "port": "8080"},
            "origin": "catalog",
        })
    );
    let added = sb.json_ok(&[
        "draft",
        "add",
        "custom-api",
        "--client",
        "cursor",
        "--name",
        "api2",
        "--param",
        "host=mcp.internal",
        "-P",
        "port= 9000",
    ]);
    assert_eq!(added["server_name"], "api2");
    assert_eq!(added["server"]["url"], "http://mcp.internal:9000/mcp");
    assert_eq!(
        added["server"]["params"],
        json!({"host": "mcp.internal", "port": "9000"})
    );

    let added = sb.json_ok(&["draft", "add", "time", "--client", "cursor"]);
    assert_eq!(
        added["server"]["args"],
        json!(["mcp-server-time", "--local-timezone", "UTC"])
    );
    let added = sb.json_ok(&[
        "draft",
        "add",
        "n8n",
        "--client",
        "cursor",
        "--secret",
        "N8N_API_KEY=k-1234",
    ]);
    assert_eq!(added["server"]["url"], "http://localhost:5679/mcp/sse");
    assert_eq!(added["server"]["params"], json!({"port": "5679"}));

    // Paths expand `~` to the home directory.
    let added = sb.json_ok(&[
        "draft",
        "add",
        "filesystem",
        "--client",
        "cursor",
        "--param",
        "path=~/code",
    ]);
    assert_eq!(
        added["server"]["args"],
        json!([
            "-y",
            "@modelcontextprotocol/server-filesystem",
            sb.home.join("code").display().to_string()
        ])
    );
    // Choices.
    let added = sb.json_ok(&[
        "draft",
        "add",
        "playwright",
        "--client",
        "cursor",
        "--param",
        "browser=firefox",
    ]);
    assert_eq!(
        added["server"]["args"],
        json!(["-y", "@playwright/mcp", "--browser", "firefox"])
    );
}

#[test]
fn draft_add_rejects_bad_input_with_exact_codes_and_changes_nothing() {
    let sb = Sandbox::new();
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["draft", "add", "memory", "--client", "nope"],
            "UNKNOWN_CLIENT",
            "client_id",
        ),
        (
            &["draft", "add", "nope", "--client", "cursor"],
            "UNKNOWN_SERVER",
            "server_id",
        ),
        (
            &[
                "draft", "add", "n8n", "--client", "cursor", "--param", "nokey",
            ],
            "INVALID_KEY_VALUE",
            "--param",
        ),
        (
            &[
                "draft", "add", "memory", "--client", "cursor", "--env", "=value",
            ],
            "INVALID_KEY_VALUE",
            "--env",
        ),
        (
            &["draft", "add", "filesystem", "--client", "cursor"],
            "MISSING_REQUIRED_PARAM",
            "params.path",
        ),
        (
            &[
                "draft", "add", "n8n", "--client", "cursor", "--param", "port=abc",
            ],
            "INVALID_PARAM_TYPE",
            "params.port",
        ),
        (
            &[
                "draft",
                "add",
                "filesystem",
                "--client",
                "cursor",
                "--param",
                "path= ",
            ],
            "INVALID_PARAM_TYPE",
            "params.path",
        ),
        (
            &[
                "draft", "add", "n8n", "--client", "cursor", "--param", "bogus=1",
            ],
            "UNKNOWN_PARAM",
            "params.bogus",
        ),
        (
            &[
                "draft",
                "add",
                "playwright",
                "--client",
                "cursor",
                "--param",
                "browser=lynx",
            ],
            "INVALID_PARAM_VALUE",
            "params.browser",
        ),
        (
            &[
                "draft", "add", "memory", "--client", "cursor", "--name", "bad name",
            ],
            "INVALID_SERVER_NAME",
            "server_name",
        ),
        (
            &[
                "draft", "add", "memory", "--client", "cursor", "--name", "_leading",
            ],
            "INVALID_SERVER_NAME",
            "server_name",
        ),
        (
            &["draft", "add", "github", "--client", "cursor"],
            "MISSING_REQUIRED_ENV",
            "env_vars.GITHUB_PERSONAL_ACCESS_TOKEN",
        ),
        (
            &[
                "draft", "add", "memory", "--client", "cursor", "--env", "1BAD=x",
            ],
            "INVALID_ENV_NAME",
            "env_vars.1BAD",
        ),
        (
            &[
                "draft",
                "add",
                "memory",
                "--client",
                "cursor",
                "--secret",
                "NOT_STORED",
            ],
            "MISSING_SECRET",
            "env_vars.NOT_STORED",
        ),
        (
            &[
                "draft",
                "add",
                "memory",
                "--client",
                "cursor",
                "--profile",
                "nope",
            ],
            "UNKNOWN_PROFILE",
            "profile_id",
        ),
    ];
    for (args, code, field) in cases {
        let err = sb.user_error(args, code);
        assert_eq!(err["field"], *field, "{args:?}: {err:#}");
        assert!(!err["message"].as_str().unwrap().is_empty());
        assert!(!err["hint"].as_str().unwrap().is_empty());
    }
    assert!(
        !sb.state.join("drafts").exists(),
        "a rejected add wrote a draft"
    );
    assert!(!sb.state.join("secrets.json").exists());

    // The hints name the fix.
    let err = sb.user_error(
        &["draft", "add", "memory", "--client", "cursor", "-P", "x=1"],
        "UNKNOWN_PARAM",
    );
    assert_eq!(err["hint"], "this server takes no parameters");
    let err = sb.user_error(
        &["draft", "add", "github", "--client", "cursor"],
        "MISSING_REQUIRED_ENV",
    );
    assert_eq!(
        err["hint"],
        "give it: `--secret GITHUB_PERSONAL_ACCESS_TOKEN`"
    );
    let err = sb.user_error(
        &["draft", "add", "filesystem", "--client", "cursor"],
        "MISSING_REQUIRED_PARAM",
    );
    assert_eq!(err["hint"], "give it: `--param path=~/Documents`");
    let err = sb.user_error(
        &["draft", "add", "memory", "--client", "nope"],
        "UNKNOWN_CLIENT",
    );
    assert_eq!(err["details"]["client"], "nope");
    assert_eq!(err["details"]["known"].as_array().unwrap().len(), 28);
}

#[test]
fn duplicate_names_are_refused_and_a_refused_add_keeps_the_stored_secret() {
    let sb = Sandbox::new();
    sb.json_ok(&[
        "draft",
        "add",
        "github",
        "--client",
        "cursor",
        "--secret",
        "GITHUB_PERSONAL_ACCESS_TOKEN=original-token",
    ]);
    let err = sb.user_error(
        &[
            "draft",
            "add",
            "github",
            "--client",
            "cursor",
            "--secret",
            "GITHUB_PERSONAL_ACCESS_TOKEN=replacement-token",
        ],
        "DUPLICATE_NAME",
    );
    assert_eq!(err["field"], "server_name");
    assert_eq!(
        err["hint"],
        "choose another name, or remove the one there first: `--name NAME`, or `mcp-orch draft remove github`"
    );
    assert_stored_secret(
        &sb,
        "cursor/default/GITHUB_PERSONAL_ACCESS_TOKEN",
        "original-token",
    );
    let shown = sb.json_ok(&["draft", "show", "--client", "cursor"]);
    assert_eq!(shown["revision"], 1);

    // Another name is fine.
    let added = sb.json_ok(&[
        "draft", "add", "github", "--client", "cursor", "--name", "github-2",
    ]);
    assert_eq!(added["server_count"], 2);
}

#[test]
fn draft_copy_copies_servers_into_other_clients() {
    let sb = Sandbox::new();
    sb.json_ok(&["draft", "add", "memory", "--client", "cursor"]);
    sb.json_ok(&["draft", "add", "time", "--client", "cursor"]);
    sb.json_ok(&["draft", "add", "fetch", "--client", "vscode"]);

    let copied = sb.json_ok(&[
        "draft",
        "copy",
        "--client",
        "cursor",
        "--to",
        "claude-code,vscode",
    ]);
    assert_eq!(
        copied,
        json!({"status": "copied", "targets": [
            {"client_id": "claude-code", "profile_id": "default", "server_count": 2},
            {"client_id": "vscode", "profile_id": "default", "server_count": 3},
        ]})
    );
    let source = sb.json_ok(&["draft", "show", "--client", "cursor"]);
    let target = sb.json_ok(&["draft", "show", "--client", "vscode"]);
    assert_eq!(target["servers"], json!(["fetch", "memory", "time"]));
    assert_eq!(target["draft"]["memory"], source["draft"]["memory"]);

    // An unknown target is refused before anything is copied.
    sb.json_ok(&[
        "draft",
        "add",
        "git",
        "--client",
        "cursor",
        "-P",
        "repo_path=/src/app",
    ]);
    sb.user_error(
        &["draft", "copy", "--client", "cursor", "--to", "zed,nope"],
        "UNKNOWN_CLIENT",
    );
    let zed = sb.json_ok(&["draft", "show", "--client", "zed"]);
    assert_eq!(zed["server_count"], 0);
    sb.user_error(
        &[
            "draft",
            "copy",
            "--client",
            "cursor",
            "--to",
            "zed",
            "--to-profile",
            "nope",
        ],
        "UNKNOWN_PROFILE",
    );
    sb.json_ok(&["profiles", "create", "dev", "--client", "zed"]);
    let copied = sb.json_ok(&[
        "draft",
        "copy",
        "--client",
        "cursor",
        "--to",
        "zed",
        "--to-profile",
        "dev",
    ]);
    assert_eq!(copied["targets"][0]["profile_id"], "dev");
    assert_eq!(copied["targets"][0]["server_count"], 3);
}

/// A copied server's secret becomes the target's own: same value to start with, then each
/// client and profile keeps its own.
#[test]
fn draft_copy_gives_the_target_its_own_secret() {
    let sb = Sandbox::new();
    sb.json_ok(&[
        "draft",
        "add",
        "github",
        "--client",
        "cursor",
        "--secret",
        "GITHUB_PERSONAL_ACCESS_TOKEN=cursor-token",
    ]);
    sb.json_ok(&["draft", "copy", "--client", "cursor", "--to", "codex"]);
    let shown = sb.json_ok(&["draft", "show", "--client", "codex"]);
    assert_eq!(
        shown["draft"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
        json!({"secret": "codex/default/GITHUB_PERSONAL_ACCESS_TOKEN"})
    );
    assert_stored_secret(
        &sb,
        "codex/default/GITHUB_PERSONAL_ACCESS_TOKEN",
        "cursor-token",
    );
    let run = sb.run_stdin(
        &[
            "secrets",
            "set",
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "--client",
            "codex",
        ],
        "codex-token",
    );
    assert_eq!(run.code, 0, "{run}");
    assert_stored_secret(
        &sb,
        "cursor/default/GITHUB_PERSONAL_ACCESS_TOKEN",
        "cursor-token",
    );
    assert_stored_secret(
        &sb,
        "codex/default/GITHUB_PERSONAL_ACCESS_TOKEN",
        "codex-token",
    );
}

#[test]
fn concurrent_adds_to_one_draft_all_land() {
    const N: usize = 8;
    let sb = Sandbox::new();
    let children: Vec<_> = (0..N)
        .map(|i| {
            let name = format!("mem-{i}");
            let secret = format!("SECRET_{i}=value-{i}");
            sb.std_cmd(&[
                "draft", "add", "memory", "--client", "cursor", "--name", &name, "--secret",
                &secret, "--json",
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", Run::from(out));
    }
    let shown = sb.json_ok(&["draft", "show", "--client", "cursor"]);
    let expected: Vec<String> = (0..N).map(|i| format!("mem-{i}")).collect();
    assert_eq!(strings(&shown["servers"]), expected);
    assert_eq!(shown["revision"], N);
    let secrets = sb.json_ok(&["secrets", "list"]);
    let expected: Vec<String> = (0..N)
        .map(|i| format!("cursor/default/SECRET_{i}"))
        .collect();
    assert_eq!(strings(&secrets["secrets"]), expected);
    for i in [0, N - 1] {
        assert_stored_secret(
            &sb,
            &format!("cursor/default/SECRET_{i}"),
            &format!("value-{i}"),
        );
    }
}

// ---- secrets ---------------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn secret_flag_stores_the_value_privately_and_the_draft_keeps_only_its_name() {
    let sb = Sandbox::new();
    let added = sb.json_ok(&[
        "draft",
        "add",
        "github",
        "--client",
        "cursor",
        "--secret",
        "GITHUB_PERSONAL_ACCESS_TOKEN=ghp-flag-value-1",
    ]);
    assert_eq!(
        added["stored_secrets"],
        json!(["cursor/default/GITHUB_PERSONAL_ACCESS_TOKEN"])
    );
    assert_eq!(
        added["server"]["env"],
        json!({"GITHUB_PERSONAL_ACCESS_TOKEN": {"secret": "cursor/default/GITHUB_PERSONAL_ACCESS_TOKEN"}})
    );

    let draft_text = std::fs::read_to_string(draft_file(&sb, "cursor", "default")).unwrap();
    let draft: Value = serde_json::from_str(&draft_text).unwrap();
    assert_eq!(
        draft["servers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
        json!({"secret": "cursor/default/GITHUB_PERSONAL_ACCESS_TOKEN"})
    );
    assert!(!draft_text.contains("ghp-flag-value-1"));

    let secrets_file = sb.state.join("secrets.json");
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(&secrets_file).unwrap()).unwrap();
    assert_eq!(
        stored,
        json!({"cursor/default/GITHUB_PERSONAL_ACCESS_TOKEN": "ghp-flag-value-1"})
    );
    assert_eq!(common::mode(&secrets_file), 0o600);
    assert_eq!(common::mode(&sb.state), 0o700);
    assert_eq!(common::mode(&sb.state.join("drafts")), 0o700);
    assert_eq!(common::mode(&sb.state.join("drafts/cursor")), 0o700);
    assert_eq!(common::mode(&draft_file(&sb, "cursor", "default")), 0o600);

    // Replacing a secret keeps the file private.
    let run = sb.run_stdin(
        &[
            "secrets",
            "set",
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "--client",
            "cursor",
        ],
        "ghp-second\n",
    );
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(common::mode(&secrets_file), 0o600);
    assert_stored_secret(
        &sb,
        "cursor/default/GITHUB_PERSONAL_ACCESS_TOKEN",
        "ghp-second",
    );
    // A value set for another profile is its own: the default profile's stays.
    sb.json_ok(&["profiles", "create", "work", "--client", "cursor"]);
    let run = sb.run_stdin(
        &[
            "secrets",
            "set",
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "--client",
            "cursor",
            "--profile",
            "work",
        ],
        "ghp-work\n",
    );
    assert_eq!(run.code, 0, "{run}");
    assert_stored_secret(&sb, "cursor/work/GITHUB_PERSONAL_ACCESS_TOKEN", "ghp-work");
    assert_stored_secret(
        &sb,
        "cursor/default/GITHUB_PERSONAL_ACCESS_TOKEN",
        "ghp-second",
    );
}

#[test]
fn secret_values_can_come_from_stdin_or_the_store() {
    let sb = Sandbox::new();
    // `--secret K` alone reads the value from stdin (one line per secret).
    let added = sb.run_stdin(
        &[
            "draft",
            "add",
            "memory",
            "--client",
            "cursor",
            "--secret",
            "FIRST_TOKEN",
            "--secret",
            "SECOND_TOKEN",
            "--json",
        ],
        "first value\nsecond-value\n",
    );
    assert_eq!(added.code, 0, "{added}");
    assert_eq!(
        added.json()["stored_secrets"],
        json!(["cursor/default/FIRST_TOKEN", "cursor/default/SECOND_TOKEN"])
    );
    assert_stored_secret(&sb, "cursor/default/FIRST_TOKEN", "first value");
    assert_stored_secret(&sb, "cursor/default/SECOND_TOKEN", "second-value");

    // A stored secret is reused without reading stdin.
    let added = sb.json_ok(&[
        "draft",
        "add",
        "memory",
        "--client",
        "cursor",
        "--name",
        "m2",
        "--secret",
        "FIRST_TOKEN",
    ]);
    assert_eq!(added["stored_secrets"], json!([]));
    assert_eq!(
        added["server"]["env"],
        json!({"FIRST_TOKEN": {"secret": "cursor/default/FIRST_TOKEN"}})
    );

    // A required secret env var that is already stored is filled in without a flag (here a
    // shared one, as every secret was stored before secrets were scoped).
    let run = sb.run_stdin(
        &["secrets", "set", "GITHUB_PERSONAL_ACCESS_TOKEN"],
        "ghp-stored\n",
    );
    assert_eq!(run.code, 0, "{run}");
    let added = sb.json_ok(&["draft", "add", "github", "--client", "cursor"]);
    assert_eq!(
        added["server"]["env"],
        json!({"GITHUB_PERSONAL_ACCESS_TOKEN": {"secret": "GITHUB_PERSONAL_ACCESS_TOKEN"}})
    );

    // `--env` for a variable the catalog marks secret goes to the store too.
    let added = sb.json_ok(&[
        "draft",
        "add",
        "brave-search",
        "--client",
        "cursor",
        "--env",
        "BRAVE_API_KEY=brave-value",
    ]);
    assert_eq!(
        added["stored_secrets"],
        json!(["cursor/default/BRAVE_API_KEY"])
    );
    assert_eq!(
        added["server"]["env"],
        json!({"BRAVE_API_KEY": {"secret": "cursor/default/BRAVE_API_KEY"}})
    );
    assert_stored_secret(&sb, "cursor/default/BRAVE_API_KEY", "brave-value");

    // No value anywhere.
    let err = sb.user_error(
        &[
            "draft", "add", "memory", "--client", "cursor", "--name", "m3", "--secret", "EMPTY",
        ],
        "MISSING_SECRET",
    );
    assert_eq!(err["field"], "env_vars.EMPTY");
}

/// Values are kept byte for byte: a PEM key piped in or read from a file keeps every line
/// break; only a single piped line loses the newline `echo` adds.
#[test]
fn multi_line_secrets_are_kept_byte_for_byte() {
    let sb = Sandbox::new();
    let pem = "-----BEGIN KEY-----\nAAAA\nBBBB\n-----END KEY-----\n";
    let run = sb.run_stdin(&["secrets", "set", "PEM_FROM_STDIN"], pem);
    assert_eq!(run.code, 0, "{run}");
    assert_stored_secret(&sb, "PEM_FROM_STDIN", pem);
    let file = sb.root.join("key.pem");
    std::fs::write(&file, "line one\r\nline two").unwrap();
    let run = sb.run(&[
        "secrets",
        "set",
        "PEM_FROM_FILE",
        "--from-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run}");
    assert_stored_secret(&sb, "PEM_FROM_FILE", "line one\r\nline two");
    let run = sb.run_stdin(&["secrets", "set", "ONE_LINE"], "token-value\n");
    assert_eq!(run.code, 0, "{run}");
    assert_stored_secret(&sb, "ONE_LINE", "token-value");
}

#[test]
fn secrets_list_set_remove() {
    let sb = Sandbox::new();
    let run = sb.run(&["secrets", "list"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "no secrets stored\n"));
    assert_eq!(
        sb.json_ok(&["secrets", "list"]),
        json!({"secrets": [], "count": 0})
    );

    let run = sb.run_stdin(&["secrets", "set", "ZED_TOKEN", "--json"], "zzz-value\n");
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.json(), json!({"status": "stored", "name": "ZED_TOKEN"}));
    let run = sb.run_stdin(&["secrets", "set", "ALPHA_KEY"], "aaa-value");
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "stored secret ALPHA_KEY\n")
    );

    assert_eq!(
        sb.json_ok(&["secrets", "list"]),
        json!({"secrets": ["ALPHA_KEY", "ZED_TOKEN"], "count": 2})
    );
    let run = sb.run(&["secrets", "list"]);
    assert_eq!(run.stdout, "ALPHA_KEY\nZED_TOKEN\n");

    let err = sb.json_err(&["secrets", "set", "EMPTY_ONE"], 1);
    assert_eq!(
        (err["code"].as_str(), err["field"].as_str()),
        (Some("MISSING_SECRET"), Some("value"))
    );
    let err = sb.user_error(&["secrets", "set", "9LIVES"], "INVALID_SECRET_NAME");
    assert_eq!(err["field"], "secret");
    sb.user_error(&["secrets", "set", "has-dash"], "INVALID_SECRET_NAME");

    assert_eq!(
        sb.json_ok(&["secrets", "remove", "ZED_TOKEN"]),
        json!({"status": "removed", "name": "ZED_TOKEN"})
    );
    let err = sb.user_error(&["secrets", "remove", "ZED_TOKEN"], "UNKNOWN_SECRET");
    assert_eq!(err["field"], "name");
    assert_eq!(
        sb.json_ok(&["secrets", "list"]),
        json!({"secrets": ["ALPHA_KEY"], "count": 1})
    );
}

#[cfg(unix)]
#[test]
fn a_secret_store_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let run = sb.run_stdin(&["secrets", "set", "A_TOKEN"], "value-a\n");
    assert_eq!(run.code, 0, "{run}");
    let file = sb.state.join("secrets.json");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = sb.user_error(&["secrets", "list"], "INSECURE_PERMISSIONS");
    assert_eq!(err["field"], file.display().to_string());
    assert_eq!(err["hint"], format!("run `chmod 600 {}`", file.display()));
    // The launcher refuses too, rather than handing the value out.
    let run = stored_secret(&sb, "A_TOKEN");
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.starts_with("error[INSECURE_PERMISSIONS]"),
        "{run}"
    );
    assert_eq!(run.stdout, "");
}

/// One long scenario in text and JSON modes; no stdout or stderr may contain a secret value.
#[test]
fn secret_values_are_never_printed() {
    const VALUES: &[&str] = &[
        "sv-github-0001",
        "sv-n8n-0002",
        "sv-stdin-0003",
        "sv-file-literal-0004",
        "sv-header-literal-0005",
    ];
    let sb = Sandbox::new();
    sb.write(
        "home/.claude/.claude.json",
        r#"{
  "mcpServers": {
    "hand": {"type": "stdio", "command": "node", "args": ["x.js"], "env": {"HAND_API_TOKEN": "sv-file-literal-0004"}},
    "hand-remote": {"type": "http", "url": "https://h.example/mcp", "headers": {"Authorization": "Bearer sv-header-literal-0005"}}
  }
}
"#,
    );
    let mut all = String::new();
    let mut record = |run: Run| {
        assert!(run.code == 0 || run.code == 1, "{run}");
        all.push_str(&run.stdout);
        all.push_str(&run.stderr);
    };
    for json in [false, true] {
        let j = |args: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
            if json {
                v.push("--json".into());
            }
            v
        };
        let client = if json {
            "claude-code"
        } else {
            "claude-desktop"
        };
        let steps: Vec<Vec<String>> = vec![
            j(&[
                "draft",
                "add",
                "github",
                "-c",
                client,
                "--secret",
                "GITHUB_PERSONAL_ACCESS_TOKEN=sv-github-0001",
            ]),
            j(&[
                "draft",
                "add",
                "n8n",
                "-c",
                client,
                "--secret",
                "N8N_API_KEY=sv-n8n-0002",
            ]),
            j(&["draft", "add", "github-remote", "-c", client]),
            j(&["draft", "show", "-c", client]),
            j(&["validate", "-c", client]),
            j(&["diff", "-c", client]),
            j(&["import", "-c", client]),
            j(&["diff", "-c", client]),
            j(&["secrets", "list"]),
            j(&["clients"]),
            j(&["draft", "add", "github", "-c", client]),
        ];
        for step in steps {
            let args: Vec<&str> = step.iter().map(String::as_str).collect();
            record(sb.run(&args));
        }
        let mut args = j(&[
            "draft",
            "add",
            "memory",
            "-c",
            client,
            "--secret",
            "STDIN_TOKEN",
        ]);
        args.extend(["--name".into(), "stdin-mem".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        record(sb.run_stdin(&args, "sv-stdin-0003\n"));
        let run = sb.run_stdin(
            &j(&["secrets", "set", "OTHER_TOKEN"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            "sv-stdin-0003\n",
        );
        record(run);
    }
    // The import moved the file's literal into the store, and diffs masked it.
    assert_stored_secret(
        &sb,
        "claude-code/default/HAND_API_TOKEN",
        "sv-file-literal-0004",
    );
    assert!(
        all.contains(REDACTED),
        "the scenario never exercised redaction"
    );
    assert!(
        all.contains("Bearer ${GITHUB_PERSONAL_ACCESS_TOKEN}"),
        "references are shown"
    );
    for value in VALUES {
        assert!(!all.contains(value), "{value} was printed:\n{all}");
    }
}

// ---- validate --------------------------------------------------------------------------------

#[test]
fn validate_exit_codes_follow_errors_not_warnings() {
    let sb = Sandbox::new();
    // Empty draft: valid (publishing it empties the client's file of mcp-orch's servers),
    // with a warning that says so.
    let run = sb.run(&["validate", "--client", "vscode", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        run.json(),
        json!({
            "client_id": "vscode",
            "profile_id": "default",
            "valid": true,
            "server_count": 0,
            "errors": [],
            "warnings": [{
                "code": "EMPTY_CONFIG",
                "severity": "warning",
                "path": "servers",
                "message": "the draft has no servers: deploying it removes every server mcp-orch put in the client's file",
                "hint": "add one with `mcp-orch draft add SERVER_ID`, or go on to empty the client's file of mcp-orch's servers",
            }],
        })
    );

    // Valid with a warning: exit 0.
    sb.json_ok(&[
        "draft",
        "add",
        "n8n",
        "--client",
        "claude-desktop",
        "--secret",
        "N8N_API_KEY=n8n-v",
    ]);
    let report = sb.json_ok(&["validate", "--client", "claude-desktop"]);
    assert_eq!(report["valid"], true);
    assert_eq!(report["errors"], json!([]));
    assert_eq!(
        report["warnings"],
        json!([{
            "code": "REMOTE_NOT_SUPPORTED",
            "severity": "warning",
            "path": "servers.n8n.transport",
            "server": "n8n",
            "message": "Claude Desktop cannot reach sse servers natively",
            "hint": "it will be bridged with `mcp-orch connect`, built into mcp-orch",
        }])
    );

    // The secret disappears: invalid.
    sb.json_ok(&[
        "secrets",
        "remove",
        "N8N_API_KEY",
        "--client",
        "claude-desktop",
    ]);
    let run = sb.run(&["validate", "--client", "claude-desktop", "--json"]);
    assert_eq!(run.code, 1, "{run}");
    let report = run.json();
    assert_eq!(report["valid"], false);
    assert_eq!(
        report["errors"],
        json!([{
            "code": "MISSING_SECRET",
            "severity": "error",
            "path": "servers.n8n.env.N8N_API_KEY",
            "server": "n8n",
            "message": "secret `claude-desktop/default/N8N_API_KEY` used by `n8n` is not in the secret store",
            "hint": "store it with `mcp-orch secrets set N8N_API_KEY --client claude-desktop --profile default`",
        }])
    );
    assert_eq!(report["warnings"].as_array().unwrap().len(), 1);

    let run = sb.run(&["validate", "--client", "claude-desktop"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("validate_text_invalid", run.stdout);
    // Deterministic: the same input gives the same report.
    assert_eq!(
        sb.run(&["validate", "--client", "claude-desktop"]).stdout,
        run.stdout
    );

    sb.user_error(&["validate", "--client", "nope"], "UNKNOWN_CLIENT");
    sb.user_error(
        &["validate", "--client", "cursor", "-p", "nope"],
        "UNKNOWN_PROFILE",
    );
}

#[test]
fn validate_warns_about_commands_plaintext_secrets_and_empty_values() {
    let mut sb = Sandbox::new();
    // A PATH without `uvx`.
    let empty_bin = sb.root.join("empty-bin");
    std::fs::create_dir_all(&empty_bin).unwrap();
    sb.set_path_var(empty_bin.display().to_string());
    sb.json_ok(&["draft", "add", "fetch", "--client", "cursor"]);
    sb.json_ok(&[
        "draft",
        "add",
        "memory",
        "--client",
        "cursor",
        "--env",
        "MY_API_KEY=plain-text",
        "--env",
        "EMPTY_ONE=",
    ]);
    let report = sb.json_ok(&["validate", "--client", "cursor"]);
    assert_eq!(report["valid"], true);
    let codes: Vec<(&str, &str)> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["code"].as_str().unwrap(), d["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            ("COMMAND_NOT_FOUND", "servers.fetch.command"),
            ("COMMAND_NOT_FOUND", "servers.memory.command"),
            ("EMPTY_ENV_VAR", "servers.memory.env.EMPTY_ONE"),
            ("PLAINTEXT_SECRET", "servers.memory.env.MY_API_KEY"),
        ]
    );
}

// ---- diff ------------------------------------------------------------------------------------

#[test]
fn diff_reports_added_and_taken_over_entries_and_writes_nothing() {
    let sb = Sandbox::new();
    let before = r#"{
  "numStartups": 1,
  "mcpServers": {
    "memory": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory", "--old-flag"]}
  }
}
"#;
    let path = sb.write("home/.claude/.claude.json", before);
    sb.json_ok(&["draft", "add", "memory", "--client", "claude-code"]);
    sb.json_ok(&["draft", "add", "time", "--client", "claude-code"]);

    let plan = sb.json_ok(&["diff", "--client", "claude-code"]);
    assert_eq!(plan["exists"], true);
    assert_eq!(
        plan["diff"],
        json!({
            "servers_added": ["time"],
            "servers_removed": [],
            "servers_modified": [{
                "server_id": "memory",
                "changes": [{
                    "path": "args",
                    "old_value": ["-y", "@modelcontextprotocol/server-memory", "--old-flag"],
                    "new_value": ["-y", "@modelcontextprotocol/server-memory"],
                }],
                "takes_over_unmanaged": true,
            }],
            "servers_unchanged": [],
        })
    );
    let after = apply_unified(before, plan["unified_diff"].as_str().unwrap());
    let parsed: Value = serde_json::from_str(&after).unwrap();
    assert_eq!(parsed["numStartups"], 1);
    assert_eq!(
        parsed["mcpServers"],
        json!({
            "memory": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]},
            "time": {"type": "stdio", "command": "uvx", "args": ["mcp-server-time", "--local-timezone", "UTC"]},
        })
    );

    let run = sb.run(&["diff", "--client", "claude-code"]);
    assert_eq!(run.code, 0, "{run}");
    insta::assert_snapshot!("diff_text_takeover", redact_paths(&sb, &run.stdout));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        before,
        "diff wrote the file"
    );
}

#[test]
fn diff_of_a_missing_file_and_of_a_file_already_as_wanted() {
    let sb = Sandbox::new();
    sb.json_ok(&["draft", "add", "memory", "--client", "cursor"]);
    let plan = sb.json_ok(&["diff", "--client", "cursor"]);
    let path = sb.home.join(".cursor/mcp.json");
    assert_eq!(plan["path"], path.display().to_string());
    assert_eq!(plan["exists"], false);
    let unified = plan["unified_diff"].as_str().unwrap();
    assert!(unified.contains("\n@@ -0,0 +1,"), "{unified}");
    let run = sb.run(&["diff", "--client", "cursor"]);
    assert!(
        run.stdout.starts_with(&format!(
            "cursor/default -> {} (new file)\n  + memory\n",
            path.display()
        )),
        "{run}"
    );
    assert!(!path.exists());

    let after = apply_unified("", unified);
    sb.write(&path, &after);
    let plan = sb.json_ok(&["diff", "--client", "cursor"]);
    assert_eq!(
        plan["diff"],
        json!({"servers_added": [], "servers_removed": [], "servers_modified": [], "servers_unchanged": ["memory"]})
    );
    assert_eq!(plan["unified_diff"], "");
    assert_eq!(plan["notes"], json!([]));
    let run = sb.run(&["diff", "--client", "cursor"]);
    assert_eq!(
        run.stdout,
        format!(
            "cursor/default -> {}\n  no changes (1 server(s) already as wanted)\n",
            path.display()
        )
    );

    // An empty draft against a file with hand-added entries: nothing to do, nothing removed.
    sb.json_ok(&["draft", "clear", "--client", "cursor"]);
    let plan = sb.json_ok(&["diff", "--client", "cursor"]);
    assert_eq!(
        plan["diff"],
        json!({"servers_added": [], "servers_removed": [], "servers_modified": [], "servers_unchanged": []})
    );
}

#[test]
fn diff_removes_only_entries_the_deploy_record_owns() {
    let sb = Sandbox::new();
    let before = r#"{
  "mcpServers": {
    "old-owned": {"command": "npx", "args": ["-y", "old-server"]},
    "by-hand": {"command": "npx", "args": ["-y", "hand-server"]}
  }
}
"#;
    sb.write("home/.cursor/mcp.json", before);
    sb.write(
        "state/deployments/cursor/default.json",
        r#"{"path": "", "owned": ["old-owned", "gone-already"]}"#,
    );
    sb.json_ok(&["draft", "add", "memory", "--client", "cursor"]);
    let plan = sb.json_ok(&["diff", "--client", "cursor"]);
    assert_eq!(
        plan["diff"],
        json!({"servers_added": ["memory"], "servers_removed": ["old-owned"], "servers_modified": [], "servers_unchanged": []})
    );
    let after = apply_unified(before, plan["unified_diff"].as_str().unwrap());
    let parsed: Value = serde_json::from_str(&after).unwrap();
    let names: Vec<&String> = parsed["mcpServers"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["by-hand", "memory"]);
    let run = sb.run(&["diff", "--client", "cursor"]);
    assert!(
        run.stdout.contains("\n  + memory\n  - old-owned\n"),
        "{run}"
    );
}

/// Claude Desktop has no native remote support and no env reference syntax: the SSE server goes
/// through the built-in bridge, which reads the bearer token from the store when it starts.
#[test]
fn remote_server_for_claude_desktop_is_bridged_through_the_launcher() {
    let sb = Sandbox::new();
    let added = sb.json_ok(&[
        "draft",
        "add",
        "n8n",
        "--client",
        "claude-desktop",
        "--secret",
        "N8N_API_KEY=n8n-bridge-secret",
    ]);
    assert_eq!(added["diagnostics"][0]["code"], "REMOTE_NOT_SUPPORTED");
    let plan = sb.json_ok(&["diff", "--client", "claude-desktop"]);
    assert_eq!(
        plan["path"],
        sb.xdg_config()
            .join("Claude/claude_desktop_config.json")
            .display()
            .to_string()
    );
    let unified = plan["unified_diff"].as_str().unwrap();
    assert!(!unified.contains("n8n-bridge-secret"));
    let after: Value = serde_json::from_str(&apply_unified("", unified)).unwrap();
    assert_eq!(
        after,
        json!({"mcpServers": {"n8n": {
            "command": launcher_path(),
            "args": [
                "--home", sb.state.display().to_string(), "connect", "http://localhost:5679/mcp/sse",
                "--transport", "sse",
                "--header", "Authorization: Bearer {secret:claude-desktop/default/N8N_API_KEY}",
            ],
        }}})
    );
    assert_eq!(
        plan["notes"],
        json!([
            mcp_orch::core::clients::ClientRegistry::load(Path::new("/nonexistent"))
                .unwrap()
                .get("claude-desktop")
                .unwrap()
                .restart_hint
        ])
    );
    let run = sb.run(&["diff", "--client", "claude-desktop"]);
    insta::assert_snapshot!("diff_text_bridge", redact_paths(&sb, &run.stdout));
}

/// Cursor reaches remote servers natively, but cannot hold a credential without the user
/// exporting it: by default the server goes through the bridge; `--secret-delivery env` writes
/// the client's own reference instead, and validate and diff say what to export.
#[test]
fn remote_server_for_cursor_is_bridged_unless_env_references_are_chosen() {
    let sb = Sandbox::new();
    sb.json_ok(&[
        "draft",
        "add",
        "n8n",
        "--client",
        "cursor",
        "--secret",
        "N8N_API_KEY=n8n-native-secret",
    ]);
    let after = new_file(&sb, "cursor");
    assert_eq!(after["mcpServers"]["n8n"]["args"][2], "connect");
    assert_eq!(
        sb.json_ok(&["validate", "--client", "cursor"])["warnings"],
        json!([])
    );

    sb.json_ok(&["draft", "remove", "n8n", "--client", "cursor"]);
    sb.json_ok(&[
        "draft",
        "add",
        "n8n",
        "--client",
        "cursor",
        "--secret-delivery",
        "env",
    ]);
    let plan = sb.json_ok(&["diff", "--client", "cursor"]);
    let unified = plan["unified_diff"].as_str().unwrap();
    let after: Value = serde_json::from_str(&apply_unified("", unified)).unwrap();
    assert_eq!(
        after,
        json!({"mcpServers": {"n8n": {
            "url": "http://localhost:5679/mcp/sse",
            "headers": {"Authorization": "Bearer ${env:N8N_API_KEY}"},
        }}})
    );
    assert_eq!(
        plan["notes"][1],
        "`n8n` reads ${env:N8N_API_KEY} from Cursor's own environment: export N8N_API_KEY wherever Cursor is started, or redeploy it with --secret-delivery launcher"
    );
    let report = sb.json_ok(&["validate", "--client", "cursor"]);
    assert_eq!(report["warnings"][0]["code"], "SECRET_FROM_CLIENT_ENV");
    assert_eq!(report["warnings"][0]["path"], "servers.n8n.secret_delivery");
}

/// Entries start the binary by its path: when that binary is gone (moved, uninstalled),
/// `status --check` and `doctor` say so.
#[test]
fn a_deployed_launcher_whose_binary_is_gone_is_flagged() {
    let sb = Sandbox::new();
    let old = sb.root.join("old-install/mcp-orch");
    std::fs::create_dir_all(old.parent().unwrap()).unwrap();
    std::fs::copy(common::BIN, &old).unwrap();
    for args in [
        vec![
            "draft",
            "add",
            "github",
            "--client",
            "cursor",
            "--secret",
            "GITHUB_PERSONAL_ACCESS_TOKEN=t",
        ],
        vec!["keys", "init"],
        vec!["publish", "--client", "cursor", "-m", "x"],
        vec!["deploy", "--client", "cursor", "--yes"],
    ] {
        let cmd = sb.std_cmd(&args);
        let out = std::process::Command::new(&old)
            .args(&args)
            .env_clear()
            .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .current_dir(&sb.root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let status = sb.json_ok(&["status", "--check"]);
    assert_eq!(status["targets"][0]["missing_launcher"], json!([]));
    std::fs::remove_file(&old).unwrap();
    let run = sb.run(&["status", "--check", "--json"]);
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(
        run.json()["targets"][0]["missing_launcher"],
        json!(["github"])
    );
    let doctor = sb.run(&["doctor", "--json"]);
    let launcher = doctor.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == "launcher")
        .cloned()
        .unwrap_or_else(|| panic!("no launcher check: {doctor}"));
    assert_eq!(launcher["status"], "error");
    assert_eq!(launcher["name"], "cursor/default");
}

/// `secret_delivery = "env"` in `<home>/clients.toml` makes the client's own references the
/// default for every server of that client; a server can still choose the launcher.
#[test]
fn a_client_override_makes_env_references_its_default() {
    let sb = Sandbox::new();
    sb.write(
        "state/clients.toml",
        "[[clients]]\nid = \"cursor\"\nsecret_delivery = \"env\"\n",
    );
    sb.json_ok(&[
        "draft",
        "add",
        "github",
        "--client",
        "cursor",
        "--secret",
        "GITHUB_PERSONAL_ACCESS_TOKEN=x1",
    ]);
    sb.json_ok(&[
        "draft",
        "add",
        "github",
        "--name",
        "gh2",
        "--client",
        "cursor",
        "--secret-delivery",
        "launcher",
        "--secret",
        "GITHUB_PERSONAL_ACCESS_TOKEN",
    ]);
    let after = new_file(&sb, "cursor");
    assert_eq!(
        after["mcpServers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
        "${env:GITHUB_PERSONAL_ACCESS_TOKEN}"
    );
    assert_eq!(after["mcpServers"]["gh2"]["command"], launcher_path());
    let report = sb.json_ok(&["validate", "--client", "cursor"]);
    let codes: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["SECRET_FROM_CLIENT_ENV"]);
}

#[test]
fn remote_servers_for_claude_desktop_use_the_built_in_bridge() {
    let sb = Sandbox::new();
    sb.json_ok(&[
        "draft",
        "add",
        "custom-api",
        "--client",
        "claude-desktop",
        "-P",
        "host=10.1.2.3",
    ]);
    let after = new_file(&sb, "claude-desktop");
    assert_eq!(
        after["mcpServers"],
        json!({
            "custom-api": {"command": launcher_path(), "args": [
                "--home", sb.state.display().to_string(), "connect", "http://10.1.2.3:8080/mcp",
            ]},
        })
    );
}

#[test]
fn diff_masks_literal_secrets_but_shows_references() {
    let sb = Sandbox::new();
    let before = r#"{
  "mcpServers": {
    "hand": {
      "url": "https://hand.example/mcp",
      "headers": {"Authorization": "Bearer literal-header-token", "X-Ref": "Bearer ${env:HAND_TOKEN}"}
    },
    "hand2": {"command": "node", "env": {"HAND_API_KEY": "literal-env-key", "MODE": "verbose"}}
  }
}
"#;
    sb.write("home/.cursor/mcp.json", before);
    sb.json_ok(&["draft", "add", "memory", "--client", "cursor"]);
    for json in [true, false] {
        let mut args = vec!["diff", "--client", "cursor"];
        if json {
            args.push("--json");
        }
        let run = sb.run(&args);
        assert_eq!(run.code, 0, "{run}");
        assert!(!run.stdout.contains("literal-header-token"), "{run}");
        assert!(!run.stdout.contains("literal-env-key"), "{run}");
        assert!(run.stdout.contains(REDACTED), "{run}");
        assert!(run.stdout.contains("Bearer ${env:HAND_TOKEN}"), "{run}");
        assert!(run.stdout.contains("verbose"), "{run}");
    }
}

// ---- import ----------------------------------------------------------------------------------

#[test]
fn import_adopts_hand_added_servers_and_moves_literal_secrets_to_the_store() {
    let sb = Sandbox::new();
    let before = r#"{
  "mcpServers": {
    "hand": {"type": "stdio", "command": "node", "args": ["srv.js"], "env": {"API_TOKEN": "tok-literal-abcdef", "MODE": "fast"}},
    "remote": {"type": "http", "url": "https://x.example/mcp", "headers": {"Authorization": "Bearer ${REMOTE_TOKEN}"}}
  }
}
"#;
    let path = sb.write("home/.claude/.claude.json", before);
    let report = sb.json_ok(&["import", "--client", "claude-code"]);
    assert_eq!(
        report,
        json!({
            "status": "imported",
            "client_id": "claude-code",
            "profile_id": "default",
            "path": path.display().to_string(),
            "imported": ["hand", "remote"],
            "skipped": [],
            "secrets_moved": ["claude-code/default/API_TOKEN"],
            "server_count": 2,
        })
    );
    let shown = sb.json_ok(&["draft", "show", "--client", "claude-code"]);
    assert_eq!(
        shown["draft"],
        json!({
            "hand": {
                "transport": "stdio", "command": "node", "args": ["srv.js"],
                "env": {"API_TOKEN": {"secret": "claude-code/default/API_TOKEN"}, "MODE": "fast"},
                "origin": "imported",
            },
            "remote": {
                "transport": "http", "url": "https://x.example/mcp",
                "headers": {"Authorization": "Bearer ${REMOTE_TOKEN}"},
                "secret_delivery": "env",
                "origin": "imported",
            },
        })
    );
    assert_stored_secret(&sb, "claude-code/default/API_TOKEN", "tok-literal-abcdef");

    // Adopted entries are not "taken over"; the literal leaves the file and the launcher
    // hands the stored value over.
    let plan = sb.json_ok(&["diff", "--client", "claude-code"]);
    let changes = &plan["diff"]["servers_modified"][0]["changes"];
    assert_eq!(
        plan["diff"]["servers_modified"][0]["takes_over_unmanaged"],
        false
    );
    assert_eq!(plan["diff"]["servers_unchanged"], json!(["remote"]));
    assert_eq!(
        changes[2],
        json!({"path": "env.API_TOKEN", "old_value": REDACTED, "new_value": null})
    );
    assert_eq!(
        changes[0]["new_value"].as_array().unwrap()[2..6],
        [
            "run",
            "hand",
            "--env",
            "API_TOKEN={secret:claude-code/default/API_TOKEN}"
        ]
    );

    // A second import skips what the draft has.
    let report = sb.json_ok(&["import", "--client", "claude-code"]);
    assert_eq!(report["imported"], json!([]));
    assert_eq!(
        report["skipped"],
        json!([
            {"server_name": "hand", "reason": "already in the draft"},
            {"server_name": "remote", "reason": "already in the draft"}
        ])
    );
    assert_eq!(report["secrets_moved"], json!([]));

    let run = sb.run(&["import", "--client", "claude-code"]);
    assert_eq!(
        run.stdout,
        format!(
            "imported 0 server(s) from {}\n  skipped hand: already in the draft\n  skipped remote: already in the draft\n",
            path.display()
        )
    );
}

#[test]
fn import_keeps_a_stored_secret_of_the_same_name_by_renaming() {
    let sb = Sandbox::new();
    let run = sb.run_stdin(
        &["secrets", "set", "API_TOKEN", "--client", "cursor"],
        "the-stored-one\n",
    );
    assert_eq!(run.code, 0, "{run}");
    sb.write(
        "home/.cursor/mcp.json",
        r#"{"mcpServers": {"my-srv": {"command": "node", "env": {"API_TOKEN": "a-different-one"}}}}"#,
    );
    let report = sb.json_ok(&["import", "--client", "cursor"]);
    assert_eq!(
        report["secrets_moved"],
        json!(["cursor/default/MY_SRV_API_TOKEN"])
    );
    let shown = sb.json_ok(&["draft", "show", "--client", "cursor"]);
    assert_eq!(
        shown["draft"]["my-srv"]["env"],
        json!({"API_TOKEN": {"secret": "cursor/default/MY_SRV_API_TOKEN"}})
    );
    assert_stored_secret(&sb, "cursor/default/API_TOKEN", "the-stored-one");
    assert_stored_secret(&sb, "cursor/default/MY_SRV_API_TOKEN", "a-different-one");
}

#[test]
fn import_skips_the_clients_own_entries_and_a_missing_file_imports_nothing() {
    let sb = Sandbox::new();
    sb.write(
        "home/.config/goose/config.yaml",
        "GOOSE_MODEL: gpt-4o\nextensions:\n  developer:\n    enabled: true\n    name: developer\n    type: builtin\n  notes:\n    cmd: uvx\n    args: [notes-mcp]\n    name: notes\n    type: stdio\n",
    );
    let report = sb.json_ok(&["import", "--client", "goose"]);
    assert_eq!(report["imported"], json!(["notes"]));
    assert_eq!(
        report["skipped"],
        json!([{"server_name": "developer", "reason": "`builtin` entries belong to the client"}])
    );

    let report = sb.json_ok(&["import", "--client", "kiro"]);
    assert_eq!(report["imported"], json!([]));
    assert_eq!(report["skipped"], json!([]));
    assert_eq!(report["server_count"], 0);
    assert!(!sb.home.join(".kiro").exists());
}

/// Adopting a file and diffing it again changes nothing, for entries written with each
/// client's own reference conventions (including mcp-orch's own launcher and bridge entries).
#[test]
fn import_then_diff_leaves_reference_entries_unchanged() {
    let sb = Sandbox::new();
    let launcher = launcher_path();
    let cases: Vec<(&str, &str, String)> = vec![
        (
            "cursor",
            "home/.cursor/mcp.json",
            r#"{"mcpServers": {
  "api": {"url": "https://api.example/mcp", "headers": {"Authorization": "Bearer ${env:API_TOKEN}", "X-Team": "${env:TEAM_ID}"}},
  "local": {"command": "npx", "args": ["-y", "x"], "env": {"X_TOKEN": "${env:X_TOKEN}"}}
}}
"#
            .to_owned(),
        ),
        (
            "codex",
            "home/.codex/config.toml",
            "[mcp_servers.api]\nurl = \"https://api.example/mcp\"\nbearer_token_env_var = \"API_TOKEN\"\n\n[mcp_servers.other]\nurl = \"https://other.example/mcp\"\nenv_http_headers = { X-Api-Key = \"OTHER_KEY\" }\n".to_owned(),
        ),
        (
            "claude-desktop",
            "home/.config/Claude/claude_desktop_config.json",
            format!(
                r#"{{"mcpServers": {{
  "bridged": {{"command": "{launcher}", "args": ["--home", "{state}", "connect", "http://localhost:5679/mcp/sse", "--transport", "sse", "--header", "Authorization: Bearer {{secret:claude-desktop/default/N8N_API_KEY}}"]}},
  "launched": {{"command": "{launcher}", "args": ["--home", "{state}", "run", "launched", "--env", "GH_TOKEN={{secret:GH_TOKEN}}", "--", "npx", "-y", "gh-mcp"], "env": {{"MODE": "x"}}}}
}}}}
"#,
                state = sb.state.display()
            ),
        ),
    ];
    for (client, rel, text) in &cases {
        sb.write(rel, text);
        let report = sb.json_ok(&["import", "--client", client]);
        assert_eq!(report["skipped"], json!([]), "{client}: {report:#}");
        let plan = sb.json_ok(&["diff", "--client", client]);
        assert!(
            plan["diff"]["servers_modified"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{client}: {plan:#}"
        );
        assert_eq!(plan["unified_diff"], "", "{client}");
    }
    let shown = sb.json_ok(&["draft", "show", "--client", "claude-desktop"]);
    assert_eq!(
        shown["draft"]["launched"]["env"],
        json!({"GH_TOKEN": {"secret": "GH_TOKEN"}, "MODE": "x"})
    );
    assert_eq!(shown["draft"]["launched"]["command"], "npx");
    let shown = sb.json_ok(&["draft", "show", "--client", "codex"]);
    assert_eq!(
        shown["draft"]["api"]["headers"],
        json!({"Authorization": "Bearer ${API_TOKEN}"})
    );
}

/// `import` moves a literal credential header into the secret store; the draft, the diff and
/// every output show only the reference.
#[test]
fn import_keeps_literal_header_tokens_out_of_the_draft() {
    let sb = Sandbox::new();
    sb.write(
        "home/.cursor/mcp.json",
        r#"{"mcpServers": {"r": {"url": "https://r.example/mcp", "headers": {"Authorization": "Bearer literal-tok-9999"}}}}"#,
    );
    sb.json_ok(&["import", "--client", "cursor"]);
    let run = sb.run(&["draft", "show", "--client", "cursor", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(!run.stdout.contains("literal-tok-9999"), "{run}");
    let shown = sb.json_ok(&["draft", "show", "--client", "cursor"]);
    assert_eq!(
        shown["draft"]["r"]["headers"],
        json!({"Authorization": "Bearer ${cursor/default/R_AUTHORIZATION}"})
    );
    let names = sb.json_ok(&["secrets", "list"]);
    assert_eq!(names["secrets"], json!(["cursor/default/R_AUTHORIZATION"]));
    // Deploying would swap the literal for the bridge; the diff never shows the token.
    let run = sb.run(&["diff", "--client", "cursor", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(!run.stdout.contains("literal-tok-9999"), "{run}");
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let change = &plan["diff"]["servers_modified"][0];
    assert_eq!(change["server_id"], "r");
    assert_eq!(
        change["changes"][0]["path"], "args",
        "a literal header becomes a bridge that reads the stored value: {change:#}"
    );
}

/// Fields mcp-orch does not model (`disabled`, `autoApprove`, `cwd`, `timeout`, ...) survive
/// `import`, so adopting a file and deploying it never re-enables a disabled server.
#[test]
fn import_then_diff_keeps_client_specific_fields() {
    let sb = Sandbox::new();
    sb.write(
        "home/.codeium/windsurf/mcp_config.json",
        r#"{"mcpServers": {"seq": {"command": "npx", "args": ["-y", "x"], "disabled": true, "autoApprove": ["t"]}}}"#,
    );
    sb.json_ok(&["import", "--client", "windsurf"]);
    let plan = sb.json_ok(&["diff", "--client", "windsurf"]);
    assert_eq!(
        plan["diff"],
        json!({"servers_added": [], "servers_removed": [], "servers_modified": [], "servers_unchanged": ["seq"]})
    );
}

// ---- run -------------------------------------------------------------------------------------

#[test]
fn run_fills_env_from_the_store_and_execs_the_command() {
    let sb = Sandbox::new();
    let run = sb.run_stdin(&["secrets", "set", "K"], "stored-k-value\n");
    assert_eq!(run.code, 0, "{run}");
    let run = sb.run(&[
        "run",
        "x",
        "--env",
        "FOO=${K}",
        "--",
        "sh",
        "-c",
        "printf %s \"$FOO\"",
    ]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "stored-k-value", "")
    );
    let run = sb.run(&[
        "run",
        "x",
        "--env",
        "FOO=pre-${K}-post",
        "--env",
        "BAR=plain",
        "--",
        "sh",
        "-c",
        "printf '%s|%s' \"$FOO\" \"$BAR\"",
    ]);
    assert_eq!(run.stdout, "pre-stored-k-value-post|plain");
    // The exit code is the command's.
    let run = sb.run(&["run", "x", "--", "sh", "-c", "exit 7"]);
    assert_eq!(run.code, 7);

    let err = sb.user_error(
        &[
            "run",
            "srv",
            "--json",
            "--env",
            "FOO=${MISSING}",
            "--",
            "sh",
            "-c",
            "true",
        ],
        "MISSING_SECRET",
    );
    assert_eq!(err["field"], "env.FOO");
    assert_eq!(
        err["message"],
        "server `srv` needs secret `MISSING`, which is not in the secret store"
    );
    sb.user_error(
        &["run", "x", "--json", "--env", "nokey", "--", "true"],
        "INVALID_KEY_VALUE",
    );
    // A command that cannot start is an I/O error: exit 2.
    let err = sb.json_err(&["run", "x", "--json", "--", "/nonexistent/command"], 2);
    assert_eq!(err["code"], "IO_ERROR");
    // No command: usage error.
    let run = sb.run(&["run", "x"]);
    assert_eq!(run.code, 1, "{run}");
}

// ---- completions, help, usage ----------------------------------------------------------------

#[test]
fn completions_for_every_shell() {
    let sb = Sandbox::new();
    let run = sb.run(&["completions", "bash"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains("complete -F _mcp__orch"),
        "{}",
        &run.stdout[..200]
    );
    for sub in ["clients", "draft", "list-servers", "secrets"] {
        assert!(run.stdout.contains(sub), "{sub}");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let run = sb.run(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {run}");
        assert!(run.stdout.contains("mcp-orch"), "{shell}");
    }
    let run = sb.run(&["completions", "tcsh"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
}

/// Every subcommand path of the real command tree (hidden aliases included).
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_owned());
            out.push(path.clone());
            walk(sub, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(&mcp_orch::cli::Cli::command(), &[], &mut out);
    out
}

#[test]
fn help_on_every_subcommand_exits_0() {
    let sb = Sandbox::new();
    let paths = command_paths();
    let joined: BTreeSet<String> = paths.iter().map(|p| p.join(" ")).collect();
    for expected in [
        "clients",
        "profiles list",
        "profiles create",
        "profiles delete",
        "servers search",
        "servers show",
        "draft add",
        "draft remove",
        "draft show",
        "draft clear",
        "draft copy",
        "import",
        "validate",
        "diff",
        "secrets list",
        "secrets set",
        "secrets remove",
        "run",
        "completions",
        "list-servers",
        "describe-server",
        "add-server",
        "remove-server",
    ] {
        assert!(joined.contains(expected), "{expected} is not a subcommand");
    }
    let mut all = vec![Vec::new()];
    all.extend(paths);
    for path in all {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let run = sb.run(&args);
        assert_eq!(run.code, 0, "{args:?}: {run}");
        let usage = format!("Usage: mcp-orch {}", path.join(" "));
        assert!(run.stdout.contains(usage.trim_end()), "{args:?}: {run}");
        assert_eq!(run.stderr, "");
    }
    // `help SUBCOMMAND` too.
    let run = sb.run(&["help", "draft", "add"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("Usage: mcp-orch draft add"));
}

#[test]
fn hidden_aliases_work_and_stay_hidden() {
    let sb = Sandbox::new();
    let run = sb.run(&["--help"]);
    for alias in [
        "list-servers",
        "describe-server",
        "add-server",
        "remove-server",
    ] {
        assert!(!run.stdout.contains(alias), "{alias} is listed in --help");
    }
    assert_eq!(
        sb.json_ok(&["list-servers", "git", "--transport", "stdio"]),
        sb.json_ok(&["servers", "search", "git", "--transport", "stdio"])
    );
    assert_eq!(
        sb.json_ok(&["describe-server", "n8n"]),
        sb.json_ok(&["servers", "show", "n8n"])
    );
    sb.user_error(&["describe-server", "nope"], "UNKNOWN_SERVER");
    let added = sb.json_ok(&[
        "add-server",
        "time",
        "--client",
        "zed",
        "-P",
        "timezone=Europe/Paris",
    ]);
    assert_eq!(added["status"], "added");
    let shown = sb.json_ok(&["draft", "show", "--client", "zed"]);
    assert_eq!(
        shown["draft"]["time"]["args"],
        json!(["mcp-server-time", "--local-timezone", "Europe/Paris"])
    );
    let removed = sb.json_ok(&["remove-server", "time", "--client", "zed"]);
    assert_eq!(removed["status"], "removed");
    sb.user_error(
        &["remove-server", "time", "--client", "zed"],
        "SERVER_NOT_IN_DRAFT",
    );
}

#[test]
fn usage_errors_exit_1_on_stderr() {
    let sb = Sandbox::new();
    let cases: &[&[&str]] = &[
        &[],
        &["bogus"],
        &["draft", "add"],
        &["draft", "add", "memory"],
        &["draft", "add", "memory", "--client"],
        &["clients", "--nope"],
        &["servers", "search", "--limit", "many"],
        &["profiles", "create"],
        &["draft", "copy", "--client", "cursor"],
        &["secrets"],
        &["completions"],
    ];
    for args in cases {
        let run = sb.run(args);
        assert_eq!(run.code, 1, "{args:?}: {run}");
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(
            run.stderr.starts_with("error:")
                || run.stderr.starts_with("Usage:")
                || run.stderr.contains("\nUsage:"),
            "{args:?}: {run}"
        );
    }
    let run = sb.run(&["--version"]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        format!("mcp-orch {}\n", env!("CARGO_PKG_VERSION"))
    );
    let run = sb.run(&["draft", "--version"]);
    assert_eq!(run.code, 0);
}

// ---- errors and state ------------------------------------------------------------------------

#[test]
fn text_errors_go_to_stderr_with_code_and_hint() {
    let sb = Sandbox::new();
    let run = sb.run(&["servers", "show", "githb"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    insta::assert_snapshot!("error_text_unknown_server", run.stderr);
    let run = sb.run(&["draft", "add", "memory", "--client", "nope"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(
            "error[UNKNOWN_CLIENT]: unknown client `nope`\n  hint: use one of: claude-desktop, "
        ),
        "{run}"
    );
}

#[test]
fn an_unusable_state_directory_is_an_internal_error() {
    let sb = Sandbox::new();
    let file = sb.write("not-a-dir", "x");
    let run = sb.run(&["--home", file.to_str().unwrap(), "clients", "--json"]);
    assert_eq!(run.code, 2, "{run}");
    let err = run.json();
    assert_eq!(err["error"]["code"], "IO_ERROR");
    assert_eq!(
        err["error"]["hint"],
        "check that the path exists and is writable"
    );
    assert!(!file.is_dir());
}

#[cfg(unix)]
#[test]
fn home_flag_overrides_mcp_orch_home() {
    let sb = Sandbox::new();
    let other = sb.root.join("other-state");
    sb.json_ok(&[
        "--home",
        other.to_str().unwrap(),
        "draft",
        "add",
        "memory",
        "--client",
        "cursor",
    ]);
    assert!(other.join("drafts/cursor/default.json").is_file());
    assert_eq!(common::mode(&other), 0o700);
    assert!(!sb.state.join("drafts").exists());
    let shown = sb.json_ok(&["draft", "show", "--client", "cursor"]);
    assert_eq!(shown["server_count"], 0);
}

#[test]
fn a_corrupt_state_file_names_the_file() {
    let sb = Sandbox::new();
    let path = sb.write("state/drafts/cursor/default.json", "{ not json");
    let err = sb.user_error(&["draft", "show", "--client", "cursor"], "DATA_FILE_ERROR");
    assert_eq!(err["details"]["path"], path.display().to_string());
    let path = sb.write("state/catalog.toml", "[[servers]]\nname = \"no id\"\n");
    let err = sb.user_error(&["servers", "search"], "DATA_FILE_ERROR");
    assert_eq!(err["details"]["path"], path.display().to_string());
}

#[test]
fn user_overlays_add_clients_and_catalog_entries() {
    let sb = Sandbox::new();
    sb.write(
        "state/catalog.toml",
        "[[servers]]\nid = \"my-tool\"\nname = \"My Tool\"\ntransport = \"stdio\"\ncommand = \"my-tool\"\n\n[[servers]]\nid = \"memory\"\ndescription = \"Overridden.\"\n",
    );
    let shown = sb.json_ok(&["servers", "show", "my-tool"]);
    assert_eq!(shown["source"], "user");
    let shown = sb.json_ok(&["servers", "show", "memory"]);
    assert_eq!(shown["description"], "Overridden.");
    assert_eq!(shown["transport"]["command"], "npx");
    let found = sb.json_ok(&["servers", "search", "my-tool"]);
    assert_eq!(ids(&found["servers"])[0], "my-tool");
}

/// Output into a closed pipe (`mcp-orch ... | head -0`) is a quiet success, in every mode.
#[cfg(unix)]
#[test]
fn a_closed_stdout_is_not_an_error() {
    let sb = Sandbox::new();
    for args in [
        &["completions", "bash"][..],
        &["servers", "search", "--json"],
        &["servers", "search"],
        &["clients", "--json"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = sb
            .std_cmd(args)
            .stdin(std::process::Stdio::null())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A value that goes into a remote server's header may not read as a secret reference: the
/// bridge fills `{secret:KEY}` and `${KEY}` in headers from the store, so a parameter or a plain
/// env value holding one (from whoever adds the server, a model included) would send any
/// stored secret to the server's URL. Refused with the field named; nothing is added.
#[test]
fn values_that_would_read_as_secret_references_in_headers_are_refused() {
    fn add<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "draft",
            "add",
            "remote",
            "--client",
            "cursor",
            "--param",
            "region=eu",
        ];
        args.extend_from_slice(extra);
        args
    }
    let sb = Sandbox::new();
    sb.write(
        "state/catalog.toml",
        r#"[[servers]]
id = "remote"
name = "Remote"
description = "a remote server with a header from a parameter and one from a plain env var"
transport = "http"
url = "https://mcp.example.com/{region}/mcp"
params = [{ name = "region", type = "string", description = "r", required = true },
          { name = "team", type = "string", description = "t", required = true }]
headers = [{ name = "X-Team", value = "{team}", required = true },
           { name = "X-Project", value = "${PROJECT}", required = false }]
env = [{ name = "PROJECT", required = false }]
"#,
    );
    let run = sb.run_stdin(
        &["secrets", "set", "cursor/default/GITHUB_TOKEN"],
        "ghp-victim\n",
    );
    assert_eq!(run.code, 0, "{run}");
    for (extra, field) in [
        (
            &["--param", "team={secret:cursor/default/GITHUB_TOKEN}"][..],
            "params.team",
        ),
        (&["--param", "team=${GITHUB_TOKEN}"][..], "params.team"),
        (
            &[
                "--param",
                "team=a",
                "--env",
                "PROJECT=x{secret:cursor/default/GITHUB_TOKEN}",
            ][..],
            "env_vars.PROJECT",
        ),
    ] {
        let err = sb.user_error(&add(extra), "INVALID_HEADER");
        assert_eq!(err["field"], field, "{err:#}");
    }
    assert_eq!(
        sb.json_ok(&["draft", "show", "--client", "cursor"])["server_count"],
        0
    );
    // The same characters are fine where nothing fills them: the URL, a plain header value.
    let added = sb.json_ok(&add(&["--param", "team=a-team", "--env", "PROJECT=p"]));
    assert_eq!(added["server"]["headers"]["X-Team"], "a-team");
}

/// `secrets scan` finds plaintext secrets in env, args, headers and URLs in JSON, TOML and
/// YAML client files, by name and by shape, and never prints a value.
#[test]
fn secrets_scan_finds_plaintext_secrets_in_every_format_and_prints_no_value() {
    let sb = Sandbox::new();
    let values = [
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "plain-pat-value",
        "k3y-v4lue-1",
        "qwerty123456",
        "xoxb-1234567890-abcdefghij",
        "hunter2hunter2",
    ];
    sb.write(
        "home/.cursor/mcp.json",
        r#"{"mcpServers": {
  "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"], "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_16C7e42F292c6912E7710c838347Ae178B4a"}},
  "search": {"command": "npx", "args": ["-y", "search-mcp", "--api-key", "k3y-v4lue-1"]},
  "safe": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"], "env": {"TOKEN": "${env:TOKEN}"}}
}}"#,
    );
    sb.write(
        "home/.codex/config.toml",
        "[mcp_servers.remote]\nurl = \"https://mcp.example.com/mcp?access_token=qwerty123456\"\n\n[mcp_servers.local]\ncommand = \"uvx\"\nargs = [\"srv\"]\nenv = { API_PAT = \"plain-pat-value\" }\n",
    );
    sb.write(
        "home/.config/goose/config.yaml",
        "extensions:\n  slack:\n    type: stdio\n    cmd: npx\n    args: [\"-y\", \"slack-mcp\"]\n    envs:\n      SLACK_BOT: xoxb-1234567890-abcdefghij\n  db:\n    type: streamable_http\n    uri: postgres://orch:hunter2hunter2@db.internal/orch\n    headers:\n      Authorization: Bearer ${DB_TOKEN}\n",
    );
    let run = sb.run(&["secrets", "scan", "--json", "--check"]);
    assert_eq!(run.code, 1, "{run}");
    let scan = run.json();
    let mut found: Vec<String> = scan["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            let client = f["client_id"].as_str().unwrap().to_owned();
            f["findings"].as_array().unwrap().iter().map(move |x| {
                format!(
                    "{client} {} {}: {}",
                    x["server"].as_str().unwrap(),
                    x["field"].as_str().unwrap(),
                    x["kind"].as_str().unwrap()
                )
            })
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "codex local env.API_PAT: value of a secret-named key",
            "codex remote url: secret in a URL query",
            "cursor github env.GITHUB_PERSONAL_ACCESS_TOKEN: GitHub token",
            "cursor search args: credential argument",
            "goose db uri: password in a URL",
            "goose slack envs.SLACK_BOT: Slack token",
        ]
    );
    assert_eq!(scan["count"], 6);
    let text = sb.run(&["secrets", "scan"]);
    assert_eq!(text.code, 0, "{text}");
    for value in values {
        assert!(!run.stdout.contains(value), "{value} printed");
        assert!(!text.stdout.contains(value), "{value} printed");
        assert!(!text.stderr.contains(value), "{value} printed");
    }
    assert!(
        text.stdout.contains("6 plaintext secret(s) in 3 file(s)"),
        "{text}"
    );
}

#[test]
fn adding_the_same_server_again_with_if_exists_keep_changes_nothing() {
    let sb = Sandbox::new();
    let first = sb.json_ok(&["draft", "add", "memory", "--client", "cursor"]);
    assert_eq!(first["status"], "added");
    let again = sb.json_ok(&[
        "draft",
        "add",
        "memory",
        "--client",
        "cursor",
        "--if-exists",
        "keep",
    ]);
    assert_eq!(again["status"], "unchanged");
    assert_eq!(again["server_count"], 1);
    // Another definition under the same name is still refused.
    sb.user_error(
        &[
            "draft",
            "add",
            "time",
            "--name",
            "memory",
            "--client",
            "cursor",
            "--if-exists",
            "keep",
        ],
        "DUPLICATE_NAME",
    );
    sb.user_error(
        &["draft", "add", "memory", "--client", "cursor"],
        "DUPLICATE_NAME",
    );
}
