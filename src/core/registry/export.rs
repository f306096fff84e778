//! A catalog entry as a registry `server.json`: the inverse of [`super::convert()`], so the
//! private registry a team server serves (`/v0.1/servers`) reads back, on a developer's
//! machine, as the entry that was approved: the same command and arguments, parameters,
//! environment variables (secret ones marked, never with values) and headers.
//!
//! - `npx -y [runtime args] <package>[@version] [package args]` → an npm package
//! - `uvx [runtime args] <package>[==version] [package args]` → a `PyPI` package
//! - `docker run -i --rm [runtime args] <image> [package args]` → an OCI package (the `-e VAR`
//!   of each env var is implied by the format, so it is left out)
//! - `http` / `sse` → a remote; `${VAR}` in a header becomes a secret variable, `{param}` a
//!   plain one
//!
//! Each word of the arguments is one positional argument: a lone `{param}` with its
//! `valueHint`, anything else as its `value` (with `variables` for the `{param}`s inside).
//! An entry started any other way has no package the registry can name, and is refused.

use serde_json::{Map, Value, json};

use crate::core::catalog::{EnvSpec, ParamSpec, ParamType, ServerEntry, Transport};
use crate::core::validate;

/// The schema the served `server.json` documents follow.
pub const SERVER_SCHEMA: &str =
    "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";

/// The registry's limit on `description`.
const MAX_DESCRIPTION: usize = 100;

/// `entry` as a `server.json` named `name` at `version`, or why it cannot be one.
///
/// # Errors
/// A sentence saying what the registry format cannot express.
pub fn server_json(entry: &ServerEntry, name: &str, version: &str) -> Result<Value, String> {
    let mut doc = Map::new();
    doc.insert("$schema".into(), json!(SERVER_SCHEMA));
    doc.insert("name".into(), json!(name));
    doc.insert("title".into(), json!(entry.name));
    doc.insert("description".into(), json!(short(&entry.description)));
    doc.insert("version".into(), json!(version));
    if let Some(url) = &entry.docs_url {
        doc.insert("websiteUrl".into(), json!(url));
    }
    match entry.transport {
        Transport::Stdio => {
            doc.insert("packages".into(), json!([package(entry)?]));
        }
        Transport::Http | Transport::Sse => {
            doc.insert("remotes".into(), json!([remote(entry)?]));
        }
    }
    Ok(Value::Object(doc))
}

/// At most 100 characters, cut at a word with an ellipsis.
fn short(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_DESCRIPTION {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX_DESCRIPTION - 1).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end_matches([',', ';', ':', '.']))
}

fn package(entry: &ServerEntry) -> Result<Value, String> {
    let command = entry
        .command
        .as_deref()
        .ok_or("a stdio server without a command")?;
    let args = entry.args.as_slice();
    let named = entry.package.as_ref().map(|p| p.name.as_str());
    let (kind, rest) = match command {
        "npx" => (
            "npm",
            args.strip_prefix(&["-y".to_owned()][..])
                .ok_or("an npx server that does not start with `-y`")?,
        ),
        "uvx" => ("pypi", args),
        "docker" => (
            "oci",
            args.strip_prefix(&["run", "-i", "--rm"].map(str::to_owned)[..])
                .ok_or("a docker server that does not start with `run -i --rm`")?,
        ),
        other => {
            return Err(format!(
                "it is started by `{other}`, which names no package the registry knows (servers run with npx, uvx or docker, or remote ones, can be)"
            ));
        }
    };
    let separator = if kind == "pypi" { "==" } else { "@" };
    let at = rest
        .iter()
        .position(|a| match named {
            Some(name) => {
                a == name
                    || a.strip_prefix(name)
                        .is_some_and(|v| v.starts_with(separator))
            }
            None => !a.starts_with('-'),
        })
        .ok_or_else(|| format!("its arguments do not name its {kind} package"))?;
    let (identifier, version) = split_version(&rest[at], named, kind, separator);
    let mut runtime = Vec::new();
    let mut words = rest[..at].iter();
    while let Some(word) = words.next() {
        // docker's `-e VAR` for the server's own env vars: the OCI format implies it.
        if kind == "oci" && word == "-e" {
            let var = words.next().ok_or("a docker `-e` without a variable")?;
            if entry.env_var(var).is_some() {
                continue;
            }
            runtime.push(argument(entry, word));
            runtime.push(argument(entry, var));
            continue;
        }
        runtime.push(argument(entry, word));
    }
    let package_args: Vec<Value> = rest[at + 1..].iter().map(|w| argument(entry, w)).collect();
    let mut pkg = Map::new();
    pkg.insert("registryType".into(), json!(kind));
    pkg.insert("identifier".into(), json!(identifier));
    if let Some(v) = version.or_else(|| entry.package.as_ref().and_then(|p| p.version.clone())) {
        pkg.insert("version".into(), json!(v));
    }
    pkg.insert("runtimeHint".into(), json!(command));
    pkg.insert("transport".into(), json!({ "type": "stdio" }));
    if !runtime.is_empty() {
        pkg.insert("runtimeArguments".into(), Value::Array(runtime));
    }
    if !package_args.is_empty() {
        pkg.insert("packageArguments".into(), Value::Array(package_args));
    }
    if !entry.env.is_empty() {
        pkg.insert(
            "environmentVariables".into(),
            Value::Array(entry.env.iter().map(env_variable).collect()),
        );
    }
    Ok(Value::Object(pkg))
}

