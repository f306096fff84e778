//! Reading a client's own entries back into draft servers (`mcp-orch import`), the inverse of
//! rendering, and moving plain-text secrets found there into the secret store.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::core::catalog::Transport;
use crate::core::clients::{ClientDef, CommandStyle};
use crate::core::draft::{DraftServer, EnvValue, Origin};
use crate::core::render::{SecretDelivery, SelfCommand};
use crate::core::validate::{is_reference, looks_secret};

fn strings(value: Option<&Value>) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                _ => Err("args must be strings (INVALID_ARGS_TYPE)".to_owned()),
            })
            .collect(),
        Some(_) => Err("args is not a list (INVALID_ARGS_TYPE)".into()),
    }
}

fn string_map(value: Option<&Value>, what: &str) -> Result<BTreeMap<String, String>, String> {
    match value {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => Ok(map
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect()),
        Some(_) => Err(format!("{what} is not an object (INVALID_ENV_TYPE)")),
    }
}

/// The fields of `client`'s entries that drafts model; everything else is kept in `extra`.
fn modelled_fields(client: &ClientDef) -> Vec<&str> {
    let r = &client.remote;
    let s = &client.stdio;
    [
        &client.name_field,
        &client.type_field,
        &s.command,
        &s.args,
        &s.env,
        &r.url,
        &r.sse_url,
        &r.headers,
        &r.env_headers,
        &r.bearer_env,
    ]
    .into_iter()
    .map(String::as_str)
    .chain(["url", "headers"])
    .filter(|f| !f.is_empty())
    .collect()
}

/// The entry's fields that drafts do not model.
fn unmodelled(client: &ClientDef, obj: &serde_json::Map<String, Value>) -> BTreeMap<String, Value> {
    let known = modelled_fields(client);
    obj.iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// One entry of a client's file as written: what the client itself reads from it, before any
/// reference is expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    /// Transport.
    pub transport: Transport,
    /// stdio command.
    pub command: Option<String>,
    /// stdio arguments.
    pub args: Vec<String>,
    /// stdio environment, as written.
    pub env: BTreeMap<String, String>,
    /// Remote URL.
    pub url: Option<String>,
    /// Remote headers, as written.
    pub headers: BTreeMap<String, String>,
    /// Headers whose value the client reads from its own environment (Codex's
    /// `bearer_token_env_var` as `Authorization: Bearer ${VAR}`, and `env_http_headers`).
    pub env_headers: BTreeMap<String, String>,
    /// Variables the client passes through from its own environment (Codex's `env_vars`).
    pub env_vars: Vec<String>,
    /// A shell command the client runs for more headers (Claude Code's `headersHelper`).
    pub headers_helper: Option<String>,
    /// The fields drafts do not model.
    pub extra: BTreeMap<String, Value>,
}

