//! End to end: the real binary in a real pseudo-terminal (a private tmux server) with a temp
//! HOME and state directory. Search the catalog, add a server, see the validation error, fix
//! it, publish (creating the signing key when asked), deploy, check the client file on disk,
//! then change the draft from another process (the CLI) and see it appear in the open TUI.
//! tmux is installed by scripts/test-all.sh; a missing tmux fails the test.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(40);

struct Tmux {
    socket: String,
    /// The TUI's log, shown when a wait times out.
    log: std::path::PathBuf,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs (scripts/test-all.sh installs it)")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "e2e"]).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success());
    }

    fn text(&self, text: &str) {
        assert!(
            self.cmd(&["send-keys", "-t", "e2e", "-l", text])
                .status
                .success()
        );
    }

    /// Waits until the screen shows `what`; returns how long it took.
    // Polling another process's terminal: there is no event to wait on, so this sleeps
    // between captures, with a deadline.
    #[allow(clippy::disallowed_methods)]
    fn wait_for(&self, what: &str) -> Duration {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(what) {
                return start.elapsed();
            }
            if start.elapsed() >= WAIT {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(60).collect();
                panic!(
                    "waited {WAIT:?} for {what:?}; the screen shows:\n{screen}\nthe end of the TUI's log:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The real binary in a private tmux server, with its own HOME, PATH and state directory.
struct Session {
    tmux: Tmux,
    home: std::path::PathBuf,
    exe: std::path::PathBuf,
    env: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Session {
    /// Starts `mcp-orch tui --client cursor ARGS` on a 100x30 screen, over a Cursor file that
    /// holds one hand-made server.
    fn start(args: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let home = root.join("home");
        let bin = root.join("bin");
        std::fs::create_dir_all(home.join(".cursor")).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        executable(&bin.join("npx"));
        std::fs::write(
            home.join(".cursor/mcp.json"),
            "{\n  \"mcpServers\": {\n    \"hand-made\": { \"command\": \"echo\" }\n  }\n}\n",
        )
        .unwrap();
        // A private copy: a target directory shared with other checkouts may be rebuilt
        // meanwhile.
        let exe = root.join("mcp-orch");
        std::fs::copy(env!("CARGO_BIN_EXE_mcp-orch"), &exe).unwrap();
        let env: Vec<(String, String)> = vec![
            ("HOME".into(), home.display().to_string()),
            ("PATH".into(), format!("{}:/usr/bin:/bin", bin.display())),
            ("TERM".into(), "xterm-256color".into()),
            (
                "MCP_ORCH_HOME".into(),
                root.join("state").display().to_string(),
            ),
            (
                "MCP_ORCH_CONFIG".into(),
                root.join("config").display().to_string(),
            ),
            ("MCP_ORCH_LOG".into(), "mcp_orch=debug".into()),
        ];
        let env_args: Vec<String> = env.iter().map(|(k, v)| format!("'{k}={v}'")).collect();
        let command = format!(
            "env -i {} {} tui --client cursor {args}; sleep 30",
            env_args.join(" "),
            exe.display()
        );
        let tmux = Tmux {
            socket: format!("mcp-orch-e2e-{}-{}", std::process::id(), args.len()),
            log: root.join("state/logs/tui.log"),
        };
        let started = tmux.cmd(&[
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            "100",
            "-y",
            "30",
            &command,
        ]);
        assert!(started.status.success(), "{started:?}");
        Self {
            tmux,
            home,
            exe,
            env,
            _dir: dir,
        }
    }

    /// Replaces what runs in the terminal with `mcp-orch ARGS` (an interactive CLI command).
    fn run_in_pane(&self, args: &str) {
        let env_args: Vec<String> = self.env.iter().map(|(k, v)| format!("'{k}={v}'")).collect();
        let command = format!(
            "env -i {} {} {args}; sleep 30",
            env_args.join(" "),
            self.exe.display()
        );
        let out = self
            .tmux
            .cmd(&["respawn-pane", "-k", "-t", "e2e", &command]);
        assert!(out.status.success(), "{out:?}");
    }

    /// Runs the CLI with the TUI's environment and asserts success.
    fn cli_ok(&self, args: &[&str]) {
        let out = self.cli(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
    }

    /// Runs the CLI with the TUI's environment.
    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(&self.exe)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args(args)
            .output()
            .unwrap()
    }
}

#[test]
fn search_add_fix_publish_deploy_and_see_outside_changes() {
    let session = Session::start("");
    let tmux = &session.tmux;
    let home = &session.home;
    let cursor_file = home.join(".cursor/mcp.json");

    // The draft of cursor/default, empty.
    tmux.wait_for("Draft cursor/default · 0 servers");
    // Search the catalog.
    tmux.keys(&["a"]);
    tmux.wait_for("/ ▏");
    tmux.text("filesys");
    tmux.wait_for("1/51");
    // Add it: the path is required, and the form says so next to the field.
    tmux.keys(&["Enter"]);
    tmux.wait_for("Add Filesystem to cursor/default");
    tmux.wait_for("✗ required");
    // Fix it.
    let docs = home.join("docs").display().to_string();
    tmux.text(&docs);
    tmux.wait_for("ready to add");
    tmux.keys(&["Enter"]);
    tmux.wait_for("added `filesystem` (1 servers)");
    tmux.wait_for("Draft cursor/default · 1 servers");

    // Publish: no signing key yet, so the TUI offers to create one.
    tmux.keys(&["P"]);
    tmux.wait_for("Publish the draft");
    tmux.text("first release");
    tmux.keys(&["Enter"]);
    tmux.wait_for("No signing key");
    tmux.keys(&["y"]);
    tmux.wait_for("created signing key");
    tmux.keys(&["P"]);
    tmux.wait_for("Publish the draft");
    tmux.text("first release");
    tmux.keys(&["Enter"]);
    tmux.wait_for("published cursor/default v1");

    // Deploy: the plan, then confirmation.
    tmux.keys(&["D"]);
    tmux.wait_for("Deploy v1 (artifact ");
    tmux.wait_for("add filesystem");
    tmux.keys(&["y"]);
    tmux.wait_for("deployed v1");
    let file = std::fs::read_to_string(&cursor_file).unwrap();
    assert!(file.contains("\"filesystem\""), "{file}");
    assert!(file.contains(&docs), "{file}");
    assert!(
        file.contains("\"hand-made\""),
        "the hand-made entry is kept: {file}"
    );

    // Another process changes the draft; the open TUI shows it within about a second.
    let out = session.cli(&["draft", "add", "memory", "--client", "cursor"]);
    assert!(out.status.success(), "{out:?}");
    let seen = tmux.wait_for("Draft cursor/default · 2 servers");
    assert!(seen < Duration::from_secs(2), "took {seen:?}");

    tmux.keys(&["q"]);
}

/// The value after `label` on the screen (`address   http://…` → `http://…`).
fn field(screen: &str, label: &str) -> String {
    screen
        .lines()
        .find_map(|l| l.trim_start_matches(['│', ' ']).strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {label:?} on the screen:\n{screen}"))
        .to_owned()
}

/// An MCP client (the rmcp SDK over Streamable HTTP, with the panel's bearer token) adds a
/// server; the open TUI shows it in the draft and the call in the Server panel; stopping the
/// server revokes the token.
#[test]
fn a_server_added_through_the_mcp_http_endpoint_appears_in_the_open_tui() {
    let session = Session::start("--port 0");
    let tmux = &session.tmux;
    tmux.wait_for("Draft cursor/default · 0 servers");
    tmux.keys(&["6"]);
    tmux.wait_for("stopped (s starts it)");
    tmux.keys(&["s"]);
    tmux.wait_for("running");
    let screen = tmux.screen();
    let url = field(&screen, "address");
    let token = field(&screen, "token");
    assert!(url.starts_with("http://127.0.0.1:"), "{screen}");
    assert!(token.starts_with("mcpo_"), "{screen}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer = runtime.block_on(async {
        use rmcp::ServiceExt as _;
        use rmcp::model::CallToolRequestParams;
        use rmcp::transport::StreamableHttpClientTransport;
        use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
        let http = mcp_orch::core::registry::fetch::client_builder()
            .build()
            .unwrap();
        let config = StreamableHttpClientTransportConfig::with_uri(format!("{url}/mcp"))
            .auth_header(token.clone());
        let client =
            ().serve(StreamableHttpClientTransport::with_client(http, config))
                .await
                .expect("the MCP client connects with the panel's token");
        let args = serde_json::json!({ "client_id": "cursor", "server_id": "memory" });
        let result = client
            .call_tool(
                CallToolRequestParams::new("add_server_to_config")
                    .with_arguments(args.as_object().unwrap().clone()),
            )
            .await
            .expect("tools/call answers");
        // The panel counts the open session, then the call.
        tmux.wait_for("sessions  1");
        tmux.wait_for("tools/call add_server_to_config ok");
        client.cancel().await.unwrap();
        result
    });
    assert_ne!(answer.is_error, Some(true), "{answer:?}");

    // Closing the client ends its session; the draft shows the server within about a second.
    tmux.wait_for("sessions  0");
    tmux.keys(&["3"]);
    let seen = tmux.wait_for("Draft cursor/default · 1 servers");
    assert!(seen < Duration::from_secs(2), "took {seen:?}");
    tmux.wait_for("memory");

    // Stopping the server revokes the session token.
    tmux.keys(&["6"]);
    tmux.keys(&["x"]);
    tmux.wait_for("stopped (s starts it)");
    let out = session.cli(&["--json", "token", "list"]);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["count"], 1, "{listed}");
    assert_eq!(listed["tokens"][0]["state"], "revoked", "{listed}");
    assert_eq!(listed["tokens"][0]["scope"], "write", "{listed}");
    tmux.keys(&["q"]);
}

/// What the user confirmed is what is written, or nothing: a publish between the plan shown
/// and the confirmation is `PLAN_STALE` in the TUI and in the interactive CLI, and the file is
/// left as it was. `A` applies the draft in one step.
#[test]
fn a_publish_between_confirmation_and_apply_is_stale_in_the_tui_and_the_cli() {
    let session = Session::start("");
    let tmux = &session.tmux;
    let cursor_file = session.home.join(".cursor/mcp.json");
    session.cli_ok(&["keys", "init"]);
    session.cli_ok(&["draft", "add", "memory", "--client", "cursor"]);
    session.cli_ok(&["publish", "--client", "cursor"]);
    tmux.wait_for("Draft cursor/default · 1 servers");
    let before = std::fs::read_to_string(&cursor_file).unwrap();

    // The TUI shows v1; v2 is published before the user says yes.
    tmux.keys(&["D"]);
    tmux.wait_for("Deploy v1 (artifact ");
    session.cli_ok(&["draft", "add", "time", "--client", "cursor"]);
    session.cli_ok(&["publish", "--client", "cursor"]);
    tmux.keys(&["y"]);
    tmux.wait_for("stale plan, nothing was written");
    assert_eq!(std::fs::read_to_string(&cursor_file).unwrap(), before);

    // `A`: the draft (now v2's) planned and applied.
    tmux.keys(&["A"]);
    tmux.wait_for("Apply v2 (artifact ");
    tmux.keys(&["y"]);
    tmux.wait_for("applied v2");
    let applied = std::fs::read_to_string(&cursor_file).unwrap();
    assert!(applied.contains("\"time\""), "{applied}");

    // The interactive CLI: the plan is shown and asked about; v4 lands meanwhile.
    session.cli_ok(&["draft", "add", "fetch", "--client", "cursor"]);
    session.cli_ok(&["publish", "--client", "cursor"]);
    session.run_in_pane("deploy --client cursor");
    tmux.wait_for("[y/N]");
    session.cli_ok(&["draft", "add", "sequential-thinking", "--client", "cursor"]);
    session.cli_ok(&["publish", "--client", "cursor"]);
    tmux.keys(&["y", "Enter"]);
    tmux.wait_for("error[PLAN_STALE]");
    assert_eq!(std::fs::read_to_string(&cursor_file).unwrap(), applied);
}
