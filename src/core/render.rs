//! Rendering a draft server into one client's own entry spelling (field names, `type`
//! values, argv style), with secret values kept out of the file.
//!
//! By default a server that needs secrets is started through mcp-orch's own binary: stdio
//! servers as `mcp-orch run NAME --env VAR={secret:KEY} -- CMD ARGS` and remote servers with
//! credentials as the stdio bridge `mcp-orch connect URL --header 'Name: {secret:KEY}'`, both
//! reading the values from the secret store when the client starts them, so nothing has to be
//! exported into the client's environment. The entry is self-contained: the binary's absolute
//! path and `--home` whenever the state directory is not the default one. A server or client
//! can choose the client's own env reference syntax instead (`${VAR}`), and a deploy can write
//! values inline when asked. Remote servers without credentials become native entries where
//! the client speaks their transport, else the same bridge.
//!
//! `{secret:KEY}` is the launcher's placeholder because no client expands it: `${...}` is
//! interpolated by Claude Code and Gemini CLI in args too, so a client would otherwise replace
//! it (with an empty string) or warn about a missing variable.

use crate::core::code::Code;
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use crate::core::catalog::Transport;
use crate::core::clients::{ClientDef, CommandStyle, RemoteSupport};
use crate::core::draft::{DraftServer, EnvValue};
use crate::core::error::{Error, Result};

pub use crate::core::draft::SecretDelivery;

/// Whether secret values are written into the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretStyle {
    /// As each server (or its client) chooses: [`SecretDelivery`].
    AsConfigured,
    /// Values written into the file (only when the user asks).
    Inline,
}

/// How a client's file starts mcp-orch itself: the binary's absolute path, and `--home` when
/// the state directory is not the default, so the entry works whatever environment the
/// client gives its servers (Codex passes only an allow-list of variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfCommand {
    /// Absolute path of the `mcp-orch` binary.
    pub program: PathBuf,
    /// The state directory, when it is not the default one.
    pub home: Option<PathBuf>,
}

impl SelfCommand {
    /// The command and arguments that run `mcp-orch [--home H] ARGS...`.
    pub fn argv(&self, args: impl IntoIterator<Item = String>) -> (String, Vec<String>) {
        let mut full = Vec::new();
        if let Some(home) = &self.home {
            full.push("--home".to_owned());
            full.push(home.display().to_string());
        }
        full.extend(args);
        (self.program.display().to_string(), full)
    }

    /// Whether `command` names this binary (the launcher or a catalog entry that runs
    /// `mcp-orch` itself).
    pub fn is_self(&self, command: &str) -> bool {
        command == "mcp-orch" || std::path::Path::new(command) == self.program
    }
}

/// Rendering options.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions<'a> {
    /// How entries start mcp-orch itself.
    pub launcher: &'a SelfCommand,
    /// How secrets are written.
    pub secret_style: SecretStyle,
    /// Secret values, needed only for [`SecretStyle::Inline`].
    pub secret_values: Option<&'a BTreeMap<String, String>>,
}

/// `{secret:KEY}`: the launcher's placeholder for the value of secret `KEY`.
pub fn secret_placeholder(key: &str) -> String {
    format!("{{secret:{key}}}")
}

