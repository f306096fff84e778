//! The one validation engine, used by every front-end. It is pure and fast (it runs on every
//! keystroke in the TUI) and returns every problem at once, each with a stable code, a
//! severity, a JSON path into the draft and a hint.

use std::collections::{BTreeSet, HashMap};

use crate::core::catalog::{Catalog, ServerEntry, Transport};
use crate::core::clients::{ClientDef, RemoteSupport};
use crate::core::draft::{Draft, DraftServer, EnvValue};
use crate::core::render;
use crate::core::secret_shape;

pub use crate::core::diagnostic::{Diagnostic, Severity};

/// What validation needs besides the draft: all of it is cheap to look up.
pub struct Context<'a> {
    /// The client, when known.
    pub client: Option<&'a ClientDef>,
    /// The catalog.
    pub catalog: &'a Catalog,
    /// Names present in the secret store.
    pub secret_names: &'a BTreeSet<String>,
    /// Whether a command resolves on this machine.
    pub command_exists: &'a dyn Fn(&str) -> bool,
    /// The organisation's policy, when one is set (`mcp-orch policy`).
    pub policy: Option<&'a crate::core::policy::Policy>,
}

/// Valid server names: letters, digits, `-`, `_`, `.`; starts with a letter or digit.
pub fn is_valid_server_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Names of env vars that usually hold secrets.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "ACCESS_KEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
        "AUTH",
    ]
    .iter()
    .any(|needle| upper.contains(needle))
        || upper.ends_with("_KEY")
        || upper.ends_with("_PAT")
}

/// `PLAINTEXT_SECRET` for secrets recognised by their shape in the arguments, the URL and
/// the header values of a server (env vars are judged with their names).
fn plaintext_in_fields(server: &DraftServer, base: &str, name: &str, push: &mut Push<'_>) {
    let mut found: Vec<(String, &'static str, String)> = secret_shape::in_args(&server.args)
        .into_iter()
        .map(|f| ("args".to_owned(), f.kind, "an argument".to_owned()))
        .collect();
    if let Some(url) = &server.url {
        found.extend(
            secret_shape::find(url)
                .into_iter()
                .map(|f| ("url".to_owned(), f.kind, "the URL".to_owned())),
        );
    }
    for (header, value) in &server.headers {
        found.extend(secret_shape::find(value).into_iter().map(|f| {
            (
                format!("headers.{header}"),
                f.kind,
                format!("header `{header}`"),
            )
        }));
    }
    for (field, kind, place) in found {
        push(
            "PLAINTEXT_SECRET",
            Severity::Warning,
            format!("{base}.{field}"),
            Some(name),
            format!("{place} of `{name}` holds a {kind} in plain text"),
            "move it to the secret store (`mcp-orch secrets set NAME`) and refer to it as {secret:NAME} (headers) or through an env var (--secret NAME)".to_owned(),
        );
    }
}

/// Finds `{name}` placeholders left in a string (not `${...}` env references, not `{}` or JSON).
pub fn placeholders(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(rel) = text[i..].find('{') {
        let start = i + rel;
        let is_env_ref = start > 0 && bytes[start - 1] == b'$';
        if let Some(len) = text[start + 1..].find('}') {
            let inner = &text[start + 1..start + 1 + len];
            if !is_env_ref
                && !inner.is_empty()
                && inner
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                found.push(inner);
            }
            i = start + 1 + len + 1;
        } else {
            break;
        }
    }
    found
}

