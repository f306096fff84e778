//! Deploys into a temp HOME with mcp-orch, then asks the real Claude Code and Gemini CLIs
//! (installed by scripts/install-tools.sh) to read the file and connect to the deployed stdio
//! server. A missing CLI fails the test: it never skips.
#![allow(clippy::unwrap_used)] // tests fail loudly on any unexpected error

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use sha2::{Digest, Sha256};

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

    /// A home at `<temp>/home`, the layout of `tests/clients/run_client.sh` (`WORKDIR/home`).
    fn for_session() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap().join("home");
        std::fs::create_dir(&root).unwrap();
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

    fn spawn_orch(&self, args: &[&str]) -> Child {
        let mut cmd = Command::cargo_bin("mcp-orch").unwrap();
        self.env(&mut cmd);
        cmd.env("MCP_ORCH_LOG", "warn")
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
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

// ---- real sessions: what the client offers its model ----------------------------------------

/// One real non-interactive session of a client (`tests/clients/run_client.sh`) against the
/// loopback mock of its model API (`tests/clients/mock_model.py`), after mcp-orch deployed five
/// servers into the client's file: (a) a catalog stdio server, (b) a stdio server that offers
/// its tool only when it receives the exact (multi-line) secret, (c) `serve --http` over
/// Streamable HTTP with a bearer token, (d) the same over legacy SSE, (e) `mcp-orch serve`
/// over stdio. The state directory is not the default one and nothing is exported: whatever
/// reaches the servers comes from the deployed entries alone. Returns the tool names offered
/// to the model, and the client's file as mcp-orch deployed it.
fn session_tools(client_id: &str, runner: &str) -> (BTreeSet<String>, String) {
    let (home, mut server, deployed) = deploy_for_session(client_id);
    let tools = run_session(&home, runner);
    let _ = server.kill();
    let _ = server.wait();
    (tools, deployed)
}

/// Deploys the five servers of EXPECTED for `client_id` into a session home (the stdio, HTTP
/// and SSE ones behind mcp-orch's launcher and bridge, the HTTP ones served by a running
/// `mcp-orch serve --http`); the home, that server, and the deployed file's text.
fn deploy_for_session(client_id: &str) -> (Home, Child, String) {
    let home = Home::for_session();
    let state = home.root.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let port = free_port();
    let pem = "-----BEGIN TEST KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END TEST KEY-----\n";
    let digest = hex::encode(Sha256::digest(pem.as_bytes()));
    let everything = tool("everything/node_modules/.bin/mcp-server-everything");
    let secret_server =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/secret_server.py");
    let bearer = "headers = [{ name = \"Authorization\", value = \"Bearer ${ORCH_TOKEN}\", required = true }]\nenv = [{ name = \"ORCH_TOKEN\", secret = true, required = true }]";
    std::fs::write(
        state.join("catalog.toml"),
        format!(
            r#"[[servers]]
id = "rc-everything"
name = "Everything (local)"
transport = "stdio"
command = {everything:?}
args = ["stdio"]

[[servers]]
id = "rc-secret"
name = "Secret checker"
transport = "stdio"
command = "python3"
args = [{secret_server:?}, "{digest}"]
env = [{{ name = "SECRET_TOKEN", secret = true, required = true }}]

[[servers]]
id = "rc-orch-http"
name = "mcp-orch over Streamable HTTP"
transport = "http"
url = "http://127.0.0.1:{port}/mcp"
{bearer}

[[servers]]
id = "rc-orch-sse"
name = "mcp-orch over HTTP+SSE"
transport = "sse"
url = "http://127.0.0.1:{port}/mcp/sse"
{bearer}

[[servers]]
id = "rc-orch-stdio"
name = "mcp-orch over stdio"
transport = "stdio"
command = "mcp-orch"
args = ["serve"]
"#,
            everything = everything.display().to_string(),
            secret_server = secret_server.display().to_string(),
        ),
    )
    .unwrap();
    // Cline's CLI reads ~/.cline/data/settings/cline_mcp_settings.json; mcp-orch writes the
    // first of Cline's files that exists, so that one is made first.
    // So does the Qoder CLI with ~/.qoder/settings.json.
    let cli_file = match client_id {
        "cline" => Some(".cline/data/settings/cline_mcp_settings.json"),
        "qoder" => Some(".qoder/settings.json"),
        _ => None,
    };
    if let Some(rel) = cli_file {
        let file = home.root.join(rel);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "{\"mcpServers\": {}}\n").unwrap();
    }
    let mut server = home.spawn_orch(&["serve", "--http", "--port", &port.to_string()]);
    wait_for_listening(&mut server);
    let token: serde_json::Value = serde_json::from_str(&home.orch(&[
        "--json",
        "token",
        "create",
        "--name",
        "real-client",
        "--scope",
        "read",
    ]))
    .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let pem_file = home.root.join("key.pem");
    std::fs::write(&pem_file, pem).unwrap();
    let c = client_id;
    home.orch(&[
        "secrets",
        "set",
        "SECRET_TOKEN",
        "--client",
        c,
        "--from-file",
        pem_file.to_str().unwrap(),
    ]);
    std::fs::remove_file(&pem_file).unwrap();
    home.orch(&[
        "draft",
        "add",
        "rc-everything",
        "--name",
        "everything",
        "--client",
        c,
    ]);
    home.orch(&[
        "draft",
        "add",
        "rc-secret",
        "--name",
        "secretprobe",
        "--client",
        c,
        "--secret",
        "SECRET_TOKEN",
    ]);
    home.orch(&[
        "draft",
        "add",
        "rc-orch-http",
        "--name",
        "orchhttp",
        "--client",
        c,
        "--secret",
        &format!("ORCH_TOKEN={token}"),
    ]);
    home.orch(&[
        "draft",
        "add",
        "rc-orch-sse",
        "--name",
        "orchsse",
        "--client",
        c,
        "--secret",
        "ORCH_TOKEN",
    ]);
    home.orch(&[
        "draft",
        "add",
        "rc-orch-stdio",
        "--name",
        "orchstdio",
        "--client",
        c,
    ]);
    home.orch(&["keys", "init"]);
    home.orch(&["publish", "--client", c, "-m", "real session"]);
    home.orch(&["deploy", "--client", c, "--yes"]);
    let status: serde_json::Value =
        serde_json::from_str(&home.orch(&["--json", "status", "--client", c])).unwrap();
    let deployed = std::fs::read_to_string(status["targets"][0]["path"].as_str().unwrap()).unwrap();
    (home, server, deployed)
}

