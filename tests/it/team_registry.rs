//! The team registry: a server machine approves catalog servers, `serve --http` serves them
//! as an MCP Registry (API v0.1), and a developer machine's `registry sync --url` reads them
//! back as the entries that were approved. Both machines are temp homes; loopback only.

use serde_json::{Value, json};

use crate::common::Sandbox;
use crate::http_support::Server;

fn approve(sb: &Sandbox, args: &[&str]) -> Value {
    let mut all = vec!["registry", "approve"];
    all.extend_from_slice(args);
    sb.json_ok(&all)
}

/// What must survive the trip: how the server is started or reached, and what it needs.
fn launch(entry: &Value) -> Value {
    let params: Vec<Value> = entry["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| json!([p["name"], p["required"]]))
        .collect();
    json!({ "transport": entry["transport"], "env_vars": entry["env_vars"], "parameters": params })
}

fn server_names(list: &Value) -> Vec<String> {
    list["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}@{} {}",
                s["server"]["name"].as_str().unwrap(),
                s["server"]["version"].as_str().unwrap(),
                s["_meta"]["io.modelcontextprotocol.registry/official"]["status"]
                    .as_str()
                    .unwrap()
            )
        })
        .collect()
}

#[test]
fn a_developer_machine_syncs_the_approved_set_from_the_team_server() {
    let team = Sandbox::new();
    let approved = [
        "filesystem",
        "github",
        "github-remote",
        "postgres",
        "git",
        "memory",
    ];
    for id in approved {
        let a = approve(&team, &[id]);
        assert_eq!(a["name"], json!(format!("local/{id}")));
        assert_eq!(a["version"], json!("1.0.0"));
        assert_eq!(a["status"], json!("active"));
    }
    // Unchanged, approving again changes nothing.
    assert_eq!(approve(&team, &["filesystem"])["version"], json!("1.0.0"));
    let named = approve(&team, &["fetch", "--name", "com.example/fetch"]);
    assert_eq!(named["server_json"]["name"], json!("com.example/fetch"));
    assert_eq!(
        team.json_err(&["registry", "approve", "fetch", "--name", "no slash"], 1)["code"],
        json!("INVALID_REGISTRY_NAME")
    );
    assert_eq!(
        team.json_err(&["registry", "approve", "nope"], 1)["code"],
        json!("UNKNOWN_SERVER")
    );
    std::fs::write(
        team.state.join("catalog.toml"),
        "[[servers]]\nid = \"inhouse\"\nname = \"In-house\"\ndescription = \"x\"\ntransport = \"stdio\"\ncommand = \"/opt/tools/inhouse\"\n",
    )
    .unwrap();
    let refused = team.json_err(&["registry", "approve", "inhouse"], 1);
    assert_eq!(refused["code"], json!("NOT_REGISTRABLE"));
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("/opt/tools/inhouse"),
        "{refused}"
    );
    team.json_ok(&[
        "registry",
        "deprecate",
        "local/git",
        "--message",
        "use com.example/git",
    ]);
    team.json_ok(&["registry", "remove", "local/memory"]);
    assert_eq!(
        team.json_err(&["registry", "remove", "local/unknown"], 1)["code"],
        json!("NOT_APPROVED")
    );
    // Every approval is audited, refusals with their code.
    let audit = team.json_ok(&["audit", "--action", "registry.approve"]);
    let outcomes: Vec<&str> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error_code"].as_str().unwrap_or("ok"))
        .collect();
    assert_eq!(
        outcomes,
        [
            "ok",
            "ok",
            "ok",
            "ok",
            "ok",
            "ok",
            "ok",
            "ok",
            "INVALID_REGISTRY_NAME",
            "UNKNOWN_SERVER",
            "NOT_REGISTRABLE"
        ]
    );
    assert_eq!(
        team.json_ok(&["audit", "--action", "registry.remove"])["count"],
        json!(2)
    );

    let config = team.root.join("server.toml");
    std::fs::write(&config, "[registry]\npublic = true\n").unwrap();
    let server = Server::start(&team, &["--config", config.to_str().unwrap()]);

    // Anonymous, from any origin, in the registry's shapes.
    let list = server
        .req()
        .path("/v0.1/servers?limit=100")
        .header("Origin", "https://vscode.dev")
        .send();
    assert_eq!(list.status, 200, "{}", list.text());
    assert_eq!(list.header("access-control-allow-origin"), Some("*"));
    let body = list.json();
    assert_eq!(
        server_names(&body),
        [
            "local/filesystem@1.0.0 active",
            "local/github@1.0.0 active",
            "local/github-remote@1.0.0 active",
            "local/postgres@1.0.0 active",
            "com.example/fetch@1.0.0 active",
            "local/git@1.0.0 deprecated",
        ]
    );
    assert_eq!(body["metadata"], json!({ "count": 6 }));
    let first = &body["servers"][0];
    assert_eq!(
        first["server"]["$schema"],
        json!("https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json")
    );
    assert_eq!(
        first["_meta"]["io.modelcontextprotocol.registry/official"]["isLatest"],
        json!(true)
    );
    // Secret inputs are marked, never given values.
    let github_env = &body["servers"][1]["server"]["packages"][0]["environmentVariables"][0];
    assert_eq!(github_env["name"], json!("GITHUB_PERSONAL_ACCESS_TOKEN"));
    assert_eq!(github_env["isSecret"], json!(true));
    assert!(github_env.get("value").is_none() && github_env.get("default").is_none());

    // Pages follow their cursor.
    let page = server.req().path("/v0.1/servers?limit=4").send().json();
    assert_eq!(page["metadata"]["count"], json!(4));
    let cursor = page["metadata"]["nextCursor"].as_str().unwrap().to_owned();
    let rest = server
        .req()
        .path(&format!("/v0.1/servers?limit=4&cursor={cursor}"))
        .send()
        .json();
    assert_eq!(
        server_names(&rest),
        [
            "com.example/fetch@1.0.0 active",
            "local/git@1.0.0 deprecated"
        ]
    );
    assert!(rest["metadata"].get("nextCursor").is_none());

    // A mirror asking for changes sees the removal.
    let since = server
        .req()
        .path("/v0.1/servers?updated_since=2000-01-01T00:00:00Z&version=latest")
        .send()
        .json();
    assert!(server_names(&since).contains(&"local/memory@1.0.0 deleted".to_owned()));

    let versions = server
        .req()
        .path("/v0.1/servers/local%2Fpostgres/versions")
        .send();
    assert_eq!(versions.status, 200);
    assert_eq!(versions.json()["metadata"]["count"], json!(1));
    let latest = server
        .req()
        .path("/v0.1/servers/local%2Fpostgres/versions/latest")
        .send();
    assert_eq!(latest.status, 200);
    assert_eq!(latest.json()["server"]["name"], json!("local/postgres"));
    let missing = server
        .req()
        .path("/v0.1/servers/local%2Fmemory/versions/1.0.0")
        .send();
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json(), json!({ "error": "Server not found" }));
    let bad = server.req().path("/v0.1/servers?limit=ten").send();
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json(),
        json!({ "error": "limit `ten` is not a number" })
    );
    let preflight = server
        .req()
        .method("OPTIONS")
        .path("/v0.1/servers")
        .header("Origin", "https://github.com")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send();
    assert_eq!(preflight.status, 200);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET,OPTIONS")
    );
    // The other routes keep their Origin check.
    let foreign = server
        .req()
        .path("/health")
        .header("Origin", "https://vscode.dev")
        .send();
    assert_eq!(foreign.status, 403);

    // A developer machine syncs the approved set: the active latest versions, as approved.
    let dev = Sandbox::new();
    let report = dev.json_ok(&[
        "registry",
        "sync",
        "--url",
        &format!("http://127.0.0.1:{}", server.port),
    ]);
    assert_eq!(report["received"], json!(6), "{report}");
    assert_eq!(report["entry_count"], json!(5), "{report}");
    assert!(report["skipped"].as_array().unwrap().is_empty(), "{report}");
    for (id, synced) in [
        ("filesystem", "local-filesystem"),
        ("github", "local-github"),
        ("github-remote", "local-github-remote"),
        ("postgres", "local-postgres"),
        ("fetch", "com-example-fetch"),
    ] {
        let approved = team.json_ok(&["servers", "show", id]);
        let read_back = dev.json_ok(&["servers", "show", synced]);
        assert_eq!(launch(&read_back), launch(&approved), "{id}");
        assert_eq!(read_back["source"], json!("registry"));
    }
    assert_eq!(
        dev.json_err(&["servers", "show", "local-git"], 1)["code"],
        json!("UNKNOWN_SERVER")
    );
}

