//! Crash harness: kills `mcp-orch deploy` and `mcp-orch rollback` with SIGKILL at random
//! moments, at least 500 times per file format, and checks after every kill that the client's
//! file parses and is exactly the old or the new version; at the end, that no temp file is left
//! and the audit chain verifies. The seed is printed so a failure can be replayed with
//! `CRASH_SEED=<seed>`.
#![cfg(unix)]
#![allow(clippy::disallowed_methods)] // random kill delays are the point of this harness
#![allow(clippy::unwrap_used)] // tests fail loudly on any unexpected error

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

/// Kills per file format; `CRASH_KILLS` lowers it for a quick local run.
fn kills_per_format() -> usize {
    std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(500)
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

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("mcp-orch").unwrap();
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.root)
            .env("MCP_ORCH_HOME", self.root.join("state"))
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

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".mcp-orch-tmp-"))
        .collect()
}

/// Runs the harness for one client; returns how many killed runs left the file untouched and
/// how many had already replaced it.
fn harness(
    client: &str,
    relative: &str,
    seed_text: &str,
    parses: fn(&str) -> bool,
    rng: &mut Rng,
) -> (usize, usize) {
    let home = Home::new();
    let path = home.root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, seed_text).unwrap();
    home.ok(&["keys", "init"]);
    home.ok(&["draft", "add", "memory", "--client", client]);
    let v1 = json(&home.ok(&["--json", "publish", "--client", client, "-m", "v1"]));
    home.ok(&["draft", "add", "sequential-thinking", "--client", client]);
    home.ok(&["draft", "add", "time", "--client", client]);
    let v2 = json(&home.ok(&["--json", "publish", "--client", client, "-m", "v2"]));
    let id_of = |v: &serde_json::Value| v["results"][0]["artifact_id"].as_str().unwrap().to_owned();
    let (id1, id2) = (id_of(&v1), id_of(&v2));
    home.ok(&["deploy", "--client", client, "--artifact", &id1, "--yes"]);
    let old = std::fs::read_to_string(&path).unwrap();
    home.ok(&["deploy", "--client", client, "--artifact", &id2, "--yes"]);
    let new = std::fs::read_to_string(&path).unwrap();
    assert_ne!(old, new);
    assert!(parses(&old) && parses(&new));
    // How long one run takes (median of a few), so the kills spread over a run's whole life.
    let mut runs: Vec<u64> = (0..6)
        .map(|i| {
            let started = Instant::now();
            if i % 2 == 0 {
                home.ok(&["rollback", "--client", client, "--to", &id1, "--yes"]);
            } else {
                home.ok(&["deploy", "--client", client, "--artifact", &id2, "--yes"]);
            }
            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
        })
        .collect();
    runs.sort_unstable();
    let span = (runs[runs.len() / 2] * 3).max(1_000);
    let (mut interrupted, mut landed) = (0, 0);
    for kill in 0..kills_per_format() {
        let current = std::fs::read_to_string(&path).unwrap();
        let args: Vec<&str> = if current == old {
            vec!["deploy", "--client", client, "--artifact", &id2, "--yes"]
        } else {
            vec!["rollback", "--client", client, "--to", &id1, "--yes"]
        };
        let mut child = home
            .cmd(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.next() % span));
        let _ = child.kill();
        let _ = child.wait();
        let after = std::fs::read_to_string(&path).unwrap();
        assert!(
            parses(&after),
            "{client}: kill {kill} left a file that does not parse:\n{after}"
        );
        assert!(
            after == old || after == new,
            "{client}: kill {kill} left neither version:\n{after}"
        );
        if after == current {
            interrupted += 1;
        } else {
            landed += 1;
        }
    }
    // A normal run afterwards cleans up what killed runs left behind.
    home.ok(&["deploy", "--client", client, "--artifact", &id2, "--yes"]);
    assert_eq!(
        temp_files(path.parent().unwrap()),
        Vec::<String>::new(),
        "{client}: temp files left"
    );
    let verify = home.cmd(&["audit", "--verify"]).output().unwrap();
    assert!(
        verify.status.success(),
        "{client}: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
    (interrupted, landed)
}

/// (client, file under HOME, the file's first content, whether a text parses).
type Case = (&'static str, &'static str, &'static str, fn(&str) -> bool);

#[test]
fn sigkill_never_leaves_a_torn_client_file() {
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
    let mut rng = Rng(seed);
    let strict_json_ok = |t: &str| serde_json::from_str::<serde_json::Value>(t).is_ok();
    let jsonc_ok =
        |t: &str| jsonc_parser::parse_to_value(t, &jsonc_parser::ParseOptions::default()).is_ok();
    let toml_ok = |t: &str| t.parse::<toml::Table>().is_ok();
    let yaml_ok = |t: &str| serde_yaml_ng::from_str::<serde_yaml_ng::Value>(t).is_ok();
    let cases: [Case; 4] = [
        (
            "cursor",
            ".cursor/mcp.json",
            "{\n  \"mcpServers\": {\n    \"mine\": { \"command\": \"x\" }\n  },\n  \"theme\": \"dark\"\n}\n",
            strict_json_ok,
        ),
        (
            "vscode",
            ".config/Code/User/mcp.json",
            "{\n  // servers\n  \"servers\": {},\n  \"inputs\": [],\n}\n",
            jsonc_ok,
        ),
        (
            "codex",
            ".codex/config.toml",
            "# my codex config\nmodel = \"o4\"\n\n[mcp_servers.mine]\ncommand = \"x\"\n",
            toml_ok,
        ),
        (
            "continue",
            ".continue/config.yaml",
            "# continue\nname: Local\nversion: 1.0.0\nschema: v1\nmcpServers:\n  - name: mine\n    command: x\n",
            yaml_ok,
        ),
    ];
    for (client, path, seed_text, parses) in cases {
        let (interrupted, landed) = harness(client, path, seed_text, parses, &mut rng);
        println!(
            "{client}: {} kills: {interrupted} before the rename (old bytes), {landed} after (new bytes), 0 torn",
            kills_per_format()
        );
    }
}
