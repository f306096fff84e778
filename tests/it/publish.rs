//! End-to-end tests of keys, publish, history, show and verify through the real binary, each in
//! its own temporary HOME and state directory (never the real home), with exact exit codes and
//! the stable error codes of the `--json` error body.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// One test's private world.
struct World {
    _dir: TempDir,
    home: PathBuf,
    state: PathBuf,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        let home = root.join("home");
        fs::create_dir_all(home.join(".config")).unwrap();
        Self {
            _dir: dir,
            state: root.join("state"),
            home,
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_mcp-orch"))
            .env_clear()
            .env("HOME", &self.home)
            .env("MCP_ORCH_HOME", &self.state)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env("PATH", "/usr/bin:/bin")
            .env("NO_COLOR", "1")
            .args(args)
            .timeout(Duration::from_mins(1))
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs with `--json`, asserts the exit code and returns the parsed stdout.
    fn json(&self, args: &[&str], code: i32) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let run = self.run(&all);
        assert_eq!(
            run.code, code,
            "exit code of {args:?}\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        run.json()
    }

    /// Runs with `--json` and expects failure with the given exit code and error code.
    fn fails(&self, args: &[&str], code: i32, error_code: &str) -> Value {
        let doc = self.json(args, code);
        assert_eq!(doc["error"]["code"], error_code, "{args:?}: {doc:#}");
        doc
    }

    fn ok(&self, args: &[&str]) -> Value {
        self.json(args, 0)
    }

    fn add(&self, client: &str, server: &str) {
        self.ok(&["draft", "add", server, "--client", client]);
    }

    fn publish(&self, client: &str, message: &str) -> Value {
        self.ok(&["publish", "--client", client, "-m", message])
    }

    fn release_file(&self, client: &str, profile: &str, version: u64) -> PathBuf {
        self.state
            .join("artifacts/releases")
            .join(client)
            .join(profile)
            .join(format!("{version:08}.json"))
    }

    fn payload_file(&self, id: &str) -> PathBuf {
        self.state.join(format!("artifacts/payloads/{id}.json"))
    }

    fn audit(&self) -> Vec<Value> {
        fs::read_to_string(self.state.join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn publish_needs_a_valid_draft_and_a_key_then_versions_rise() {
    let w = World::new();
    // No key, and no terminal to ask on: the publish fails and says how to make one.
    w.add("cursor", "memory");
    let doc = w.fails(&["publish", "--client", "cursor"], 1, "KEY_NOT_FOUND");
    assert!(str_of(&doc["error"]["hint"]).contains("mcp-orch keys init"));

    let init = w.ok(&["keys", "init"]);
    assert_eq!(init["status"], "initialized");
    let key_id = str_of(&init["key"]["key_id"]);
    assert_eq!(key_id.len(), 16);

    let first = w.publish("cursor", "first");
    assert_eq!(first["status"], "published");
    assert_eq!(first["version"], 1);
    assert_eq!(first["key_id"], key_id.as_str());
    assert_eq!(first["servers"], serde_json::json!(["memory"]));
    let second = w.publish("cursor", "second");
    assert_eq!(second["version"], 2);
    assert_eq!(
        first["artifact_id"], second["artifact_id"],
        "the same draft has the same content address"
    );
    let id = str_of(&first["artifact_id"]);
    assert_eq!(id.len(), 64);

    // The payload file holds exactly the bytes that hash to the id.
    let bytes = fs::read(w.payload_file(&id)).unwrap();
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    assert_eq!(digest, id);
    assert!(w.release_file("cursor", "default", 1).is_file());
    assert!(w.release_file("cursor", "default", 2).is_file());

    let history = w.ok(&["history", "--client", "cursor"]);
    let releases = history["releases"].as_array().unwrap();
    let versions: Vec<u64> = releases
        .iter()
        .map(|r| r["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, vec![2, 1]);
    assert!(releases.iter().all(|r| r["verified"] == true));
    assert_eq!(releases[0]["changelog"], "second");

    // A changed draft gets a new artifact id and the next version.
    w.add("cursor", "sequential-thinking");
    let third = w.publish("cursor", "third");
    assert_eq!(third["version"], 3);
    assert_ne!(third["artifact_id"], first["artifact_id"]);

    let verify = w.ok(&["verify", &id[..12]]);
    assert_eq!(verify["ok"], true);
    assert_eq!(verify["artifact_id"], id.as_str());
    assert_eq!(verify["releases"].as_array().unwrap().len(), 2);

    // An invalid draft is refused.
    invalidate(&w, "cursor");
    w.fails(&["publish", "--client", "cursor"], 1, "VALIDATION_FAILED");
}

/// Makes a client's draft invalid: a server whose secret is gone from the store.
fn invalidate(w: &World, client: &str) {
    w.ok(&[
        "draft",
        "add",
        "n8n",
        "--client",
        client,
        "--secret",
        "N8N_API_KEY=n8n-v",
    ]);
    w.ok(&["secrets", "remove", "N8N_API_KEY", "--client", client]);
}

#[test]
fn publish_yes_creates_the_key_and_keeps_the_changelog() {
    let w = World::new();
    w.add("cursor", "memory");
    let doc = w.ok(&[
        "publish",
        "--client",
        "cursor",
        "-m",
        "first of all",
        "--yes",
    ]);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["changelog"], "first of all");
    let actions: Vec<String> = w.audit().iter().map(|r| str_of(&r["action"])).collect();
    assert_eq!(actions, ["key.init", "publish"]);
}

#[test]
fn an_empty_draft_publishes() {
    let w = World::new();
    w.ok(&["keys", "init"]);
    w.ok(&["draft", "clear", "--client", "cursor"]);
    let doc = w.ok(&["publish", "--client", "cursor"]);
    assert_eq!(doc["server_count"], 0);
}

#[test]
fn text_output_and_help() {
    let w = World::new();
    w.add("cursor", "memory");
    let run = w.run(&["keys", "init"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("created signing key"));
    let run = w.run(&["publish", "--client", "cursor", "-m", "hello"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("published version 1 as artifact"));
    let run = w.run(&["history", "--client", "cursor"]);
    assert!(run.stdout.contains("VERSION") && run.stdout.contains("hello"));
    for cmd in [
        vec!["publish", "--help"],
        vec!["history", "--help"],
        vec!["show", "--help"],
        vec!["verify", "--help"],
        vec!["keys", "init", "--help"],
        vec!["keys", "export", "--help"],
        vec!["keys", "trust", "--help"],
    ] {
        let run = w.run(&cmd);
        assert_eq!(run.code, 0, "{cmd:?}");
        assert!(run.stdout.contains("Example"), "{cmd:?}: {}", run.stdout);
    }
    let run = w.run(&["publish"]);
    assert_eq!(run.code, 1, "a missing --client is a usage error");
}

#[test]
fn secret_values_never_reach_artifacts() {
    let w = World::new();
    w.ok(&["keys", "init"]);
    w.ok(&[
        "draft",
        "add",
        "github",
        "--client",
        "cursor",
        "--secret",
        "GITHUB_PERSONAL_ACCESS_TOKEN=ghp_TOPSECRETVALUE123",
    ]);
    let release = w.publish("cursor", "github");
    let id = str_of(&release["artifact_id"]);
    for file in files_under(&w.state.join("artifacts")) {
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("ghp_TOPSECRETVALUE123"),
            "secret value in {}",
            file.display()
        );
    }
    let show = w.ok(&["show", &id]);
    assert_eq!(
        show["payload"]["servers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"]["secret"],
        "cursor/default/GITHUB_PERSONAL_ACCESS_TOKEN"
    );
    assert!(!show.to_string().contains("ghp_TOPSECRETVALUE123"));
    assert_eq!(show["releases"][0]["envelope"]["client_id"], "cursor");
    assert_eq!(show["releases"][0]["key_id"], release["key_id"]);
}

#[test]
fn several_clients_are_published_and_reported_each() {
    let w = World::new();
    w.ok(&["keys", "init"]);
    w.add("cursor", "memory");
    w.add("claude-code", "memory");
    let doc = w.ok(&["publish", "--client", "cursor,claude-code", "-m", "both"]);
    assert_eq!(doc["published"], 2);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results[0]["client_id"], "cursor");
    assert_eq!(results[1]["client_id"], "claude-code");
    assert_ne!(
        results[0]["artifact_id"], results[1]["artifact_id"],
        "entries are rendered per client"
    );

    // An unknown client stops the command before anything is published.
    w.fails(
        &["publish", "--client", "cursor,nosuchclient"],
        1,
        "UNKNOWN_CLIENT",
    );
    assert_eq!(
        w.ok(&["history", "--client", "cursor"])["releases"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // One bad client does not stop the others; the exit code reports the failure.
    invalidate(&w, "vscode");
    let doc = w.fails(
        &["publish", "--client", "cursor,vscode"],
        1,
        "VALIDATION_FAILED",
    );
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "published");
    assert_eq!(results[0]["version"], 2);
    assert_eq!(results[1]["error"]["code"], "VALIDATION_FAILED");
    assert_eq!(
        (doc["published"].as_u64(), doc["failed"].as_u64()),
        (Some(1), Some(1))
    );

    // `all`: every client with a draft of the profile (claude-code and cursor valid, vscode not).
    let doc = w.fails(&["publish", "--client", "all"], 1, "VALIDATION_FAILED");
    let ids: Vec<String> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| str_of(&r["client_id"]))
        .collect();
    assert_eq!(ids, ["claude-code", "cursor", "vscode"]);
}

#[test]
fn a_tampered_envelope_fails_with_signature_invalid() {
    let w = World::new();
    w.ok(&["keys", "init"]);
    w.add("cursor", "memory");
    let id = str_of(&w.publish("cursor", "honest")["artifact_id"]);
    w.ok(&["verify", &id]);
    let path = w.release_file("cursor", "default", 1);
    let text = fs::read_to_string(&path).unwrap();
    let tampered = text.replace(r#"\"changelog\":\"honest\""#, r#"\"changelog\":\"evil\""#);
    assert_ne!(text, tampered);
    fs::write(&path, tampered).unwrap();

    let doc = w.fails(&["verify", &id], 1, "SIGNATURE_INVALID");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["releases"][0]["error"]["code"], "SIGNATURE_INVALID");
    let history = w.ok(&["history", "--client", "cursor"]);
    assert_eq!(history["releases"][0]["verified"], false);
    assert_eq!(history["releases"][0]["error_code"], "SIGNATURE_INVALID");

    let run = w.run(&["verify", &id]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("error[SIGNATURE_INVALID]"),
        "{}",
        run.stderr
    );

    // A flipped byte in the signature itself.
    fs::write(&path, &text).unwrap();
    w.ok(&["verify", &id]);
    let stored: Value = serde_json::from_str(&text).unwrap();
    let sig = str_of(&stored["signature"]);
    let flipped = format!(
        "{}{}",
        if sig.starts_with('A') { "B" } else { "A" },
        &sig[1..]
    );
    fs::write(&path, text.replace(&sig, &flipped)).unwrap();
    w.fails(&["verify", &id], 1, "SIGNATURE_INVALID");
}

#[test]
fn a_tampered_payload_fails_with_artifact_tampered() {
    let w = World::new();
    w.ok(&["keys", "init"]);
    w.add("cursor", "memory");
    let id = str_of(&w.publish("cursor", "x")["artifact_id"]);
    let path = w.payload_file(&id);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("server-memory", "server-evil")).unwrap();
    let doc = w.fails(&["verify", &id], 1, "ARTIFACT_TAMPERED");
    assert_eq!(doc["releases"][0]["error"]["code"], "ARTIFACT_TAMPERED");
    w.fails(&["show", &id], 1, "ARTIFACT_TAMPERED");
    // Publishing the same draft again never rewrites the payload file.
    w.fails(&["publish", "--client", "cursor"], 1, "ARTIFACT_TAMPERED");
    assert!(fs::read_to_string(&path).unwrap().contains("server-evil"));
}

#[test]
fn rotation_keeps_old_artifacts_verifiable_and_untrusting_breaks_them() {
    let w = World::new();
    let first = w.ok(&["keys", "init"])["key"]["key_id"].clone();
    w.fails(&["keys", "init"], 1, "KEY_EXISTS");
    w.add("cursor", "memory");
    let id = str_of(&w.publish("cursor", "by first key")["artifact_id"]);

    let rotated = w.ok(&["keys", "rotate"]);
    assert_eq!(rotated["status"], "rotated");
    assert_eq!(rotated["key"]["rotated_from"], first);
    let second = rotated["key"]["key_id"].clone();
    assert_ne!(first, second);
    let release = w.publish("cursor", "by second key");
    assert_eq!(release["key_id"], second);

    let verify = w.ok(&["verify", &id]);
    let keys: Vec<&Value> = verify["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["key_id"])
        .collect();
    assert_eq!(
        keys,
        vec![&second, &first],
        "both releases verify, each with its key"
    );

    let show = w.ok(&["keys", "show"]);
    assert_eq!(show["current"]["key_id"], second);
    assert_eq!(show["trusted"].as_array().unwrap().len(), 2);
    assert_eq!(show["rotations"][0]["from"], first);
    assert_eq!(show["rotations"][0]["to"], second);
    assert_eq!(show["rotations"][0]["verified"], true);

    // `init --regenerate` rotates too.
    let third = w.ok(&["keys", "init", "--regenerate"]);
    assert_eq!(third["status"], "regenerated");
    assert_eq!(third["key"]["rotated_from"], second);

    let current = str_of(&third["key"]["key_id"]);
    w.fails(&["keys", "untrust", &current], 1, "KEY_IN_USE");
    w.fails(&["keys", "untrust", "0123456789abcdef"], 1, "UNKNOWN_KEY");
    w.ok(&["keys", "untrust", first.as_str().unwrap()]);
    let doc = w.fails(&["verify", &id], 1, "UNTRUSTED_KEY");
    assert!(str_of(&doc["error"]["hint"]).contains("mcp-orch keys trust"));
    assert_eq!(
        doc["releases"][0]["ok"], true,
        "the second key's release still verifies"
    );
    assert_eq!(doc["releases"][1]["error"]["code"], "UNTRUSTED_KEY");
}

#[test]
fn trusting_an_exported_key_makes_foreign_artifacts_verify() {
    let publisher = World::new();
    let consumer = World::new();
    publisher.ok(&["keys", "init"]);
    consumer.ok(&["keys", "init"]);
    publisher.add("cursor", "memory");
    let id = str_of(&publisher.publish("cursor", "shared")["artifact_id"]);

    // Copy the publisher's artifacts into the consumer's state.
    for file in files_under(&publisher.state.join("artifacts")) {
        let rel = file.strip_prefix(&publisher.state).unwrap();
        let dest = consumer.state.join(rel);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::copy(&file, &dest).unwrap();
    }
    consumer.fails(&["verify", &id], 1, "UNTRUSTED_KEY");

    let exported = publisher.home.join("publisher.pub.json");
    let export = publisher.ok(&["keys", "export", "--out", exported.to_str().unwrap()]);
    assert_eq!(export["key"]["algorithm"], "ed25519");
    // Without --out the export is printed as JSON.
    let printed = publisher.run(&["keys", "export"]);
    let printed: Value = serde_json::from_str(&printed.stdout).unwrap();
    assert_eq!(printed, export["key"]);

    // A file whose key id is not the key's fingerprint is refused.
    let mut forged = printed.clone();
    forged["key_id"] = Value::String("0000000000000000".into());
    let forged_path = consumer.home.join("forged.json");
    fs::write(&forged_path, forged.to_string()).unwrap();
    consumer.fails(
        &["keys", "trust", forged_path.to_str().unwrap()],
        1,
        "KEY_ID_MISMATCH",
    );
    let garbage = consumer.home.join("garbage.json");
    fs::write(&garbage, "not json").unwrap();
    consumer.fails(
        &["keys", "trust", garbage.to_str().unwrap()],
        1,
        "INVALID_KEY_FILE",
    );

    let trusted = consumer.ok(&["keys", "trust", exported.to_str().unwrap()]);
    assert_eq!(trusted["key"]["origin"], "imported");
    assert_eq!(trusted["key"]["key_id"], printed["key_id"]);
    let verify = consumer.ok(&["verify", &id]);
    assert_eq!(verify["ok"], true);
}

#[cfg(unix)]
#[test]
fn key_files_are_private_and_readable_keys_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::new();
    let init = w.ok(&["keys", "init"]);
    let path = PathBuf::from(str_of(&init["key"]["path"]));
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(path.parent().unwrap(), w.state.join("keys"));

    w.add("cursor", "memory");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let doc = w.fails(
        &["publish", "--client", "cursor"],
        1,
        "INSECURE_KEY_PERMISSIONS",
    );
    assert_eq!(
        doc["error"]["hint"],
        format!("chmod 600 {}", path.display()).as_str()
    );
    w.fails(&["keys", "show"], 1, "INSECURE_KEY_PERMISSIONS");
    w.fails(&["keys", "export"], 1, "INSECURE_KEY_PERMISSIONS");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    w.publish("cursor", "fixed");
}

#[test]
fn artifact_ids_are_validated_and_bound_to_their_client() {
    let w = World::new();
    w.ok(&["keys", "init"]);
    for bad in [
        "../../../etc/passwd",
        "abc",
        "ABCDEF0123456789",
        "0123456789abcdeg",
    ] {
        w.fails(&["show", bad], 1, "INVALID_ARTIFACT_ID");
        w.fails(&["verify", bad], 1, "INVALID_ARTIFACT_ID");
    }
    w.fails(&["show", "0123456789abcdef"], 1, "ARTIFACT_NOT_FOUND");
    w.fails(&["verify", &"0".repeat(64)], 1, "ARTIFACT_NOT_FOUND");
    w.fails(&["history", "--client", "nosuch"], 1, "UNKNOWN_CLIENT");
    let empty = w.ok(&["history", "--client", "cursor"]);
    assert_eq!(empty["releases"], serde_json::json!([]));

    // The same draft in two profiles is one artifact with a release in each.
    w.ok(&["profiles", "create", "work", "--client", "cursor"]);
    w.add("cursor", "memory");
    w.ok(&[
        "draft",
        "add",
        "memory",
        "--client",
        "cursor",
        "--profile",
        "work",
    ]);
    let a = w.publish("cursor", "default");
    let b = w
        .ok(&["publish", "--client", "cursor", "--profile", "work"])
        .clone();
    assert_eq!(a["artifact_id"], b["artifact_id"]);
    assert_eq!(
        (a["version"].as_u64(), b["version"].as_u64()),
        (Some(1), Some(1))
    );
    let show = w.ok(&["show", &str_of(&a["artifact_id"])[..8]]);
    let profiles: Vec<&Value> = show["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["envelope"]["profile_id"])
        .collect();
    assert_eq!(profiles, vec!["default", "work"]);
}

#[test]
fn key_events_and_publishes_are_audited() {
    let w = World::new();
    w.fails(&["publish", "--client", "cursor"], 1, "KEY_NOT_FOUND");
    w.ok(&["keys", "init"]);
    w.add("cursor", "memory");
    let release = w.publish("cursor", "audited");
    w.ok(&["keys", "rotate"]);
    let other = World::new();
    other.ok(&["keys", "init"]);
    let exported = other.home.join("k.json");
    other.ok(&["keys", "export", "--out", exported.to_str().unwrap()]);
    let key = w.ok(&["keys", "trust", exported.to_str().unwrap()])["key"]["key_id"].clone();
    w.ok(&["keys", "untrust", key.as_str().unwrap()]);

    let records = w.audit();
    let summary: Vec<(String, String)> = records
        .iter()
        .map(|r| (str_of(&r["action"]), str_of(&r["outcome"])))
        .collect();
    let expected: Vec<(String, String)> = [
        ("publish", "error"),
        ("key.init", "ok"),
        ("publish", "ok"),
        ("key.rotate", "ok"),
        ("key.trust", "ok"),
        ("key.untrust", "ok"),
    ]
    .iter()
    .map(|(a, o)| ((*a).to_owned(), (*o).to_owned()))
    .collect();
    assert_eq!(summary, expected);
    assert_eq!(records[0]["error_code"], "KEY_NOT_FOUND");
    assert_eq!(records[2]["artifact_id"], release["artifact_id"]);
    assert_eq!(records[2]["version"], 1);
    assert_eq!(records[2]["client_id"], "cursor");
    assert!(
        str_of(&records[2]["actor"]).starts_with("cli:"),
        "{}",
        records[2]["actor"]
    );
    assert_eq!(records[4]["details"]["key_id"], key);
}
