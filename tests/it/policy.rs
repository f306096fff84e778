//! `mcp-orch policy`: one policy compiled into each client's managed policy file (goldens of
//! Claude Code's `managed-settings.json`, VS Code's `policy.json`, Gemini CLI's system
//! `settings.json` and Codex's `requirements.toml`, each written over an existing file whose
//! other settings stay), `policy plan` listing exactly the servers each client would block in a
//! fixture home, and `validate` failing a denied draft server with `POLICY_DENIED`.
//! Regenerate the goldens with `UPDATE_GOLDENS=1` and review them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{Sandbox, root};

/// Each client with a managed file: its place under the root, and its extension.
const MANAGED: [(&str, &str, &str); 4] = [
    (
        "claude-code",
        "etc/claude-code/managed-settings.json",
        "json",
    ),
    ("vscode", "etc/vscode/policy.json", "json"),
    ("gemini-cli", "etc/gemini-cli/settings.json", "json"),
    ("codex", "etc/codex/requirements.toml", "toml"),
];

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/policy").join(name)
}

/// Compares `actual` with the golden file, or rewrites it under `UPDATE_GOLDENS`.
fn assert_golden(name: &str, actual: &str) {
    let path = fixture(name);
    if std::env::var_os("UPDATE_GOLDENS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDENS=1)", path.display()));
    assert_eq!(
        expected,
        actual,
        "{} differs from its golden",
        path.display()
    );
}

fn parses(ext: &str, text: &str) -> bool {
    match ext {
        "toml" => text.parse::<toml::Table>().is_ok(),
        _ => serde_json::from_str::<Value>(text).is_ok(),
    }
}

#[test]
fn each_clients_managed_file_matches_its_golden_and_keeps_its_other_settings() {
    let sb = Sandbox::new();
    let managed_root = sb.root.join("image");
    let root_arg = managed_root.display().to_string();
    for (client, rel, ext) in MANAGED {
        let path = managed_root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::copy(fixture(&format!("{client}.before.{ext}")), &path).unwrap();
    }
    let policy = fixture("policy.toml").display().to_string();
    let report = sb.json_ok(&["policy", "--root", &root_arg, &policy]);
    assert_eq!(report["applied"], true);
    for (client, rel, ext) in MANAGED {
        let text = std::fs::read_to_string(managed_root.join(rel)).unwrap();
        assert!(parses(ext, &text), "{client}: {text}");
        assert_golden(&format!("{client}.after.{ext}"), &text);
        let entry = report["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["client_id"] == client)
            .unwrap_or_else(|| panic!("{client} missing: {report:#}"));
        assert!(
            entry["backup_id"].is_string(),
            "{client}: the old file is kept: {entry:#}"
        );
    }
    // The same policy again changes nothing and records nothing.
    let log = || std::fs::read_to_string(sb.state.join("audit.jsonl")).unwrap();
    let before = log();
    sb.json_ok(&["policy", "--root", &root_arg]);
    assert_eq!(
        log(),
        before,
        "a policy already in place is not written again"
    );
    // A policy without an allowlist removes the allowlists it wrote, and only them.
    let deny_only = fixture("deny-only.toml").display().to_string();
    sb.json_ok(&["policy", "--root", &root_arg, &deny_only]);
    for (client, rel, ext) in MANAGED {
        let text = std::fs::read_to_string(managed_root.join(rel)).unwrap();
        assert_golden(&format!("{client}.deny-only.{ext}"), &text);
    }
    let shown = sb.json_ok(&["policy", "show"]);
    assert_eq!(shown, serde_json::json!({"deny": [{"name": "everything"}]}));
    let applied = log()
        .lines()
        .filter(|l| l.contains("\"action\":\"policy.apply\""))
        .count();
    assert_eq!(applied, 8, "one record per managed file written");
}

/// A home with the same servers in several clients' files.
fn fixture_home() -> Sandbox {
    let sb = Sandbox::new();
    let servers = r#"{"mcpServers": {
  "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"]},
  "everything": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]},
  "memory": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]},
  "docs": {"type": "http", "url": "https://docs.example.com/mcp"},
  "rogue": {"type": "http", "url": "https://mcp.evil.test/mcp"},
  "renamed": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]}
}}
"#;
    sb.write("home/.claude.json", servers);
    sb.write("home/.cursor/mcp.json", servers);
    sb.write(
        "home/.gemini/settings.json",
        r#"{"mcpServers": {"github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"]}, "everything": {"command": "npx", "args": ["x"]}, "other": {"httpUrl": "https://other.example.com/mcp"}}}"#,
    );
    sb.write(
        "home/.codex/config.toml",
        "[mcp_servers.github]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-github\"]\n\n[mcp_servers.docs]\nurl = \"https://docs.example.com/*\"\n\n[mcp_servers.memory]\ncommand = \"uvx\"\nargs = [\"memory\"]\n\n[mcp_servers.other]\ncommand = \"uvx\"\nargs = [\"other\"]\n",
    );
    sb
}