/// The package word split into identifier and version (`@scope/pkg@1.2` → `@scope/pkg`, `1.2`).
fn split_version(
    word: &str,
    named: Option<&str>,
    kind: &str,
    separator: &str,
) -> (String, Option<String>) {
    if let Some(name) = named
        && let Some(version) = word
            .strip_prefix(name)
            .and_then(|v| v.strip_prefix(separator))
    {
        return (name.to_owned(), Some(version.to_owned()));
    }
    // Unnamed: an npm scope's leading `@` is not a version separator.
    let search_from = usize::from(kind == "npm" && word.starts_with('@'));
    match word[search_from..].find(separator) {
        Some(i) if kind != "oci" => (
            word[..search_from + i].to_owned(),
            Some(word[search_from + i + separator.len()..].to_owned()),
        ),
        _ => (word.to_owned(), None),
    }
}

/// One word of the command line as a positional argument.
fn argument(entry: &ServerEntry, word: &str) -> Value {
    let placeholders = validate::placeholders(word);
    if let [only] = placeholders.as_slice()
        && word == format!("{{{only}}}")
    {
        let mut arg = input(entry.param(only));
        arg.insert("type".into(), json!("positional"));
        arg.insert("valueHint".into(), json!(only));
        return Value::Object(arg);
    }
    let mut arg = Map::new();
    arg.insert("type".into(), json!("positional"));
    arg.insert("value".into(), json!(word));
    if !placeholders.is_empty() {
        arg.insert("variables".into(), variables(entry, &placeholders));
    }
    Value::Object(arg)
}

fn variables(entry: &ServerEntry, names: &[&str]) -> Value {
    Value::Object(
        names
            .iter()
            .map(|name| ((*name).to_owned(), Value::Object(input(entry.param(name)))))
            .collect(),
    )
}

/// The input fields of a parameter (description, required, format, default, placeholder,
/// choices).
fn input(param: Option<&ParamSpec>) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(p) = param else {
        return out;
    };
    if !p.description.is_empty() {
        out.insert("description".into(), json!(p.description));
    }
    if p.required {
        out.insert("isRequired".into(), json!(true));
    }
    let format = match p.kind {
        ParamType::Int => "number",
        ParamType::Bool => "boolean",
        ParamType::Path => "filepath",
        ParamType::String | ParamType::Url => "string",
    };
    out.insert("format".into(), json!(format));
    if let Some(d) = &p.default {
        out.insert("default".into(), json!(d));
    }
    if let Some(e) = &p.example {
        out.insert("placeholder".into(), json!(e));
    }
    if !p.choices.is_empty() {
        out.insert("choices".into(), json!(p.choices));
    }
    out
}

fn env_variable(env: &EnvSpec) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(env.name));
    if !env.description.is_empty() {
        out.insert("description".into(), json!(env.description));
    }
    out.insert("isRequired".into(), json!(env.required));
    out.insert("isSecret".into(), json!(env.secret));
    if let Some(d) = &env.default {
        out.insert("default".into(), json!(d));
    }
    if !env.choices.is_empty() {
        out.insert("choices".into(), json!(env.choices));
    }
    Value::Object(out)
}

