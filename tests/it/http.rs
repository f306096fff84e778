//! End-to-end tests of `mcp-orch serve --http`: the real binary on a random loopback port,
//! driven with raw HTTP/1.1 so every header and byte is under the test's control. Every REST
//! endpoint with its exact status and body, every authentication case, Host and Origin
//! rejection, CORS, body limit, rate limit, timeouts, the event feed with `Last-Event-ID`
//! resumption, TLS, and a graceful shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::many_single_char_names
)]
// Real time is the behaviour under test here (token expiry, rate-limit refill, header timeouts,
// the event poller), so a few short sleeps are deliberate.
#![allow(clippy::disallowed_methods)]

use crate::common;
use crate::http_support as support;

use std::io::{Read, Write};
use std::time::Duration;

use common::Sandbox;
use serde_json::{Value, json};
use support::Server;

/// A static API key of 128 bits or more (32 hex digits).
const STATIC_KEY: &str = "3f9c2a7b1e5d4c6a8b0f2e4d6c8a0b1f";

fn setup() -> (Sandbox, String) {
    let sb = Sandbox::new();
    let admin = sb.token("admin", "admin");
    (sb, admin)
}

const SECS: Duration = Duration::from_secs(10);

#[test]
fn health_info_openapi_need_no_credentials() {
    let (sb, _) = setup();
    let s = Server::start(&sb, &[]);
    let r = s.req().path("/health").send();
    assert_eq!(r.status, 200);
    // A normal start warns about nothing (rmcp printed 12 lines about allowed origins).
    let log = s.log();
    assert!(!log.contains("WARN"), "{log}");
    let body = r.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["storage"]["ok"], true);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    // Readiness checks the disk at most once a second; health answers from memory: many
    // concurrent calls all get 200 and one check time between them.
    let ready = s.req().path("/ready").send();
    assert_eq!(ready.status, 200);
    let answers: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..8)
            .map(|i| {
                let path = if i % 2 == 0 { "/health" } else { "/ready" };
                let s = &s;
                scope.spawn(move || {
                    let r = s.req().path(path).send();
                    (r.status, r.json())
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    for (status, body) in &answers {
        assert_eq!(
            (*status, &body["storage"]["ok"]),
            (200, &json!(true)),
            "{body}"
        );
    }
    let leftovers = std::fs::read_dir(&sb.state)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".ready-"))
        .count();
    assert_eq!(leftovers, 0, "no probe file is left behind");

    let info = s.req().path("/mcp/info").send();
    assert_eq!(info.status, 200);
    let info = info.json();
    assert_eq!(info["name"], "mcp-orch");
    assert_eq!(info["auth"], json!(["bearer"]));
    assert!(
        info["protocol_versions"]
            .as_array()
            .unwrap()
            .contains(&json!("2025-11-25"))
    );
    assert_eq!(info["transports"]["streamable_http"]["endpoint"], "/mcp");

    let doc = s.req().path("/openapi.json").send();
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/v1/clients",
        "/v1/clients/{client_id}/profiles",
        "/v1/config/{client_id}/{profile}",
        "/v1/config/diff",
        "/v1/config/{client_id}/{profile}/draft/add",
        "/v1/config/{client_id}/{profile}/draft/remove",
        "/v1/config/{client_id}/{profile}/draft",
        "/v1/config/{client_id}/{profile}/validate",
        "/v1/config/{client_id}/{profile}/publish",
        "/v1/config/{client_id}/{profile}/deploy",
        "/v1/servers",
        "/v1/servers/{server_id}",
        "/v1/keys/initialize",
        "/v1/config/{client_id}/{profile}/history",
        "/v1/config/{client_id}/{profile}/rollback",
        "/v1/status",
        "/v1/audit",
        "/v1/events",
        "/health",
        "/metrics",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(doc["components"]["securitySchemes"].get("bearer").is_some());

    let r = s.req().path("/nope").send();
    assert_eq!((r.status, r.code()), (404, "NOT_FOUND".into()));
    let r = s.req().method("DELETE").path("/health").send();
    assert_eq!((r.status, r.code()), (405, "METHOD_NOT_ALLOWED".into()));
}

#[test]
fn every_authentication_case() {
    let (mut sb, admin) = setup();
    let read = sb.token("read", "reader");
    let write = sb.token("write", "writer");
    let short = sb.json_ok(&[
        "token",
        "create",
        "--scope",
        "read",
        "--name",
        "short",
        "--expires",
        "1s",
    ])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    sb.set_env("MCP_ORCH_API_KEY", STATIC_KEY);
    let s = Server::start(&sb, &[]);

    // None, malformed, wrong: 401 with the challenge and one identical body.
    let none = s.req().path("/v1/clients").send();
    assert_eq!(none.status, 401);
    assert_eq!(
        none.header("www-authenticate"),
        Some("Bearer realm=\"mcp-orch\"")
    );
    assert_eq!(none.code(), "UNAUTHORIZED");
    let unknown = format!("mcpo_pat_{}", &admin[9..15]) + &admin[15..];
    let mut flipped = admin.clone().into_bytes();
    flipped[20] = if flipped[20] == b'a' { b'b' } else { b'a' };
    let flipped = String::from_utf8(flipped).unwrap();
    for auth in [
        "Bearer",
        "Bearer ",
        "Bearer not-a-token",
        "Basic YWRtaW46YWRtaW4=",
        "bearer mcpo_pat_short",
        &format!("Token {admin}"),
        &format!("Bearer {flipped}"),
    ] {
        let r = s
            .req()
            .path("/v1/clients")
            .header("Authorization", auth)
            .send();
        assert_eq!(r.status, 401, "{auth}");
        assert_eq!(r.body, none.body, "{auth}");
        assert!(r.header("www-authenticate").is_some());
    }
    assert_eq!(s.get("/v1/clients", &unknown).status, 200, "same token");

    // A well-formed token the store does not hold.
    let other = Sandbox::new();
    let foreign = other.token("admin", "x");
    let r = s.get("/v1/clients", &foreign);
    assert_eq!((r.status, &r.body), (401, &none.body));

    // Valid tokens of each scope.
    for t in [&admin, &read, &write] {
        assert_eq!(s.get("/v1/clients", t).status, 200);
    }

    // Wrong scope: 403 with a stable code.
    let r = s.post_empty("/v1/config/cursor/default/publish", &read);
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), "INSUFFICIENT_SCOPE");
    let r = s.post(
        "/v1/config/cursor/default/draft/add",
        &read,
        &json!({"server_id": "memory"}),
    );
    assert_eq!((r.status, r.code()), (403, "INSUFFICIENT_SCOPE".into()));
    let r = s.post_empty("/v1/keys/initialize", &write);
    assert_eq!((r.status, r.code()), (403, "INSUFFICIENT_SCOPE".into()));

    // Expired.
    std::thread::sleep(Duration::from_millis(1200));
    let r = s.get("/v1/clients", &short);
    assert_eq!((r.status, &r.body), (401, &none.body));

    // Revoked with the CLI while the server runs: refused at once.
    let id = sb.json_ok(&["token", "list"])["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "reader")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sb.json_ok(&["token", "revoke", &id]);
    let r = s.get("/v1/clients", &read);
    assert_eq!((r.status, &r.body), (401, &none.body));

    // Created with the CLI while the server runs: accepted at once.
    let fresh = sb.token("read", "fresh");
    assert_eq!(s.get("/v1/clients", &fresh).status, 200);

    // The static API key.
    let r = s
        .req()
        .path("/v1/clients")
        .header("X-API-Key", STATIC_KEY)
        .send();
    assert_eq!(r.status, 200);
    let r = s
        .req()
        .path("/v1/clients")
        .header("X-API-Key", "static-key-12")
        .send();
    assert_eq!((r.status, &r.body), (401, &none.body));

    // Token changes are audited (never the token itself), and last use is recorded.
    let audit = sb.json_ok(&["audit"]);
    let text = audit.to_string();
    assert!(text.contains("token.create") && text.contains("token.revoke"));
    assert!(!text.contains(&admin));
    let file = std::fs::read_to_string(sb.state.join("tokens.json")).unwrap();
    assert!(!file.contains(&admin));
    assert_eq!(common::mode(&sb.state.join("tokens.json")) & 0o777, 0o600);
    drop(s);
    let list = sb.json_ok(&["token", "list"]);
    let admin_rec = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "admin")
        .unwrap()
        .clone();
    assert!(admin_rec["last_used_at"].is_string(), "{admin_rec}");
    let states: Vec<&str> = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"revoked") && states.contains(&"expired"));
}