/// Validates a draft.
pub fn validate(draft: &Draft, ctx: &Context<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut push = |code: &str,
                    severity,
                    path: String,
                    server: Option<&str>,
                    message: String,
                    hint: String| {
        out.push(Diagnostic {
            code: code.to_owned(),
            severity,
            path,
            server: server.map(str::to_owned),
            message,
            hint,
        });
    };
    if ctx.client.is_none() {
        push(
            "UNKNOWN_CLIENT",
            Severity::Error,
            "client".into(),
            None,
            format!("client `{}` is not in the registry", draft.client),
            "see `mcp-orch clients` for the known ids".into(),
        );
    }
    if draft.servers.is_empty() {
        push(
            "EMPTY_CONFIG",
            Severity::Warning,
            "servers".into(),
            None,
            "the draft has no servers: deploying it removes every server mcp-orch put in the client's file".into(),
            "add one with `mcp-orch draft add SERVER_ID`, or go on to empty the client's file of mcp-orch's servers".into(),
        );
    }
    if let Some(client) = ctx.client {
        let max = client.limits.max_servers;
        if max > 0 && draft.servers.len() > max {
            push(
                "TOO_MANY_SERVERS",
                Severity::Error,
                "servers".into(),
                None,
                format!(
                    "{} servers, but {} accepts at most {max}",
                    draft.servers.len(),
                    client.name
                ),
                "remove servers or split them over profiles".into(),
            );
        }
    }
    let mut lowered: HashMap<String, &str> = HashMap::new();
    let mut commands_checked: HashMap<&str, bool> = HashMap::new();
    for (name, server) in &draft.servers {
        let base = format!("servers.{name}");
        if let Some(other) = lowered.insert(name.to_ascii_lowercase(), name) {
            push(
                "DUPLICATE_NAME",
                Severity::Error,
                base.clone(),
                Some(name),
                format!("`{name}` and `{other}` differ only in case; clients treat them as one"),
                "rename one of them with --name".into(),
            );
        }
        if let Some(why) = ctx
            .policy
            .and_then(|p| p.forbids(&crate::core::policy::Identity::of_server(name, server)))
        {
            push(
                "POLICY_DENIED",
                Severity::Error,
                base.clone(),
                Some(name),
                format!("`{name}` is forbidden by the organisation's policy: {why}"),
                "remove it from the draft (`mcp-orch draft remove NAME`), or ask for the policy to allow it (`mcp-orch policy plan` shows the rules)".into(),
            );
        }
        if !is_valid_server_name(name) {
            push(
                "INVALID_SERVER_NAME",
                Severity::Error,
                base.clone(),
                Some(name),
                format!(
                    "`{}` is not a valid server name",
                    crate::core::error::echo(name)
                ),
                "use 1 to 64 letters, digits, `-`, `_` or `.`, starting with a letter or digit"
                    .into(),
            );
        } else if let Some(client) = ctx.client {
            let max = client.limits.max_name_length;
            if max > 0 && name.len() > max {
                push(
                    "INVALID_SERVER_NAME",
                    Severity::Error,
                    base.clone(),
                    Some(name),
                    format!(
                        "`{name}` is longer than the {max} characters {} accepts",
                        client.name
                    ),
                    "choose a shorter name with --name".into(),
                );
            }
        }
        let entry = server
            .server_id
            .as_deref()
            .and_then(|id| ctx.catalog.find(id));
        if let (Some(id), None) = (server.server_id.as_deref(), entry) {
            push(
                "UNKNOWN_SERVER",
                Severity::Warning,
                format!("{base}.server_id"),
                Some(name),
                format!("`{id}` is no longer in the catalog"),
                "the entry still works as written; re-add it to pick up catalog changes".into(),
            );
        }
        check_server(
            name,
            &base,
            server,
            entry,
            ctx,
            &mut commands_checked,
            &mut push,
        );
    }
    out.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.code.cmp(&b.code))
    });
    out
}

type Push<'p> = dyn FnMut(&str, Severity, String, Option<&str>, String, String) + 'p;

