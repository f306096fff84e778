//! Deploys into a temp HOME with mcp-orch, then asks the real Claude Code and Gemini CLIs
//! (installed by scripts/install-tools.sh) to read the file and connect to the deployed stdio
//! server. A missing CLI fails the test: it never skips.
#![allow(clippy::unwrap_used)] // tests fail loudly on any unexpected error

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;

fn tool(rel: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".tools")
        .join(rel);
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-tools.sh",
        path.display()
    );
    path
}

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

    fn env(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.root)
            .env("MCP_ORCH_HOME", self.root.join("state"))
            .env("XDG_CONFIG_HOME", self.root.join(".config"))
            .env("CLAUDE_CONFIG_DIR", self.root.join(".claude-config"))
            .env("NO_COLOR", "1")
            .current_dir(&self.root);
    }

    fn orch(&self, args: &[&str]) -> String {
        let mut cmd = Command::cargo_bin("mcp-orch").unwrap();
        self.env(&mut cmd);
        let out = cmd.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "mcp-orch {args:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    fn run(&self, program: &Path, args: &[&str]) -> Output {
        let mut cmd = Command::new(program);
        self.env(&mut cmd);
        cmd.args(args).output().unwrap()
    }

    /// Publishes and deploys a draft holding the real `server-everything` stdio server.
    fn deploy_everything(&self, client: &str) {
        let server = tool("everything/node_modules/.bin/mcp-server-everything");
        std::fs::create_dir_all(self.root.join("state")).unwrap();
        std::fs::write(
            self.root.join("state/catalog.toml"),
            format!(
                "[[servers]]\nid = \"everything-local\"\nname = \"Everything (local)\"\ntransport = \"stdio\"\ncommand = {:?}\nargs = [\"stdio\"]\n",
                server.display().to_string()
            ),
        )
        .unwrap();
        self.orch(&["keys", "init"]);
        self.orch(&["draft", "add", "everything-local", "--client", client]);
        self.orch(&["publish", "--client", client, "-m", "real client check"]);
        self.orch(&["deploy", "--client", client, "--yes"]);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn claude_code_connects_to_the_deployed_server() {
    let home = Home::new();
    std::fs::create_dir_all(home.root.join(".claude-config")).unwrap();
    std::fs::write(
        home.root.join(".claude-config/.claude.json"),
        "{\n  \"numStartups\": 3,\n  \"mcpServers\": {}\n}\n",
    )
    .unwrap();
    home.deploy_everything("claude-code");
    let deployed = std::fs::read_to_string(home.root.join(".claude-config/.claude.json")).unwrap();
    assert!(
        deployed.contains("\"numStartups\": 3"),
        "foreign keys survive: {deployed}"
    );
    let out = home.run(&tool("claude/node_modules/.bin/claude"), &["mcp", "list"]);
    let listing = text(&out.stdout) + &text(&out.stderr);
    let line = listing
        .lines()
        .find(|l| l.starts_with("everything-local:"))
        .unwrap_or_else(|| panic!("not listed:\n{listing}"));
    assert!(
        line.ends_with("✔ Connected") || line.ends_with("✓ Connected"),
        "{line}"
    );
}

#[test]
fn gemini_cli_connects_to_the_deployed_server() {
    let home = Home::new();
    std::fs::create_dir_all(home.root.join(".gemini")).unwrap();
    std::fs::write(
        home.root.join(".gemini/settings.json"),
        "{\n  \"ui\": { \"theme\": \"Default\" }\n}\n",
    )
    .unwrap();
    // Gemini applies MCP servers only in trusted folders.
    std::fs::write(
        home.root.join(".gemini/trustedFolders.json"),
        format!(
            "{{ {:?}: \"TRUST_FOLDER\" }}\n",
            home.root.display().to_string()
        ),
    )
    .unwrap();
    home.deploy_everything("gemini-cli");
    let out = home.run(&tool("gemini/node_modules/.bin/gemini"), &["mcp", "list"]);
    let listing = text(&out.stdout) + &text(&out.stderr);
    let line = listing
        .lines()
        .find(|l| l.contains("everything-local:"))
        .unwrap_or_else(|| panic!("not listed:\n{listing}"));
    assert!(
        line.trim_start().starts_with('✓') && line.ends_with("- Connected"),
        "{line}"
    );
}