/// Reads one entry written in `client`'s spelling.
pub fn raw_entry(client: &ClientDef, entry: &Value) -> Result<RawEntry, String> {
    let obj = entry.as_object().ok_or("the entry is not an object")?;
    let type_value = (!client.type_field.is_empty())
        .then(|| obj.get(&client.type_field).and_then(Value::as_str))
        .flatten()
        .unwrap_or_default();
    if matches!(type_value, "builtin" | "platform") {
        return Err(format!("`{type_value}` entries belong to the client"));
    }
    let remote = &client.remote;
    let url = [&remote.url, &remote.sse_url, &"url".to_owned()]
        .into_iter()
        .filter(|f| !f.is_empty())
        .find_map(|f| {
            obj.get(f.as_str())
                .and_then(Value::as_str)
                .map(|u| (f.clone(), u.to_owned()))
        });
    let shape = &client.stdio;
    let extra = unmodelled(client, obj);
    if let Some((field, url)) = url.filter(|_| !obj.contains_key(&shape.command)) {
        let transport = if (!remote.sse_type.is_empty()
            && type_value == remote.sse_type
            && remote.sse_type != remote.http_type)
            || (field == remote.sse_url && field != remote.url)
        {
            Transport::Sse
        } else {
            Transport::Http
        };
        let header_field = if remote.headers.is_empty() {
            "headers"
        } else {
            remote.headers.as_str()
        };
        let mut env_headers = BTreeMap::new();
        if let Some(var) = obj.get(&remote.bearer_env).and_then(Value::as_str) {
            env_headers.insert("Authorization".to_owned(), format!("Bearer ${{{var}}}"));
        }
        for (header, var) in string_map(obj.get(&remote.env_headers), "env_headers")? {
            env_headers.insert(header, format!("${{{var}}}"));
        }
        return Ok(RawEntry {
            transport,
            command: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            url: Some(url),
            headers: string_map(obj.get(header_field), "headers")?,
            env_headers,
            env_vars: Vec::new(),
            headers_helper: (!remote.headers_helper.is_empty())
                .then(|| obj.get(&remote.headers_helper).and_then(Value::as_str))
                .flatten()
                .map(str::to_owned),
            extra,
        });
    }
    let (command, args) = match shape.command_style {
        CommandStyle::String => {
            let command = obj
                .get(&shape.command)
                .and_then(Value::as_str)
                .ok_or("no command (MISSING_COMMAND)")?
                .to_owned();
            let args = if shape.args.is_empty() {
                Vec::new()
            } else {
                strings(obj.get(&shape.args))?
            };
            (command, args)
        }
        CommandStyle::Argv => {
            let mut argv = strings(obj.get(&shape.command))?;
            if argv.is_empty() {
                return Err("no command (MISSING_COMMAND)".into());
            }
            let command = argv.remove(0);
            (command, argv)
        }
    };
    Ok(RawEntry {
        transport: Transport::Stdio,
        command: Some(command),
        args,
        env: string_map(obj.get(&shape.env), "env")?,
        url: None,
        headers: BTreeMap::new(),
        env_headers: BTreeMap::new(),
        env_vars: strings(obj.get("env_vars")).unwrap_or_default(),
        headers_helper: None,
        extra,
    })
}

/// Converts one entry written in `client`'s spelling into a draft server.
pub fn parse_entry(
    client: &ClientDef,
    entry: &Value,
    launcher: &SelfCommand,
) -> Result<DraftServer, String> {
    let raw = raw_entry(client, entry)?;
    if raw.transport != Transport::Stdio {
        // Header references come back in the draft's own `${NAME}` form (rendering adds the
        // client's `${env:NAME}` again), and Codex's env-var fields become headers again.
        let inner = (client.env_reference.strip_prefix("${"))
            .and_then(|r| r.strip_suffix("VAR}"))
            .unwrap_or_default();
        let mut headers = raw.headers;
        for value in headers.values_mut().filter(|_| !inner.is_empty()) {
            let bare =
                |name: &str| Some(format!("${{{}}}", name.strip_prefix(inner).unwrap_or(name)));
            *value =
                crate::core::render::replace_refs(value, bare).unwrap_or_else(|| value.clone());
        }
        headers.extend(raw.env_headers);
        // References the client fills from its own environment stay that way.
        let uses_env = headers.values().any(|v| v.contains("${"));
        let mut extra = raw.extra;
        // Our own header helper: its headers come back as secret references.
        if let Some(own) = raw
            .headers_helper
            .as_deref()
            .and_then(|line| helper_headers(launcher, line))
        {
            headers.extend(own);
            extra.remove(&client.remote.headers_helper);
        }
        return Ok(DraftServer {
            server_id: None,
            transport: raw.transport,
            command: None,
            args: Vec::new(),
            url: raw.url,
            headers,
            env: BTreeMap::new(),
            params: BTreeMap::new(),
            secret_delivery: uses_env.then_some(SecretDelivery::Env),
            origin: Origin::Imported,
            extra,
        });
    }
    let command = raw.command.unwrap_or_default();
    let env: BTreeMap<String, EnvValue> = raw
        .env
        .into_iter()
        .map(|(k, v)| (k, EnvValue::Plain(v)))
        .collect();
    let Some(own_args) = self_args(launcher, &command, &raw.args) else {
        return Ok(stdio_server(command, raw.args, env, raw.extra));
    };
    match own_args.split_first() {
        Some((run, rest)) if run == "run" => parse_launcher(rest, env, raw.extra),
        Some((connect, rest)) if connect == "connect" => parse_bridge(rest, raw.extra),
        // `mcp-orch serve` and any other own command: the catalog's `mcp-orch` spelling.
        _ => Ok(stdio_server(
            "mcp-orch".to_owned(),
            own_args,
            env,
            raw.extra,
        )),
    }
}

