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
        // A `type` that names Streamable HTTP wins over the field it came in (Gemini CLI reads
        // `url` with `type: "http"` as Streamable HTTP, a bare `url` as SSE).
        let typed_http = matches!(
            type_value,
            "http" | "streamable-http" | "streamableHttp" | "streamable_http"
        );
        let transport = if !typed_http
            && ((!remote.sse_type.is_empty()
                && type_value == remote.sse_type
                && remote.sse_type != remote.http_type)
                || (field == remote.sse_url && field != remote.url))
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
        CommandStyle::Shell => {
            // The client runs `command` and `args` joined as one `sh -c` line: read them back
            // as the words that line holds (a line with shell syntax stays one command).
            let line = obj
                .get(&shape.command)
                .and_then(Value::as_str)
                .ok_or("no command (MISSING_COMMAND)")?;
            let mut words = crate::core::render::shell_split(line)
                .filter(|w| !w.is_empty())
                .unwrap_or_else(|| vec![line.to_owned()]);
            if !shape.args.is_empty() {
                words.extend(strings(obj.get(&shape.args))?);
            }
            let command = words.remove(0);
            (command, words)
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

/// Where [`move_secrets`] puts the values it takes out of entries: the secret store's current
/// keys (`stored`) and the new ones it adds (`to_store`).
pub struct SecretSink<'a> {
    /// The store's keys and values now.
    pub stored: &'a BTreeMap<String, String>,
    /// New keys and values to store.
    pub to_store: &'a mut BTreeMap<String, String>,
}

impl SecretSink<'_> {
    /// Parks `literal` under `name` (or `name_2`, ... when `name` holds another value) and
    /// returns the key.
    fn park(&mut self, name: &str, literal: &str) -> String {
        let mut key = name.to_owned();
        let mut n = 2;
        while self.holds_other(&key, literal) {
            key = format!("{name}_{n}");
            n += 1;
        }
        self.to_store.insert(key.clone(), literal.to_owned());
        key
    }

    /// Whether `key` already holds a value other than `literal`.
    fn holds_other(&self, key: &str, literal: &str) -> bool {
        (self.stored.get(key))
            .or_else(|| self.to_store.get(key))
            .is_some_and(|v| v != literal)
    }
}

/// Moves literal secrets found in an imported entry into the secret store and replaces them
/// with references: env values of secret-looking variables or of a credential's shape, and
/// credential headers (a `Bearer`, `Basic` or `Token` scheme is kept in front of the
/// reference), both as secret references the client's delivery renders; credentials in
/// arguments and in the URL become `{secret:KEY}` placeholders, which the launcher and the
/// bridge fill. Keys start with `scope` (`CLIENT/PROFILE/`); a key already used for a
/// different value gets a numbered name.
pub fn move_secrets(
    server_name: &str,
    scope: &str,
    server: &mut DraftServer,
    sink: &mut SecretSink<'_>,
) {
    use crate::core::render::secret_placeholder;
    use crate::core::secret_shape;
    let prefix = format!("{scope}{}_", upper_snake(server_name));
    for (key, value) in &mut server.env {
        let EnvValue::Plain(literal) = value else {
            continue;
        };
        let secret = looks_secret(key) || !secret_shape::find(literal).is_empty();
        if !secret || is_reference(literal) || literal.is_empty() {
            continue;
        }
        // The variable's own name, unless another server's value already has it.
        let plain = format!("{scope}{key}");
        let name = if sink.holds_other(&plain, literal) {
            format!("{prefix}{key}")
        } else {
            plain
        };
        let name = sink.park(&name, literal);
        *value = EnvValue::Secret { secret: name };
    }
    for (header, value) in &mut server.headers {
        let lower = header.to_ascii_lowercase();
        let credential = lower == "authorization"
            || lower.contains("key")
            || lower.contains("token")
            || looks_secret(header)
            || !secret_shape::find(value).is_empty();
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
        let name = sink.park(&format!("{prefix}{}", upper_snake(header)), &literal);
        *value = format!("{scheme}${{{name}}}");
    }
    let found: Vec<String> = secret_shape::in_args(&server.args)
        .iter()
        .map(|f| f.secret.to_owned())
        .collect();
    for secret in found {
        let Some(i) = server.args.iter().position(|a| a.contains(&secret)) else {
            continue;
        };
        let name = arg_name(&server.args, i).unwrap_or_else(|| format!("ARG{i}"));
        let key = sink.park(&format!("{prefix}{name}"), &secret);
        server.args[i] = server.args[i].replace(&secret, &secret_placeholder(&key));
    }
    if let Some(url) = &mut server.url {
        let found: Vec<(String, String)> = secret_shape::find(url)
            .iter()
            .map(|f| (f.secret.to_owned(), url_secret_name(url, f.secret)))
            .collect();
        for (secret, name) in found {
            let key = sink.park(&format!("{prefix}URL_{name}"), &secret);
            *url = url.replace(&secret, &secret_placeholder(&key));
        }
    }
}

