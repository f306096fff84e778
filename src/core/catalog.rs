//! The server catalog: what can be installed and how. Bundled entries
//! (`assets/catalog.toml`, embedded) plus the user's `<home>/catalog.toml`; registry entries
//! can be added by a sync. The entry model holds everything an MCP Registry `server.json`
//! holds (packages, remotes, arguments, env vars, headers, URL variables).

use crate::core::code::Code;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::core::error::{Error, Result};
use crate::core::overlay;

/// `assets/catalog.toml`, converted to a JSON array by build.rs.
const EMBEDDED: &str = include_str!(concat!(env!("OUT_DIR"), "/catalog.json"));

/// How a server is reached.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// A local process speaking MCP on stdin/stdout.
    Stdio,
    /// Streamable HTTP.
    Http,
    /// The 2024-11-05 HTTP+SSE transport.
    Sse,
}

impl Transport {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdio => "stdio",
            Self::Http => "http",
            Self::Sse => "sse",
        }
    }

    /// Whether this is a remote transport.
    pub fn is_remote(self) -> bool {
        self != Self::Stdio
    }

    /// Every transport.
    pub const ALL: [Self; 3] = [Self::Stdio, Self::Http, Self::Sse];
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Transport {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "stdio" => Ok(Self::Stdio),
            "http" | "streamable-http" | "streamablehttp" => Ok(Self::Http),
            "sse" => Ok(Self::Sse),
            _ => Err(Error::invalid(
                Code::InvalidTransport,
                "transport",
                format!("unknown transport `{s}`"),
                "use stdio, http or sse",
            )),
        }
    }
}

/// Type of a `{param}` placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// Any text.
    String,
    /// An integer.
    Int,
    /// `true` or `false`.
    Bool,
    /// A filesystem path (`~` is expanded).
    Path,
    /// An http(s) URL.
    Url,
}

impl ParamType {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Int => "int",
            Self::Bool => "bool",
            Self::Path => "path",
            Self::Url => "url",
        }
    }
}

/// A typed placeholder used in args, the URL or header values.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ParamSpec {
    /// Name, as written inside `{}`.
    pub name: String,
    /// Type.
    #[serde(rename = "type", default = "default_param_type")]
    pub kind: ParamType,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Whether it must be given (when it has no default).
    #[serde(default)]
    pub required: bool,
    /// Default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Example value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// Allowed values, when restricted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

fn default_param_type() -> ParamType {
    ParamType::String
}

/// An environment variable the server reads.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EnvSpec {
    /// Variable name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Whether the server needs it.
    #[serde(default)]
    pub required: bool,
    /// Whether the value is a secret (kept in the secret store, never printed).
    #[serde(default)]
    pub secret: bool,
    /// Default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Allowed values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

/// An HTTP header sent to a remote server.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HeaderSpec {
    /// Header name.
    pub name: String,
    /// Value template: `{param}` and `${ENV}` (an env entry of the same server) allowed.
    pub value: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Whether it must be sent.
    #[serde(default)]
    pub required: bool,
    /// Whether the value is secret.
    #[serde(default)]
    pub secret: bool,
}

/// The package a stdio server is installed from.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PackageRef {
    /// `npm`, `pypi`, `oci`, ...
    pub registry: String,
    /// Package name or image.
    pub name: String,
    /// Pinned version, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Where an entry came from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Shipped with mcp-orch.
    #[default]
    Bundled,
    /// The user's catalog file.
    User,
    /// The official MCP Registry.
    Registry,
}

/// One catalog entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerEntry {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// One-line description.
    #[serde(default)]
    pub description: String,
    /// Lower-case tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Transport.
    pub transport: Transport,
    /// stdio command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// stdio args, with `{param}` placeholders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Remote URL template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Remote headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderSpec>,
    /// Placeholders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<ParamSpec>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvSpec>,
    /// Documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_url: Option<String>,
    /// Package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageRef>,
    /// Where the entry came from.
    #[serde(default)]
    pub source: Source,
    /// Version of the server (registry entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The registry's `server.json`, kept whole so nothing it says is lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_json: Option<serde_json::Value>,
}

impl ServerEntry {
    /// A param by name.
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// An env var by name.
    pub fn env_var(&self, name: &str) -> Option<&EnvSpec> {
        self.env.iter().find(|e| e.name == name)
    }
}

/// The merged catalog.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    entries: Vec<ServerEntry>,
}

impl Catalog {
    /// The bundled catalog merged with the user file at `user_path`.
    pub fn load(user_path: &Path) -> Result<Self> {
        let loaded = overlay::load_with_overlay::<ServerEntry>(EMBEDDED, user_path, "servers")?;
        let user_ids: std::collections::HashSet<&str> =
            loaded.user_ids.iter().map(String::as_str).collect();
        let entries = loaded
            .entries
            .into_iter()
            .map(|mut entry| {
                if user_ids.contains(entry.id.as_str()) {
                    entry.source = Source::User;
                }
                entry
            })
            .collect();
        Ok(Self::from_entries(entries))
    }

    /// A catalog of the given entries, sorted by id.
    pub fn from_entries(mut entries: Vec<ServerEntry>) -> Self {
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        Self { entries }
    }

    /// Adds entries whose ids are not taken yet (bundled and user entries win; among the
    /// extra entries the first of an id wins). Returns the ids that were left out.
    pub fn extend_missing(&mut self, extra: impl IntoIterator<Item = ServerEntry>) -> Vec<String> {
        // `find` needs the entries sorted, so the taken ids are collected before any push.
        let mut taken: std::collections::HashSet<String> =
            self.entries.iter().map(|e| e.id.clone()).collect();
        let mut left_out = Vec::new();
        for entry in extra {
            if taken.insert(entry.id.clone()) {
                self.entries.push(entry);
            } else {
                left_out.push(entry.id);
            }
        }
        self.entries.sort_by(|a, b| a.id.cmp(&b.id));
        left_out
    }

    /// Every entry, sorted by id.
    pub fn entries(&self) -> &[ServerEntry] {
        &self.entries
    }

    /// An entry by id.
    pub fn find(&self, id: &str) -> Option<&ServerEntry> {
        self.entries
            .binary_search_by(|e| e.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// An entry by id, or `UNKNOWN_SERVER` with suggestions.
    pub fn get(&self, id: &str) -> Result<&ServerEntry> {
        self.find(id).ok_or_else(|| Error::UnknownServer {
            id: id.to_owned(),
            suggestions: suggest(self, id, 3),
        })
    }
}

/// Up to `n` ids that look like `id`, for "did you mean" hints.
pub fn suggest(catalog: &Catalog, id: &str, n: usize) -> Vec<String> {
    use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
    use nucleo_matcher::{Config, Matcher};
    let pattern = Pattern::parse(id, CaseMatching::Ignore, Normalization::Smart);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    let mut scored: Vec<(u32, &str)> = catalog
        .entries()
        .iter()
        .filter_map(|e| {
            let hay = nucleo_matcher::Utf32Str::new(&e.id, &mut buf);
            pattern.score(hay, &mut matcher).map(|s| (s, e.id.as_str()))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(n)
        .map(|(_, id)| id.to_owned())
        .collect()
}