fn stdio_server(
    command: String,
    args: Vec<String>,
    env: BTreeMap<String, EnvValue>,
    extra: BTreeMap<String, Value>,
) -> DraftServer {
    DraftServer {
        server_id: None,
        transport: Transport::Stdio,
        command: Some(command),
        args,
        url: None,
        headers: BTreeMap::new(),
        env,
        params: BTreeMap::new(),
        secret_delivery: None,
        origin: Origin::Imported,
        extra,
    }
}

/// The arguments after `mcp-orch [--home H]` when the entry runs this binary (by its path, or
/// another path to a binary named `mcp-orch`), else `None`.
fn self_args(launcher: &SelfCommand, command: &str, args: &[String]) -> Option<Vec<String>> {
    let named_like_us = Path::new(command)
        .file_name()
        .is_some_and(|n| n == "mcp-orch");
    if !launcher.is_self(command) && !named_like_us {
        return None;
    }
    let rest = match args {
        [flag, _home, rest @ ..] if flag == "--home" => rest,
        _ => args,
    };
    Some(rest.to_vec())
}

/// The headers of `mcp-orch [--home H] headers --header 'Name: value'...`, placeholders in the
/// draft's `${KEY}` form; `None` when `line` is not that command.
fn helper_headers(launcher: &SelfCommand, line: &str) -> Option<BTreeMap<String, String>> {
    let words = crate::core::render::shell_split(line)?;
    let (command, args) = words.split_first()?;
    let own = self_args(launcher, command, args)?;
    let (first, rest) = own.split_first()?;
    if first != "headers" {
        return None;
    }
    let mut headers = BTreeMap::new();
    for pair in rest.chunks(2) {
        let [flag, header] = pair else { return None };
        let (name, value) = header.split_once(':').filter(|_| flag == "--header")?;
        let value = crate::core::render::fill_secrets(value.trim_start(), |key| {
            Some(format!("${{{key}}}"))
        })
        .ok()?;
        headers.insert(name.trim().to_owned(), value);
    }
    Some(headers)
}

/// A secret key when `value` is exactly one placeholder (`{secret:KEY}`, or `${KEY}` as
/// entries of earlier versions spell it).
fn whole_placeholder(value: &str) -> Option<&str> {
    value
        .strip_prefix("{secret:")
        .or_else(|| value.strip_prefix("${"))
        .and_then(|r| r.strip_suffix('}'))
        .filter(|key| !key.is_empty() && !key.contains(['$', '{', '}']))
}

/// `run NAME --env VAR={secret:KEY}... -- CMD ARGS`: the real command and its secret references.
fn parse_launcher(
    rest: &[String],
    mut env: BTreeMap<String, EnvValue>,
    extra: BTreeMap<String, Value>,
) -> Result<DraftServer, String> {
    let mut rest = rest.iter().skip(1);
    let mut real = Vec::new();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--env" => {
                let pair = rest.next().ok_or("launcher `--env` without a value")?;
                let (key, value) = pair.split_once('=').ok_or("launcher `--env` without `=`")?;
                let value = whole_placeholder(value).map_or_else(
                    || EnvValue::Plain(value.to_owned()),
                    |secret| EnvValue::Secret {
                        secret: secret.to_owned(),
                    },
                );
                env.insert(key.to_owned(), value);
            }
            "--" => real.extend(rest.by_ref().cloned()),
            _ => real.push(arg.clone()),
        }
    }
    if real.is_empty() {
        return Err("launcher entry without a command".into());
    }
    let command = real.remove(0);
    Ok(stdio_server(command, real, env, extra))
}