#[test]
fn token_cli_shapes_and_errors() {
    let sb = Sandbox::new();
    let out = sb.json_ok(&["token", "create", "--name", "ci", "--expires", "30d"]);
    let t = out["token"].as_str().unwrap();
    assert!(t.starts_with("mcpo_pat_") && t.len() == 56, "{t}");
    assert_eq!(out["scope"], "read");
    assert!(out["expires_at"].is_string());
    let e = sb.user_error(&["token", "create", "--name", "ci"], "TOKEN_NAME_EXISTS");
    assert!(e["hint"].as_str().unwrap().contains("revoke"));
    sb.user_error(
        &["token", "create", "--expires", "soon"],
        "INVALID_DURATION",
    );
    sb.user_error(&["token", "revoke", "nope"], "TOKEN_NOT_FOUND");
    let text = sb.run(&["token", "list"]);
    assert!(text.stdout.contains("ci") && !text.stdout.contains(t));
}

fn add(s: &Server, t: &str, server: &str, params: &Value) -> support::Resp {
    s.post(
        "/v1/config/cursor/default/draft/add",
        t,
        &json!({"server_id": server, "params": params}),
    )
}

#[test]
fn every_rest_endpoint_with_exact_statuses() {
    let (sb, t) = setup();
    let s = Server::start(&sb, &[]);

    // Clients and profiles.
    let r = s.get("/v1/clients", &t);
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["count"], body["clients"].as_array().unwrap().len());
    let cursor = body["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "cursor")
        .unwrap();
    assert_eq!(cursor["display_name"], "Cursor");
    assert!(
        cursor["config_location"]
            .as_str()
            .unwrap()
            .ends_with(".cursor/mcp.json")
    );
    let r = s.get("/v1/clients/cursor/profiles", &t);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["profiles"][0]["profile_id"], "default");
    let r = s.get("/v1/clients/nope/profiles", &t);
    assert_eq!((r.status, r.code()), (404, "UNKNOWN_CLIENT".into()));

    // Servers.
    let r = s.get("/v1/servers", &t);
    assert_eq!(r.status, 200);
    let all = r.json();
    assert!(all["count"].as_u64().unwrap() > 10);
    let r = s.get("/v1/servers?transport=http", &t);
    assert!(
        r.json()["servers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["transport"] == "http")
    );
    let r = s.get("/v1/servers?search=filesys", &t);
    assert_eq!(r.json()["servers"][0]["server_id"], "filesystem");
    assert_eq!(r.json()["servers"][0]["transport"], "stdio");
    let r = s.get("/v1/servers?transport=carrier-pigeon", &t);
    assert_eq!((r.status, r.code()), (400, "INVALID_TRANSPORT".into()));
    let r = s.get("/v1/servers/filesystem", &t);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["server_id"], "filesystem");
    let r = s.get("/v1/servers/nope", &t);
    assert_eq!((r.status, r.code()), (404, "UNKNOWN_SERVER".into()));

    // Draft: view (empty), add, errors, validate, diff.
    let r = s.get("/v1/config/cursor/default/draft", &t);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["server_count"], 0);
    let r = add(&s, &t, "filesystem", &json!({"path": "/tmp"}));
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["status"], "added");
    assert_eq!(body["server_name"], "filesystem");
    assert_eq!(body["server_count"], 1);
    let r = add(&s, &t, "filesystem", &json!({"path": "/tmp"}));
    assert_eq!((r.status, r.code()), (409, "DUPLICATE_NAME".into()));
    let r = add(&s, &t, "filesystem", &json!({}));
    assert_eq!(r.status, 400);
    let r = add(&s, &t, "nope", &json!({}));
    assert_eq!((r.status, r.code()), (404, "UNKNOWN_SERVER".into()));
    let r = s.post(
        "/v1/config/nope/default/draft/add",
        &t,
        &json!({"server_id": "memory"}),
    );
    assert_eq!((r.status, r.code()), (404, "UNKNOWN_CLIENT".into()));
    let r = s.post(
        "/v1/config/cursor/ghost/draft/add",
        &t,
        &json!({"server_id": "memory"}),
    );
    assert_eq!((r.status, r.code()), (404, "UNKNOWN_PROFILE".into()));
    let r = s
        .req()
        .method("POST")
        .path("/v1/config/cursor/default/draft/add")
        .bearer(&t)
        .header("Content-Type", "application/json")
        .body(b"{not json".to_vec())
        .send();
    assert_eq!((r.status, r.code()), (400, "MALFORMED_JSON".into()));
    let r = s
        .req()
        .method("POST")
        .path("/v1/config/cursor/default/draft/add")
        .bearer(&t)
        .header("Content-Type", "text/plain")
        .body(b"{}".to_vec())
        .send();
    assert_eq!((r.status, r.code()), (415, "UNSUPPORTED_MEDIA_TYPE".into()));
    let r = s.post("/v1/config/cursor/default/draft/add", &t, &json!({}));
    assert_eq!((r.status, r.code()), (400, "INVALID_BODY".into()));
    let r = add(&s, &t, "memory", &json!({}));
    assert_eq!(r.status, 200);
    let r = s.get("/v1/config/cursor/default/draft", &t);
    let view = r.json();
    assert_eq!(view["servers"], json!(["filesystem", "memory"]));
    assert_eq!(view["mcpServers"]["filesystem"]["command"], "npx");
    let r = s.post_empty("/v1/config/cursor/default/validate", &t);
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(
        (v["valid"].clone(), v["server_count"].clone()),
        (json!(true), json!(2))
    );
    let r = s.get("/v1/config/cursor/default/diff", &t);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["diff"]["servers_added"],
        json!(["filesystem", "memory"])
    );

    // Remove.
    let r = s.post(
        "/v1/config/cursor/default/draft/remove",
        &t,
        &json!({"server_id": "memory"}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["server_count"], 1);
    let r = s.post(
        "/v1/config/cursor/default/draft/remove",
        &t,
        &json!({"server_name": "memory"}),
    );
    assert_eq!((r.status, r.code()), (404, "SERVER_NOT_IN_DRAFT".into()));
    let r = s.post("/v1/config/cursor/default/draft/remove", &t, &json!({}));
    assert_eq!((r.status, r.code()), (400, "MISSING_FIELD".into()));

    // Publish needs a key; keys/initialize returns only the public half.
    let r = s.post_empty("/v1/config/cursor/default/publish", &t);
    assert_eq!(r.status, 409, "{}", r.text());
    let r = s.post_empty("/v1/keys/initialize", &t);
    assert_eq!(r.status, 201);
    let keys = r.json();
    assert_eq!(keys["status"], "initialized");
    assert!(keys["key"]["public_key"].is_string());
    assert!(!r.text().contains("private"));
    let r = s.post_empty("/v1/keys/initialize", &t);
    assert_eq!((r.status, r.code()), (409, "KEY_EXISTS".into()));
    let r = s.post("/v1/keys/initialize", &t, &json!({"regenerate": true}));
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["status"], "regenerated");

    // Nothing published yet.
    let r = s.get("/v1/config/cursor/default", &t);
    assert_eq!((r.status, r.code()), (404, "ARTIFACT_NOT_FOUND".into()));
    let r = s.post_empty("/v1/config/cursor/default/deploy", &t);
    assert_eq!((r.status, r.code()), (404, "ARTIFACT_NOT_FOUND".into()));

    // Publish v1 with a changelog.
    let r = s.post(
        "/v1/config/cursor/default/publish",
        &t,
        &json!({"changelog": "first"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v1 = r.json();
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["changelog"], "first");
    assert_eq!(v1["server_count"], 1);
    let r = s.post(
        "/v1/config/cursor/default/publish",
        &t,
        &json!({"bogus": 1}),
    );
    assert_eq!((r.status, r.code()), (400, "MALFORMED_JSON".into()));

    // Get config: the published artifact, verified.
    let r = s.get("/v1/config/cursor/default", &t);
    assert_eq!(r.status, 200);
    let cfg = r.json();
    assert_eq!(cfg["artifact_id"], v1["artifact_id"]);
    assert_eq!(cfg["verified"], true);
    assert!(cfg["payload"]["entries"]["filesystem"].is_object());
    let prefix = &v1["artifact_id"].as_str().unwrap()[..12];
    let r = s.get(
        &format!("/v1/config/cursor/default?artifact_id={prefix}"),
        &t,
    );
    assert_eq!(r.status, 200);

    // Deploy: dry run first, then for real.
    let r = s.post(
        "/v1/config/cursor/default/deploy",
        &t,
        &json!({"dry_run": true}),
    );
    assert_eq!(r.status, 200);
    let dry = r.json();
    assert_eq!(
        (dry["dry_run"].clone(), dry["status"].clone()),
        (json!(true), json!("dry_run"))
    );
    let file = sb.home.join(".cursor/mcp.json");
    assert!(!file.exists());
    let r = s.post_empty("/v1/config/cursor/default/deploy", &t);
    assert_eq!(r.status, 200, "{}", r.text());
    let dep = r.json();
    assert_eq!(dep["status"], "deployed");
    assert_eq!(dep["version"], 1);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written["mcpServers"]["filesystem"]["command"], "npx");

    // Rollback with a single version: nothing earlier.
    let r = s.post_empty("/v1/config/cursor/default/rollback", &t);
    assert_eq!(r.status, 409, "{}", r.text());

    // Publish v2, deploy, roll back to v1.
    assert_eq!(add(&s, &t, "memory", &json!({})).status, 200);
    let r = s.post_empty("/v1/config/cursor/default/publish", &t);
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["version"], 2);
    assert_eq!(
        s.post_empty("/v1/config/cursor/default/deploy", &t).status,
        200
    );
    let r = s.get("/v1/config/cursor/default/history", &t);
    assert_eq!(r.status, 200);
    let h = r.json();
    assert_eq!(h["releases"][0]["version"], 2);
    assert_eq!(h["releases"][1]["version"], 1);
    let r = s.post(
        "/v1/config/cursor/default/rollback",
        &t,
        &json!({"artifact_id": "x", "steps": 1}),
    );
    assert_eq!((r.status, r.code()), (400, "CONFLICTING_FIELDS".into()));
    let r = s.post(
        "/v1/config/cursor/default/rollback",
        &t,
        &json!({"steps": 1}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["version"], 1);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(written["mcpServers"].get("memory").is_none());

    // Status, audit, audit verify.
    let r = s.get("/v1/status?client=cursor", &t);
    assert_eq!(r.status, 200);
    let st = r.json();
    let target = &st["targets"][0];
    assert_eq!(target["deployed_version"], 1);
    assert_eq!(target["latest_version"], 2);
    let r = s.get("/v1/status?client=nope", &t);
    assert_eq!((r.status, r.code()), (404, "UNKNOWN_CLIENT".into()));
    let r = s.get("/v1/audit?client=cursor&action=deploy", &t);
    assert_eq!(r.status, 200);
    let a = r.json();
    // The refused deploy before anything was published is audited too.
    assert_eq!(a["count"], 3);
    assert_eq!(a["records"][0]["outcome"], "error");
    assert_eq!(a["records"][0]["error_code"], "ARTIFACT_NOT_FOUND");
    assert!(
        a["records"][0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("http:token:")
    );
    let r = s.get("/v1/audit?since=yesterday", &t);
    assert_eq!((r.status, r.code()), (400, "INVALID_TIME".into()));
    let r = s.get("/v1/audit?limit=abc", &t);
    assert_eq!((r.status, r.code()), (400, "INVALID_QUERY".into()));
    let r = s.get("/v1/audit/verify", &t);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["ok"], true);

    // Config diff between two documents.
    let r = s.post(
        "/v1/config/diff",
        &t,
        &json!({
            "config1": {"mcpServers": {"a": {"command": "x"}, "b": {"command": "y"}}},
            "config2": {"mcpServers": {"a": {"command": "x2"}, "c": {"command": "z"}}},
        }),
    );
    assert_eq!(r.status, 200);
    let d = r.json();
    assert_eq!(d["added"], json!(["c"]));
    assert_eq!(d["removed"], json!(["b"]));
    assert_eq!(d["modified"], json!(["a"]));
    assert_eq!(d["diff"], "diverged: 3 changes");
    let r = s.post(
        "/v1/config/diff",
        &t,
        &json!({"config1": [], "config2": {}}),
    );
    assert_eq!((r.status, r.code()), (400, "INVALID_BODY".into()));

    // Clear.
    let r = s.delete("/v1/config/cursor/default/draft", &t);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["previous_count"], 2);
    // An empty draft publishes: deploying it removes mcp-orch's servers from the file.
    let r = s.post_empty("/v1/config/cursor/default/publish", &t);
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["server_count"], 0);

    // Path ids are checked.
    let r = s.get("/v1/config/cursor/..%2Fetc/draft", &t);
    assert_eq!((r.status, r.code()), (404, "UNKNOWN_PROFILE".into()));
    let r = s.get("/v1/config/cursor/..%2Fetc/history", &t);
    assert_eq!((r.status, r.code()), (404, "UNKNOWN_PROFILE".into()));

    // Metrics count what happened.
    let m = s.get("/metrics", &t);
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    let text = m.text();
    assert!(text.contains(
        "mcp_orch_http_requests_total{method=\"POST\",route=\"/v1/config/{client_id}/{profile}/publish\",status=\"201\"} 3"
    ));
    assert!(text.contains("process_resident_memory_bytes"));
}

