//! Crash harness: kills `mcp-orch` with SIGKILL at random moments of deploy, rollback,
//! undeploy, apply and publish, at least 1,000 times per file format (kills that landed while
//! the process ran), and after every kill runs the next command (`status`, which finishes or
//! undoes what the killed one left) and checks that the client's file parses, the deploy record
//! matches the file (no stale record), the audit log's last word on the file is the file as it
//! is (no change without an audit record), every release has its audit record, and no intent
//! or temp file is left. The seed is printed so a failure can be replayed with
//! `CRASH_SEED=<seed>`; `CRASH_KILLS` lowers the count for a quick local run.
#![cfg(unix)]
#![allow(clippy::disallowed_methods)] // random kill delays are the point of this harness
#![allow(clippy::unwrap_used)] // tests fail loudly on any unexpected error

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

/// Kills per file format that land while the process runs.
fn kills_per_format() -> usize {
    std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(1000)
}

fn seed() -> u64 {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            u64::from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .subsec_nanos(),
            ) | 1
        });
    println!("CRASH_SEED={seed}");
    seed
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

struct Home {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Home {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        Self { _dir: dir, root }
    }

    fn state(&self) -> PathBuf {
        self.root.join("state")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("mcp-orch").unwrap();
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.root)
            .env("MCP_ORCH_HOME", self.state())
            .env("XDG_CONFIG_HOME", self.root.join(".config"))
            .env("CODEX_HOME", self.root.join(".codex"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        cmd
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Every file under `dir` whose name marks a temp file of ours.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(temp_files(&path));
        } else if entry
            .file_name()
            .to_string_lossy()
            .starts_with(".mcp-orch-tmp-")
        {
            found.push(path);
        }
    }
    found
}

/// The newest audit record (scanning from the end) that `wanted` accepts.
fn last_record(log: &str, wanted: impl Fn(&Value) -> bool) -> Option<Value> {
    log.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| wanted(r))
}

/// The commands killed, in turn.
const ACTIONS: [&[&str]; 5] = [
    &["deploy", "--yes"],
    &["rollback", "--steps", "1", "--yes"],
    &["undeploy", "--yes"],
    &["apply", "--yes"],
    &["publish", "-m", "killed?"],
];

