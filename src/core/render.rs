//! Rendering a draft server into one client's own entry spelling (field names, `type`
//! values, argv style), with secrets kept out of the file: as the client's env reference where
//! it has one, else through the launcher `mcp-orch run`, or inline only when asked.
//! Remote servers become native entries or, for clients without native support, a stdio
//! bridge `npx -y mcp-remote <url> --header Name:${VAR}`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::core::catalog::Transport;
use crate::core::clients::{ClientDef, CommandStyle, RemoteSupport};
use crate::core::draft::{DraftServer, EnvValue};
use crate::core::error::{Error, Result};

/// How secret values reach the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretStyle {
    /// The client's env reference where it has one, else the launcher.
    #[default]
    Auto,
    /// Always the launcher.
    Launcher,
    /// Values written into the file (only when the user asks).
    Inline,
}

/// Rendering options.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions<'a> {
    /// Absolute path of the `mcp-orch` binary, for the launcher.
    pub launcher: &'a Path,
    /// How secrets are written.
    pub secret_style: SecretStyle,
    /// Secret values, needed only for [`SecretStyle::Inline`].
    pub secret_values: Option<&'a BTreeMap<String, String>>,
}

/// A string that may contain `${SECRET}` references to the secret store.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Text {
    Literal(String),
    /// A template whose `${NAME}` parts name secrets.
    Secret(String),
}

/// Replaces every `${NAME}` in `template` with `f(NAME)`.
pub fn replace_refs(template: &str, mut f: impl FnMut(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        out.push_str(&f(&after[..end])?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Resolves a header value template against the server's env: `${X}` becomes the literal value
/// of a plain env X, or stays a reference to secret S when env X is a secret reference.
fn header_text(template: &str, env: &BTreeMap<String, EnvValue>) -> Text {
    let mut secret = false;
    let resolved = replace_refs(template, |name| match env.get(name) {
        Some(EnvValue::Plain(v)) => Some(v.clone()),
        Some(EnvValue::Secret { secret: s }) => {
            secret = true;
            Some(format!("${{{s}}}"))
        }
        None => {
            // Not one of the server's env entries: treat it as a secret of that name.
            secret = true;
            Some(format!("${{{name}}}"))
        }
    })
    .unwrap_or_else(|| template.to_owned());
    if secret {
        Text::Secret(resolved)
    } else {
        Text::Literal(resolved)
    }
}

fn env_text(value: &EnvValue) -> Text {
    match value {
        EnvValue::Plain(v) => Text::Literal(v.clone()),
        EnvValue::Secret { secret } => Text::Secret(format!("${{{secret}}}")),
    }
}

/// A process to run: what stdio entries and bridges are made of.
struct Process {
    command: String,
    args: Vec<String>,
    env: Vec<(String, Text)>,
}

/// Renders one server as `client` spells it, with the fields `import` kept that drafts do not
/// model laid over it.
pub fn render_entry(
    client: &ClientDef,
    name: &str,
    server: &DraftServer,
    opts: &RenderOptions<'_>,
) -> Result<Value> {
    let mut entry = render_modelled(client, name, server, opts)?;
    if let Value::Object(map) = &mut entry {
        for (key, value) in &server.extra {
            map.insert(key.clone(), value.clone());
        }
    }
    Ok(entry)
}

fn render_modelled(
    client: &ClientDef,
    name: &str,
    server: &DraftServer,
    opts: &RenderOptions<'_>,
) -> Result<Value> {
    match server.transport {
        Transport::Stdio => {
            let command = server.command.clone().ok_or_else(|| {
                Error::invalid(
                    "MISSING_COMMAND",
                    format!("servers.{name}.command"),
                    format!("stdio server `{name}` has no command"),
                    "re-add the server from the catalog",
                )
            })?;
            let env = server
                .env
                .iter()
                .map(|(k, v)| (k.clone(), env_text(v)))
                .collect();
            let process = Process {
                command,
                args: server.args.clone(),
                env,
            };
            Ok(stdio_entry(client, name, process, opts))
        }
        Transport::Http | Transport::Sse => {
            let url = server.url.clone().ok_or_else(|| {
                Error::invalid(
                    "MISSING_URL",
                    format!("servers.{name}.url"),
                    format!("remote server `{name}` has no URL"),
                    "re-add the server from the catalog",
                )
            })?;
            let headers: Vec<(String, Text)> = server
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), header_text(v, &server.env)))
                .collect();
            if client.remote.support == RemoteSupport::Native
                && let Some(entry) =
                    native_remote(client, name, server.transport, &url, &headers, opts)
            {
                return Ok(entry);
            }
            Ok(stdio_entry(
                client,
                name,
                bridge(server.transport, &url, headers),
                opts,
            ))
        }
    }
}