/// `connect URL [--transport sse] --header 'Name: value'...`: the bridged remote server.
fn parse_bridge(rest: &[String], extra: BTreeMap<String, Value>) -> Result<DraftServer, String> {
    let mut rest = rest.iter();
    let url = rest.next().ok_or("bridge entry without a URL")?.clone();
    let mut transport = Transport::Http;
    let mut headers = BTreeMap::new();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--transport" if rest.next().is_some_and(|t| t == "sse") => {
                transport = Transport::Sse;
            }
            "--header" => {
                let header = rest.next().ok_or("bridge `--header` without a value")?;
                let (name, value) = header
                    .split_once(':')
                    .ok_or("bridge `--header` without `:`")?;
                // Placeholders come back in the draft's `${KEY}` form.
                let value = crate::core::render::fill_secrets(value.trim_start(), |key| {
                    Some(format!("${{{key}}}"))
                })
                .unwrap_or_else(|_| value.trim_start().to_owned());
                headers.insert(name.trim().to_owned(), value);
            }
            _ => {}
        }
    }
    Ok(DraftServer {
        server_id: None,
        transport,
        command: None,
        args: Vec::new(),
        url: Some(url),
        headers,
        env: BTreeMap::new(),
        params: BTreeMap::new(),
        secret_delivery: None,
        origin: Origin::Imported,
        extra,
    })
}

/// `my-server` → `MY_SERVER`, for secret names.
fn upper_snake(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Moves literal secrets found in an imported entry into `to_store` and replaces them with
/// references: env values of secret-looking variables, and credential headers (a `Bearer`,
/// `Basic` or `Token` scheme is kept in front of the reference). Keys start with `scope`
/// (`CLIENT/PROFILE/`); a key already used for a different value gets a server-specific name.
pub fn move_secrets(
    server_name: &str,
    scope: &str,
    server: &mut DraftServer,
    stored: &BTreeMap<String, String>,
    to_store: &mut BTreeMap<String, String>,
) {
    let taken = |name: &str, value: &str, to_store: &BTreeMap<String, String>| {
        stored
            .get(name)
            .or_else(|| to_store.get(name))
            .is_some_and(|v| v != value)
    };
    for (key, value) in &mut server.env {
        let EnvValue::Plain(literal) = value else {
            continue;
        };
        let secret = looks_secret(key) || !crate::core::secret_shape::find(literal).is_empty();
        if !secret || is_reference(literal) || literal.is_empty() {
            continue;
        }
        let name = if taken(&format!("{scope}{key}"), literal, to_store) {
            format!("{scope}{}_{key}", upper_snake(server_name))
        } else {
            format!("{scope}{key}")
        };
        to_store.insert(name.clone(), literal.clone());
        *value = EnvValue::Secret { secret: name };
    }
    for (header, value) in &mut server.headers {
        let lower = header.to_ascii_lowercase();
        let credential = lower == "authorization"
            || lower.contains("key")
            || lower.contains("token")
            || looks_secret(header);
        if !credential || value.contains("${") || value.trim().is_empty() {
            continue;
        }
        let (scheme, literal) = match value.split_once(' ') {
            Some((scheme, rest))
                if matches!(
                    scheme.to_ascii_lowercase().as_str(),
                    "bearer" | "basic" | "token"
                ) =>
            {
                (format!("{scheme} "), rest.trim().to_owned())
            }
            _ => (String::new(), value.clone()),
        };
        let mut name = format!(
            "{scope}{}_{}",
            upper_snake(server_name),
            upper_snake(header)
        );
        if taken(&name, &literal, to_store) {
            name.push_str("_2");
        }
        to_store.insert(name.clone(), literal);
        *value = format!("{scheme}${{{name}}}");
    }
}