fn check_server<'a>(
    name: &str,
    base: &str,
    server: &'a DraftServer,
    entry: Option<&ServerEntry>,
    ctx: &Context<'_>,
    commands_checked: &mut HashMap<&'a str, bool>,
    push: &mut Push<'_>,
) {
    match server.transport {
        Transport::Stdio => match server.command.as_deref().filter(|c| !c.trim().is_empty()) {
            None => push(
                "MISSING_COMMAND",
                Severity::Error,
                format!("{base}.command"),
                Some(name),
                format!("stdio server `{name}` has no command"),
                "set the command, or re-add the server from the catalog".into(),
            ),
            Some(command) => {
                let exists = *commands_checked
                    .entry(command)
                    .or_insert_with(|| (ctx.command_exists)(command));
                if !exists {
                    push(
                        "COMMAND_NOT_FOUND",
                        Severity::Warning,
                        format!("{base}.command"),
                        Some(name),
                        format!("`{command}` was not found on this machine's PATH"),
                        "install it, or use an absolute path (GUI apps may not inherit your shell PATH)".into(),
                    );
                }
            }
        },
        Transport::Http | Transport::Sse => {
            match server.url.as_deref() {
                None | Some("") => push(
                    "MISSING_URL",
                    Severity::Error,
                    format!("{base}.url"),
                    Some(name),
                    format!("remote server `{name}` has no URL"),
                    "set the URL, or re-add the server from the catalog".into(),
                ),
                Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => push(
                    "INVALID_URL",
                    Severity::Error,
                    format!("{base}.url"),
                    Some(name),
                    format!("`{url}` is not an http(s) URL"),
                    "use a URL that starts with http:// or https://".into(),
                ),
                Some(_) => {}
            }
            if let Some(client) = ctx.client
                && client.remote.support == RemoteSupport::Bridge
            {
                push(
                    "REMOTE_NOT_SUPPORTED",
                    Severity::Warning,
                    format!("{base}.transport"),
                    Some(name),
                    format!(
                        "{} cannot reach {} servers natively",
                        client.name, server.transport
                    ),
                    "it will be bridged with `mcp-orch connect`, built into mcp-orch".into(),
                );
            }
        }
    }
    let texts = server
        .command
        .iter()
        .map(|c| ("command".to_owned(), c.as_str()))
        .chain(
            server
                .args
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("args[{i}]"), a.as_str())),
        )
        .chain(server.url.iter().map(|u| ("url".to_owned(), u.as_str())))
        .chain(
            server
                .headers
                .iter()
                .map(|(k, v)| (format!("headers.{k}"), v.as_str())),
        );
    for (field, text) in texts {
        for placeholder in placeholders(text) {
            push(
                "UNRESOLVED_PLACEHOLDER",
                Severity::Error,
                format!("{base}.{field}"),
                Some(name),
                format!("`{{{placeholder}}}` in {field} of `{name}` has no value"),
                format!("give it with --param {placeholder}=VALUE"),
            );
        }
    }
    plaintext_in_fields(server, base, name, push);
    if let Some(client) = ctx.client {
        let max = client.limits.max_env_vars_per_server;
        if max > 0 && server.env.len() > max {
            push(
                "TOO_MANY_ENV_VARS",
                Severity::Error,
                format!("{base}.env"),
                Some(name),
                format!(
                    "`{name}` has {} env vars, but {} accepts at most {max}",
                    server.env.len(),
                    client.name
                ),
                "remove env vars that the server does not need".into(),
            );
        }
    }
    for (key, value) in &server.env {
        let path = format!("{base}.env.{key}");
        match value {
            EnvValue::Plain(v) if v.trim().is_empty() => push(
                "EMPTY_ENV_VAR",
                Severity::Warning,
                path,
                Some(name),
                format!("env var `{key}` of `{name}` is empty"),
                format!("set it with --env {key}=VALUE, or remove it"),
            ),
            EnvValue::Plain(v)
                if !is_reference(v) && (looks_secret(key) || !secret_shape::find(v).is_empty()) =>
            {
                let what = secret_shape::find(v)
                    .first()
                    .map_or_else(|| "a secret".to_owned(), |f| format!("a {}", f.kind));
                push(
                    "PLAINTEXT_SECRET",
                    Severity::Warning,
                    path,
                    Some(name),
                    format!("env var `{key}` of `{name}` holds {what} in plain text"),
                    format!("move it to the secret store with --secret {key}"),
                );
            }
            EnvValue::Secret { secret } if !ctx.secret_names.contains(secret) => push(
                "MISSING_SECRET",
                Severity::Error,
                path,
                Some(name),
                format!("secret `{secret}` used by `{name}` is not in the secret store"),
                format!(
                    "store it with `{}`",
                    crate::core::secrets::set_command(secret)
                ),
            ),
            _ => {}
        }
    }
    if let Some(client) = ctx.client {
        env_delivery_warnings(client, name, server, base, push);
    }
    if let Some(entry) = entry {
        for param in entry
            .params
            .iter()
            .filter(|p| p.required && p.default.is_none())
        {
            if !server.params.contains_key(&param.name) {
                push(
                    "MISSING_REQUIRED_PARAM",
                    Severity::Error,
                    format!("{base}.params.{}", param.name),
                    Some(name),
                    format!(
                        "`{name}` needs parameter `{}` ({})",
                        param.name,
                        param.kind.as_str()
                    ),
                    format!("give it with --param {}=VALUE", param.name),
                );
            }
        }
        for var in entry
            .env
            .iter()
            .filter(|e| e.required && e.default.is_none())
        {
            if !server.env.contains_key(&var.name) {
                let flag = if var.secret {
                    format!("--secret {}", var.name)
                } else {
                    format!("--env {}=VALUE", var.name)
                };
                push(
                    "MISSING_REQUIRED_ENV",
                    Severity::Error,
                    format!("{base}.env.{}", var.name),
                    Some(name),
                    format!("`{name}` needs env var `{}`", var.name),
                    format!("give it with {flag}"),
                );
            }
        }
    }
}