/// `client → [server]` of one list of a plan.
fn listed(report: &Value, field: &str) -> BTreeMap<String, Vec<String>> {
    report["clients"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c[field].as_array().is_none_or(Vec::is_empty))
        .map(|c| {
            (
                c["client_id"].as_str().unwrap().to_owned(),
                c[field]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["server"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn policy_plan_lists_exactly_the_servers_each_client_would_block_and_writes_nothing() {
    let sb = fixture_home();
    let managed_root = sb.root.join("image");
    let policy = fixture("policy.toml").display().to_string();
    let plan = sb.json_ok(&[
        "policy",
        "plan",
        &policy,
        "--root",
        &managed_root.display().to_string(),
    ]);
    assert_eq!(plan["applied"], false);
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        listed(&plan, "blocked"),
        BTreeMap::from([
            // Denied by name, by URL pattern, and (a stdio server with a command the allowlist
            // does not list) not allowed: Claude Code judges stdio servers by command once its
            // allowlist has a command, so the name rule on `memory` does not let it in.
            (
                "claude-code".to_owned(),
                strings(&["everything", "memory", "rogue", "renamed"])
            ),
            // Gemini CLI compares names: `everything` is excluded, `other` is not allowed.
            ("gemini-cli".to_owned(), strings(&["everything", "other"])),
            // Codex: `github` by name and executable; `docs` is written with its pattern, which
            // Codex compares exactly, so the entry whose URL is that very text passes; a rule
            // with a name alone cannot be written for Codex, so `memory` is blocked there;
            // `other` is not listed.
            ("codex".to_owned(), strings(&["memory", "other"])),
        ])
    );
    assert_eq!(plan["blocked"], 8);
    // Cursor has no managed file: the policy forbids these there too, but nothing stops them.
    assert_eq!(
        listed(&plan, "not_enforced"),
        BTreeMap::from([(
            "cursor".to_owned(),
            strings(&["everything", "rogue", "renamed"])
        )])
    );
    let claude = plan["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "claude-code")
        .unwrap();
    assert_eq!(
        claude["blocked"][0]["reason"],
        "denied by its name rule `everything`"
    );
    assert!(
        claude["diff"]
            .as_str()
            .unwrap()
            .contains("+  \"allowedMcpServers\": [")
    );
    assert!(!managed_root.exists(), "a plan writes nothing");
    sb.user_error(&["policy", "show"], "NO_POLICY");
}

#[test]
fn validate_fails_a_draft_server_the_policy_forbids_with_policy_denied() {
    let sb = Sandbox::new();
    sb.json_ok(&["draft", "add", "memory", "--client", "cursor"]);
    sb.json_ok(&["draft", "add", "time", "--client", "cursor"]);
    assert_eq!(
        sb.json_ok(&["validate", "--client", "cursor"])["valid"],
        true
    );
    let policy = sb.write(
        "deny.toml",
        "[[deny]]\ncommand = [\"npx\", \"-y\", \"@modelcontextprotocol/server-memory\"]\n",
    );
    let managed_root = sb.root.join("image").display().to_string();
    sb.json_ok(&[
        "policy",
        "--root",
        &managed_root,
        &policy.display().to_string(),
    ]);
    let run = sb.run(&["--json", "validate", "--client", "cursor"]);
    assert_eq!(run.code, 1, "{run}");
    let report = run.json();
    assert_eq!(report["valid"], false);
    let errors: Vec<(&str, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["code"].as_str().unwrap(), d["path"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [("POLICY_DENIED", "servers.memory")]);
    assert_eq!(
        report["errors"][0]["message"],
        "`memory` is forbidden by the organisation's policy: denied by the rule on command `npx -y @modelcontextprotocol/server-memory`"
    );
    // Publishing it is refused the same way.
    let err = sb.user_error(&["publish", "--client", "cursor"], "VALIDATION_FAILED");
    assert_eq!(err["details"]["diagnostics"][0]["code"], "POLICY_DENIED");
    // Allowed again once the rule is gone.
    let allow_all = sb.write("open.toml", "deny = []\n");
    sb.json_ok(&[
        "policy",
        "--root",
        &managed_root,
        &allow_all.display().to_string(),
    ]);
    assert_eq!(
        sb.json_ok(&["validate", "--client", "cursor"])["valid"],
        true
    );
}

#[test]
fn a_bad_policy_is_refused_naming_the_rule_and_nothing_is_written() {
    let sb = Sandbox::new();
    let managed_root = sb.root.join("image");
    for (text, field) in [
        ("[[deny]]\nurl = \"evil.test\"\n", "deny[0].url"),
        ("[[allow]]\nname = \"x\"\n[[allow]]\n", "allow[1]"),
        (
            "[[allow]]\ncommand = [\"npx\"]\nurl = \"https://x.test\"\n",
            "allow[0]",
        ),
        ("allow = \"everything\"\n", "policy"),
    ] {
        let file = sb.write("bad.toml", text);
        let err = sb.user_error(
            &[
                "policy",
                "--root",
                &managed_root.display().to_string(),
                &file.display().to_string(),
            ],
            "POLICY_INVALID",
        );
        assert_eq!(err["field"], field, "{text}: {err:#}");
    }
    assert!(!managed_root.exists());
    assert!(!Path::new(&sb.state.join("policy.toml")).exists());
    let good = sb
        .write("good.toml", "[[deny]]\nname = \"x\"\n")
        .display()
        .to_string();
    sb.user_error(
        &["policy", "--client", "cursor", "--root", "x", &good],
        "NO_MANAGED_FILE",
    );
}