#[test]
fn host_origin_and_cors() {
    let (sb, t) = setup();
    let s = Server::start(&sb, &["--cors-origin", "https://app.example.com"]);
    // Foreign Host: DNS rebinding.
    for host in [
        "evil.example",
        "evil.example:80",
        "0.0.0.0",
        "[::1]evil.com",
        "localhost:80evil",
    ] {
        let r = s
            .req()
            .path("/v1/clients")
            .bearer(&t)
            .header("Host", host)
            .send();
        assert_eq!(
            (r.status, r.code()),
            (403, "FORBIDDEN_HOST".into()),
            "{host}"
        );
        let r = s.req().path("/health").header("Host", host).send();
        assert_eq!(r.status, 403);
    }
    for host in ["localhost:1234", "[::1]:9", "127.0.0.1"] {
        let r = s
            .req()
            .path("/v1/clients")
            .bearer(&t)
            .header("Host", host)
            .send();
        assert_eq!(r.status, 200, "{host}");
    }
    // Foreign Origin: a web page.
    for origin in [
        "https://evil.example",
        "null",
        "http://localhost.evil.example",
    ] {
        let r = s
            .req()
            .path("/v1/clients")
            .bearer(&t)
            .header("Origin", origin)
            .send();
        assert_eq!(
            (r.status, r.code()),
            (403, "FORBIDDEN_ORIGIN".into()),
            "{origin}"
        );
    }
    // Foreign Origin is refused before the body is read, even for a huge declared body.
    let r = s
        .req()
        .method("POST")
        .path("/v1/config/diff")
        .bearer(&t)
        .header("Origin", "https://evil.example")
        .header("Content-Type", "application/json")
        .body(b"{}".to_vec())
        .send();
    assert_eq!(r.status, 403);
    // Loopback and listed origins pass, with CORS headers for the listed one only.
    let r = s
        .req()
        .path("/v1/clients")
        .bearer(&t)
        .header("Origin", "http://localhost:3000")
        .send();
    assert_eq!(r.status, 200);
    assert!(r.header("access-control-allow-origin").is_none());
    let r = s
        .req()
        .path("/v1/clients")
        .bearer(&t)
        .header("Origin", "https://app.example.com")
        .send();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_ne!(r.header("access-control-allow-credentials"), Some("true"));
    let pre = s
        .req()
        .method("OPTIONS")
        .path("/v1/clients")
        .header("Origin", "https://app.example.com")
        .header("Access-Control-Request-Method", "GET")
        .header(
            "Access-Control-Request-Headers",
            "authorization,mcp-method,mcp-name",
        )
        .send();
    assert_eq!(pre.status, 200);
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    // 2026-07-28 clients send `Mcp-Method` and `Mcp-Name` with every request.
    let allowed = pre.header("access-control-allow-headers").unwrap();
    for name in ["authorization", "mcp-method", "mcp-name", "mcp-session-id"] {
        assert!(allowed.contains(name), "{name} not in {allowed}");
    }
}

