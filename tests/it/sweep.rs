//! `secrets sweep` end to end: plaintext secrets in env, arguments, headers and URLs of client
//! files in JSON, JSONC, TOML and YAML are moved into the secret store; every byte outside the
//! swept entries stays; no value is left in a client file, a plan, a diff, the audit log or the
//! state directory; and the swept entries still work when the client starts them (a stdio
//! server that checks the value it receives in its environment and in an argument, and a
//! remote server behind a gate that checks the URL's key and the bearer token).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;

use serde_json::Value;

use crate::common::{Sandbox, mode, node_dir};
use crate::http_support::Server;

const GITHUB_TOKEN: &str = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
const ARG_KEY: &str = "k3y-v4lue-0001";
const URL_KEY: &str = "url-key-7f3a9c21";
const SLACK: &str = "xoxb-1234567890-abcdefghij";
const DB_PASSWORD: &str = "hunter2hunter2";
const PAT: &str = "plain-pat-value";
const QUERY_TOKEN: &str = "qwerty123456";

/// sha256 of `text` in hex, for a server that checks a value without holding it.
fn sha256(text: &str) -> String {
    mcp_orch::core::fsutil::sha256_hex(text.as_bytes())
}

/// A gate in front of a server: a connection whose first request line lacks `?key=KEY` gets
/// 401; the others are relayed both ways, byte for byte.
fn gate(upstream: u16, key: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).unwrap_or(0) == 0 {
                    return;
                }
                if !first.contains(&format!("?key={key} ")) {
                    let _ = conn.write_all(
                        b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                    return;
                }
                let mut up = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
                up.write_all(first.as_bytes()).unwrap();
                up.write_all(reader.buffer()).unwrap();
                let mut down = up.try_clone().unwrap();
                let mut back = conn.try_clone().unwrap();
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut down, &mut back);
                    let _ = back.shutdown(std::net::Shutdown::Both);
                });
                let mut rest = reader.into_inner();
                let mut buf = [0u8; 8192];
                loop {
                    match rest.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if up.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = up.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    port
}

/// Every file under `dir` (recursively) but the secret store and the backups, as text.
fn state_texts(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "backups" {
                state_texts(&path, out);
            }
        } else if !name.starts_with("secrets") {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            out.push((path.display().to_string(), text));
        }
    }
}

