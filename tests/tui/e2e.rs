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
            assert!(
                start.elapsed() < WAIT,
                "waited {WAIT:?} for {what:?}; the screen shows:\n{screen}"
            );
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

#[test]
fn search_add_fix_publish_deploy_and_see_outside_changes() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let home = root.join("home");
    let bin = root.join("bin");
    std::fs::create_dir_all(home.join(".cursor")).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    executable(&bin.join("npx"));
    let cursor_file = home.join(".cursor/mcp.json");
    std::fs::write(
        &cursor_file,
        "{\n  \"mcpServers\": {\n    \"hand-made\": { \"command\": \"echo\" }\n  }\n}\n",
    )
    .unwrap();
    let exe = env!("CARGO_BIN_EXE_mcp-orch");
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
    ];
    let env_args: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let command = format!(
        "env -i {} {exe} tui --client cursor",
        env_args
            .iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let tmux = Tmux {
        socket: format!("mcp-orch-e2e-{}", std::process::id()),
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
    tmux.wait_for("Deploy v1?");
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
    let out = Command::new(exe)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(["draft", "add", "memory", "--client", "cursor"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let seen = tmux.wait_for("Draft cursor/default · 2 servers");
    assert!(seen < Duration::from_secs(2), "took {seen:?}");

    tmux.keys(&["q"]);
}
