//! End-to-end deploys through the real binary in temp HOMEs: foreign content survives byte for
//! byte in eight clients' formats, only owned entries are removed, and every kind of bad
//! artifact is refused with its own error code.
#![allow(clippy::unwrap_used)] // tests fail loudly on any unexpected error

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use mcp_orch::core::clients::ClientRegistry;
use mcp_orch::core::document;
use serde_json::Value;

struct Home {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Home {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        Self { _dir: dir, root }
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::cargo_bin("mcp-orch")
            .unwrap()
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.root)
            .env("MCP_ORCH_HOME", self.root.join("state"))
            .env("XDG_CONFIG_HOME", self.root.join(".config"))
            .env("APPDATA", self.root.join("AppData"))
            .env("CLAUDE_CONFIG_DIR", self.root.join(".claude-config"))
            .env("CODEX_HOME", self.root.join(".codex"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.cmd(&full);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Runs a command that must fail with exit code 1 and the given error code.
    fn fails(&self, args: &[&str], code: &str) {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.cmd(&full);
        let body: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{args:?}: {}", String::from_utf8_lossy(&out.stdout)));
        assert_eq!(body["error"]["code"], code, "{args:?}: {body}");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
    }

    fn publish(&self, client: &str) -> String {
        self.ok(&["publish", "--client", client, "-m", "test"])["results"][0]["artifact_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

/// Removes the named entries from a client file's text with the same editor that added them.
fn without(client: &str, path: &Path, text: &str, names: &[&str]) -> String {
    let registry = ClientRegistry::load(Path::new("/nonexistent")).unwrap();
    let mut doc = document::open(registry.get(client).unwrap(), text, path).unwrap();
    for name in names {
        assert!(
            doc.remove_entry(name).unwrap(),
            "{name} missing from {client}"
        );
    }
    doc.text()
}

const CASES: &[(&str, &str, &str)] = &[
    (
        "claude-desktop",
        ".config/Claude/claude_desktop_config.json",
        "{\n  \"globalShortcut\": \"Ctrl+Space\",\n  \"mcpServers\": {\n    \"mine\": {\n      \"command\": \"my-server\",\n      \"args\": [\"--port\", \"1\"]\n    }\n  },\n  \"theme\": \"dark\"\n}\n",
    ),
    (
        "claude-code",
        ".claude-config/.claude.json",
        "{\n  \"numStartups\": 12,\n  \"projects\": {\n    \"/src/app\": { \"allowedTools\": [] }\n  },\n  \"mcpServers\": {\n    \"mine\": { \"type\": \"stdio\", \"command\": \"my-server\", \"args\": [] }\n  }\n}\n",
    ),
    (
        "cursor",
        ".cursor/mcp.json",
        "{\n    \"mcpServers\": {\n        \"mine\": {\n            \"url\": \"https://example.com/mcp\"\n        }\n    }\n}\n",
    ),
    (
        "vscode",
        ".config/Code/User/mcp.json",
        "{\n  // My servers. Keep this comment.\n  \"inputs\": [\n    { \"type\": \"promptString\", \"id\": \"token\", \"password\": true },\n  ],\n  \"servers\": {\n    /* hand-written */\n    \"mine\": { \"type\": \"stdio\", \"command\": \"my-server\" },\n  },\n}\n",
    ),
    (
        "codex",
        ".codex/config.toml",
        "# Codex settings\nmodel = \"o4-mini\" # the fast one\napproval_policy = \"on-request\"\n\n[mcp_servers.mine]\ncommand = \"my-server\"\nargs = [\"--quiet\"] # keep quiet\n\n[profiles.work]\nmodel = \"o3\"\n",
    ),
    (
        "gemini-cli",
        ".gemini/settings.json",
        "{\n  \"theme\": \"GitHub\",\n  \"mcpServers\": {\n    \"mine\": { \"httpUrl\": \"https://example.com/mcp\" }\n  },\n  \"security\": { \"auth\": { \"selectedType\": \"gemini-api-key\" } }\n}\n",
    ),
    (
        "zed",
        ".config/zed/settings.json",
        "// Zed settings\n{\n  \"ui_font_size\": 16,\n  \"context_servers\": {\n    \"mine\": { \"command\": \"my-server\", \"args\": [] }\n  },\n  \"theme\": \"One Dark\", // trailing comment\n}\n",
    ),
    (
        "continue",
        ".continue/config.yaml",
        "# Continue config\nname: Local Assistant\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: Llama # local model\n    provider: ollama\n    model: llama3\nmcpServers:\n  - name: mine\n    command: my-server\n    args:\n      - --quiet\n",
    ),
];

#[test]
fn foreign_content_is_byte_identical_and_only_owned_entries_are_removed() {
    for (client, rel, seed) in CASES {
        let home = Home::new();
        let path = home.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, seed).unwrap();
        home.ok(&["keys", "init"]);
        home.ok(&["draft", "add", "memory", "--client", client]);
        home.ok(&["draft", "add", "sequential-thinking", "--client", client]);
        home.publish(client);
        let report = home.ok(&["deploy", "--client", client, "--yes"]);
        assert_eq!(report["changed"], true, "{client}");
        let deployed = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            without(client, &path, &deployed, &["memory", "sequential-thinking"]),
            *seed,
            "{client}: foreign content changed"
        );
        let status = home.ok(&["status", "--client", client]);
        assert_eq!(status["targets"][0]["drift"], "in_sync", "{client}");

        // Removing a server and deploying again removes only that owned entry.
        home.ok(&["draft", "remove", "sequential-thinking", "--client", client]);
        home.publish(client);
        home.ok(&["deploy", "--client", client, "--yes"]);
        let after = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            without(client, &path, &after, &["memory"]),
            *seed,
            "{client}: removal touched foreign content"
        );
        let registry = ClientRegistry::load(Path::new("/nonexistent")).unwrap();
        let names: Vec<String> = document::open(registry.get(client).unwrap(), &after, &path)
            .unwrap()
            .entries()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            vec!["mine".to_owned(), "memory".to_owned()],
            "{client}"
        );

        // Deploying the same artifact again changes nothing.
        assert_eq!(
            home.ok(&["deploy", "--client", client, "--yes"])["changed"],
            false,
            "{client}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), after);
    }
}

#[test]
fn a_server_added_by_hand_with_the_same_name_needs_adopt() {
    let home = Home::new();
    let path = home.path(".cursor/mcp.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        "{\n  \"mcpServers\": {\n    \"memory\": { \"command\": \"mine\" }\n  }\n}\n",
    )
    .unwrap();
    home.ok(&["keys", "init"]);
    home.ok(&["draft", "add", "memory", "--client", "cursor"]);
    home.publish("cursor");
    home.fails(&["deploy", "--client", "cursor", "--yes"], "NAME_CLASH");
    assert!(std::fs::read_to_string(&path).unwrap().contains("\"mine\""));
    home.ok(&["deploy", "--client", "cursor", "--yes", "--adopt"]);
    assert!(!std::fs::read_to_string(&path).unwrap().contains("\"mine\""));
}

#[test]
fn bad_artifacts_are_refused_each_with_its_own_code() {
    let home = Home::new();
    home.ok(&["keys", "init"]);
    home.ok(&["draft", "add", "memory", "--client", "cursor"]);
    let v1 = home.publish("cursor");
    home.ok(&["draft", "add", "time", "--client", "cursor"]);
    let v2 = home.publish("cursor");
    home.ok(&["draft", "add", "memory", "--client", "claude-code"]);
    let other = home.publish("claude-code");

    // An artifact published for another client.
    home.fails(
        &[
            "deploy",
            "--client",
            "cursor",
            "--artifact",
            &other,
            "--yes",
        ],
        "ARTIFACT_CLIENT_MISMATCH",
    );
    // A downgrade below the deployed version.
    home.ok(&["deploy", "--client", "cursor", "--yes"]);
    home.fails(
        &["deploy", "--client", "cursor", "--artifact", &v1, "--yes"],
        "DOWNGRADE_REFUSED",
    );
    // ... which rollback does on purpose.
    assert_eq!(
        home.ok(&["rollback", "--client", "cursor", "--yes"])["version"],
        1
    );

    // A tampered payload.
    let payload = home.path(&format!("state/artifacts/payloads/{v2}.json"));
    let original = std::fs::read(&payload).unwrap();
    std::fs::write(
        &payload,
        String::from_utf8(original.clone())
            .unwrap()
            .replace("server-time", "server-evil"),
    )
    .unwrap();
    home.fails(
        &["deploy", "--client", "cursor", "--artifact", &v2, "--yes"],
        "ARTIFACT_TAMPERED",
    );
    std::fs::write(&payload, &original).unwrap();

    // A tampered envelope.
    let release = home.path("state/artifacts/releases/cursor/default/00000002.json");
    let original = std::fs::read_to_string(&release).unwrap();
    std::fs::write(
        &release,
        original.replace("\\\"version\\\":2", "\\\"version\\\":9"),
    )
    .unwrap();
    assert_ne!(
        std::fs::read_to_string(&release).unwrap(),
        original,
        "the tamper must change the envelope"
    );
    home.fails(
        &["deploy", "--client", "cursor", "--artifact", &v2, "--yes"],
        "SIGNATURE_INVALID",
    );
    std::fs::write(&release, &original).unwrap();

    // A key that is no longer trusted.
    let old_key = home.ok(&["keys", "show"])["current"]["key_id"]
        .as_str()
        .map(str::to_owned);
    home.ok(&["keys", "rotate"]);
    let old_key = old_key.unwrap_or_else(|| panic!("keys show --json has no current.key_id"));
    home.ok(&["keys", "untrust", &old_key]);
    home.fails(
        &["deploy", "--client", "cursor", "--artifact", &v2, "--yes"],
        "UNTRUSTED_KEY",
    );

    // Every refusal was audited, and the chain is intact.
    let audit = home.ok(&["audit", "--client", "cursor", "--action", "deploy"]);
    let codes: Vec<&str> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["error_code"].as_str())
        .collect();
    assert_eq!(
        codes,
        vec![
            "ARTIFACT_CLIENT_MISMATCH",
            "DOWNGRADE_REFUSED",
            "ARTIFACT_TAMPERED",
            "SIGNATURE_INVALID",
            "UNTRUSTED_KEY"
        ]
    );
    assert_eq!(home.ok(&["audit", "--verify"])["ok"], true);
}

#[test]
fn audit_verify_catches_a_flipped_byte() {
    let home = Home::new();
    home.ok(&["keys", "init"]);
    home.ok(&["draft", "add", "memory", "--client", "cursor"]);
    home.publish("cursor");
    home.ok(&["deploy", "--client", "cursor", "--yes"]);
    let log = home.path("state/audit.jsonl");
    let mut bytes = std::fs::read(&log).unwrap();
    // One byte inside a value of the first record: `"actor":"cli:…"` becomes `"actor":"clj:…"`.
    let needle = b"\"actor\":\"cli";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
        + needle.len()
        - 1;
    bytes[at] = b'j';
    std::fs::write(&log, bytes).unwrap();
    let out = home.cmd(&["--json", "audit", "--verify"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["problems"][0]["kind"], "edited");
}

#[test]
fn restore_brings_back_the_bytes_before_a_deploy() {
    let home = Home::new();
    let path = home.path(".cursor/mcp.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let seed = "{ \"mcpServers\": {} }\n";
    std::fs::write(&path, seed).unwrap();
    home.ok(&["keys", "init"]);
    home.ok(&["draft", "add", "memory", "--client", "cursor"]);
    home.publish("cursor");
    let report = home.ok(&["deploy", "--client", "cursor", "--yes"]);
    let backup = report["backup_id"].as_str().unwrap().to_owned();
    assert_ne!(std::fs::read_to_string(&path).unwrap(), seed);
    home.ok(&[
        "restore", "--client", "cursor", "--backup", &backup, "--yes",
    ]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), seed);
    home.fails(
        &[
            "restore",
            "--client",
            "cursor",
            "--backup",
            "ffffffffffff",
            "--yes",
        ],
        "BACKUP_NOT_FOUND",
    );
}

#[cfg(unix)]
#[test]
fn a_deploy_follows_a_symlink_and_keeps_the_file_mode() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    let real = home.path("dotfiles/cursor-mcp.json");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::write(&real, "{ \"mcpServers\": {} }\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::create_dir_all(home.path(".cursor")).unwrap();
    std::os::unix::fs::symlink(&real, home.path(".cursor/mcp.json")).unwrap();
    home.ok(&["keys", "init"]);
    home.ok(&["draft", "add", "memory", "--client", "cursor"]);
    home.publish("cursor");
    assert_eq!(
        home.ok(&["deploy", "--client", "cursor", "--yes"])["followed_symlink"],
        true
    );
    assert!(
        home.path(".cursor/mcp.json")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&real)
            .unwrap()
            .contains("server-memory")
    );
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o640
    );
}

#[test]
fn a_dry_run_writes_nothing_and_shows_the_diff() {
    let home = Home::new();
    home.ok(&["keys", "init"]);
    home.ok(&["draft", "add", "memory", "--client", "cursor"]);
    home.publish("cursor");
    let plan = home.ok(&["deploy", "--client", "cursor", "--dry-run"]);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(
        plan["plan"]["servers"]["added"],
        serde_json::json!(["memory"])
    );
    assert!(
        plan["plan"]["unified_diff"]
            .as_str()
            .unwrap()
            .contains("+    \"memory\": {")
    );
    assert!(!home.path(".cursor/mcp.json").exists());
    home.fails(&["deploy", "--client", "cursor"], "CONFIRMATION_REQUIRED");
    assert!(!home.path(".cursor/mcp.json").exists());
}