#[test]
fn sweep_moves_every_plaintext_secret_keeps_every_other_byte_and_the_entries_still_work() {
    // The remote server: mcp-orch's own Streamable HTTP endpoint (it checks the bearer token),
    // behind a gate that checks the URL's key.
    let remote = Sandbox::new();
    let token = remote.token("read", "sweep");
    let server = Server::start(&remote, &[]);
    let gate_port = gate(server.port, URL_KEY);

    let sb = Sandbox::new();
    let everything = crate::probe::everything();
    // The stdio server starts only with the right token in its environment and the right key
    // as its argument; it holds neither, only their hashes.
    let script = format!(
        "[ \"$(printf %s \"$GITHUB_PERSONAL_ACCESS_TOKEN\" | sha256sum | cut -c1-64)\" = {} ] && [ \"$(printf %s \"$2\" | sha256sum | cut -c1-64)\" = {} ] && exec {} {} stdio",
        sha256(GITHUB_TOKEN),
        sha256(ARG_KEY),
        node_dir().join("node").display(),
        everything.display(),
    );
    let cursor_head = "{\n  \"mcpServers\": {\n";
    let github = serde_json::json!({
        "command": "sh",
        "args": ["-c", script, "sh", "--api-key", ARG_KEY],
        "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": GITHUB_TOKEN, "MODE": "fast"},
    });
    let untouched = "    \"memory\": {\"command\": \"npx\", \"args\": [\"-y\", \"@modelcontextprotocol/server-memory\"]},\n";
    let remote_entry = serde_json::json!({
        "url": format!("http://127.0.0.1:{gate_port}/mcp?key={URL_KEY}"),
        "headers": {"Authorization": format!("Bearer {token}")},
    });
    let cursor_tail = "  },\n  \"otherSetting\": true\n}\n";
    let cursor = format!(
        "{cursor_head}    \"github\": {github},\n{untouched}    \"remote\": {remote_entry}\n{cursor_tail}"
    );
    let cursor_path = sb.write("home/.cursor/mcp.json", &cursor);

    let vscode_head = "// VS Code's servers\n{\n  \"servers\": {\n    // kept as written\n    \"plain\": { \"type\": \"stdio\", \"command\": \"uvx\", \"args\": [\"srv\"], },\n";
    let vscode_tail = "  },\n  \"inputs\": [],\n}\n";
    let vscode = format!(
        "{vscode_head}    \"slack\": {{ \"type\": \"stdio\", \"command\": \"npx\", \"args\": [\"-y\", \"slack-mcp\"], \"env\": {{ \"SLACK_BOT\": \"{SLACK}\" }} }}\n{vscode_tail}"
    );
    let vscode_path = sb.write("home/.config/Code/User/mcp.json", &vscode);

    let codex_head = "# Codex\nmodel = \"o3\"\n\n[mcp_servers.docs]\ncommand = \"uvx\"\nargs = [\"docs-mcp\"] # no secret here\n\n";
    let codex = format!(
        "{codex_head}[mcp_servers.remote]\nurl = \"https://mcp.example.com/mcp?access_token={QUERY_TOKEN}\"\n\n[mcp_servers.local]\ncommand = \"uvx\"\nargs = [\"srv\"]\nenv = {{ API_PAT = \"{PAT}\" }}\n"
    );
    let codex_path = sb.write("home/.codex/config.toml", &codex);

    let goose_head =
        "# Goose\nextensions:\n  plain:\n    type: stdio\n    cmd: uvx\n    args: [\"srv\"]\n";
    let goose = format!(
        "{goose_head}  db:\n    type: streamable_http\n    uri: postgres://orch:{DB_PASSWORD}@db.internal/orch\n"
    );
    let goose_path = sb.write("home/.config/goose/config.yaml", &goose);

    let files = [
        (&cursor_path, cursor.as_str()),
        (&vscode_path, vscode.as_str()),
        (&codex_path, codex.as_str()),
        (&goose_path, goose.as_str()),
    ];

    let values = [
        GITHUB_TOKEN,
        ARG_KEY,
        URL_KEY,
        token.as_str(),
        SLACK,
        DB_PASSWORD,
        PAT,
        QUERY_TOKEN,
    ];

    // Before: the entries work as written (the control for the checks after), and the probe
    // prints none of their secrets.
    for name in ["github", "remote"] {
        let probe = sb.run(&[
            "--json",
            "probe",
            "--as-client",
            "cursor",
            name,
            "--timeout",
            "30s",
        ]);
        assert_eq!(probe.code, 0, "{probe}");
        for value in values {
            assert!(!probe.stdout.contains(value), "{value} printed: {probe}");
        }
    }

    // The plan: everything found, nothing written, no value printed.
    let plan = sb.run(&["--json", "secrets", "sweep"]);
    assert_eq!(plan.code, 0, "{plan}");
    let report = plan.json();
    assert_eq!(report["applied"], false);
    assert_eq!(report["moved"], 8, "{report:#}");
    assert_eq!(report["skipped"], 0, "{report:#}");
    for (path, before) in files {
        assert_eq!(std::fs::read_to_string(path).unwrap(), before);
    }
    let mut moved: Vec<String> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            f["servers"].as_array().unwrap().iter().map(move |s| {
                format!(
                    "{} {} {}",
                    f["client_id"].as_str().unwrap(),
                    s["server"].as_str().unwrap(),
                    s["keys"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|k| k.as_str().unwrap())
                        .collect::<Vec<_>>()
                        .join(",")
                )
            })
        })
        .collect();
    moved.sort();
    assert_eq!(
        moved,
        [
            "codex local codex/default/API_PAT",
            "codex remote codex/default/REMOTE_URL_ACCESS_TOKEN",
            "cursor github cursor/default/GITHUB_API_KEY,cursor/default/GITHUB_PERSONAL_ACCESS_TOKEN",
            "cursor remote cursor/default/REMOTE_AUTHORIZATION,cursor/default/REMOTE_URL_KEY",
            "goose db goose/default/DB_URL_PASSWORD",
            "vscode slack vscode/default/SLACK_BOT",
        ]
    );
    let text_plan = sb.run(&["secrets", "sweep"]);
    assert_eq!(text_plan.code, 0, "{text_plan}");
    assert!(
        text_plan
            .stdout
            .contains("8 secret(s) to move; nothing written"),
        "{text_plan}"
    );
    assert!(text_plan.stdout.contains("+++ "), "the plan shows the diff");

    // The sweep.
    let run = sb.run(&["--json", "secrets", "sweep", "--yes"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.json()["moved"], 8);
    for output in [&plan, &text_plan, &run] {
        for value in values {
            assert!(!output.stdout.contains(value), "{value} printed");
            assert!(!output.stderr.contains(value), "{value} printed");
        }
    }

    // Every byte outside the swept entries is as it was.
    let after = |path: &Path| std::fs::read_to_string(path).unwrap();
    let cursor_after = after(&cursor_path);
    assert!(cursor_after.starts_with(cursor_head), "{cursor_after}");
    assert!(cursor_after.ends_with(cursor_tail), "{cursor_after}");
    assert!(cursor_after.contains(untouched), "{cursor_after}");
    let vscode_after = after(&vscode_path);
    assert!(vscode_after.starts_with(vscode_head), "{vscode_after}");
    assert!(vscode_after.ends_with(vscode_tail), "{vscode_after}");
    assert!(after(&codex_path).starts_with(codex_head));
    assert!(after(&goose_path).starts_with(goose_head));
    // Each swept entry kept what was not secret.
    let cursor_json: Value = serde_json::from_str(&cursor_after).unwrap();
    assert_eq!(cursor_json["otherSetting"], true);
    assert_eq!(
        cursor_json["mcpServers"]["github"]["env"],
        serde_json::json!({"MODE": "fast"})
    );

    // No value is left in any client file or anywhere in the state directory but the store
    // (0600) and the backups (0600: the files as they were).
    let mut texts: Vec<(String, String)> = files
        .iter()
        .map(|(p, _)| (p.display().to_string(), after(p)))
        .collect();
    state_texts(&sb.state, &mut texts);
    for (path, text) in &texts {
        for value in values {
            assert!(!text.contains(value), "{value} is still in {path}");
        }
    }
    assert_eq!(mode(&sb.state.join("secrets.json")) & 0o077, 0);
    let backups = walk(&sb.state.join("backups"));
    assert!(backups.len() >= 4, "{backups:?}");
    for entry in backups {
        assert_eq!(mode(&entry) & 0o077, 0, "{}", entry.display());
    }
    let scan = sb.run(&["--json", "secrets", "scan", "--check"]);
    assert_eq!(scan.code, 0, "{scan}");
    assert_eq!(scan.json()["count"], 0);

    // The audit log names the keys, and verifies.
    let audit = sb.json_ok(&["audit", "--action", "secrets.sweep"]);
    let records = audit["records"].as_array().unwrap();
    assert_eq!(records.len(), 4, "{audit:#}");
    let verify = sb.run(&["audit", "--verify"]);
    assert_eq!(verify.code, 0, "{verify}");

    // The swept entries work as the client starts them: the launcher gives the stdio server
    // its token and key, the bridge the URL's key and the bearer token.
    for name in ["github", "remote"] {
        let probe = sb.run(&[
            "--json",
            "probe",
            "--as-client",
            "cursor",
            name,
            "--timeout",
            "30s",
        ]);
        assert_eq!(probe.code, 0, "{probe}");
        assert_eq!(probe.json()["probes"][0]["status"], "ok", "{probe}");
    }
    // And only with the right values: a wrong one in the store fails each.
    for (key, name) in [
        ("cursor/default/GITHUB_API_KEY", "github"),
        ("cursor/default/REMOTE_URL_KEY", "remote"),
    ] {
        let set = sb.run_stdin(&["secrets", "set", key], "wrong-value");
        assert_eq!(set.code, 0, "{set}");
        let probe = sb.run(&[
            "--json",
            "probe",
            "--as-client",
            "cursor",
            name,
            "--timeout",
            "30s",
        ]);
        assert_eq!(probe.code, 1, "{probe}");
    }

    // A second sweep finds nothing to do.
    let again = sb.json_ok(&["secrets", "sweep", "--yes"]);
    assert_eq!(again["moved"], 0);
    assert_eq!(again["files"], serde_json::json!([]));
    drop(server);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