/// The name of the credential flag argument `i` belongs to: `--api-key=V` or `--api-key V` →
/// `API_KEY`.
fn arg_name(args: &[String], i: usize) -> Option<String> {
    let flag = |a: &str| {
        let bare = a.trim_start_matches('-');
        (a.starts_with('-') && !bare.is_empty()).then(|| upper_snake(bare))
    };
    match args[i].split_once('=') {
        Some((name, _)) if name.starts_with('-') => flag(name),
        _ => (i.checked_sub(1))
            .map(|p| &args[p])
            .filter(|prev| !prev.contains('='))
            .and_then(|prev| flag(prev)),
    }
}

/// What a secret in a URL is: its query parameter's name, `PASSWORD` in the authority, else
/// `SECRET`.
fn url_secret_name(url: &str, secret: &str) -> String {
    let before = url.find(secret).map_or("", |at| &url[..at]);
    if let Some(param) = before.strip_suffix('=') {
        let name = param.rsplit(['?', '&', ';']).next().unwrap_or_default();
        if !name.is_empty() {
            return upper_snake(name);
        }
    }
    if before.ends_with(':') && url[before.len()..].contains('@') {
        return "PASSWORD".to_owned();
    }
    "SECRET".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_arguments_and_urls_become_placeholders_named_after_their_flag_or_parameter() {
        let mut server = DraftServer {
            server_id: None,
            transport: Transport::Stdio,
            command: Some("srv".into()),
            args: [
                "--api-key",
                "k3y-v4lue-1",
                "--token=abcd1234",
                "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            ]
            .map(str::to_owned)
            .to_vec(),
            url: Some("postgres://orch:hunter2@db/x?api_key=abc123def456".into()),
            headers: BTreeMap::new(),
            env: BTreeMap::new(),
            params: BTreeMap::new(),
            secret_delivery: None,
            origin: Origin::Imported,
            extra: BTreeMap::new(),
        };
        let stored = BTreeMap::from([("c/p/MY_SRV_API_KEY".to_owned(), "other".to_owned())]);
        let mut to_store = BTreeMap::new();
        move_secrets(
            "my-srv",
            "c/p/",
            &mut server,
            &mut SecretSink {
                stored: &stored,
                to_store: &mut to_store,
            },
        );
        assert_eq!(
            server.args,
            [
                "--api-key",
                "{secret:c/p/MY_SRV_API_KEY_2}",
                "--token={secret:c/p/MY_SRV_TOKEN}",
                "{secret:c/p/MY_SRV_ARG3}",
            ]
        );
        assert_eq!(
            server.url.as_deref(),
            Some(
                "postgres://orch:{secret:c/p/MY_SRV_URL_PASSWORD}@db/x?api_key={secret:c/p/MY_SRV_URL_API_KEY}"
            )
        );
        assert_eq!(to_store["c/p/MY_SRV_API_KEY_2"], "k3y-v4lue-1");
        assert_eq!(to_store["c/p/MY_SRV_URL_PASSWORD"], "hunter2");
        assert_eq!(to_store.len(), 5);
    }
}