/// Runs the harness for one client file; returns (kills that landed, runs).
fn harness(client: &str, relative: &str, seed_text: &str, parses: fn(&str) -> bool) {
    let mut rng = Rng(seed());
    let home = Home::new();
    let path = home.root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, seed_text).unwrap();
    home.ok(&["keys", "init"]);
    home.ok(&["draft", "add", "memory", "--client", client]);
    home.ok(&["publish", "--client", client, "-m", "v1"]);
    home.ok(&["draft", "add", "sequential-thinking", "--client", client]);
    home.ok(&["draft", "add", "time", "--client", client]);
    home.ok(&["publish", "--client", client, "-m", "v2"]);
    let command = |action: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = action.iter().map(|a| (*a).to_owned()).collect();
        args.splice(1..1, ["--client".to_owned(), client.to_owned()]);
        args
    };
    // How long one run takes (the median of a few), so the kills spread over a run's life.
    let mut runs: Vec<u64> = (0..10)
        .map(|i| {
            let args = command(ACTIONS[i % ACTIONS.len()]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let started = Instant::now();
            let _ = home.cmd(&args).output().unwrap();
            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
        })
        .collect();
    runs.sort_unstable();
    let span = runs[runs.len() / 2].max(1_000);
    let releases = home
        .state()
        .join("artifacts/releases")
        .join(client)
        .join("default");
    let (mut landed, mut runs) = (0, 0);
    while landed < kills_per_format() {
        assert!(
            runs < kills_per_format() * 4,
            "{client}: too few kills landed ({landed} of {runs})"
        );
        let args = command(ACTIONS[runs % ACTIONS.len()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        runs += 1;
        let mut child = home
            .cmd(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.next() % span));
        if child.try_wait().unwrap().is_none() {
            landed += 1;
        }
        let _ = child.kill();
        let _ = child.wait();

        // The next command finishes or undoes what the killed one left.
        let status: Value =
            serde_json::from_str(&home.ok(&["--json", "status", "--client", client])).unwrap();
        let what = format!("{client}: kill {landed} during {args:?}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            parses(&text),
            "{what} left a file that does not parse:\n{text}"
        );
        let target = &status["targets"][0];
        assert_eq!(
            target["file_changed"], false,
            "{what}: stale deploy record: {status}"
        );
        assert!(
            matches!(target["drift"].as_str(), Some("in_sync" | "never_deployed")),
            "{what}: {status}"
        );
        let log = std::fs::read_to_string(home.state().join("audit.jsonl")).unwrap();
        let last_change = last_record(&log, |r| {
            r["client_id"] == client
                && r["outcome"] == "ok"
                && matches!(
                    r["action"].as_str(),
                    Some("deploy" | "rollback" | "undeploy" | "apply")
                )
        })
        .unwrap_or_else(|| panic!("{what}: no deploy in the audit log"));
        assert_eq!(
            last_change["details"]["file_sha256"].as_str(),
            Some(sha256_hex(text.as_bytes()).as_str()),
            "{what}: the file changed without an audit record: {last_change}"
        );
        let newest = std::fs::read_dir(&releases)
            .unwrap()
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_string_lossy()
                    .strip_suffix(".json")
                    .and_then(|v| v.parse::<u64>().ok())
            })
            .max()
            .unwrap();
        assert!(
            last_record(&log, |r| r["action"] == "publish"
                && r["outcome"] == "ok"
                && r["version"] == newest)
            .is_some(),
            "{what}: release v{newest} has no audit record"
        );
        let intents: Vec<_> = std::fs::read_dir(home.state().join("intents"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert_eq!(intents, Vec::<PathBuf>::new(), "{what}: intents left");
        let temps: Vec<PathBuf> = temp_files(path.parent().unwrap())
            .into_iter()
            .chain(temp_files(&home.state()))
            .collect();
        assert_eq!(temps, Vec::<PathBuf>::new(), "{what}: temp files left");
    }
    let verify = home.cmd(&["audit", "--verify"]).output().unwrap();
    assert!(
        verify.status.success(),
        "{client}: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let recovered = std::fs::read_to_string(home.state().join("audit.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"action\":\"recover\""))
        .count();
    println!(
        "{client}: {landed} kills landed in {runs} runs; {recovered} interrupted operations recovered; 0 torn files, 0 stale records, 0 unaudited changes or releases, 0 leftovers"
    );
}

#[test]
fn sigkill_in_strict_json() {
    harness(
        "cursor",
        ".cursor/mcp.json",
        "{\n  \"mcpServers\": {\n    \"mine\": { \"command\": \"x\" }\n  },\n  \"theme\": \"dark\"\n}\n",
        |t| serde_json::from_str::<Value>(t).is_ok(),
    );
}

#[test]
fn sigkill_in_jsonc() {
    harness(
        "vscode",
        ".config/Code/User/mcp.json",
        "{\n  // servers\n  \"servers\": {},\n  \"inputs\": [],\n}\n",
        |t| jsonc_parser::parse_to_value(t, &jsonc_parser::ParseOptions::default()).is_ok(),
    );
}

#[test]
fn sigkill_in_toml() {
    harness(
        "codex",
        ".codex/config.toml",
        "# my codex config\nmodel = \"o4\"\n\n[mcp_servers.mine]\ncommand = \"x\"\n",
        |t| t.parse::<toml::Table>().is_ok(),
    );
}

#[test]
fn sigkill_in_yaml() {
    harness(
        "continue",
        ".continue/config.yaml",
        "# continue\nname: Local\nversion: 1.0.0\nschema: v1\nmcpServers:\n  - name: mine\n    command: x\n",
        |t| serde_yaml_ng::from_str::<serde_yaml_ng::Value>(t).is_ok(),
    );
}