pub use crate::core::secret_shape::is_reference;

/// A server whose secrets are written as the client's own env references works only when the
/// user exported each variable where the client is started (CLIENTS.md section 8): say which.
fn env_delivery_warnings(
    client: &ClientDef,
    name: &str,
    server: &DraftServer,
    base: &str,
    push: &mut Push<'_>,
) {
    for var in render::client_env_vars(client, server) {
        push(
            "SECRET_FROM_CLIENT_ENV",
            Severity::Warning,
            format!("{base}.secret_delivery"),
            Some(name),
            format!(
                "`{name}` gets `{var}` as {}, which {} fills from its own environment, not from mcp-orch's secret store",
                client.env_ref(&var).unwrap_or_default(),
                client.name
            ),
            format!(
                "export {var} wherever {} is started (GUI apps do not see shell exports), or let mcp-orch deliver it with --secret-delivery launcher",
                client.name
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders_but_not_env_refs() {
        assert_eq!(
            placeholders("http://{host}:{port}/mcp"),
            vec!["host", "port"]
        );
        assert!(placeholders("Bearer ${TOKEN}").is_empty());
        assert!(placeholders("{}").is_empty());
        assert!(placeholders(r#"{"a": 1}"#).is_empty());
    }

    #[test]
    fn plaintext_secrets_are_found_by_shape_in_args_urls_and_headers() {
        let server = DraftServer {
            server_id: None,
            transport: Transport::Http,
            command: None,
            args: vec![
                "--token".into(),
                "abcd1234efgh".into(),
                "--port".into(),
                "80".into(),
            ],
            url: Some("https://mcp.example.com/mcp?api_key=k3y-v4lue-1".into()),
            headers: [
                ("X-Api".to_owned(), "xoxb-1234567890-abcdefghij".to_owned()),
                (
                    "Authorization".to_owned(),
                    "Bearer {secret:GITHUB}".to_owned(),
                ),
            ]
            .into(),
            env: std::collections::BTreeMap::new(),
            params: std::collections::BTreeMap::new(),
            secret_delivery: None,
            origin: crate::core::draft::Origin::Catalog,
            extra: std::collections::BTreeMap::new(),
        };
        let mut found = Vec::new();
        plaintext_in_fields(
            &server,
            "servers.x",
            "x",
            &mut |code, _, path, _, message, _| {
                found.push((code.to_owned(), path, message));
            },
        );
        assert_eq!(
            found,
            [
                (
                    "PLAINTEXT_SECRET".to_owned(),
                    "servers.x.args".to_owned(),
                    "an argument of `x` holds a credential argument in plain text".to_owned()
                ),
                (
                    "PLAINTEXT_SECRET".to_owned(),
                    "servers.x.url".to_owned(),
                    "the URL of `x` holds a secret in a URL query in plain text".to_owned()
                ),
                (
                    "PLAINTEXT_SECRET".to_owned(),
                    "servers.x.headers.X-Api".to_owned(),
                    "header `X-Api` of `x` holds a Slack token in plain text".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn secret_names() {
        assert!(looks_secret("GITHUB_PERSONAL_ACCESS_TOKEN"));
        assert!(looks_secret("BRAVE_API_KEY"));
        assert!(!looks_secret("SLACK_TEAM_ID"));
    }
}
