//! Registry sync against a local registry that serves realistic v0.1 pages: several pages
//! with cursors, a deleted entry, an updated entry (picked up by an incremental sync), invalid
//! and unconvertible entries (reported as skipped), id clashes with bundled entries, and
//! transient failures (retried with backoff). State lives in temp directories.

#![allow(clippy::unwrap_used, clippy::struct_field_names)]

use crate::fake_registry;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use fake_registry::{FakeRegistry, Fault, npm_server, record};
use mcp_orch::core::env::{Environment, Os};
use mcp_orch::core::orchestrator::SystemClock;
use mcp_orch::core::registry::SyncOptions;
use mcp_orch::core::{Options, Orchestrator};
use serde_json::{Value, json};

struct Home {
    _dir: tempfile::TempDir,
    home: PathBuf,
    state: PathBuf,
}

fn home() -> Home {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&home).unwrap();
    Home {
        _dir: dir,
        home,
        state,
    }
}

fn cli(h: &Home, args: &[&str]) -> Output {
    Command::cargo_bin("mcp-orch")
        .unwrap()
        .env("HOME", &h.home)
        .env("MCP_ORCH_HOME", &h.state)
        .env_remove("MCP_ORCH_REGISTRY_URL")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn open(state: &Path) -> Orchestrator {
    Orchestrator::open(Options {
        home: state.to_path_buf(),
        env: Environment::synthetic(state, Os::Linux, &[]),
        launcher: PathBuf::from("/usr/bin/mcp-orch"),
        clock: Arc::new(SystemClock),
        store: None,
    })
    .unwrap()
}

fn fast(url: &str) -> SyncOptions {
    SyncOptions {
        url: url.to_owned(),
        timeout: Duration::from_millis(500),
        retries: 3,
        backoff: Duration::from_millis(10),
        ..SyncOptions::default()
    }
}

const T0: &str = "2025-09-30T12:00:00Z";

/// 250 fillers plus entries of every kind.
fn dataset() -> Vec<Value> {
    let mut records = fake_registry::many(250);
    records.push(record(
        npm_server("io.github.acme/files", "1.0.0", "Files for the model"),
        "active",
        true,
        T0,
    ));
    records.push(record(
        npm_server("io.github.acme/files", "0.9.0", "Files for the model"),
        "active",
        false,
        T0,
    ));
    records.push(record(
        json!({
            "name": "io.github.acme/pyserver", "description": "Python server", "version": "2.1.0",
            "packages": [{"registry_type": "pypi", "identifier": "acme-pyserver", "version": "2.1.0",
                          "runtime_hint": "uvx", "transport": {"type": "stdio"},
                          "package_arguments": [{"type": "named", "name": "--repo", "value_hint": "repo_path", "is_required": true}]}]
        }),
        "active",
        true,
        T0,
    ));
    records.push(record(
        json!({
            "name": "io.github.acme/container", "description": "In a container", "version": "3.0.0",
            "packages": [{"registryType": "oci", "identifier": "ghcr.io/acme/container", "version": "3.0.0",
                          "transport": {"type": "stdio"},
                          "runtimeArguments": [{"type": "named", "name": "-v", "value": "{data}:/data",
                                                "variables": {"data": {"description": "Data directory", "format": "filepath", "isRequired": true}}}],
                          "environmentVariables": [{"name": "ACME_KEY", "isSecret": true, "isRequired": true}]}]
        }),
        "active",
        true,
        T0,
    ));
    records.push(record(
        json!({
            "name": "com.acme/remote", "title": "Acme Remote", "description": "Hosted", "version": "1.0.0",
            "remotes": [{"type": "streamable-http", "url": "https://mcp.acme.com/{tenant}/mcp",
                         "variables": {"tenant": {"description": "Tenant id", "isRequired": true}},
                         "headers": [{"name": "Authorization", "value": "Bearer {token}", "isRequired": true,
                                      "variables": {"token": {"isSecret": true, "description": "API token"}}}]}]
        }),
        "active",
        true,
        T0,
    ));
    records.push(record(
        json!({
            "name": "io.github.acme/bundle", "description": "Only an MCPB", "version": "1.0.0",
            "packages": [{"registryType": "mcpb", "identifier": "https://github.com/acme/bundle/releases/download/v1/b.mcpb",
                          "version": "1.0.0", "fileSha256": "ab".repeat(32), "transport": {"type": "stdio"}}]
        }),
        "active",
        true,
        T0,
    ));
    records.push(record(
        npm_server(
            "io.github.acme/gone",
            "1.0.0",
            "Deleted before the first sync",
        ),
        "deleted",
        true,
        T0,
    ));
    records.push(record(
        npm_server("io.github.acme/old", "1.0.0", "Deprecated"),
        "deprecated",
        true,
        T0,
    ));
    records.push(record(
        json!({"description": "no name", "version": "1.0.0"}),
        "active",
        true,
        T0,
    ));
    records.push(record(
        npm_server("brave/search", "1.0.0", "Same id as a bundled entry"),
        "active",
        true,
        T0,
    ));
    fake_registry::sort(&mut records);
    records
}

fn skipped_names(report: &Value) -> Vec<(String, String)> {
    report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn full_then_incremental_sync_through_the_cli() {
    let h = home();
    let registry = FakeRegistry::start(dataset());

    // Full sync: three pages of at most 100, cursor pagination.
    let out = cli(
        &h,
        &["--json", "registry", "sync", "--url", &registry.url()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "no progress bar without a terminal");
    let report = json_of(&out);
    assert_eq!(report["mode"], "full");
    assert_eq!(report["url"], registry.url());
    assert_eq!(report["pages"], 3);
    assert_eq!(report["requests"], 3);
    assert_eq!(report["retries"], 0);
    assert_eq!(report["received"], 258);
    assert_eq!(report["added"], 256);
    assert_eq!(report["updated"], 0);
    assert_eq!(report["removed"], 0);
    assert_eq!(report["ignored"], 1);
    assert_eq!(report["server_count"], 256);
    assert_eq!(report["entry_count"], 255);
    let skipped = skipped_names(&report);
    assert_eq!(skipped.len(), 2);
    assert_eq!(
        skipped[0],
        (
            "io.github.acme/bundle".to_owned(),
            "packages of type `mcpb` are not supported (only npm, pypi and oci)".to_owned()
        )
    );
    assert_eq!(skipped[1].0, "page 1 item 1");
    assert_eq!(skipped[1].1, "the server has no name");
    let requests = registry.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0], "/v0.1/servers?limit=100&version=latest");
    assert_eq!(
        requests[1],
        "/v0.1/servers?limit=100&version=latest&cursor=io.github.org-00091%2Fgit-server%3A1.0.0"
    );

    // Status, and the entries in the catalog with their source.
    let status = json_of(&cli(&h, &["--json", "registry", "status"]));
    assert_eq!(status["synced"], true);
    assert_eq!(status["synced_url"], registry.url());
    assert_eq!(status["server_count"], 256);
    assert_eq!(status["entry_count"], 254);
    assert_eq!(status["skipped_count"], 2);
    assert_eq!(status["shadowed"], json!(["brave-search"]));
    let bundled = json_of(&cli(&h, &["--json", "servers", "show", "brave-search"]));
    assert_eq!(bundled["source"], "bundled");

    let files = json_of(&cli(
        &h,
        &["--json", "servers", "show", "io-github-acme-files"],
    ));
    assert_eq!(files["source"], "registry");
    assert_eq!(files["version"], "1.0.0");
    assert_eq!(files["transport"]["command"], "npx");
    assert_eq!(
        files["transport"]["args"],
        json!(["-y", "@acme/files@1.0.0", "{directory}"])
    );
    assert_eq!(files["env_vars"]["required"][0]["name"], "API_TOKEN");
    assert_eq!(files["env_vars"]["required"][0]["secret"], true);
    assert_eq!(files["env_vars"]["required"][0]["required"], true);
    assert_eq!(files["server_json"]["name"], "io.github.acme/files");

    let py = json_of(&cli(
        &h,
        &["--json", "servers", "show", "io-github-acme-pyserver"],
    ));
    assert_eq!(py["transport"]["command"], "uvx");
    assert_eq!(
        py["transport"]["args"],
        json!(["acme-pyserver==2.1.0", "--repo", "{repo_path}"])
    );
    assert_eq!(py["parameters"][0]["required"], true);

    let oci = json_of(&cli(
        &h,
        &["--json", "servers", "show", "io-github-acme-container"],
    ));
    assert_eq!(
        oci["transport"]["args"],
        json!([
            "run",
            "-i",
            "--rm",
            "-v",
            "{data}:/data",
            "-e",
            "ACME_KEY",
            "ghcr.io/acme/container:3.0.0"
        ])
    );
    assert_eq!(oci["parameters"][0]["type"], "path");

    let remote = json_of(&cli(&h, &["--json", "servers", "show", "com-acme-remote"]));
    assert_eq!(remote["display_name"], "Acme Remote");
    assert_eq!(remote["transport"]["type"], "http");
    assert_eq!(
        remote["transport"]["url"],
        "https://mcp.acme.com/{tenant}/mcp"
    );
    assert_eq!(
        remote["transport"]["headers"][0]["value"],
        "Bearer ${TOKEN}"
    );
    assert_eq!(remote["env_vars"]["required"][0]["name"], "TOKEN");
    assert_eq!(remote["env_vars"]["required"][0]["secret"], true);

    let search = json_of(&cli(&h, &["--json", "servers", "search", "acme files"]));
    assert_eq!(search["servers"][0]["server_id"], "io-github-acme-files");
    assert_eq!(search["servers"][0]["source"], "registry");

    // Changes upstream: a new version, a deletion, a new server.
    let t1 = "2025-11-01T00:00:00Z";
    registry.with(|s| {
        for r in &mut s.records {
            let name = r["server"]["name"].as_str().unwrap_or_default().to_owned();
            let version = r["server"]["version"].clone();
            let meta = &mut r["_meta"]["io.modelcontextprotocol.registry/official"];
            if name == "io.github.acme/files" && version == "1.0.0" {
                meta["isLatest"] = json!(false);
                meta["updatedAt"] = json!(t1);
            }
            if name == "io.github.acme/pyserver" {
                meta["status"] = json!("deleted");
                meta["updatedAt"] = json!("2025-11-02T00:00:00Z");
            }
        }
        s.records.push(record(
            npm_server("io.github.acme/files", "1.1.0", "Files for the model"),
            "active",
            true,
            t1,
        ));
        s.records.push(record(
            npm_server("io.github.acme/newcomer", "0.1.0", "Brand new"),
            "active",
            true,
            "2025-11-03T00:00:00Z",
        ));
        fake_registry::sort(&mut s.records);
    });

    let out = cli(
        &h,
        &["--json", "registry", "sync", "--url", &registry.url()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_of(&out);
    assert_eq!(report["mode"], "incremental");
    assert_eq!(report["updated_since"], "2025-10-01T00:04:09Z");
    assert_eq!(report["pages"], 1);
    assert_eq!(report["received"], 3);
    assert_eq!(report["added"], 1);
    assert_eq!(report["updated"], 1);
    assert_eq!(report["removed"], 1);
    assert_eq!(report["server_count"], 256);
    assert_eq!(
        registry.requests()[3],
        "/v0.1/servers?limit=100&version=latest&updated_since=2025-10-01T00%3A04%3A09Z&include_deleted=true"
    );
    let files = json_of(&cli(
        &h,
        &["--json", "servers", "show", "io-github-acme-files"],
    ));
    assert_eq!(files["version"], "1.1.0");
    assert_eq!(
        files["transport"]["args"],
        json!(["-y", "@acme/files@1.1.0", "{directory}"])
    );
    let gone = cli(
        &h,
        &["--json", "servers", "show", "io-github-acme-pyserver"],
    );
    assert_eq!(gone.status.code(), Some(1));
    assert_eq!(json_of(&gone)["error"]["code"], "UNKNOWN_SERVER");

    // Nothing new: the watermark moved to the newest updatedAt.
    let report = json_of(&cli(
        &h,
        &["--json", "registry", "sync", "--url", &registry.url()],
    ));
    assert_eq!(report["mode"], "incremental");
    assert_eq!(report["updated_since"], "2025-11-03T00:00:00Z");
    assert_eq!(report["received"], 0);
    assert_eq!(report["added"], 0);
    assert_eq!(report["removed"], 0);

    // Offline: the cache serves search once the registry is gone.
    drop(registry);
    let search = json_of(&cli(&h, &["--json", "servers", "search", "newcomer"]));
    assert_eq!(search["servers"][0]["server_id"], "io-github-acme-newcomer");
    let status = cli(&h, &["registry", "status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("cached:       256 servers"), "{text}");
    assert!(
        text.contains(
            "skipped io.github.acme/bundle@1.0.0: packages of type `mcpb` are not supported"
        ),
        "{text}"
    );
}

#[test]
fn a_full_sync_replaces_the_cache() {
    let h = home();
    let registry = FakeRegistry::start(fake_registry::many(5));
    let orch = open(&h.state);
    let first = orch
        .sync_registry_blocking(&fast(&registry.url()), &mut |_| {})
        .unwrap();
    assert_eq!(first.server_count, 5);
    registry.with(|s| s.records.truncate(2));
    let mut opts = fast(&registry.url());
    opts.full = true;
    let second = orch.sync_registry_blocking(&opts, &mut |_| {}).unwrap();
    assert_eq!(second.mode, "full");
    assert_eq!(second.removed, 3);
    assert_eq!(second.server_count, 2);
    assert_eq!(open(&h.state).registry_status().unwrap().entry_count, 2);
}

#[test]
fn server_errors_and_timeouts_are_retried() {
    let h = home();
    let registry = FakeRegistry::start(fake_registry::many(150));
    registry.with(|s| {
        s.faults.extend([Fault::Status(500), Fault::Status(503)]);
    });
    let orch = open(&h.state);
    let mut seen = Vec::new();
    let report = orch
        .sync_registry_blocking(&fast(&registry.url()), &mut |p| {
            seen.push((p.pages, p.retrying.clone()));
        })
        .unwrap();
    assert_eq!(report.pages, 2);
    assert_eq!(report.retries, 2);
    assert_eq!(report.requests, 4);
    assert_eq!(report.server_count, 150);
    assert_eq!(
        seen,
        [
            (0, Some("HTTP 500 Internal Server Error".to_owned())),
            (0, Some("HTTP 503 Service Unavailable".to_owned())),
            (1, None),
            (2, None),
        ]
    );

    // A registry that does not answer in time is retried too.
    let h = home();
    registry.with(|s| s.faults.push_back(Fault::Hang));
    let report = open(&h.state)
        .sync_registry_blocking(&fast(&registry.url()), &mut |_| {})
        .unwrap();
    assert_eq!(report.retries, 1);
    assert_eq!(report.server_count, 150);
}

#[test]
fn giving_up_keeps_the_previous_cache() {
    let h = home();
    let registry = FakeRegistry::start(fake_registry::many(3));
    let orch = open(&h.state);
    orch.sync_registry_blocking(&fast(&registry.url()), &mut |_| {})
        .unwrap();
    registry.with(|s| s.faults.extend([Fault::Status(500); 4]));
    let err = orch
        .sync_registry_blocking(&fast(&registry.url()), &mut |_| {})
        .unwrap_err();
    assert_eq!(err.code(), "REGISTRY_UNREACHABLE");
    assert_eq!(
        err.to_string(),
        format!(
            "the registry did not answer {}/v0.1/servers after 4 attempts: HTTP 500 Internal Server Error",
            registry.url()
        )
    );
    assert_eq!(open(&h.state).registry_status().unwrap().entry_count, 3);

    // A 4xx is not retried.
    registry.with(|s| s.faults.push_back(Fault::Status(404)));
    let before = registry.requests().len();
    let err = orch
        .sync_registry_blocking(&fast(&registry.url()), &mut |_| {})
        .unwrap_err();
    assert_eq!(err.code(), "REGISTRY_HTTP_ERROR");
    assert_eq!(registry.requests().len(), before + 1);
}

#[test]
fn bad_urls_are_refused_before_any_traffic() {
    let h = home();
    let out = cli(
        &h,
        &[
            "--json",
            "registry",
            "sync",
            "--url",
            "http://registry.example.com",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = json_of(&out);
    assert_eq!(err["error"]["code"], "INVALID_REGISTRY_URL");
    assert_eq!(err["error"]["field"], "url");

    // Never synced: status says so, and nothing was fetched.
    let status = json_of(&cli(&h, &["--json", "registry", "status"]));
    assert_eq!(status["synced"], false);
    assert_eq!(status["url"], "https://registry.modelcontextprotocol.io");
    assert_eq!(status["entry_count"], 0);
}

#[test]
fn the_url_comes_from_the_environment() {
    let h = home();
    let registry = FakeRegistry::start(fake_registry::many(2));
    let out = Command::cargo_bin("mcp-orch")
        .unwrap()
        .env("HOME", &h.home)
        .env("MCP_ORCH_HOME", &h.state)
        .env("MCP_ORCH_REGISTRY_URL", registry.url())
        .args(["--json", "registry", "sync"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(json_of(&out)["url"], registry.url());
}

/// Not a test: fills `$MCP_ORCH_BENCH_HOME` with a sync of 5,000 servers for
/// `bench/registry-cold-start.sh`.
#[test]
#[ignore = "used by bench/registry-cold-start.sh"]
fn bench_home() {
    let state = PathBuf::from(std::env::var("MCP_ORCH_BENCH_HOME").unwrap());
    let registry = FakeRegistry::start(fake_registry::many(5_000));
    let report = open(&state)
        .sync_registry_blocking(&fast(&registry.url()), &mut |_| {})
        .unwrap();
    assert_eq!(report.entry_count, 5_000);
}
