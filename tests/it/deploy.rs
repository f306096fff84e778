//! End-to-end deploys through the real binary in temp HOMEs: foreign content survives byte for
//! byte in eight clients' formats, only owned entries are removed, and every kind of bad
//! artifact is refused with its own error code.
#![allow(clippy::unwrap_used)] // tests fail loudly on any unexpected error

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use mcp_orch::core::clients::ClientRegistry;
use mcp_orch::core::document;
use serde_json::{Value, json};

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

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("mcp-orch").unwrap();
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.root)
            .env("MCP_ORCH_HOME", self.root.join("state"))
            .env("XDG_CONFIG_HOME", self.root.join(".config"))
            .env("APPDATA", self.root.join("AppData"))
            .env("CLAUDE_CONFIG_DIR", self.root.join(".claude-config"))
            .env("CODEX_HOME", self.root.join(".codex"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        cmd
    }

    fn cmd(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
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
        self.ok(&["publish", "--client", client, "-m", "test"])["artifact_id"]
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

/// A home with keys, a published and deployed release for Cursor, and its audit records.
fn deployed_home() -> Home {
    let home = Home::new();
    home.ok(&["keys", "init"]);
    home.ok(&["draft", "add", "memory", "--client", "cursor"]);
    home.publish("cursor");
    home.ok(&["deploy", "--client", "cursor", "--yes"]);
    home
}

#[test]
fn audit_verify_catches_a_flipped_byte() {
    let home = deployed_home();
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

/// The records of a home's audit log, and a function that writes them back re-hashed (as a
/// forger without the audit key would: every hash recomputed, so the chain itself is whole).
fn rehash(records: &mut [Value]) -> String {
    use sha2::Digest as _;
    let mut prev = "0".repeat(64);
    let mut text = String::new();
    for r in records.iter_mut() {
        r["prev_hash"] = json!(prev);
        let mut unhashed = r.clone();
        unhashed.as_object_mut().unwrap().remove("hash");
        let mut hasher = sha2::Sha256::new();
        hasher.update(prev.as_bytes());
        hasher.update(serde_json_canonicalizer::to_vec(&unhashed).unwrap());
        prev = hex::encode(hasher.finalize());
        r["hash"] = json!(prev);
        text.push_str(&r.to_string());
        text.push('\n');
    }
    text
}

fn audit_problems(home: &Home, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["--json", "audit", "--verify"];
    args.extend_from_slice(extra);
    let out = home.cmd(&args);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(i32::from(report["ok"] != true)));
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn audit_verify_catches_truncation_with_the_head_removed_and_a_rehashed_chain() {
    let home = deployed_home();
    let log = home.path("state/audit.jsonl");
    let head = home.path("state/audit.head");
    let original = std::fs::read_to_string(&log).unwrap();
    let original_head = std::fs::read(&head).unwrap();
    let exported = home.path("exported-head.json");
    let out = home.cmd(&["audit", "export-head"]);
    assert_eq!(out.status.code(), Some(0));
    std::fs::write(&exported, &out.stdout).unwrap();
    let exported_arg = exported.to_str().unwrap().to_owned();
    assert!(audit_problems(&home, &["--head", &exported_arg]).is_empty());

    // The last record cut off and the head deleted.
    let lines: Vec<&str> = original.lines().collect();
    std::fs::write(&log, format!("{}\n", lines[..lines.len() - 1].join("\n"))).unwrap();
    std::fs::remove_file(&head).unwrap();
    assert_eq!(audit_problems(&home, &[]), ["head_missing"]);
    // Refused before it acts: an operation that could not audit itself.
    home.ok(&["draft", "add", "time", "--client", "cursor"]);
    home.fails(&["publish", "--client", "cursor"], "AUDIT_CORRUPT");

    // A record rewritten and the chain re-hashed: whole as a chain, but not the signed head's.
    std::fs::write(&head, &original_head).unwrap();
    let mut records: Vec<Value> = original
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    records[0]["actor"] = json!("cli:mallory");
    std::fs::write(&log, rehash(&mut records)).unwrap();
    assert_eq!(audit_problems(&home, &[]), ["head_mismatch"]);
    // ... nor with a head rewritten to match, which cannot be signed without the key.
    let mut forged: Value = serde_json::from_slice(&original_head).unwrap();
    forged["hash"] = records.last().unwrap()["hash"].clone();
    std::fs::write(&head, forged.to_string()).unwrap();
    assert_eq!(audit_problems(&home, &[]), ["head_forged"]);

    // Someone holding the audit key can write a new log that verifies on its own; the head
    // exported before, kept elsewhere, still catches it.
    std::fs::remove_file(&log).unwrap();
    std::fs::remove_file(&head).unwrap();
    home.publish("cursor");
    assert!(audit_problems(&home, &[]).is_empty());
    assert_eq!(
        audit_problems(&home, &["--head", &exported_arg]),
        ["export_mismatch"]
    );
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
        plan["plan"]["diff"]["servers_added"],
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

// ---- plan and apply --------------------------------------------------------------------------

/// The entry names of a JSON client file's `mcpServers`.
fn entry_names(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    value["mcpServers"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// A home with a hand-made entry in Cursor's file and `count` published versions of the
/// cursor draft, version k holding servers s1..sk. Returns the artifact ids, oldest first.
fn versions(home: &Home, count: usize) -> Vec<String> {
    let path = home.path(".cursor/mcp.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        "{\n  \"mcpServers\": {\n    \"hand\": { \"command\": \"x\" }\n  }\n}\n",
    )
    .unwrap();
    home.ok(&["keys", "init"]);
    (1..=count)
        .map(|k| {
            let name = format!("s{k}");
            home.ok(&[
                "draft", "add", "memory", "--client", "cursor", "--name", &name,
            ]);
            home.publish("cursor")
        })
        .collect()
}

/// Spawns `mcp-orch deploy` of each artifact at once and waits for all.
fn deploy_at_once(home: &Home, ids: &[&str]) -> Vec<Output> {
    let children: Vec<_> = ids
        .iter()
        .map(|id| {
            home.command(&[
                "--json",
                "deploy",
                "--client",
                "cursor",
                "--artifact",
                id,
                "--yes",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

/// `ways` deploys of different versions at once, `runs` times: each run starts from v1
/// (rolled back), deploys v2..v(ways+1) concurrently in a shuffled order, and must end on the
/// newest with exactly its entries, nothing unowned, every deploy either done or refused as a
/// downgrade, and `status --check` agreeing with the file.
fn concurrent_deploys(ways: usize, runs: usize) {
    let home = Home::new();
    let ids = versions(&home, ways + 1);
    let path = home.path(".cursor/mcp.json");
    let newest: Vec<String> = std::iter::once("hand".to_owned())
        .chain((1..=ways + 1).map(|k| format!("s{k}")))
        .collect();
    let mut order: Vec<&str> = ids[1..].iter().map(String::as_str).collect();
    for run in 0..runs {
        home.ok(&["rollback", "--client", "cursor", "--to", &ids[0], "--yes"]);
        order.rotate_left(run % ways);
        if run % 2 == 1 {
            order.reverse();
        }
        for out in deploy_at_once(&home, &order) {
            let body: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(
                out.status.success() || body["error"]["code"] == "DOWNGRADE_REFUSED",
                "run {run}: {body}"
            );
        }
        let mut names = entry_names(&path);
        names.sort();
        let mut want = newest.clone();
        want.sort();
        assert_eq!(
            names, want,
            "run {run}: the newest version's entries, and nothing else"
        );
        let status = home.ok(&["status", "--client", "cursor", "--check"]);
        let target = &status["targets"][0];
        assert_eq!(target["deployed_version"], ways + 1, "run {run}: {status}");
        assert_eq!(target["drift"], "in_sync", "run {run}");
        assert_eq!(target["file_changed"], false, "run {run}");
    }
    assert_eq!(home.ok(&["audit", "--verify"])["ok"], true);
}

#[test]
fn two_concurrent_deploys_end_on_the_newest_version_fifty_times() {
    concurrent_deploys(2, 50);
}

#[test]
fn twelve_concurrent_deploys_end_on_the_newest_version_fifty_times() {
    concurrent_deploys(12, 50);
}

#[test]
fn undeploy_removes_every_owned_entry_and_an_empty_release_deploys() {
    let home = Home::new();
    let ids = versions(&home, 2);
    let path = home.path(".cursor/mcp.json");
    home.ok(&["deploy", "--client", "cursor", "--yes"]);
    let plan = home.ok(&["undeploy", "--client", "cursor", "--dry-run"]);
    assert_eq!(
        plan["plan"]["diff"]["servers_removed"],
        serde_json::json!(["s1", "s2"])
    );
    assert_eq!(entry_names(&path).len(), 3, "a dry run writes nothing");
    let done = home.ok(&["undeploy", "--client", "cursor", "--yes"]);
    assert_eq!(
        (done["action"].as_str(), done["changed"].as_bool()),
        (Some("undeploy"), Some(true))
    );
    assert_eq!(entry_names(&path), ["hand"]);
    let status = home.ok(&["status", "--client", "cursor", "--check"]);
    assert_eq!(status["targets"][0]["deployed_version"], Value::Null);
    // Deploying again brings them back; an empty draft, published and deployed, empties.
    home.ok(&[
        "deploy",
        "--client",
        "cursor",
        "--artifact",
        &ids[1],
        "--yes",
    ]);
    assert_eq!(entry_names(&path).len(), 3);
    home.ok(&["draft", "clear", "--client", "cursor"]);
    home.publish("cursor");
    home.ok(&["deploy", "--client", "cursor", "--yes"]);
    assert_eq!(entry_names(&path), ["hand"]);
}

#[test]
fn apply_goes_from_an_empty_home_to_the_client_in_one_command() {
    let home = Home::new();
    home.ok(&["draft", "add", "memory", "--client", "cursor"]);
    // Without a terminal and without --yes nothing is written and the key is not created.
    home.fails(&["apply", "--client", "cursor"], "CONFIRMATION_REQUIRED");
    assert!(!home.path(".cursor/mcp.json").exists());
    let plan = home.ok(&["apply", "--client", "cursor", "--dry-run"]);
    assert_eq!(
        (plan["publishes"].as_bool(), plan["dry_run"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(
        plan["plan"]["diff"]["servers_added"],
        serde_json::json!(["memory"])
    );
    let done = home.ok(&["apply", "--client", "cursor", "--yes", "-m", "first"]);
    assert_eq!(done["version"], 1);
    assert_eq!(entry_names(&home.path(".cursor/mcp.json")), ["memory"]);
    // Applying again publishes nothing new and changes nothing.
    let again = home.ok(&["apply", "--client", "cursor", "--yes"]);
    assert_eq!(
        (again["version"].as_u64(), again["changed"].as_bool()),
        (Some(1), Some(false))
    );
    let history = home.ok(&["history", "--client", "cursor"]);
    assert_eq!(history["releases"][0]["changelog"], "first");
    let actions: Vec<String> = audit_actions(&home);
    assert_eq!(actions, ["key.init", "publish", "apply", "apply"]);
}

fn audit_actions(home: &Home) -> Vec<String> {
    std::fs::read_to_string(home.path("state/audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn client_lists_and_all_are_decided_in_core() {
    let home = Home::new();
    home.ok(&["keys", "init"]);
    for client in ["cursor", "claude-code"] {
        home.ok(&["draft", "add", "memory", "--client", client]);
    }
    // `all`: every client with a draft, whether or not its file exists yet.
    assert!(!home.path(".cursor/mcp.json").exists());
    let applied = home.ok(&["apply", "--client", "all", "--yes"]);
    let ids: Vec<&str> = applied["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["claude-code", "cursor"]);
    assert_eq!(entry_names(&home.path(".cursor/mcp.json")), ["memory"]);
    let valid = home.ok(&["validate", "--client", "cursor,claude-code"]);
    assert_eq!(valid["valid"], true);
    assert_eq!(valid["results"].as_array().unwrap().len(), 2);
    let status = home.ok(&["status", "--client", "cursor,claude-code"]);
    assert_eq!(status["targets"].as_array().unwrap().len(), 2);
    home.fails(
        &["deploy", "--client", "cursor,nope", "--yes"],
        "UNKNOWN_CLIENT",
    );
    let undeployed = home.ok(&["undeploy", "--client", "all", "--yes"]);
    assert_eq!(undeployed["results"].as_array().unwrap().len(), 2);
    assert_eq!(
        entry_names(&home.path(".cursor/mcp.json")),
        Vec::<String>::new()
    );
}

#[test]
fn draft_copy_refuses_name_clashes_unless_told() {
    let home = Home::new();
    home.ok(&["draft", "add", "memory", "--client", "cursor"]);
    home.ok(&[
        "draft",
        "add",
        "memory",
        "--client",
        "vscode",
        "--env",
        "MEMORY_FILE_PATH=/mine",
    ]);
    home.fails(
        &["draft", "copy", "--client", "cursor", "--to", "vscode"],
        "NAME_CLASH",
    );
    let kept = home.ok(&["draft", "show", "--client", "vscode"]);
    assert_eq!(kept["draft"]["memory"]["env"]["MEMORY_FILE_PATH"], "/mine");
    home.ok(&[
        "draft", "copy", "--client", "cursor", "--to", "vscode", "--skip",
    ]);
    let kept = home.ok(&["draft", "show", "--client", "vscode"]);
    assert_eq!(kept["draft"]["memory"]["env"]["MEMORY_FILE_PATH"], "/mine");
    home.ok(&[
        "draft",
        "copy",
        "--client",
        "cursor",
        "--to",
        "vscode",
        "--overwrite",
    ]);
    let replaced = home.ok(&["draft", "show", "--client", "vscode"]);
    assert_ne!(
        replaced["draft"]["memory"]["env"]["MEMORY_FILE_PATH"],
        "/mine"
    );
}

#[test]
fn restore_keeps_ownership_true() {
    let home = Home::new();
    let ids = versions(&home, 2);
    let path = home.path(".cursor/mcp.json");
    home.ok(&[
        "deploy",
        "--client",
        "cursor",
        "--artifact",
        &ids[1],
        "--yes",
    ]);
    // v1 removes s2; the backup of that write holds s1 and s2, both mcp-orch's.
    let rolled = home.ok(&["rollback", "--client", "cursor", "--to", &ids[0], "--yes"]);
    let backup = rolled["backup_id"].as_str().unwrap().to_owned();
    home.ok(&[
        "restore", "--client", "cursor", "--backup", &backup, "--yes",
    ]);
    let mut names = entry_names(&path);
    names.sort();
    assert_eq!(names, ["hand", "s1", "s2"]);
    let status = home.ok(&["status", "--client", "cursor", "--check"]);
    assert_eq!(status["targets"][0]["deployed_version"], 2, "{status}");
    assert_eq!(status["targets"][0]["drift"], "in_sync");
    // And mcp-orch still knows s2 is its own: undeploy removes it, the hand-made entry stays.
    home.ok(&["undeploy", "--client", "cursor", "--yes"]);
    assert_eq!(entry_names(&path), ["hand"]);
}

#[test]
fn a_damaged_audit_log_refuses_the_action_before_it_acts() {
    let home = Home::new();
    let ids = versions(&home, 1);
    let path = home.path(".cursor/mcp.json");
    let before = std::fs::read(&path).unwrap();
    let log = home.path("state/audit.jsonl");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("garbage\n");
    std::fs::write(&log, text).unwrap();
    home.fails(
        &[
            "deploy",
            "--client",
            "cursor",
            "--artifact",
            &ids[0],
            "--yes",
        ],
        "AUDIT_CORRUPT",
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing was written");
    home.fails(&["publish", "--client", "cursor"], "AUDIT_CORRUPT");
    assert_eq!(
        home.ok(&["history", "--client", "cursor"])["releases"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    home.fails(&["token", "create", "--name", "t"], "AUDIT_CORRUPT");
    assert_eq!(home.ok(&["token", "list"])["tokens"], serde_json::json!([]));
}

#[test]
fn files_that_cannot_be_merged_safely_are_refused_with_their_own_codes() {
    let home = Home::new();
    let ids = versions(&home, 1);
    let path = home.path(".cursor/mcp.json");
    let deploy = [
        "deploy",
        "--client",
        "cursor",
        "--artifact",
        ids[0].as_str(),
        "--yes",
    ];
    let refused = |text: &str, code: &str| {
        std::fs::write(&path, text).unwrap();
        home.fails(&deploy, code);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "{code}: untouched"
        );
    };
    refused("{\"mcpServers\": [1, 2]}\n", "WRONG_CONTAINER_TYPE");
    refused("{\"mcpServers\": \"none\"}\n", "WRONG_CONTAINER_TYPE");
    refused(
        "{\"mcpServers\": {}, \"mcpServers\": {\"a\": {\"command\": \"x\"}}}\n",
        "DUPLICATE_KEY",
    );
    refused(
        "{\"mcpServers\": {\"a\": {}, \"a\": {\"command\": \"x\"}}}\n",
        "DUPLICATE_KEY",
    );
    refused("{\n  // mine\n  \"mcpServers\": {}\n}\n", "JSON_NOT_STRICT");
    refused("{\"mcpServers\": {},}\n", "JSON_NOT_STRICT");
    // Deployed, then commented by hand: status says the client cannot read it, never "in sync".
    std::fs::write(&path, "{\"mcpServers\": {}}\n").unwrap();
    home.ok(&deploy);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen('{', "{\n  // mine\n", 1)).unwrap();
    let status = home.ok(&["status", "--client", "cursor"]);
    assert_eq!(status["targets"][0]["drift"], "unreadable", "{status}");
    assert_eq!(status["targets"][0]["problem"]["code"], "JSON_NOT_STRICT");

    // A FIFO is refused at once (never opened), by deploy, diff and import alike.
    std::fs::remove_file(&path).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap()
            .success()
    );
    home.fails(&deploy, "NOT_A_REGULAR_FILE");
    home.fails(&["diff", "--client", "cursor"], "NOT_A_REGULAR_FILE");
    home.fails(&["import", "--client", "cursor"], "NOT_A_REGULAR_FILE");
    std::fs::remove_file(&path).unwrap();

    // A hard-linked file is refused unless asked to break the link.
    std::fs::write(&path, "{\"mcpServers\": {}}\n").unwrap();
    let other = home.path("other-name.json");
    std::fs::hard_link(&path, &other).unwrap();
    home.fails(&deploy, "HARD_LINKED_FILE");
    let mut broken = deploy.to_vec();
    broken.push("--break-hard-link");
    home.ok(&broken);
    assert_eq!(entry_names(&path), ["s1"]);
    assert_eq!(
        std::fs::read_to_string(&other).unwrap(),
        "{\"mcpServers\": {}}\n"
    );
    std::fs::remove_file(&path).unwrap();

    // A dangling symlink: the target is created and the link kept.
    let target = home.path("dotfiles/cursor.json");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    home.ok(&deploy);
    assert!(path.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(entry_names(&target), ["s1"]);
    std::fs::remove_file(&path).unwrap();

    // Over the size limit: refused before it is read.
    let big = std::fs::File::create(&path).unwrap();
    big.set_len(65 * 1024 * 1024).unwrap();
    home.fails(&deploy, "FILE_TOO_LARGE");
}

#[test]
fn a_plan_confirmed_is_the_plan_applied_on_rest_cli_and_core() {
    // The CLI and the core face: `deploy --dry-run` gives the plan id; a publish in between
    // makes "latest" another artifact, so applying the plan id is PLAN_STALE.
    let home = Home::new();
    versions(&home, 1);
    let plan = home.ok(&["deploy", "--client", "cursor", "--dry-run"]);
    let plan_id = plan["plan_id"].as_str().unwrap().to_owned();
    assert_eq!(plan_id.len(), 16);
    let again = home.ok(&["deploy", "--client", "cursor", "--dry-run"]);
    assert_eq!(
        again["plan_id"],
        plan_id.as_str(),
        "the same state, the same plan"
    );
    home.ok(&["draft", "add", "time", "--client", "cursor"]);
    home.publish("cursor");
    let fresh = home.ok(&["deploy", "--client", "cursor", "--dry-run"]);
    assert_ne!(fresh["plan_id"], plan_id.as_str());
}

/// A deploy keeps the file's owner, group and mode: run as root (as CI does), a user's file
/// stays the user's; a new file made by root in a user's directory gets the directory's owner.
#[test]
fn a_deploy_keeps_owner_group_and_mode() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let home = Home::new();
    let ids = versions(&home, 1);
    let path = home.path(".cursor/mcp.json");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let root = std::fs::metadata(&path).unwrap().uid() == 0;
    if root {
        std::os::unix::fs::chown(&path, Some(4242), Some(4343)).unwrap();
    }
    let before = std::fs::metadata(&path).unwrap();
    home.ok(&[
        "deploy",
        "--client",
        "cursor",
        "--artifact",
        &ids[0],
        "--yes",
    ]);
    let after = std::fs::metadata(&path).unwrap();
    assert_eq!(entry_names(&path), ["hand", "s1"]);
    assert_eq!(
        (after.uid(), after.gid(), after.mode() & 0o7777),
        (before.uid(), before.gid(), 0o640)
    );
    if root {
        assert_eq!((after.uid(), after.gid()), (4242, 4343));
        // A new file in a directory owned by the user.
        let dir = home.path(".vscode-user");
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::chown(&dir, Some(4242), Some(4343)).unwrap();
        home.ok(&[
            "profiles",
            "create",
            "mine",
            "--client",
            "cursor",
            "--path",
            dir.join("mcp.json").to_str().unwrap(),
        ]);
        home.ok(&[
            "draft",
            "add",
            "memory",
            "--client",
            "cursor",
            "--profile",
            "mine",
        ]);
        home.ok(&["apply", "--client", "cursor", "--profile", "mine", "--yes"]);
        let made = std::fs::metadata(dir.join("mcp.json")).unwrap();
        assert_eq!((made.uid(), made.gid()), (4242, 4343));
    }
}

fn local_drift(sb: &crate::common::Sandbox) -> String {
    let status = sb.json_ok(&["status", "--client", "claude-code"]);
    status["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["profile_id"] == "app")
        .unwrap_or_else(|| panic!("{status:#}"))["drift"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Claude Code's local scope as a profile kind: a project's own servers inside the user file
/// (`projects.<dir>.mcpServers` in `.claude.json`), deployed, checked for drift and removed
/// without touching the user-scope servers or the file's other keys.
#[test]
fn a_local_scope_profile_deploys_into_the_projects_entry_of_the_user_file() {
    let sb = crate::common::Sandbox::new();
    let project = sb.root.join("src/app");
    std::fs::create_dir_all(&project).unwrap();
    let file = sb.claude_config_dir().join(".claude.json");
    let before = format!(
        "{{\n  \"numStartups\": 3,\n  \"mcpServers\": {{\n    \"mine\": {{ \"command\": \"x\" }}\n  }},\n  \"projects\": {{\n    \"{}\": {{ \"allowedTools\": [], \"hasTrustDialogAccepted\": true }}\n  }}\n}}\n",
        project.display()
    );
    sb.write(&file, &before);
    let dir = project.display().to_string();
    let created = sb.json_ok(&[
        "profiles",
        "create",
        "app",
        "--client",
        "claude-code",
        "--local",
        &dir,
    ]);
    assert_eq!(created["profile"]["scope"], "local");
    sb.json_ok(&[
        "draft",
        "add",
        "memory",
        "--client",
        "claude-code",
        "--profile",
        "app",
    ]);
    sb.json_ok(&[
        "apply",
        "--client",
        "claude-code",
        "--profile",
        "app",
        "--yes",
    ]);
    let text = std::fs::read_to_string(&file).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["numStartups"], 3);
    assert_eq!(doc["mcpServers"], json!({"mine": {"command": "x"}}));
    let local = &doc["projects"][&dir];
    assert_eq!(local["hasTrustDialogAccepted"], true);
    assert_eq!(local["mcpServers"]["memory"]["command"], "npx");
    assert_eq!(local_drift(&sb), "in_sync");
    // The user scope's own deploy shares the file and leaves the project's servers alone.
    sb.json_ok(&["draft", "add", "time", "--client", "claude-code"]);
    sb.json_ok(&["apply", "--client", "claude-code", "--yes"]);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["mcpServers"]["time"]["command"], "uvx");
    assert_eq!(
        doc["projects"][&dir]["mcpServers"]["memory"]["command"],
        "npx"
    );
    assert_eq!(local_drift(&sb), "in_sync");
    // Undeploying the project's servers leaves everything else as it was.
    sb.json_ok(&[
        "undeploy",
        "--client",
        "claude-code",
        "--profile",
        "app",
        "--yes",
    ]);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["projects"][&dir]["mcpServers"], json!({}));
    assert_eq!(doc["projects"][&dir]["hasTrustDialogAccepted"], true);
    assert_eq!(doc["mcpServers"]["time"]["command"], "uvx");
    // A client without a local scope refuses such a profile.
    sb.user_error(
        &[
            "profiles", "create", "x", "--client", "cursor", "--local", &dir,
        ],
        "NO_PROJECT_SCOPE",
    );
}
