//! Turning a registry `server.json` into a catalog entry. There is no official mapping
//! (modelcontextprotocol/registry#749), so mcp-orch defines one:
//!
//! - npm → `npx -y [runtime args] <identifier>@<version> [package args]`
//! - `PyPI` → `uvx [runtime args] <identifier>==<version> [package args]`
//! - OCI → `docker run -i --rm [runtime args] [-e VAR]... <image> [package args]`
//! - remotes → `http` / `sse` entries; headers and URL variables become params, secret
//!   header values become secret env vars referenced as `${VAR}` (kept in the secret store).
//!
//! Arguments keep their shape: positional values, `--flag value` pairs, and `{placeholder}`s
//! (from `valueHint` or `variables`) that become typed params. Both the current camelCase and
//! the older `snake_case` field names are accepted. Anything that cannot be converted is
//! reported with a reason; nothing is dropped silently.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::core::catalog::{
    EnvSpec, HeaderSpec, PackageRef, ParamSpec, ParamType, ServerEntry, Source, Transport,
};
use crate::core::validate;

/// Longest id we produce (server names in drafts are limited to 64 characters).
const MAX_ID_LEN: usize = 64;

/// A string field that some publishers write as a number or a boolean.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

fn lenient_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    })
}

/// The parts of `server.json` the conversion reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServerJson {
    pub name: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub version: Option<String>,
    /// Pre-2025-09 files: `version_detail: {version}`.
    #[serde(default, alias = "version_detail")]
    pub version_detail: Option<VersionDetail>,
    #[serde(default, alias = "website_url", deserialize_with = "lenient_string")]
    pub website_url: Option<String>,
    #[serde(default)]
    pub repository: Option<Repository>,
    #[serde(default)]
    pub packages: Vec<Package>,
    #[serde(default)]
    pub remotes: Vec<Remote>,
}