#[test]
fn the_registry_takes_a_read_token_unless_public() {
    let team = Sandbox::new();
    approve(&team, &["memory"]);
    let token = team.json_ok(&["token", "create", "--scope", "read", "--name", "dev"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let server = Server::start(&team, &[]);
    let anonymous = server.req().path("/v0.1/servers").send();
    assert_eq!(anonymous.status, 401);
    let with_token = server.req().path("/v0.1/servers").bearer(&token).send();
    assert_eq!(with_token.status, 200);
    assert_eq!(
        server_names(&with_token.json()),
        ["local/memory@1.0.0 active"]
    );
}

/// Team mode: approvals made against the shared store (from two machines at once) are all
/// kept, and every replica serves the same approved set.
#[test]
fn every_replica_serves_the_approvals_made_against_the_store() {
    let pg = crate::pg::TestPg::start();
    let url = pg.database("team");
    let a = crate::team::replica(&url, None);
    a.json_ok(&["audit"]); // makes the audit key the replicas share
    let b = crate::team::replica(&url, Some(&a));
    std::thread::scope(|scope| {
        for (home, ids) in [
            (&a, ["github", "git", "memory"]),
            (&b, ["filesystem", "postgres", "fetch"]),
        ] {
            scope.spawn(move || {
                for id in ids {
                    approve(home, &[id]);
                }
            });
        }
    });
    b.json_ok(&[
        "registry",
        "deprecate",
        "local/git",
        "--message",
        "use github",
    ]);
    let token = crate::team::token(&a, "read", "registry");
    let expected = [
        "local/fetch@1.0.0 active",
        "local/filesystem@1.0.0 active",
        "local/git@1.0.0 deprecated",
        "local/github@1.0.0 active",
        "local/memory@1.0.0 active",
        "local/postgres@1.0.0 active",
    ];
    for home in [&a, &b] {
        let server = Server::start(home, &[]);
        let list = server.get("/v0.1/servers", &token);
        assert_eq!(list.status, 200, "{}", list.text());
        let mut names = server_names(&list.json());
        names.sort();
        assert_eq!(names, expected);
    }
    // Nothing of it in the machines' own directories.
    assert!(!a.state.join("registry/approved.json").exists());
    assert!(!b.state.join("registry/approved.json").exists());
}
