//! How a client starts the servers in its own file (CLIENTS.md section 8): the environment it
//! gives a stdio server, and how it expands references such as `${VAR}` from its own
//! environment. `probe --as-client` and `status --verify` use this to start each deployed
//! entry exactly as the client will, so an entry that needs a variable the client does not
//! have fails here too, instead of passing with values from mcp-orch's secret store.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::core::catalog::Transport;
use crate::core::clients::ClientDef;
use crate::core::import;
use crate::core::probe::ProbeSpec;

pub use crate::core::clients::{LaunchModel, ServerEnv, UnsetReference};

/// What the client's own list command says of each server: the line naming it, by name.
/// `None` when the client has no such command or it is not installed. The command is given
/// `timeout`; some clients start every server to report on it.
pub async fn client_verdicts(
    client: &ClientDef,
    env: &crate::core::env::Environment,
    names: &[String],
    timeout: std::time::Duration,
) -> Option<BTreeMap<String, String>> {
    let (program, args) = client.launch.list_command.split_first()?;
    if !env.command_exists(program) {
        return None;
    }
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(env.vars())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(timeout, command.output())
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    Some(
        names
            .iter()
            .map(|name| {
                let line = text
                    .lines()
                    .map(str::trim)
                    .find(|l| {
                        l.trim_start_matches(|c: char| !c.is_alphanumeric())
                            .strip_prefix(name.as_str())
                            .is_some_and(|rest| rest.starts_with([':', ' ', '\t']))
                    })
                    .unwrap_or("not listed");
                (name.clone(), line.to_owned())
            })
            .collect(),
    )
}

/// Name fragments Gemini CLI withholds from servers (upper-cased before matching).
const CREDENTIAL_NAMES: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "KEY",
    "AUTH",
    "CREDENTIAL",
    "CERT",
    "PRIVATE",
];

/// The probe of `entry` as `client` would start it, given the client's own environment
/// `client_env`. A reference to a variable the client does not have makes the probe fail with
/// `MISSING_CLIENT_ENV` without starting anything.
pub fn spec(
    client: &ClientDef,
    name: &str,
    entry: &Value,
    client_env: &BTreeMap<String, String>,
) -> Result<ProbeSpec, String> {
    let raw = import::raw_entry(client, entry)?;
    let mut unresolved = Vec::new();
    let mut expand = |text: &str| expand(client, text, client_env, &mut unresolved);
    let command = raw.command.as_deref().map(&mut expand);
    let args = raw.args.iter().map(|a| expand(a)).collect();
    let url = raw.url.as_deref().map(&mut expand);
    let mut headers: BTreeMap<String, String> = raw
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), expand(v)))
        .collect();
    let entry_env: BTreeMap<String, String> = raw
        .env
        .iter()
        .map(|(k, v)| (k.clone(), expand(v)))
        .collect();
    // Codex's env-var fields are read from its environment whatever the client's syntax.
    for (header, template) in &raw.env_headers {
        let value = crate::core::render::replace_refs(template, |var| {
            let value = client_env.get(var).filter(|v| !v.is_empty()).cloned();
            if value.is_none() {
                unresolved.push(var.to_owned());
            }
            Some(value.unwrap_or_default())
        })
        .unwrap_or_default();
        headers.insert(header.clone(), value);
    }
    let mut env = server_env(client, client_env, &raw.env_vars);
    env.extend(entry_env);
    let mut helper_error = None;
    let mut secret_values = Vec::new();
    if let Some(line) = &raw.headers_helper {
        match run_headers_helper(line, client_env) {
            Ok(more) => {
                // What a helper prints is credentials: masked in every report.
                secret_values.extend(more.values().cloned());
                headers.extend(more);
            }
            Err(e) => helper_error = Some(("HEADERS_HELPER_FAILED", e)),
        }
    }
    unresolved.sort_unstable();
    unresolved.dedup();
    let resolve_error = (!unresolved.is_empty()).then(|| {
        (
            "MISSING_CLIENT_ENV",
            format!(
                "{} is not set in the environment {} starts its servers from, so {}; export it where {} is started, or redeploy with --secret-delivery launcher",
                unresolved
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                client.name,
                match (raw.transport, client.launch.unset) {
                    (Transport::Stdio, UnsetReference::Literal) if !client.env_reference.is_empty() =>
                        "the server would receive the reference's text instead of a value",
                    _ if !raw.env_headers.is_empty() => "the client would not start this server",
                    _ => "the server would receive an empty value",
                },
                client.name,
            ),
        )
    });
    Ok(ProbeSpec {
        name: name.to_owned(),
        server_id: None,
        resolved_from: "client",
        transport: raw.transport,
        command,
        args,
        env,
        clear_env: true,
        url,
        headers,
        secret_values,
        resolve_error: resolve_error.or(helper_error),
    })
}

