//! `KEY=VALUE` and parameter parsing: lines of `--param` values, split as the CLI splits them,
//! resolved against a catalog entry with one parameter of every type. Any input is refused
//! with a field error or resolves to a server with no placeholder left.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mcp_orch::cli::output::parse_pair;
use mcp_orch::core::orchestrator::AddServer;
use mcp_orch::core::{Options, Orchestrator};

const CATALOG: &str = r#"
[[servers]]
id = "typed"
name = "Typed"
description = "one parameter of every type"
transport = "stdio"
command = "typed-server"
args = ["--text", "{text}", "--count", "{count}", "--flag", "{flag}", "--dir", "{dir}", "--url", "{url}", "--mode", "{mode}"]
params = [
  { name = "text", type = "string", description = "t", required = true },
  { name = "count", type = "int", description = "c", required = false, default = "3" },
  { name = "flag", type = "bool", description = "f", required = false, default = "false" },
  { name = "dir", type = "path", description = "d", required = false, default = "~/x" },
  { name = "url", type = "url", description = "u", required = false, default = "https://example.com" },
  { name = "mode", type = "string", description = "m", required = false, default = "a", choices = ["a", "b"] },
]
"#;

static ORCH: LazyLock<(tempfile::TempDir, Orchestrator)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("a temp dir");
    let home = dir.path().join("state");
    std::fs::create_dir_all(&home).expect("the state dir");
    std::fs::write(home.join("catalog.toml"), CATALOG).expect("the catalog");
    let orch = Orchestrator::open(Options::from_process(Some(home))).expect("an orchestrator");
    (dir, orch)
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut params = Vec::new();
    for line in text.lines() {
        match parse_pair("--param", line) {
            Ok(pair) => params.push(pair),
            Err(e) => {
                assert_eq!(e.code(), "INVALID_KEY_VALUE");
                return;
            }
        }
    }
    let req = AddServer {
        client: "cursor".into(),
        profile: "default".into(),
        server_id: "typed".into(),
        params,
        ..AddServer::default()
    };
    let given: Vec<String> = req
        .params
        .iter()
        .map(|(_, v)| v.trim().to_owned())
        .collect();
    match ORCH.1.preview_server(&req) {
        Ok((_, server)) => {
            // Every placeholder is filled once: one left in the arguments is a value the
            // caller gave (`dir={url}`, found by this target), never substituted again.
            let rendered = serde_json::to_string(&server).expect("a server serialises");
            for name in ["{text}", "{count}", "{flag}", "{dir}", "{url}", "{mode}"] {
                assert!(
                    !server.args.iter().any(|a| a == name) || given.iter().any(|v| v == name),
                    "{name} left in {rendered}"
                );
            }
        }
        Err(e) => assert!(!e.problems().is_empty() || e.body().field.is_some(), "{e}"),
    }
});