/// One non-interactive turn of `runner` in the session layout of `home`, against the mock
/// model; the tools it offered the model.
fn run_session(home: &Home, runner: &str) -> BTreeSet<String> {
    let workdir = home.root.parent().unwrap();
    let log = workdir.join("model.jsonl");
    let mut mock = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/mock_model.py"))
        .arg("--log")
        .arg(&log)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(mock.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    let mock_port = first.trim().strip_prefix("PORT ").unwrap().to_owned();
    let out = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/run_client.sh"))
        .args([runner, &mock_port, workdir.to_str().unwrap()])
        .env("CLAUDE_CONFIG_DIR", home.root.join(".claude-config"))
        .env_remove("CODEX_HOME")
        .output()
        .unwrap();
    let _ = mock.kill();
    let _ = mock.wait();
    assert!(
        out.status.success(),
        "{runner} session failed:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let requests = std::fs::read_to_string(&log).unwrap();
    // A name offered n times in one request (servers with the same tool, in a client that does
    // not prefix them) is counted: `name`, `name#2`, ... `name#n`.
    let tools: BTreeSet<String> = requests
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["api"] != "unknown")
        .flat_map(|r| {
            let mut seen = std::collections::BTreeMap::<String, usize>::new();
            r["tools"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .map(move |name| {
                    let n = seen.entry(name.clone()).or_default();
                    *n += 1;
                    if *n == 1 { name } else { format!("{name}#{n}") }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        !tools.is_empty(),
        "no model request with tools:\n{requests}"
    );
    tools
}

/// The tools every session must offer, as `(server, tool)`.
const EXPECTED: &[(&str, &str)] = &[
    ("everything", "echo"),
    ("secretprobe", "secret_ok"),
    ("orchhttp", "list_clients"),
    ("orchsse", "list_clients"),
    ("orchstdio", "list_clients"),
];

fn assert_offers(tools: &BTreeSet<String>, spell: impl Fn(&str, &str) -> String) {
    let missing: Vec<String> = EXPECTED
        .iter()
        .map(|(server, tool)| spell(server, tool))
        .filter(|name| !tools.contains(name))
        .collect();
    assert!(missing.is_empty(), "missing {missing:?} among {tools:?}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Reads the server's stderr up to its "listening on" line, then keeps draining it.
fn wait_for_listening(server: &mut Child) {
    use std::io::BufRead as _;
    let mut lines = std::io::BufReader::new(server.stderr.take().unwrap()).lines();
    let started = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("listening on"));
    assert!(started, "serve --http exited before listening");
    std::thread::spawn(move || lines.for_each(drop));
}

#[test]
fn claude_code_session_offers_every_deployed_servers_tools() {
    let (tools, deployed) = session_tools("claude-code", "claude");
    assert_offers(&tools, |s, t| format!("mcp__{s}__{t}"));
    // Remote servers stay native entries; the token comes from Claude Code's headersHelper.
    let file: serde_json::Value = serde_json::from_str(&deployed).unwrap();
    for (name, kind) in [("orchhttp", "http"), ("orchsse", "sse")] {
        let entry = &file["mcpServers"][name];
        assert_eq!(entry["type"], kind, "{entry}");
        assert!(
            entry["headersHelper"]
                .as_str()
                .unwrap()
                .contains(" headers --header "),
            "{entry}"
        );
    }
}

#[test]
fn gemini_cli_session_offers_every_deployed_servers_tools() {
    let (tools, _) = session_tools("gemini-cli", "gemini");
    assert_offers(&tools, |s, t| format!("mcp_{s}_{t}"));
}

#[test]
fn codex_session_offers_every_deployed_servers_tools() {
    let (tools, deployed) = session_tools("codex", "codex");
    assert_offers(&tools, |s, t| format!("mcp__{s}__{t}"));
    // Codex speaks no legacy SSE: that server runs through the built-in bridge.
    let file: toml::Table = deployed.parse().unwrap();
    let sse = &file["mcp_servers"]["orchsse"];
    assert!(
        sse["args"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str() == Some("connect")),
        "{sse}"
    );
}

/// Claude Code's local scope: servers deployed into the session's project entry of
/// `.claude.json` (`projects.<dir>.mcpServers`) reach the model in a session started there.
#[test]
fn claude_code_session_offers_local_scope_servers() {
    let home = Home::for_session();
    let project = home.root.parent().unwrap().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let everything = tool("everything/node_modules/.bin/mcp-server-everything");
    std::fs::create_dir_all(home.root.join("state")).unwrap();
    std::fs::write(
        home.root.join("state/catalog.toml"),
        format!(
            "[[servers]]\nid = \"rc-everything\"\nname = \"Everything (local)\"\ntransport = \"stdio\"\ncommand = {:?}\nargs = [\"stdio\"]\n",
            everything.display().to_string()
        ),
    )
    .unwrap();
    let dir = project.display().to_string();
    home.orch(&[
        "profiles",
        "create",
        "app",
        "--client",
        "claude-code",
        "--local",
        &dir,
    ]);
    home.orch(&[
        "draft",
        "add",
        "rc-everything",
        "--name",
        "localeverything",
        "--client",
        "claude-code",
        "--profile",
        "app",
    ]);
    home.orch(&["keys", "init"]);
    home.orch(&[
        "apply",
        "--client",
        "claude-code",
        "--profile",
        "app",
        "--yes",
    ]);
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.root.join(".claude-config/.claude.json")).unwrap(),
    )
    .unwrap();
    assert!(
        file["projects"][&dir]["mcpServers"]["localeverything"].is_object(),
        "{file:#}"
    );
    assert!(
        file.get("mcpServers")
            .is_none_or(|m| m.get("localeverything").is_none())
    );
    let tools = run_session(&home, "claude");
    assert!(
        tools.contains("mcp__localeverything__echo"),
        "missing mcp__localeverything__echo among {tools:?}"
    );
}

#[test]
fn copilot_cli_session_offers_every_deployed_servers_tools() {
    let (tools, _) = session_tools("copilot-cli", "copilot");
    assert_offers(&tools, |s, t| format!("{s}-{t}"));
}

#[test]
fn opencode_session_offers_every_deployed_servers_tools() {
    let (tools, _) = session_tools("opencode", "opencode");
    assert_offers(&tools, |s, t| format!("{s}_{t}"));
}

#[test]
fn cline_session_offers_every_deployed_servers_tools() {
    let (tools, deployed) = session_tools("cline", "cline");
    assert_offers(&tools, |s, t| format!("{s}__{t}"));
    // Cline's own spelling of Streamable HTTP (`type: "http"` would void the whole file).
    let file: serde_json::Value = serde_json::from_str(&deployed).unwrap();
    assert!(
        file["mcpServers"]
            .as_object()
            .unwrap()
            .values()
            .all(|e| e["type"] != "http")
    );
}

#[test]
fn continue_session_offers_every_deployed_servers_tools() {
    // Continue offers MCP tools under their own names: each expected tool is there, and
    // mcp-orch's own `list_clients` once per server that serves it (HTTP, SSE, stdio).
    let (tools, _) = session_tools("continue", "continue");
    assert_offers(&tools, |_, t| t.to_owned());
    for counted in ["list_clients#2", "list_clients#3"] {
        assert!(tools.contains(counted), "missing {counted} among {tools:?}");
    }
}

#[test]
fn kimi_code_session_offers_every_deployed_servers_tools() {
    let (tools, _) = session_tools("kimi-code", "kimi");
    assert_offers(&tools, |s, t| format!("mcp__{s}__{t}"));
}

#[test]
fn kilo_code_session_offers_every_deployed_servers_tools() {
    let (tools, _) = session_tools("kilo-code", "kilo");
    assert_offers(&tools, |s, t| format!("{s}_{t}"));
}

#[test]
fn factory_droid_session_offers_every_deployed_servers_tools() {
    // droid holds MCP tools behind its tool search and names them in the prompt.
    let (tools, _) = session_tools("factory", "droid");
    assert_offers(&tools, |s, t| format!("{s}___{t}"));
}

/// Qoder runs no session without its own account: its `mcp list` starts every server of the
/// file mcp-orch wrote and reports each one connected.
#[test]
fn qoder_cli_connects_every_deployed_server() {
    let (home, mut server, _) = deploy_for_session("qoder");
    let workdir = home.root.parent().unwrap();
    let out = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/run_client.sh"))
        .args(["qoder", "0", workdir.to_str().unwrap()])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let listed = text(&out.stdout) + &text(&out.stderr);
    assert!(out.status.success(), "qodercli mcp list failed:\n{listed}");
    for (name, _) in EXPECTED {
        let line = listed
            .lines()
            .find(|l| l.contains(&format!(" {name}: ")))
            .unwrap_or_else(|| panic!("{name} not listed:\n{listed}"));
        assert!(line.contains(" - Connected"), "{line}");
    }
}

#[test]
fn augment_auggie_session_offers_every_deployed_servers_tools() {
    // Auggie runs each stdio entry as one `sh -c` line: the bridge's quoted header arguments
    // must reach mcp-orch whole for the HTTP and SSE servers to answer.
    let (tools, deployed) = session_tools("augment", "auggie");
    assert_offers(&tools, |s, t| format!("{t}_{s}"));
    let file: serde_json::Value = serde_json::from_str(&deployed).unwrap();
    assert!(
        file["mcpServers"]["orchhttp"].get("args").is_none(),
        "{file:#}"
    );
}