/// `secrets sweep --yes` killed at random moments: after each kill the next command leaves the
/// file either as it was or wholly swept (never torn), every secret a swept file names is in
/// the store with its value, each swept file has exactly one `secrets.sweep` record, and no
/// intent or temp file is left. The file is put back with its secrets after every run.
#[test]
fn sigkill_during_secrets_sweep() {
    const TOKEN: &str = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
    const KEY: &str = "k3y-v4lue-0001";
    let mut rng = Rng(seed());
    let home = Home::new();
    let path = home.root.join(".codex/config.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let original = format!(
        "# codex\nmodel = \"o3\"\n\n[mcp_servers.gh]\ncommand = \"npx\"\nargs = [\"-y\", \"gh-mcp\", \"--api-key\", \"{KEY}\"]\nenv = {{ GITHUB_TOKEN = \"{TOKEN}\" }}\n"
    );
    let sweep = ["secrets", "sweep", "--client", "codex", "--yes"];
    let mut runs: Vec<u64> = (0..6)
        .map(|_| {
            std::fs::write(&path, &original).unwrap();
            let started = Instant::now();
            home.ok(&sweep);
            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
        })
        .collect();
    runs.sort_unstable();
    let span = runs[runs.len() / 2].max(1_000);
    let mut swept_files = 6;
    let kills = kills_per_format() / 4;
    let (mut landed, mut runs) = (0, 0);
    while landed < kills {
        assert!(
            runs < kills * 4,
            "too few kills landed ({landed} of {runs})"
        );
        runs += 1;
        std::fs::write(&path, &original).unwrap();
        let mut child = home
            .cmd(&sweep)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.next() % span));
        if child.try_wait().unwrap().is_none() {
            landed += 1;
        }
        let _ = child.kill();
        let _ = child.wait();

        let what = format!("kill {landed} during a sweep");
        let secrets: Value =
            serde_json::from_str(&home.ok(&["--json", "secrets", "list"])).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.parse::<toml::Table>().is_ok(),
            "{what}: torn file:\n{text}"
        );
        if text != original {
            swept_files += 1;
            assert!(
                !text.contains(TOKEN) && !text.contains(KEY),
                "{what}: half swept:\n{text}"
            );
            for key in ["codex/default/GITHUB_TOKEN", "codex/default/GH_API_KEY"] {
                assert!(
                    text.contains(&format!("{{secret:{key}}}")),
                    "{what}:\n{text}"
                );
                assert!(
                    secrets["secrets"]
                        .as_array()
                        .unwrap()
                        .contains(&Value::from(key)),
                    "{what}: {key} is not stored: {secrets}"
                );
            }
        }
        let log = std::fs::read_to_string(home.state().join("audit.jsonl")).unwrap();
        let records = log
            .lines()
            .filter(|l| l.contains("\"action\":\"secrets.sweep\""))
            .count();
        assert_eq!(
            records, swept_files,
            "{what}: one audit record per swept file"
        );
        let intents: Vec<_> = std::fs::read_dir(home.state().join("intents"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert_eq!(intents, Vec::<PathBuf>::new(), "{what}: intents left");
        let temps: Vec<PathBuf> = temp_files(path.parent().unwrap())
            .into_iter()
            .chain(temp_files(&home.state()))
            .collect();
        assert_eq!(temps, Vec::<PathBuf>::new(), "{what}: temp files left");
    }
    let store = std::fs::read_to_string(home.state().join("secrets.json")).unwrap();
    assert!(store.contains(TOKEN) && store.contains(KEY));
    let verify = home.cmd(&["audit", "--verify"]).output().unwrap();
    assert!(verify.status.success());
    println!(
        "secrets sweep: {landed} kills landed in {runs} runs; {swept_files} sweeps, 0 torn or half-swept files, 0 unaudited"
    );
}