#[test]
fn a_413_closes_the_connection_so_the_unread_body_is_not_taken_for_a_request() {
    let (sb, t) = setup();
    let s = Server::start(&sb, &[]);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // A declared 2 MiB body, of which only a piece is sent, that itself looks like a request.
    let smuggled = "GET /v1/clients HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    let head = format!(
        "POST /v1/config/diff HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {t}\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n{smuggled}"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    assert_eq!(text.matches("HTTP/1.1").count(), 1, "{text}");
}

#[test]
fn wildcard_cors_and_open_binds_are_refused() {
    let (sb, _) = setup();
    let err = Server::try_start(&sb, &["--cors-origin", "*"])
        .err()
        .unwrap();
    assert!(err.contains("INSECURE_CONFIG"), "{err}");
    let empty = Sandbox::new();
    let err = Server::try_start(&empty, &["--host", "0.0.0.0"])
        .err()
        .unwrap();
    assert!(err.contains("no token or API key exists"), "{err}");
    let err = Server::try_start(&sb, &["--host", "0.0.0.0", "--no-auth"])
        .err()
        .unwrap();
    assert!(err.contains("without authentication"), "{err}");
    // A static API key that could be guessed is refused at start, whatever the bind.
    for weak in [
        "a",
        "static-key-123",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        let mut weak_sb = Sandbox::new();
        weak_sb.set_env("MCP_ORCH_API_KEY", weak);
        let err = Server::try_start(&weak_sb, &[]).err().unwrap();
        assert!(err.contains("WEAK_API_KEY"), "{weak}: {err}");
    }
}