/// `npx -y mcp-remote <url> --header Name:${VAR} --transport ...`; header values that hold
/// secrets travel through env vars, as mcp-remote substitutes `${VAR}` in its args.
fn bridge(transport: Transport, url: &str, headers: Vec<(String, Text)>) -> Process {
    let mut args = vec!["-y".to_owned(), "mcp-remote".to_owned(), url.to_owned()];
    let mut env = Vec::new();
    for (header, value) in headers {
        match value {
            Text::Literal(v) => {
                args.push("--header".into());
                args.push(format!("{header}:{v}"));
            }
            Text::Secret(template) => {
                let var = format!(
                    "MCP_REMOTE_{}",
                    header.to_ascii_uppercase().replace('-', "_")
                );
                args.push("--header".into());
                args.push(format!("{header}:${{{var}}}"));
                env.push((var, Text::Secret(template)));
            }
        }
    }
    args.push("--transport".into());
    args.push(
        if transport == Transport::Sse {
            "sse-only"
        } else {
            "http-only"
        }
        .into(),
    );
    if url.starts_with("http://") && !is_loopback_url(url) {
        args.push("--allow-http".into());
    }
    Process {
        command: "npx".into(),
        args,
        env,
    }
}

fn is_loopback_url(url: &str) -> bool {
    let host = url
        .trim_start_matches("http://")
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    matches!(host, "localhost" | "127.0.0.1" | "[::1]") || host.starts_with("127.")
}

/// Turns a secret template into what goes into the file, or `None` when only the launcher can
/// supply it.
fn secret_in_file(client: &ClientDef, template: &str, opts: &RenderOptions<'_>) -> Option<String> {
    match opts.secret_style {
        SecretStyle::Inline => replace_refs(template, |s| {
            opts.secret_values.and_then(|v| v.get(s).cloned())
        }),
        SecretStyle::Launcher => None,
        SecretStyle::Auto => replace_refs(template, |s| client.env_ref(s)),
    }
}

fn stdio_entry(
    client: &ClientDef,
    name: &str,
    process: Process,
    opts: &RenderOptions<'_>,
) -> Value {
    let shape = &client.stdio;
    let mut env = Map::new();
    let mut launcher_env = Vec::new();
    for (key, text) in process.env {
        match text {
            Text::Literal(v) => {
                env.insert(key, Value::String(v));
            }
            Text::Secret(template) => match secret_in_file(client, &template, opts) {
                Some(v) => {
                    env.insert(key, Value::String(v));
                }
                None => launcher_env.push(format!("{key}={template}")),
            },
        }
    }
    let (command, args) = if launcher_env.is_empty() {
        (process.command, process.args)
    } else {
        let mut args = vec!["run".to_owned(), name.to_owned()];
        for pair in launcher_env {
            args.push("--env".into());
            args.push(pair);
        }
        args.push("--".into());
        args.push(process.command);
        args.extend(process.args);
        (opts.launcher.display().to_string(), args)
    };
    let mut entry = Map::new();
    if !client.name_field.is_empty() {
        entry.insert(client.name_field.clone(), json!(name));
    }
    if !client.type_field.is_empty() && !shape.type_value.is_empty() {
        entry.insert(client.type_field.clone(), json!(shape.type_value));
    }
    match shape.command_style {
        CommandStyle::String => {
            entry.insert(shape.command.clone(), json!(command));
            if !shape.args.is_empty() {
                entry.insert(shape.args.clone(), json!(args));
            }
        }
        CommandStyle::Argv => {
            let full_argv: Vec<String> = std::iter::once(command).chain(args).collect();
            entry.insert(shape.command.clone(), json!(full_argv));
        }
    }
    if !env.is_empty() {
        entry.insert(shape.env.clone(), Value::Object(env));
    }
    add_extra(&mut entry, &shape.extra);
    Value::Object(entry)
}