fn remote(entry: &ServerEntry) -> Result<Value, String> {
    let url = entry
        .url
        .as_deref()
        .ok_or("a remote server without a URL")?;
    let mut remote = Map::new();
    let kind = if entry.transport == Transport::Sse {
        "sse"
    } else {
        "streamable-http"
    };
    remote.insert("type".into(), json!(kind));
    remote.insert("url".into(), json!(url));
    let in_url = validate::placeholders(url);
    if !in_url.is_empty() {
        remote.insert("variables".into(), variables(entry, &in_url));
    }
    let mut headers = Vec::new();
    for header in &entry.headers {
        // `${VAR}` (an env var of the entry: a secret) becomes the variable `{VAR}`.
        let mut value = header.value.clone();
        let mut vars = Map::new();
        for env in &entry.env {
            let reference = format!("${{{}}}", env.name);
            if value.contains(&reference) {
                value = value.replace(&reference, &format!("{{{}}}", env.name));
                let mut spec = Map::new();
                if !env.description.is_empty() {
                    spec.insert("description".into(), json!(env.description));
                }
                spec.insert("isRequired".into(), json!(env.required));
                spec.insert("isSecret".into(), json!(env.secret));
                vars.insert(env.name.clone(), Value::Object(spec));
            }
        }
        if value.contains("${") {
            return Err(format!(
                "its header {} refers to a variable the server does not declare",
                header.name
            ));
        }
        for name in validate::placeholders(&value) {
            if !vars.contains_key(name) {
                vars.insert(name.to_owned(), Value::Object(input(entry.param(name))));
            }
        }
        let mut h = Map::new();
        h.insert("name".into(), json!(header.name));
        h.insert("value".into(), json!(value));
        if !header.description.is_empty() {
            h.insert("description".into(), json!(header.description));
        }
        h.insert("isRequired".into(), json!(header.required));
        h.insert("isSecret".into(), json!(header.secret));
        if !vars.is_empty() {
            h.insert("variables".into(), Value::Object(vars));
        }
        headers.push(Value::Object(h));
    }
    if !headers.is_empty() {
        remote.insert("headers".into(), Value::Array(headers));
    }
    Ok(Value::Object(remote))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::catalog::Catalog;
    use crate::core::registry::convert;

    /// Every bundled entry goes to the registry and back as itself: command, arguments,
    /// parameters, env vars (secret ones still secret), URL and headers.
    #[test]
    fn every_bundled_entry_reads_back_as_itself() {
        let catalog = Catalog::load(std::path::Path::new("/nonexistent")).unwrap();
        let mut checked = 0;
        for entry in catalog.entries() {
            let doc = server_json(entry, &format!("local/{}", entry.id), "1.0.0")
                .unwrap_or_else(|e| panic!("{}: {e}", entry.id));
            assert!(
                doc["description"].as_str().unwrap().chars().count() <= MAX_DESCRIPTION,
                "{}",
                entry.id
            );
            let back = convert(&entry.id, &doc).unwrap_or_else(|e| panic!("{}: {e}", entry.id));
            let id = &entry.id;
            assert_eq!(back.transport, entry.transport, "{id}");
            assert_eq!(back.command, entry.command, "{id}");
            assert_eq!(back.args, entry.args, "{id}");
            assert_eq!(back.url, entry.url, "{id}");
            let env = |e: &ServerEntry| {
                e.env
                    .iter()
                    .map(|v| (v.name.clone(), v.secret, v.required, v.default.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(env(&back), env(entry), "{id}");
            let params = |e: &ServerEntry| {
                let mut p: Vec<_> = e
                    .params
                    .iter()
                    .map(|p| {
                        let kind = if p.kind == ParamType::Url {
                            ParamType::String
                        } else {
                            p.kind
                        };
                        (p.name.clone(), kind, p.required, p.default.clone())
                    })
                    .collect();
                p.sort_by(|a, b| a.0.cmp(&b.0));
                p
            };
            assert_eq!(params(&back), params(entry), "{id}");
            let headers = |e: &ServerEntry| {
                e.headers
                    .iter()
                    .map(|h| (h.name.clone(), h.value.clone(), h.secret))
                    .collect::<Vec<_>>()
            };
            assert_eq!(headers(&back), headers(entry), "{id}");
            checked += 1;
        }
        assert_eq!(checked, catalog.entries().len());
        assert!(checked >= 50, "{checked}");
    }

    #[test]
    fn versions_and_scopes_are_split_right() {
        assert_eq!(
            split_version("@scope/pkg@1.2.3", None, "npm", "@"),
            ("@scope/pkg".into(), Some("1.2.3".into()))
        );
        assert_eq!(
            split_version("@scope/pkg", None, "npm", "@"),
            ("@scope/pkg".into(), None)
        );
        assert_eq!(
            split_version("tool==0.4", Some("tool"), "pypi", "=="),
            ("tool".into(), Some("0.4".into()))
        );
        assert_eq!(
            split_version("ghcr.io/a/b:1", None, "oci", "@"),
            ("ghcr.io/a/b:1".into(), None)
        );
    }

    #[test]
    fn commands_without_a_package_are_refused_with_the_reason() {
        let mut entry = Catalog::load(std::path::Path::new("/nonexistent"))
            .unwrap()
            .get("memory")
            .unwrap()
            .clone();
        entry.command = Some("/opt/tools/memory-server".into());
        let e = server_json(&entry, "local/memory", "1.0.0").unwrap_err();
        assert!(e.contains("/opt/tools/memory-server"), "{e}");
    }

    #[test]
    fn long_descriptions_are_cut_at_a_word() {
        let text = "word ".repeat(40);
        let cut = short(&text);
        assert!(cut.chars().count() <= MAX_DESCRIPTION);
        assert!(cut.ends_with("word…"), "{cut}");
    }
}