#[test]
fn body_limit_rate_limit_and_auth_backoff() {
    let (sb, t) = setup();
    sb.write(
        "state/server.toml",
        "[rate_limit]\nper_second = 2\nburst = 3\nauth_failures_per_minute = 4\n",
    );
    let s = Server::start(&sb, &[]);
    // A 2 MiB body: 413 from the declared length.
    let big = vec![b' '; 2 * 1024 * 1024];
    let r = s
        .req()
        .method("POST")
        .path("/v1/config/diff")
        .bearer(&t)
        .header("Content-Type", "application/json")
        .body(big)
        .send();
    assert_eq!((r.status, r.code()), (413, "BODY_TOO_LARGE".into()));
    // Rate limit: a burst of 3 (the 413 above counted), then 429 with Retry-After.
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(s.get("/v1/clients", &t).status);
    }
    assert!(codes.contains(&429), "{codes:?}");
    let r = s.get("/v1/clients", &t);
    assert_eq!((r.status, r.code()), (429, "RATE_LIMITED".into()));
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait));
    // Another credential has its own budget.
    let other = sb.token("read", "other");
    assert_eq!(s.get("/v1/clients", &other).status, 200);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(s.get("/v1/clients", &t).status, 200);
    // Failed authentications back off per peer and credential: 4 per minute, then 429 for
    // that credential from that peer, while the other clients at the same address (every
    // local client is 127.0.0.1) carry on: a good token, and another bad one that gets its own
    // honest 401s.
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(s.get("/v1/clients", "mcpo_pat_nope").status);
    }
    assert_eq!(codes, [401, 401, 401, 401, 429]);
    let r = s.get("/v1/clients", "mcpo_pat_nope");
    assert_eq!((r.status, r.code()), (429, "RATE_LIMITED".into()));
    assert!(r.header("retry-after").is_some());
    assert_eq!(s.get("/v1/status", &other).status, 200);
    let r = s.get("/v1/status", "mcpo_pat_other");
    assert_eq!((r.status, r.code()), (401, "UNAUTHORIZED".into()));
}