/// How long a header helper may run (Claude Code gives it 10 seconds).
const HELPER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs a header helper as the client does (`sh -c`, the client's environment) and reads the
/// JSON object of headers it prints.
fn run_headers_helper(
    line: &str,
    client_env: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let child = std::process::Command::new("sh")
        .arg("-c")
        .arg(line)
        .env_clear()
        .envs(client_env)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run the header helper: {e}"))?;
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(HELPER_TIMEOUT) {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(format!("the header helper failed: {e}")),
        Err(_) => {
            #[cfg(unix)]
            if let Ok(pid) = i32::try_from(pid) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            return Err(format!(
                "the header helper gave no answer within {} s",
                HELPER_TIMEOUT.as_secs()
            ));
        }
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "the header helper exited with {}: {}",
            output.status,
            stderr.lines().last().unwrap_or_default()
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("the header helper did not print a JSON object of strings: {e}"))
}

/// The environment `client` gives a stdio server, before the entry's own `env`.
fn server_env(
    client: &ClientDef,
    client_env: &BTreeMap<String, String>,
    passed: &[String],
) -> BTreeMap<String, String> {
    let model = &client.launch;
    client_env
        .iter()
        .filter(|(name, _)| match model.server_env {
            ServerEnv::Inherit => true,
            ServerEnv::Allowlist => model.allowlist.iter().chain(passed).any(|n| n == *name),
            ServerEnv::RedactSecrets => {
                let upper = name.to_ascii_uppercase();
                !CREDENTIAL_NAMES.iter().any(|c| upper.contains(c))
            }
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Expands `client`'s reference syntax in `text` from `client_env` (with `${VAR:-default}`
/// where the syntax is `${VAR}`); names it cannot resolve go to `unresolved`.
fn expand(
    client: &ClientDef,
    text: &str,
    client_env: &BTreeMap<String, String>,
    unresolved: &mut Vec<String>,
) -> String {
    let Some((open, close)) = client.env_reference.split_once("VAR") else {
        return text.to_owned();
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(close) else { break };
        let inner = &after[..end];
        let (var, default) = match inner.split_once(":-") {
            Some((var, default)) if open == "${" => (var, Some(default)),
            _ => (inner, None),
        };
        out.push_str(&rest[..start]);
        match (client_env.get(var), default) {
            (Some(value), _) => out.push_str(value),
            (None, Some(default)) => out.push_str(default),
            (None, None) => {
                unresolved.push(var.to_owned());
                if client.launch.unset == UnsetReference::Literal {
                    out.push_str(&rest[start..start + open.len() + end + close.len()]);
                }
            }
        }
        rest = &after[end + close.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::clients::ClientRegistry;
    use serde_json::json;

    fn client(id: &str) -> ClientDef {
        ClientRegistry::load(std::path::Path::new("/nonexistent/clients.toml"))
            .unwrap()
            .get(id)
            .unwrap()
            .clone()
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn claude_code_expands_its_own_environment_and_fails_an_unset_reference() {
        let entry = json!({"command": "srv", "args": ["--x=${MODE:-fast}"], "env": {"TOKEN": "${GH_TOKEN}"}});
        let ok = spec(
            &client("claude-code"),
            "s",
            &entry,
            &env(&[("GH_TOKEN", "v"), ("PATH", "/bin")]),
        )
        .unwrap();
        assert_eq!(ok.resolve_error, None);
        assert_eq!(ok.args, ["--x=fast"]);
        assert_eq!(ok.env["TOKEN"], "v");
        assert_eq!(ok.env["PATH"], "/bin");
        let missing = spec(&client("claude-code"), "s", &entry, &env(&[])).unwrap();
        assert_eq!(
            missing.resolve_error.as_ref().map(|e| e.0),
            Some("MISSING_CLIENT_ENV")
        );
        assert_eq!(missing.env["TOKEN"], "${GH_TOKEN}");
    }

    #[test]
    fn codex_passes_only_its_allow_list_and_env_vars() {
        let entry = json!({"command": "srv", "env_vars": ["EXTRA"]});
        let s = spec(
            &client("codex"),
            "s",
            &entry,
            &env(&[
                ("PATH", "/bin"),
                ("HOME", "/h"),
                ("EXTRA", "e"),
                ("MCP_ORCH_HOME", "/x"),
            ]),
        )
        .unwrap();
        assert_eq!(
            s.env,
            env(&[("PATH", "/bin"), ("HOME", "/h"), ("EXTRA", "e")])
        );
        let remote = json!({"url": "https://x/mcp", "bearer_token_env_var": "TOK"});
        let s = spec(&client("codex"), "r", &remote, &env(&[])).unwrap();
        assert_eq!(
            s.resolve_error.as_ref().map(|e| e.0),
            Some("MISSING_CLIENT_ENV")
        );
    }

    #[test]
    fn claude_codes_header_helper_runs_as_the_client_runs_it() {
        let helper = r#"printf '{"Authorization": "Bearer %s"}' "$HELPER_TOKEN""#;
        let entry = json!({"type": "http", "url": "https://x/mcp", "headersHelper": helper});
        let s = spec(
            &client("claude-code"),
            "r",
            &entry,
            &env(&[("HELPER_TOKEN", "t1")]),
        )
        .unwrap();
        assert_eq!(s.resolve_error, None);
        assert_eq!(s.headers["Authorization"], "Bearer t1");
        assert_eq!(s.secret_values, ["Bearer t1"]);
        let failing = json!({"type": "http", "url": "https://x/mcp", "headersHelper": "echo oops >&2; exit 3"});
        let s = spec(&client("claude-code"), "r", &failing, &env(&[])).unwrap();
        assert_eq!(
            s.resolve_error.as_ref().map(|e| e.0),
            Some("HEADERS_HELPER_FAILED")
        );
        assert!(s.resolve_error.unwrap().1.ends_with("oops"));
    }

    #[test]
    fn shell_words_round_trip() {
        use crate::core::render::{shell_quote, shell_split};
        let words = [
            "/usr/bin/mcp-orch",
            "--home",
            "/a b/it's",
            "Authorization: Bearer {secret:k}",
        ];
        let line = words.map(shell_quote).join(" ");
        assert_eq!(shell_split(&line).unwrap(), words);
        assert_eq!(shell_split("echo $HOME"), None);
    }

    #[test]
    fn gemini_withholds_credential_looking_names_and_empties_unset_references() {
        let entry = json!({"command": "srv", "env": {"A": "${NOPE}"}});
        let s = spec(
            &client("gemini-cli"),
            "s",
            &entry,
            &env(&[("GITHUB_TOKEN", "t"), ("PATH", "/bin")]),
        )
        .unwrap();
        assert!(!s.env.contains_key("GITHUB_TOKEN"));
        assert_eq!(s.env["A"], "");
        assert!(s.resolve_error.is_some());
    }
}