/// The env var a secret key stands for: its last `/` segment (`cursor/work/GITHUB_TOKEN` →
/// `GITHUB_TOKEN`).
pub fn secret_var(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// Replaces every `{secret:KEY}` (and, for entries written by earlier versions, `${KEY}`) in
/// `template` with `f(KEY)`; `Err(KEY)` names the first key `f` has no value for.
pub fn fill_secrets(
    template: &str,
    f: impl FnMut(&str) -> Option<String>,
) -> std::result::Result<String, String> {
    fill(template, true, f)
}

/// Replaces only `{secret:KEY}` in `template`: for arguments and URLs, where `${...}` is the
/// server's or the shell's own text and must pass through untouched.
pub fn fill_placeholders(
    template: &str,
    f: impl FnMut(&str) -> Option<String>,
) -> std::result::Result<String, String> {
    fill(template, false, f)
}

fn fill(
    template: &str,
    legacy_dollar: bool,
    mut f: impl FnMut(&str) -> Option<String>,
) -> std::result::Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    loop {
        let dollar = legacy_dollar.then(|| rest.find("${")).flatten();
        let next = [rest.find("{secret:"), dollar].into_iter().flatten().min();
        let Some(start) = next else { break };
        let open = if rest[start..].starts_with('$') { 2 } else { 8 };
        let Some(len) = rest[start + open..].find('}') else {
            break;
        };
        let key = &rest[start + open..start + open + len];
        out.push_str(&rest[..start]);
        out.push_str(&f(key).ok_or_else(|| key.to_owned())?);
        rest = &rest[start + open + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether `text` holds a `{secret:KEY}` placeholder.
pub fn has_placeholder(text: &str) -> bool {
    text.contains("{secret:")
}

/// Whether `value` holds text the launcher would read as a secret reference (`{secret:` or
/// `${`) when it reaches a header, which `connect` and `headers` fill from the store.
pub fn reads_as_secret_reference(value: &str) -> bool {
    value.contains("{secret:") || value.contains("${")
}

/// Every secret key a template names.
pub fn secret_keys(template: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let _ = fill_secrets(template, |k| {
        keys.push(k.to_owned());
        Some(String::new())
    });
    keys
}

pub use crate::core::env::replace_refs;

/// A string that may contain `{secret:KEY}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Text {
    Literal(String),
    /// A template whose `{secret:KEY}` parts name secrets.
    Secret(String),
}

/// Resolves a header value template against the server's env: `${X}` becomes the literal value
/// of a plain env X, or the placeholder of secret S when env X is a secret reference.
fn header_text(template: &str, env: &BTreeMap<String, EnvValue>) -> Text {
    let mut secret = false;
    let resolved = replace_refs(template, |name| match env.get(name) {
        Some(EnvValue::Plain(v)) => Some(v.clone()),
        Some(EnvValue::Secret { secret: key }) => {
            secret = true;
            Some(secret_placeholder(key))
        }
        None => {
            // Not one of the server's env entries: treat it as a secret of that name.
            secret = true;
            Some(secret_placeholder(name))
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
        EnvValue::Secret { secret } => Text::Secret(secret_placeholder(secret)),
    }
}

/// A process to run: what stdio entries and bridges are made of.
struct Process {
    command: String,
    args: Vec<String>,
    env: Vec<(String, Text)>,
    /// Whether its arguments hold `{secret:KEY}` placeholders only the launcher fills.
    launch: bool,
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

/// The delivery a server's secrets get in `client`'s file: its own choice, else the client's.
pub fn delivery(client: &ClientDef, server: &DraftServer) -> SecretDelivery {
    server.secret_delivery.unwrap_or(client.secret_delivery)
}

/// The variables `client` must find in its own environment for `server`: those of its secrets
/// written as the client's env references (none under the launcher, or when the client has no
/// reference syntax and gets the launcher anyway).
pub fn client_env_vars(client: &ClientDef, server: &DraftServer) -> Vec<String> {
    if delivery(client, server) != SecretDelivery::Env || client.env_reference.is_empty() {
        return Vec::new();
    }
    let header_keys =
        server
            .headers
            .values()
            .flat_map(|template| match header_text(template, &server.env) {
                Text::Secret(t) => secret_keys(&t),
                Text::Literal(_) => Vec::new(),
            });
    let mut vars: Vec<String> = server
        .env
        .values()
        .filter_map(EnvValue::secret_name)
        .map(str::to_owned)
        .chain(header_keys)
        .map(|key| secret_var(&key).to_owned())
        .collect();
    vars.sort_unstable();
    vars.dedup();
    vars
}

/// One note per variable a deploy of `servers` leaves to the client's own environment.
pub fn client_env_notes(
    client: &ClientDef,
    servers: &BTreeMap<String, DraftServer>,
) -> Vec<String> {
    servers
        .iter()
        .flat_map(|(name, server)| {
            client_env_vars(client, server).into_iter().map(move |var| {
                format!(
                    "`{name}` reads {} from {}'s own environment: export {var} wherever {} is started, or redeploy it with --secret-delivery launcher",
                    client.env_ref(&var).unwrap_or_default(),
                    client.name,
                    client.name
                )
            })
        })
        .collect()
}

/// How one rendering writes secrets.
#[derive(Clone, Copy)]
struct Secrets<'a> {
    client: &'a ClientDef,
    opts: &'a RenderOptions<'a>,
    delivery: SecretDelivery,
}

impl Secrets<'_> {
    /// The value to write into the file for a secret template, or `None` when only mcp-orch's
    /// binary can supply it.
    fn in_file(&self, template: &str) -> Option<String> {
        match (self.opts.secret_style, self.delivery) {
            (SecretStyle::Inline, _) => fill_secrets(template, |key| {
                self.opts.secret_values.and_then(|v| v.get(key).cloned())
            })
            .ok(),
            (SecretStyle::AsConfigured, SecretDelivery::Env) => {
                fill_secrets(template, |key| self.client.env_ref(secret_var(key))).ok()
            }
            (SecretStyle::AsConfigured, SecretDelivery::Launcher) => None,
        }
    }

    /// `text` with its `{secret:KEY}` placeholders filled when values are written inline;
    /// as it is otherwise.
    fn inline(&self, text: &str) -> String {
        if self.opts.secret_style != SecretStyle::Inline || !has_placeholder(text) {
            return text.to_owned();
        }
        fill_placeholders(text, |key| {
            self.opts.secret_values.and_then(|v| v.get(key).cloned())
        })
        .unwrap_or_else(|_| text.to_owned())
    }

    fn env_delivery(&self) -> bool {
        self.opts.secret_style == SecretStyle::AsConfigured && self.delivery == SecretDelivery::Env
    }

    fn launcher_delivery(&self) -> bool {
        self.opts.secret_style == SecretStyle::AsConfigured
            && self.delivery == SecretDelivery::Launcher
    }
}

fn render_modelled(
    client: &ClientDef,
    name: &str,
    server: &DraftServer,
    opts: &RenderOptions<'_>,
) -> Result<Value> {
    let secrets = Secrets {
        client,
        opts,
        delivery: delivery(client, server),
    };
    match server.transport {
        Transport::Stdio => {
            let command = server.command.clone().ok_or_else(|| {
                Error::invalid(
                    Code::MissingCommand,
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
            // A secret in an argument: written inline when asked, else filled by the launcher.
            let args: Vec<String> = server.args.iter().map(|a| secrets.inline(a)).collect();
            let launch = args.iter().any(|a| has_placeholder(a));
            let (command, args) = if opts.launcher.is_self(&command) {
                opts.launcher.argv(args)
            } else {
                (command, args)
            };
            Ok(stdio_entry(
                client,
                name,
                Process {
                    command,
                    args,
                    env,
                    launch,
                },
                secrets,
            ))
        }
        Transport::Http | Transport::Sse => {
            let url = server.url.clone().ok_or_else(|| {
                Error::invalid(
                    Code::MissingUrl,
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
            // A secret in the URL: written inline when asked, else filled by the bridge.
            let url = secrets.inline(&url);
            if client.remote.support == RemoteSupport::Native
                && !has_placeholder(&url)
                && let Some(entry) =
                    native_remote(client, name, server.transport, &url, &headers, secrets)
            {
                return Ok(entry);
            }
            let bridge = bridge(opts.launcher, server.transport, &url, &headers, secrets);
            Ok(stdio_entry(client, name, bridge, secrets))
        }
    }
}

/// `mcp-orch connect URL [--transport sse] --header 'Name: value'`: the stdio bridge built into
/// the binary. Secret header values stay placeholders that the bridge fills from the secret
/// store when it starts, unless the deploy writes values inline.
fn bridge(
    launcher: &SelfCommand,
    transport: Transport,
    url: &str,
    headers: &[(String, Text)],
    secrets: Secrets<'_>,
) -> Process {
    let mut args = vec!["connect".to_owned(), url.to_owned()];
    if transport == Transport::Sse {
        args.push("--transport".into());
        args.push("sse".into());
    }
    for (header, value) in headers {
        let value = match value {
            Text::Literal(v) => v.clone(),
            Text::Secret(template) if secrets.opts.secret_style == SecretStyle::Inline => secrets
                .in_file(template)
                .unwrap_or_else(|| template.clone()),
            Text::Secret(template) => template.clone(),
        };
        args.push("--header".into());
        args.push(format!("{header}: {value}"));
    }
    let (command, args) = launcher.argv(args);
    Process {
        command,
        args,
        env: Vec::new(),
        launch: false,
    }
}

fn stdio_entry(client: &ClientDef, name: &str, process: Process, secrets: Secrets<'_>) -> Value {
    let shape = &client.stdio;
    let mut env = Map::new();
    let mut launcher_env = Vec::new();
    for (key, text) in process.env {
        match text {
            Text::Literal(v) => {
                env.insert(key, Value::String(v));
            }
            Text::Secret(template) => match secrets.in_file(&template) {
                Some(v) => {
                    env.insert(key, Value::String(v));
                }
                None => launcher_env.push(format!("{key}={template}")),
            },
        }
    }
    let (command, args) = if launcher_env.is_empty() && !process.launch {
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
        secrets.opts.launcher.argv(args)
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
        CommandStyle::Shell => {
            let line: Vec<String> = std::iter::once(command)
                .chain(args)
                .map(|word| shell_quote(&word))
                .collect();
            entry.insert(shape.command.clone(), json!(line.join(" ")));
        }
    }
    if !env.is_empty() {
        entry.insert(shape.env.clone(), Value::Object(env));
    }
    add_extra(&mut entry, &shape.extra);
    Value::Object(entry)
}

/// The client's own entry for a remote server, or `None` when it cannot hold it: the client
/// does not speak the transport, or a credential would need the launcher.
fn native_remote(
    client: &ClientDef,
    name: &str,
    transport: Transport,
    url: &str,
    headers: &[(String, Text)],
    secrets: Secrets<'_>,
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
    let mut by_helper = Vec::new();
    for (header, text) in headers {
        match text {
            Text::Literal(v) => {
                plain.insert(header.clone(), json!(v));
            }
            // The client runs mcp-orch to read the credential from the store when it connects.
            Text::Secret(template)
                if secrets.launcher_delivery() && !shape.headers_helper.is_empty() =>
            {
                by_helper.push(format!("{header}: {template}"));
            }
            Text::Secret(template) => {
                // Clients that name env vars instead of interpolating (Codex).
                let single = single_placeholder(template);
                let bearer = template
                    .strip_prefix("Bearer ")
                    .and_then(single_placeholder);
                if secrets.env_delivery()
                    && !shape.bearer_env.is_empty()
                    && header.eq_ignore_ascii_case("authorization")
                    && bearer.is_some()
                {
                    entry.insert(shape.bearer_env.clone(), json!(bearer.map(secret_var)));
                } else if secrets.env_delivery()
                    && !shape.env_headers.is_empty()
                    && single.is_some()
                {
                    by_env.insert(header.clone(), json!(single.map(secret_var)));
                } else {
                    plain.insert(header.clone(), json!(secrets.in_file(template)?));
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
    if !by_helper.is_empty() {
        let args = by_helper
            .into_iter()
            .flat_map(|h| ["--header".to_owned(), h]);
        let (program, args) = secrets
            .opts
            .launcher
            .argv(std::iter::once("headers".to_owned()).chain(args));
        let command: Vec<String> = std::iter::once(program).chain(args).collect();
        entry.insert(
            shape.headers_helper.clone(),
            json!(
                command
                    .iter()
                    .map(|a| shell_quote(a))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        );
    }
    add_extra(&mut entry, &shape.extra);
    Some(Value::Object(entry))
}

/// `text` as one POSIX shell word: as is when it holds only safe characters, else in single
/// quotes (a `'` inside becomes `'\''`).
pub fn shell_quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c));
    if safe {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Splits a command line written by [`shell_quote`] (words, single-quoted strings) back into
/// words; `None` for anything else (double quotes, escapes, expansions).
pub fn shell_split(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '\\' if in_word || chars.as_str().starts_with('\'') => {
                word.push(chars.next()?);
                in_word = true;
            }
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '"' | '$' | '`' | '\\' => return None,
            other => {
                word.push(other);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// `{secret:KEY}` alone → `KEY`.
fn single_placeholder(template: &str) -> Option<&str> {
    let inner = template.strip_prefix("{secret:")?.strip_suffix('}')?;
    (!inner.contains(['{', '}'])).then_some(inner)
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