impl ServerJson {
    pub(crate) fn version(&self) -> Option<&str> {
        self.version
            .as_deref()
            .or_else(|| {
                self.version_detail
                    .as_ref()
                    .and_then(|v| v.version.as_deref())
            })
            .filter(|v| !v.trim().is_empty())
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct VersionDetail {
    #[serde(default, deserialize_with = "lenient_string")]
    version: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Repository {
    #[serde(default, deserialize_with = "lenient_string")]
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_field_names)]
pub(crate) struct Package {
    #[serde(
        default,
        alias = "registry_type",
        alias = "registry_name",
        deserialize_with = "lenient_string"
    )]
    registry_type: Option<String>,
    #[serde(default, alias = "name", deserialize_with = "lenient_string")]
    identifier: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    version: Option<String>,
    #[serde(default, alias = "runtime_hint", deserialize_with = "lenient_string")]
    runtime_hint: Option<String>,
    #[serde(default)]
    transport: Option<PackageTransport>,
    #[serde(default, alias = "runtime_arguments")]
    runtime_arguments: Vec<Argument>,
    #[serde(default, alias = "package_arguments")]
    package_arguments: Vec<Argument>,
    #[serde(default, alias = "environment_variables")]
    environment_variables: Vec<KeyValueInput>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PackageTransport {
    #[serde(rename = "type", default, deserialize_with = "lenient_string")]
    kind: Option<String>,
}

/// An input: the fields shared by arguments, env vars, headers and variables.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Input {
    #[serde(default, deserialize_with = "lenient_string")]
    description: Option<String>,
    #[serde(default, alias = "is_required", deserialize_with = "lenient_bool")]
    is_required: bool,
    #[serde(default, alias = "is_secret", deserialize_with = "lenient_bool")]
    is_secret: bool,
    #[serde(default, deserialize_with = "lenient_string")]
    format: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    default: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    value: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    placeholder: Option<String>,
    #[serde(default, deserialize_with = "lenient_strings")]
    choices: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Argument {
    #[serde(rename = "type", default, deserialize_with = "lenient_string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    name: Option<String>,
    #[serde(default, alias = "value_hint", deserialize_with = "lenient_string")]
    value_hint: Option<String>,
    #[serde(default, alias = "is_repeated", deserialize_with = "lenient_bool")]
    is_repeated: bool,
    #[serde(flatten)]
    input: Input,
    #[serde(default)]
    variables: BTreeMap<String, Input>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct KeyValueInput {
    #[serde(default, deserialize_with = "lenient_string")]
    name: Option<String>,
    #[serde(flatten)]
    input: Input,
    #[serde(default)]
    variables: BTreeMap<String, Input>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Remote {
    #[serde(
        rename = "type",
        alias = "transport_type",
        default,
        deserialize_with = "lenient_string"
    )]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    url: Option<String>,
    #[serde(default)]
    headers: Vec<KeyValueInput>,
    #[serde(default)]
    variables: BTreeMap<String, Input>,
}

/// Whether `name` follows the registry's `namespace/name` pattern.
pub fn is_valid_registry_name(name: &str) -> bool {
    let Some((ns, rest)) = name.split_once('/') else {
        return false;
    };
    !ns.is_empty()
        && !rest.is_empty()
        && ns
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The catalog id of a registry name: lower-case kebab (`io.github.foo/bar` →
/// `io-github-foo-bar`). Names longer than 64 characters are cut and given a hash suffix,
/// so the id stays stable and unique.
pub fn registry_id(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() || out.len() > MAX_ID_LEN {
        return hashed_id(&out, name);
    }
    out
}

/// `<base cut to 55>-<8 hex of sha256(name)>`: used for long names and for names whose kebab
/// forms clash.
pub fn hashed_id(base: &str, name: &str) -> String {
    let hash = &crate::core::fsutil::sha256_hex(name.as_bytes())[..8];
    let mut base: String = base.chars().take(MAX_ID_LEN - 9).collect();
    while base.ends_with('-') {
        base.pop();
    }
    if base.is_empty() {
        format!("registry-{hash}")
    } else {
        format!("{base}-{hash}")
    }
}

/// Params collected while converting, deduplicated by name.
#[derive(Default)]
struct Params(Vec<ParamSpec>);

impl Params {
    fn add(&mut self, name: &str, input: &Input, fallback_description: &str) {
        if self.0.iter().any(|p| p.name == name) {
            return;
        }
        let kind = match input.format.as_deref() {
            Some("number" | "integer") => ParamType::Int,
            Some("boolean") => ParamType::Bool,
            Some("filepath") => ParamType::Path,
            _ => ParamType::String,
        };
        let mut description = input
            .description
            .clone()
            .unwrap_or_else(|| fallback_description.to_owned());
        if input.is_secret {
            description.push_str(" (secret)");
        }
        self.0.push(ParamSpec {
            name: name.to_owned(),
            kind,
            description: description.trim().to_owned(),
            required: input.is_required && input.default.is_none(),
            default: input.default.clone(),
            example: input.placeholder.clone(),
            choices: input.choices.clone(),
        });
    }
}

/// Makes a placeholder name out of a hint (`file path` → `file_path`).
fn placeholder_name(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.trim().trim_start_matches('-').chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_owned();
    if out.is_empty() { "value".into() } else { out }
}

/// An env var name out of a header or variable name (`X-API-Key` → `X_API_KEY`).
fn env_name(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_owned();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("VAR_{out}")
    } else {
        out
    }
}

/// Registers every `{var}` of `text` as a param, using `variables` for its spec.
fn add_template_params(
    params: &mut Params,
    text: &str,
    variables: &BTreeMap<String, Input>,
    fallback: &Input,
) {
    for var in validate::placeholders(text) {
        let input = variables.get(var).unwrap_or(fallback);
        params.add(var, input, var);
    }
}

/// Appends one argument's words to `out`.
fn push_argument(out: &mut Vec<String>, params: &mut Params, arg: &Argument) -> Result<(), String> {
    let named = arg.kind.as_deref() == Some("named");
    let value = match (&arg.input.value, &arg.value_hint) {
        (Some(v), _) => {
            add_template_params(params, v, &arg.variables, &arg.input);
            Some(v.clone())
        }
        (None, Some(hint)) => {
            let name = placeholder_name(hint);
            params.add(&name, &arg.input, hint);
            Some(format!("{{{name}}}"))
        }
        (None, None) if named => {
            // A flag with a default or that must be given takes a value; a bare optional flag is
            // a switch.
            if arg.input.default.is_some() || arg.input.is_required || arg.input.format.is_some() {
                let name = placeholder_name(arg.name.as_deref().unwrap_or("value"));
                params.add(&name, &arg.input, arg.name.as_deref().unwrap_or_default());
                Some(format!("{{{name}}}"))
            } else {
                None
            }
        }
        (None, None) => {
            let name = placeholder_name(arg.name.as_deref().unwrap_or("value"));
            params.add(&name, &arg.input, arg.name.as_deref().unwrap_or_default());
            Some(format!("{{{name}}}"))
        }
    };
    if arg.is_repeated
        && let Some(v) = &value
    {
        for name in validate::placeholders(v) {
            if let Some(p) = params.0.iter_mut().find(|p| p.name == name)
                && !p.description.ends_with("(can be repeated)")
            {
                p.description.push_str(" (can be repeated)");
            }
        }
    }
    if named {
        let flag = arg
            .name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .ok_or("a named argument has no name")?;
        out.push(flag.to_owned());
    }
    if let Some(v) = value {
        out.push(v);
    }
    Ok(())
}

fn push_arguments(
    out: &mut Vec<String>,
    params: &mut Params,
    args: &[Argument],
) -> Result<(), String> {
    for arg in args {
        push_argument(out, params, arg)?;
    }
    Ok(())
}

fn env_specs(vars: &[KeyValueInput]) -> Result<Vec<EnvSpec>, String> {
    let mut out: Vec<EnvSpec> = Vec::new();
    for var in vars {
        let name = var
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or("an environment variable has no name")?;
        if crate::core::secrets::check_secret_name(name).is_err() {
            return Err(format!("`{name}` is not a valid environment variable name"));
        }
        if out.iter().any(|e| e.name == name) {
            continue;
        }
        let mut description = var.input.description.clone().unwrap_or_default();
        // A fixed value becomes the default; a templated one is shown to the user.
        let default = match &var.input.value {
            Some(v) if validate::placeholders(v).is_empty() => Some(v.clone()),
            Some(v) => {
                let _ = write!(description, " (value: {v})");
                var.input.default.clone()
            }
            None => var.input.default.clone(),
        };
        out.push(EnvSpec {
            name: name.to_owned(),
            description: description.trim().to_owned(),
            required: var.input.is_required,
            secret: var.input.is_secret,
            default,
            choices: var.input.choices.clone(),
        });
    }
    Ok(out)
}

/// The stdio command of a package, or why it cannot be run.
fn package_command(
    pkg: &Package,
    params: &mut Params,
    env: &[EnvSpec],
) -> Result<(String, Vec<String>, PackageRef), String> {
    let kind = pkg
        .registry_type
        .as_deref()
        .map(str::to_ascii_lowercase)
        .ok_or("a package has no registryType")?;
    let identifier = pkg
        .identifier
        .as_deref()
        .filter(|i| !i.trim().is_empty())
        .ok_or_else(|| format!("the {kind} package has no identifier"))?;
    if let Some(t) = pkg.transport.as_ref().and_then(|t| t.kind.as_deref())
        && t != "stdio"
    {
        return Err(format!(
            "the {kind} package `{identifier}` serves {t}, a local HTTP server a client cannot start by itself"
        ));
    }
    let version = pkg
        .version
        .as_deref()
        .filter(|v| !v.is_empty() && *v != "latest");
    let mut args = Vec::new();
    let command = match kind.as_str() {
        "npm" => {
            args.push("-y".to_owned());
            push_arguments(&mut args, params, &pkg.runtime_arguments)?;
            args.push(
                version.map_or_else(|| identifier.to_owned(), |v| format!("{identifier}@{v}")),
            );
            "npx"
        }
        "pypi" => {
            push_arguments(&mut args, params, &pkg.runtime_arguments)?;
            args.push(
                version.map_or_else(|| identifier.to_owned(), |v| format!("{identifier}=={v}")),
            );
            "uvx"
        }
        "oci" | "docker" => {
            args.extend(["run", "-i", "--rm"].map(str::to_owned));
            push_arguments(&mut args, params, &pkg.runtime_arguments)?;
            for var in env {
                let already = args
                    .iter()
                    .any(|a| a == &var.name || a.starts_with(&format!("{}=", var.name)));
                if !already {
                    args.push("-e".into());
                    args.push(var.name.clone());
                }
            }
            args.push(oci_image(identifier, version));
            "docker"
        }
        other => {
            return Err(format!(
                "packages of type `{other}` are not supported (only npm, pypi and oci)"
            ));
        }
    };
    push_arguments(&mut args, params, &pkg.package_arguments)?;
    let _ = &pkg.runtime_hint;
    Ok((
        command.to_owned(),
        args,
        PackageRef {
            registry: kind,
            name: identifier.to_owned(),
            version: version.map(str::to_owned),
        },
    ))
}

/// `image` with the version as its tag, unless it already names a tag or a digest.
fn oci_image(identifier: &str, version: Option<&str>) -> String {
    let last = identifier.rsplit('/').next().unwrap_or(identifier);
    let tagged = last.contains(':') || identifier.contains('@');
    match version {
        Some(v) if !tagged => format!("{identifier}:{v}"),
        _ => identifier.to_owned(),
    }
}

/// A remote's URL, headers and the env vars that hold secret header values.
fn remote_parts(
    remote: &Remote,
    params: &mut Params,
) -> Result<(Transport, String, Vec<HeaderSpec>, Vec<EnvSpec>), String> {
    let kind = remote.kind.as_deref().unwrap_or("streamable-http");
    let transport: Transport = kind
        .parse()
        .map_err(|_| format!("remote type `{kind}` is not streamable-http or sse"))?;
    if transport == Transport::Stdio {
        return Err("a remote cannot be stdio".into());
    }
    let url = remote
        .url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .ok_or("the remote has no url")?;
    let probe = validate::placeholders(url)
        .into_iter()
        .fold(url.to_owned(), |u, p| u.replace(&format!("{{{p}}}"), "x"));
    if !(probe.starts_with("https://") || probe.starts_with("http://")) {
        return Err(format!("the remote url `{url}` is not http(s)"));
    }
    add_template_params(params, url, &remote.variables, &Input::default());
    let mut headers = Vec::new();
    let mut env: Vec<EnvSpec> = Vec::new();
    for header in &remote.headers {
        let name = header
            .name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .ok_or("a header has no name")?;
        let input = &header.input;
        let value = if let Some(template) = &input.value {
            let mut value = template.clone();
            for var in validate::placeholders(template) {
                let spec = header.variables.get(var);
                let secret = spec.map_or(input.is_secret, |s| s.is_secret);
                if secret {
                    let env_var = env_name(var);
                    if !env.iter().any(|e| e.name == env_var) {
                        let spec = spec.unwrap_or(input);
                        env.push(EnvSpec {
                            name: env_var.clone(),
                            description: spec
                                .description
                                .clone()
                                .unwrap_or_else(|| format!("{var} for the {name} header")),
                            required: input.is_required || spec.is_required,
                            secret: true,
                            default: None,
                            choices: Vec::new(),
                        });
                    }
                    value = value.replace(&format!("{{{var}}}"), &format!("${{{env_var}}}"));
                } else {
                    params.add(var, spec.unwrap_or(input), var);
                }
            }
            value
        } else if input.is_secret {
            let env_var = env_name(name);
            if !env.iter().any(|e| e.name == env_var) {
                env.push(EnvSpec {
                    name: env_var.clone(),
                    description: input
                        .description
                        .clone()
                        .unwrap_or_else(|| format!("value of the {name} header")),
                    required: input.is_required,
                    secret: true,
                    default: None,
                    choices: Vec::new(),
                });
            }
            format!("${{{env_var}}}")
        } else {
            let param = placeholder_name(&name.to_ascii_lowercase().replace('-', "_"));
            params.add(&param, input, &format!("value of the {name} header"));
            format!("{{{param}}}")
        };
        headers.push(HeaderSpec {
            name: name.to_owned(),
            value,
            description: input.description.clone().unwrap_or_default(),
            required: input.is_required,
            secret: input.is_secret,
        });
    }
    Ok((transport, url.to_owned(), headers, env))
}

/// Converts one `server.json` into a catalog entry with the given id, or says why it cannot.
pub fn convert(id: &str, value: &Value) -> Result<ServerEntry, String> {
    let server = ServerJson::deserialize(value).map_err(|e| format!("invalid server.json: {e}"))?;
    if !is_valid_registry_name(&server.name) {
        return Err(format!(
            "the name `{}` is not of the form namespace/name",
            server.name
        ));
    }
    let version = server
        .version()
        .ok_or("server.json has no version")?
        .to_owned();
    let docs_url = server
        .website_url
        .clone()
        .or_else(|| server.repository.as_ref().and_then(|r| r.url.clone()));
    let base = |transport: Transport| ServerEntry {
        id: id.to_owned(),
        name: server
            .title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| server.name.clone()),
        description: server.description.clone().unwrap_or_default(),
        tags: vec!["registry".to_owned()],
        transport,
        command: None,
        args: Vec::new(),
        url: None,
        headers: Vec::new(),
        params: Vec::new(),
        env: Vec::new(),
        docs_url: docs_url.clone(),
        package: None,
        source: Source::Registry,
        version: Some(version.clone()),
        server_json: Some(value.clone()),
    };
    let mut reasons = Vec::new();
    for pkg in &server.packages {
        let mut params = Params::default();
        let attempt = env_specs(&pkg.environment_variables)
            .and_then(|env| package_command(pkg, &mut params, &env).map(|c| (c, env)));
        match attempt {
            Ok(((command, args, package), env)) => {
                let mut entry = base(Transport::Stdio);
                entry.tags.push(package.registry.clone());
                entry.command = Some(command);
                entry.args = args;
                entry.env = env;
                entry.params = params.0;
                entry.package = Some(package);
                return Ok(entry);
            }
            Err(reason) => reasons.push(reason),
        }
    }
    for remote in &server.remotes {
        let mut params = Params::default();
        match remote_parts(remote, &mut params) {
            Ok((transport, url, headers, env)) => {
                let mut entry = base(transport);
                entry.tags.push("remote".to_owned());
                entry.url = Some(url);
                entry.headers = headers;
                entry.env = env;
                entry.params = params.0;
                return Ok(entry);
            }
            Err(reason) => reasons.push(reason),
        }
    }
    if reasons.is_empty() {
        Err("it has no packages and no remotes".into())
    } else {
        Err(reasons.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_are_kebab_and_bounded() {
        assert_eq!(registry_id("io.github.foo/bar"), "io-github-foo-bar");
        assert_eq!(
            registry_id("com.Example/My_Server.v2"),
            "com-example-my-server-v2"
        );
        let long = format!("io.github.someone/{}", "x".repeat(80));
        let id = registry_id(&long);
        assert_eq!(id.len(), 64);
        assert_eq!(id, registry_id(&long));
        assert!(validate::is_valid_server_name(&id));
    }

    #[test]
    fn npm_with_arguments_and_env() {
        let v = json!({
            "name": "io.github.acme/files",
            "description": "Files",
            "version": "1.2.3",
            "packages": [{
                "registryType": "npm",
                "identifier": "@acme/files",
                "version": "1.2.3",
                "transport": {"type": "stdio"},
                "runtimeArguments": [{"type": "named", "name": "--node-options", "value": "--max-old-space-size=512"}],
                "packageArguments": [
                    {"type": "positional", "valueHint": "root_dir", "isRequired": true, "format": "filepath"},
                    {"type": "named", "name": "--port", "default": "8080", "format": "number"},
                    {"type": "named", "name": "--verbose"}
                ],
                "environmentVariables": [
                    {"name": "ACME_TOKEN", "isSecret": true, "isRequired": true, "description": "token"},
                    {"name": "LOG", "default": "info"}
                ]
            }]
        });
        let e = convert("io-github-acme-files", &v).unwrap();
        assert_eq!(e.command.as_deref(), Some("npx"));
        assert_eq!(
            e.args,
            [
                "-y",
                "--node-options",
                "--max-old-space-size=512",
                "@acme/files@1.2.3",
                "{root_dir}",
                "--port",
                "{port}",
                "--verbose"
            ]
        );
        assert_eq!(e.params.len(), 2);
        assert_eq!(e.params[0].kind, ParamType::Path);
        assert!(e.params[0].required);
        assert_eq!(e.params[1].kind, ParamType::Int);
        assert_eq!(e.params[1].default.as_deref(), Some("8080"));
        assert!(e.env[0].secret && e.env[0].required);
        assert_eq!(e.env[1].default.as_deref(), Some("info"));
        assert_eq!(e.source, Source::Registry);
        assert_eq!(e.version.as_deref(), Some("1.2.3"));
    }

    #[test]
    fn snake_case_pypi_and_oci() {
        let v = json!({
            "name": "io.github.acme/py",
            "description": "Py",
            "version_detail": {"version": "0.1.0"},
            "packages": [{"registry_name": "pypi", "name": "acme-mcp", "version": "0.1.0",
                          "package_arguments": [{"type": "positional", "value_hint": "repo"}]}]
        });
        let e = convert("x", &v).unwrap();
        assert_eq!(e.command.as_deref(), Some("uvx"));
        assert_eq!(e.args, ["acme-mcp==0.1.0", "{repo}"]);
        assert!(!e.params[0].required);

        let v = json!({
            "name": "io.github.acme/oci", "description": "d", "version": "2.0.0",
            "packages": [{"registryType": "oci", "identifier": "ghcr.io/acme/srv", "version": "2.0.0",
                          "environmentVariables": [{"name": "API_KEY", "isSecret": true}]}]
        });
        let e = convert("x", &v).unwrap();
        assert_eq!(e.command.as_deref(), Some("docker"));
        assert_eq!(
            e.args,
            [
                "run",
                "-i",
                "--rm",
                "-e",
                "API_KEY",
                "ghcr.io/acme/srv:2.0.0"
            ]
        );
    }

    #[test]
    fn remotes_with_headers_and_variables() {
        let v = json!({
            "name": "com.acme/remote", "description": "d", "version": "1.0.0",
            "remotes": [{
                "type": "streamable-http",
                "url": "https://{tenant}.acme.com/mcp",
                "variables": {"tenant": {"description": "Tenant", "isRequired": true}},
                "headers": [
                    {"name": "Authorization", "value": "Bearer {token}", "isRequired": true,
                     "variables": {"token": {"isSecret": true, "description": "API token"}}},
                    {"name": "X-Region", "description": "Region", "default": "eu"},
                    {"name": "X-Api-Key", "isSecret": true}
                ]
            }]
        });
        let e = convert("x", &v).unwrap();
        assert_eq!(e.transport, Transport::Http);
        assert_eq!(e.url.as_deref(), Some("https://{tenant}.acme.com/mcp"));
        let h: Vec<(&str, &str)> = e
            .headers
            .iter()
            .map(|h| (h.name.as_str(), h.value.as_str()))
            .collect();
        assert_eq!(
            h,
            [
                ("Authorization", "Bearer ${TOKEN}"),
                ("X-Region", "{x_region}"),
                ("X-Api-Key", "${X_API_KEY}")
            ]
        );
        let env: Vec<&str> = e.env.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(env, ["TOKEN", "X_API_KEY"]);
        assert!(e.env.iter().all(|e| e.secret));
        let params: Vec<&str> = e.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(params, ["tenant", "x_region"]);
        assert_eq!(e.params[1].default.as_deref(), Some("eu"));
    }

    #[test]
    fn unconvertible_entries_say_why() {
        let v = json!({"name": "io.github.a/b", "description": "d", "version": "1",
                       "packages": [{"registryType": "mcpb", "identifier": "https://x/y.mcpb"}]});
        assert_eq!(
            convert("x", &v).unwrap_err(),
            "packages of type `mcpb` are not supported (only npm, pypi and oci)"
        );
        let v = json!({"name": "io.github.a/b", "description": "d", "version": "1"});
        assert_eq!(
            convert("x", &v).unwrap_err(),
            "it has no packages and no remotes"
        );
        let v = json!({"name": "no-slash", "version": "1"});
        assert!(convert("x", &v).unwrap_err().contains("namespace/name"));
        let v = json!({"name": 5});
        assert!(
            convert("x", &v)
                .unwrap_err()
                .starts_with("invalid server.json")
        );
    }
}