fn native_remote(
    client: &ClientDef,
    name: &str,
    transport: Transport,
    url: &str,
    headers: &[(String, Text)],
    opts: &RenderOptions<'_>,
) -> Option<Value> {
    let shape = &client.remote;
    let (type_value, url_field) = match transport {
        Transport::Sse => (&shape.sse_type, &shape.sse_url),
        _ => (&shape.http_type, &shape.url),
    };
    if url_field.is_empty() {
        return None;
    }
    let mut entry = Map::new();
    if !client.name_field.is_empty() {
        entry.insert(client.name_field.clone(), json!(name));
    }
    if !client.type_field.is_empty() && !type_value.is_empty() {
        entry.insert(client.type_field.clone(), json!(type_value));
    }
    entry.insert(url_field.clone(), json!(url));
    let mut plain = Map::new();
    let mut by_env = Map::new();
    for (header, text) in headers {
        match text {
            Text::Literal(v) => {
                plain.insert(header.clone(), json!(v));
            }
            Text::Secret(template) => {
                // Clients that name env vars instead of interpolating (Codex).
                let single = single_ref(template);
                let bearer = template.strip_prefix("Bearer ").and_then(single_ref);
                if opts.secret_style == SecretStyle::Auto
                    && !shape.bearer_env.is_empty()
                    && header.eq_ignore_ascii_case("authorization")
                    && bearer.is_some()
                {
                    entry.insert(shape.bearer_env.clone(), json!(bearer));
                } else if opts.secret_style == SecretStyle::Auto
                    && !shape.env_headers.is_empty()
                    && single.is_some()
                {
                    by_env.insert(header.clone(), json!(single));
                } else {
                    plain.insert(
                        header.clone(),
                        json!(secret_in_file(client, template, opts)?),
                    );
                }
            }
        }
    }
    if !plain.is_empty() {
        if shape.headers.is_empty() {
            return None;
        }
        entry.insert(shape.headers.clone(), Value::Object(plain));
    }
    if !by_env.is_empty() {
        entry.insert(shape.env_headers.clone(), Value::Object(by_env));
    }
    add_extra(&mut entry, &shape.extra);
    Some(Value::Object(entry))
}

/// `${NAME}` alone → `NAME`.
fn single_ref(template: &str) -> Option<&str> {
    let inner = template.strip_prefix("${")?.strip_suffix('}')?;
    (!inner.contains(['$', '{', '}'])).then_some(inner)
}

fn add_extra(entry: &mut Map<String, Value>, extra: &Map<String, Value>) {
    for (k, v) in extra {
        entry.insert(k.clone(), v.clone());
    }
}

/// Puts an entry's fields in the order the client's own docs use (name, type, command, args,
/// env, url, headers, then the rest): artifacts store entries in canonical (sorted) order.
pub fn client_field_order(client: &ClientDef, entry: &Value) -> Value {
    let Value::Object(map) = entry else {
        return entry.clone();
    };
    let preferred = [
        client.name_field.as_str(),
        client.type_field.as_str(),
        client.stdio.command.as_str(),
        client.stdio.args.as_str(),
        client.stdio.env.as_str(),
        client.remote.url.as_str(),
        client.remote.sse_url.as_str(),
        client.remote.headers.as_str(),
        client.remote.env_headers.as_str(),
        client.remote.bearer_env.as_str(),
    ];
    let mut ordered = Map::new();
    for key in preferred.iter().filter(|k| !k.is_empty()) {
        if let Some(v) = map.get(*key) {
            ordered.insert((*key).to_owned(), v.clone());
        }
    }
    for (k, v) in map {
        if !ordered.contains_key(k) {
            ordered.insert(k.clone(), v.clone());
        }
    }
    Value::Object(ordered)
}