#[test]
fn chunked_oversized_body_is_413() {
    let (sb, t) = setup();
    let s = Server::start(&sb, &[]);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    let head = format!(
        "POST /v1/config/diff HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {t}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..20 {
        if stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .is_err()
            || stream.write_all(&chunk).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("BODY_TOO_LARGE"));
}

#[test]
fn half_sent_headers_are_cut_off() {
    let (sb, _) = setup();
    sb.write(
        "state/server.toml",
        "[limits]\nheader_read_timeout_secs = 1\n",
    );
    let s = Server::start(&sb, &[]);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let n = stream.read_to_end(&mut buf);
    let took = started.elapsed();
    assert!(n.is_ok(), "the server kept the connection open: {n:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[test]
fn events_stream_and_resume_with_last_event_id() {
    let (sb, t) = setup();
    let s = Server::start(&sb, &[]);
    let r = s.get("/v1/events", "");
    assert_eq!(r.status, 401);
    let mut es = s.req().path("/v1/events").bearer(&t).open_stream();
    assert_eq!(es.status, 200);

    // A change through the REST API...
    assert_eq!(add(&s, &t, "memory", &json!({})).status, 200);
    let seen = es
        .until(SECS, |e| e.event == "draft_changed")
        .expect("draft_changed");
    let first = seen.last().unwrap().clone();
    assert_eq!(first.json()["client_id"], "cursor");
    let first_id: u64 = first.id.clone().unwrap().parse().unwrap();
    assert_eq!(first.json()["id"], first_id);

    // ...and through the CLI (another process) both arrive.
    sb.json_ok(&["keys", "init"]);
    let ev = es.until(SECS, |e| e.event == "keys_changed").unwrap();
    assert!(
        ev.last().unwrap().json()["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("cli:")),
        "{:?}",
        ev.last()
    );
    drop(es);

    // While disconnected: publish and deploy.
    sb.json_ok(&["publish", "--client", "cursor"]);
    sb.json_ok(&["deploy", "--client", "cursor", "--yes"]);
    std::thread::sleep(Duration::from_millis(600));

    // Resume after the first event: everything after it, in order, no duplicates.
    let mut es = s
        .req()
        .path("/v1/events")
        .bearer(&t)
        .header("Last-Event-ID", &first_id.to_string())
        .open_stream();
    let seen = es.until(SECS, |e| e.event == "deployed").unwrap();
    let kinds: Vec<&str> = seen.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(kinds, ["keys_changed", "published", "deployed"], "{seen:?}");
    let ids: Vec<u64> = seen
        .iter()
        .map(|e| e.id.clone().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1) && ids[0] == first_id + 1);
    let published = seen[1].json();
    assert_eq!(published["client_id"], "cursor");
    assert_eq!(published["version"], 1);
    assert!(published["artifact_id"].is_string());
    drop(es);

    // An id the server cannot know: a resync event first.
    let mut es = s
        .req()
        .path("/v1/events")
        .bearer(&t)
        .header("Last-Event-ID", "garbage")
        .open_stream();
    assert_eq!(es.next(SECS).unwrap().event, "resync");
    let mut es2 = s
        .req()
        .path("/v1/events")
        .bearer(&t)
        .header("Last-Event-ID", "1")
        .open_stream();
    assert_eq!(es2.next(SECS).unwrap().event, "resync");
    drop(es);
    drop(es2);

    let r = s.get("/v1/events/recent", &t);
    assert_eq!(r.status, 200);
    assert!(r.json()["events"].as_array().unwrap().len() >= 4);
}

#[test]
fn graceful_shutdown_ends_streams_and_exits_zero() {
    let (sb, t) = setup();
    let mut s = Server::start(&sb, &[]);
    let mut es = s.req().path("/v1/events").bearer(&t).open_stream();
    assert_eq!(es.status, 200);
    let status = s.terminate(Duration::from_secs(8)).expect("exited");
    assert!(status.success(), "{status:?}\n{}", s.log());
    assert!(es.next(Duration::from_millis(500)).is_none());
}

#[test]
fn tls_with_a_self_signed_certificate() {
    let (sb, t) = setup();
    let cert = sb.root.join("cert.pem");
    let key = sb.root.join("key.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is needed for this test");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let s = Server::start(
        &sb,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(s.log().contains("https://127.0.0.1:"));
    let out = std::process::Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(&cert)
        .args(["-H", &format!("Authorization: Bearer {t}")])
        .arg(format!("https://127.0.0.1:{}/v1/clients", s.port))
        .output()
        .expect("curl is needed for this test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(body["count"].as_u64().unwrap() > 0);
    // Plain HTTP to the TLS port gets nothing useful.
    let r = s.req().path("/health").send();
    assert_ne!(r.status, 200);
}

#[test]
fn hand_edits_of_a_deployed_file_are_reported_as_drift() {
    let (sb, t) = setup();
    sb.json_ok(&["keys", "init"]);
    sb.json_ok(&["draft", "add", "memory", "--client", "cursor"]);
    sb.json_ok(&["publish", "--client", "cursor"]);
    sb.json_ok(&["deploy", "--client", "cursor", "--yes"]);
    let s = Server::start(&sb, &[]);
    let mut es = s.req().path("/v1/events").bearer(&t).open_stream();
    assert_eq!(es.status, 200);
    let file = sb.home.join(".cursor/mcp.json");
    let text = std::fs::read_to_string(&file).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    doc["mcpServers"]["memory"]["command"] = json!("/usr/bin/evil");
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let seen = es
        .until(SECS, |e| e.event == "drift_detected")
        .expect("drift_detected");
    let drift = seen.last().unwrap().json();
    assert_eq!(drift["client_id"], "cursor");
    assert_eq!(drift["drift"], "drifted");
    assert_eq!(drift["changed"], json!(["memory"]));
}

/// `ways` deploys of different versions of one target at once through one server, `runs`
/// times: each run starts from v1 and must end on the newest with exactly its entries; every
/// request is a 200 or a 409 `DOWNGRADE_REFUSED`; `status --check` agrees with the file.
fn concurrent_deploys_over_http(ways: usize, runs: usize) {
    let (sb, t) = setup();
    sb.json_ok(&["keys", "init"]);
    let path = sb.home.join(".cursor/mcp.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        "{\"mcpServers\": {\"hand\": {\"command\": \"x\"}}}\n",
    )
    .unwrap();
    let ids: Vec<String> = (1..=ways + 1)
        .map(|k| {
            let name = format!("s{k}");
            sb.json_ok(&[
                "draft", "add", "memory", "--client", "cursor", "--name", &name,
            ]);
            sb.json_ok(&["publish", "--client", "cursor"])["artifact_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let s = Server::start(&sb, &["--rate-limit", "0"]);
    let mut want: Vec<String> = std::iter::once("hand".to_owned())
        .chain((1..=ways + 1).map(|k| format!("s{k}")))
        .collect();
    want.sort();
    for run in 0..runs {
        let r = s.post(
            "/v1/config/cursor/default/rollback",
            &t,
            &json!({"artifact_id": ids[0]}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
            let handles: Vec<_> = ids[1..]
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    let (s, t) = (&s, &t);
                    // Oldest first in even runs, newest first in odd ones.
                    let id = if run % 2 == 0 {
                        id.clone()
                    } else {
                        ids[ways - i].clone()
                    };
                    scope.spawn(move || {
                        let r = s.post(
                            "/v1/config/cursor/default/deploy",
                            t,
                            &json!({"artifact_id": id}),
                        );
                        (r.status, r.code())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (status, code) in &statuses {
            assert!(
                *status == 200 || (*status == 409 && code == "DOWNGRADE_REFUSED"),
                "run {run}: {statuses:?}"
            );
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let file: Value = serde_json::from_str(&text).unwrap();
        let mut names: Vec<String> = file["mcpServers"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        names.sort();
        assert_eq!(names, want, "run {run}");
        let status = sb.json_ok(&["status", "--client", "cursor", "--check"]);
        assert_eq!(
            status["targets"][0]["deployed_version"],
            ways + 1,
            "run {run}"
        );
        assert_eq!(status["targets"][0]["file_changed"], false, "run {run}");
    }
}

#[test]
fn two_concurrent_deploys_over_http_end_on_the_newest_version_fifty_times() {
    concurrent_deploys_over_http(2, 50);
}

#[test]
fn twelve_concurrent_deploys_over_http_end_on_the_newest_version_fifty_times() {
    concurrent_deploys_over_http(12, 50);
}

/// REST: a dry run gives the plan id; a publish in between makes it stale (409 `PLAN_STALE` with
/// the fresh plan, nothing written); apply and undeploy plan and apply the same way.
#[test]
fn rest_applies_exactly_the_plan_it_showed() {
    let (sb, t) = setup();
    sb.json_ok(&["keys", "init"]);
    sb.json_ok(&["draft", "add", "memory", "--client", "cursor"]);
    let s = Server::start(&sb, &["--rate-limit", "0"]);
    let path = sb.home.join(".cursor/mcp.json");
    let plan = s.post(
        "/v1/config/cursor/default/apply",
        &t,
        &json!({"dry_run": true}),
    );
    assert_eq!(plan.status, 200, "{}", plan.text());
    let plan = plan.json();
    assert_eq!(
        (plan["publishes"].as_bool(), plan["action"].as_str()),
        (Some(true), Some("apply"))
    );
    let plan_id = plan["plan_id"].as_str().unwrap().to_owned();
    // The draft changes after the plan was shown: the confirmed plan is stale.
    sb.json_ok(&["draft", "add", "time", "--client", "cursor"]);
    let r = s.post(
        "/v1/config/cursor/default/apply",
        &t,
        &json!({"plan_id": plan_id}),
    );
    assert_eq!(
        (r.status, r.code()),
        (409, "PLAN_STALE".into()),
        "{}",
        r.text()
    );
    let fresh = r.json()["error"]["details"]["plan"].clone();
    assert_eq!(
        fresh["plan"]["diff"]["servers_added"],
        json!(["memory", "time"])
    );
    assert!(!path.exists(), "nothing was written");
    let r = s.post(
        "/v1/config/cursor/default/apply",
        &t,
        &json!({"plan_id": fresh["plan_id"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["version"], 1);
    // Deploy: a publish between the plan and the apply.
    sb.json_ok(&["draft", "remove", "time", "--client", "cursor"]);
    sb.json_ok(&["publish", "--client", "cursor"]);
    let plan = s
        .post(
            "/v1/config/cursor/default/deploy",
            &t,
            &json!({"dry_run": true}),
        )
        .json();
    sb.json_ok(&["draft", "add", "fetch", "--client", "cursor"]);
    sb.json_ok(&["publish", "--client", "cursor"]);
    let r = s.post(
        "/v1/config/cursor/default/deploy",
        &t,
        &json!({"plan_id": plan["plan_id"]}),
    );
    assert_eq!((r.status, r.code()), (409, "PLAN_STALE".into()));
    assert_eq!(r.json()["error"]["details"]["plan"]["version"], 3);
    // Undeploy, planned then applied.
    let plan = s
        .post(
            "/v1/config/cursor/default/undeploy",
            &t,
            &json!({"dry_run": true}),
        )
        .json();
    assert_eq!(
        plan["plan"]["diff"]["servers_removed"],
        json!(["memory", "time"])
    );
    let r = s.post(
        "/v1/config/cursor/default/undeploy",
        &t,
        &json!({"plan_id": plan["plan_id"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(file["mcpServers"], json!({}));
    // Unknown fields are refused, as everywhere in the API.
    let r = s.post(
        "/v1/config/cursor/default/undeploy",
        &t,
        &json!({"plan": "x"}),
    );
    assert_eq!(r.status, 400);
}

/// Bodies not declared as JSON are 415 and change nothing; unknown fields are 400, on every
/// endpoint with a body.
#[test]
fn wrong_content_types_and_unknown_fields_are_refused() {
    let (sb, t) = setup();
    sb.json_ok(&["keys", "init"]);
    let key = sb.json_ok(&["keys", "show"])["current"]["key_id"].clone();
    let s = Server::start(&sb, &["--rate-limit", "0"]);
    let r = s
        .req()
        .method("POST")
        .path("/v1/keys/initialize")
        .bearer(&t)
        .header("Content-Type", "text/plain")
        .body(br#"{"regenerate": true}"#.to_vec())
        .send();
    assert_eq!((r.status, r.code()), (415, "UNSUPPORTED_MEDIA_TYPE".into()));
    assert_eq!(
        sb.json_ok(&["keys", "show"])["current"]["key_id"],
        key,
        "not rotated"
    );
    let r = s
        .req()
        .method("POST")
        .path("/v1/config/cursor/default/draft/add")
        .bearer(&t)
        .header("Content-Type", "text/plain")
        .body(br#"{"server_id": "memory"}"#.to_vec())
        .send();
    assert_eq!((r.status, r.code()), (415, "UNSUPPORTED_MEDIA_TYPE".into()));
    let r = s.post(
        "/v1/config/cursor/default/draft/add",
        &t,
        &json!({"server_id": "memory", "sever_name": "typo"}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = s.post(
        "/v1/config/cursor/default/publish",
        &t,
        &json!({"changelog": "x", "extra": 1}),
    );
    assert_eq!((r.status, r.code()), (400, "MALFORMED_JSON".into()));
    assert_eq!(
        sb.json_ok(&["draft", "show", "--client", "cursor"])["server_count"],
        0
    );
}
