//! The client registry: which MCP clients exist, where each keeps its config file on every OS
//! and scope, and how it spells server entries. It is data (`assets/clients.toml`, embedded)
//! plus the user's `<home>/clients.toml`, never code.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::env::{Environment, Os};
use crate::core::error::{Error, Result};
use crate::core::overlay;

/// `assets/clients.toml`, converted to a JSON array by build.rs.
const EMBEDDED: &str = include_str!(concat!(env!("OUT_DIR"), "/clients.json"));

/// Config file syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Strict JSON.
    Json,
    /// JSON with comments and trailing commas.
    Jsonc,
    /// TOML.
    Toml,
    /// YAML.
    Yaml,
}

impl Format {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Jsonc => "jsonc",
            Self::Toml => "toml",
            Self::Yaml => "yaml",
        }
    }
}

/// How the server collection is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntriesKind {
    /// A map keyed by server name.
    Map,
    /// A list of entries, each with a name field.
    List,
}

/// Candidate paths per OS and scope.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClientPaths {
    /// macOS user-scope candidates.
    #[serde(default)]
    pub macos: Vec<String>,
    /// Linux user-scope candidates.
    #[serde(default)]
    pub linux: Vec<String>,
    /// Windows user-scope candidates.
    #[serde(default)]
    pub windows: Vec<String>,
    /// Project-scope paths, relative to the project root.
    #[serde(default)]
    pub project: Vec<String>,
}

/// How a stdio entry is spelled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StdioShape {
    /// Value of the type field for stdio entries ("" = omit).
    #[serde(default, rename = "type")]
    pub type_value: String,
    /// Field holding the command.
    pub command: String,
    /// `string` (command + args) or `argv` (command is the whole argv array).
    #[serde(default = "default_command_style")]
    pub command_style: CommandStyle,
    /// Field holding the args ("" with `argv`).
    #[serde(default)]
    pub args: String,
    /// Field holding the env map.
    pub env: String,
    /// Fixed fields added to every stdio entry.
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn default_command_style() -> CommandStyle {
    CommandStyle::String
}

/// How the command is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandStyle {
    /// `command` string plus an `args` array.
    String,
    /// `command` is the argv array.
    Argv,
    /// `command` is one shell line: the client joins `command` and `args` with spaces and runs
    /// them with `sh -c` (Auggie), so each word is written quoted and `args` stays empty.
    Shell,
}

/// Whether the client's file can declare remote servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RemoteSupport {
    /// Native URL entries.
    Native,
    /// Needs the `mcp-remote` stdio bridge.
    Bridge,
}

/// How a remote (http or sse) entry is spelled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoteShape {
    /// Native or bridged.
    pub support: RemoteSupport,
    /// Type value for Streamable HTTP ("" = omit).
    #[serde(default)]
    pub http_type: String,
    /// Type value for SSE ("" = omit).
    #[serde(default)]
    pub sse_type: String,
    /// URL field for Streamable HTTP.
    #[serde(default)]
    pub url: String,
    /// URL field for SSE.
    #[serde(default)]
    pub sse_url: String,
    /// Headers map field.
    #[serde(default)]
    pub headers: String,
    /// Field mapping header names to env var names (Codex).
    #[serde(default)]
    pub env_headers: String,
    /// Field naming the env var that holds a bearer token (Codex).
    #[serde(default)]
    pub bearer_env: String,
    /// Field holding a shell command that prints the headers as a JSON object, run by the
    /// client when it connects (Claude Code's `headersHelper`).
    #[serde(default)]
    pub headers_helper: String,
    /// Fixed fields added to every remote entry.
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Known limits of a client (0 = none known).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Limits {
    /// Most servers the client accepts.
    #[serde(default)]
    pub max_servers: usize,
    /// Most env vars per server.
    #[serde(default)]
    pub max_env_vars_per_server: usize,
    /// Longest server name.
    #[serde(default)]
    pub max_name_length: usize,
}

/// One MCP client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientDef {
    /// Stable id, e.g. `claude-desktop`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// File syntax.
    pub format: Format,
    /// Key path to the server collection.
    pub container: Vec<String>,
    /// Map or list.
    pub entries: EntriesKind,
    /// Field repeating the server name inside an entry ("" = none).
    #[serde(default)]
    pub name_field: String,
    /// Field holding the transport type ("" = none).
    #[serde(default)]
    pub type_field: String,
    /// The client's env var reference syntax with `VAR` as placeholder ("" = none).
    #[serde(default)]
    pub env_reference: String,
    /// How secrets reach servers by default (`launcher`, or `env` for the client's own
    /// reference syntax); a server can choose otherwise.
    #[serde(default)]
    pub secret_delivery: crate::core::draft::SecretDelivery,
    /// What the user must do for the change to take effect.
    #[serde(default)]
    pub restart_hint: String,
    /// Documentation.
    #[serde(default)]
    pub docs_url: String,
    /// Facts and pitfalls.
    #[serde(default)]
    pub notes: Vec<String>,
    /// What a file the client reads must hold before any server is added, for a file that
    /// is missing or empty (Continue refuses a `config.yaml` without `name`, `version` and
    /// `schema`); "" = nothing.
    #[serde(default)]
    pub new_file: String,
    /// Candidate paths.
    pub paths: ClientPaths,
    /// stdio entry spelling.
    pub stdio: StdioShape,
    /// Remote entry spelling.
    pub remote: RemoteShape,
    /// Limits.
    #[serde(default)]
    pub limits: Limits,
    /// How the client starts its servers (their environment, reference expansion).
    #[serde(default)]
    pub launch: LaunchModel,
    /// Where the user-scope file keeps one project's own servers ("local" scope), as a key path
    /// with `{project}` for the project's absolute directory (Claude Code:
    /// `["projects", "{project}", "mcpServers"]`); empty when the client has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_container: Vec<String>,
    /// How to find the installed version, for clients whose accepted shape depends on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<VersionProbe>,
    /// What changes from one version range to another, applied over this definition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
    /// The version this definition is for, once resolved (by the façade, on first use).
    #[serde(skip)]
    pub resolved_version: Option<ResolvedVersion>,
    /// The client's managed (enterprise) policy file, when it has one on disk
    /// (CLIENTS.md section 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<ManagedPolicy>,
    /// A path pinned by the user (in `<home>/clients.toml`), checked first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Whether the user file added or changed this client.
    #[serde(default)]
    pub user_defined: bool,
}

/// One probed candidate path.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Candidate {
    /// The expanded path.
    pub path: PathBuf,
    /// Whether a file exists there.
    pub exists: bool,
}

/// Where a client's file is, and every place that was looked at.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedPath {
    /// The chosen file: the first existing candidate, else the first candidate.
    pub path: Option<PathBuf>,
    /// Whether the chosen file exists.
    pub exists: bool,
    /// Every candidate, in probe order.
    pub candidates: Vec<Candidate>,
}

impl ClientDef {
    /// The user-scope path templates for an OS.
    pub fn templates(&self, os: Os) -> &[String] {
        match os {
            Os::Macos => &self.paths.macos,
            Os::Linux => &self.paths.linux,
            Os::Windows => &self.paths.windows,
        }
    }

    /// The variable that pins this client's file from the environment, e.g.
    /// `MCP_ORCH_CLIENT_PATH_CLAUDE_CODE`.
    pub fn override_var(&self) -> String {
        format!(
            "MCP_ORCH_CLIENT_PATH_{}",
            self.id.to_uppercase().replace('-', "_")
        )
    }

    /// Resolves the user-scope file: environment pin, then user pin, then every OS candidate.
    pub fn resolve_user(&self, env: &Environment) -> ResolvedPath {
        let mut templates: Vec<String> = Vec::new();
        if let Some(pinned) = env.var(&self.override_var()) {
            templates.push(pinned.to_owned());
        }
        templates.extend(self.path.iter().cloned());
        templates.extend(self.templates(env.os).iter().cloned());
        let paths = templates.iter().filter_map(|t| env.expand(t));
        resolve_candidates(paths)
    }

    /// Resolves the project-scope file under `root`.
    pub fn resolve_project(&self, root: &Path) -> ResolvedPath {
        resolve_candidates(self.paths.project.iter().map(|p| root.join(p)))
    }

    /// Whether the client has a project scope.
    pub fn has_project_scope(&self) -> bool {
        !self.paths.project.is_empty()
    }

    /// Renders an env var reference in the client's syntax, when it has one.
    pub fn env_ref(&self, var: &str) -> Option<String> {
        (!self.env_reference.is_empty()).then(|| self.env_reference.replace("VAR", var))
    }
}

fn resolve_candidates(paths: impl Iterator<Item = PathBuf>) -> ResolvedPath {
    let mut candidates: Vec<Candidate> = Vec::new();
    for path in paths {
        if candidates.iter().any(|c| c.path == path) {
            continue;
        }
        let exists = path.is_file();
        candidates.push(Candidate { path, exists });
    }
    let chosen = candidates
        .iter()
        .find(|c| c.exists)
        .or_else(|| candidates.first());
    ResolvedPath {
        path: chosen.map(|c| c.path.clone()),
        exists: chosen.is_some_and(|c| c.exists),
        candidates,
    }
}

/// All known clients.
#[derive(Debug, Clone)]
pub struct ClientRegistry {
    clients: Vec<ClientDef>,
}

impl ClientRegistry {
    /// The embedded registry merged with the user file at `user_path`.
    pub fn load(user_path: &Path) -> Result<Self> {
        let loaded = overlay::load_with_overlay::<ClientDef>(EMBEDDED, user_path, "clients")?;
        let clients = loaded
            .entries
            .into_iter()
            .map(|mut client| {
                client.user_defined = loaded.user_ids.contains(&client.id);
                client
            })
            .collect();
        Ok(Self { clients })
    }

    /// Every client, in registry order.
    pub fn all(&self) -> &[ClientDef] {
        &self.clients
    }

    /// A client by id.
    pub fn get(&self, id: &str) -> Result<&ClientDef> {
        self.clients
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| Error::UnknownClient {
                id: id.to_owned(),
                known: self.ids(),
            })
    }

    /// Every id.
    pub fn ids(&self) -> Vec<String> {
        self.clients.iter().map(|c| c.id.clone()).collect()
    }
}

// ---- how a client launches its servers (used by core::launch) -------------------------------

/// The environment a client gives the stdio servers it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerEnv {
    /// Its whole environment (most clients).
    #[default]
    Inherit,
    /// Only the names in `allowlist`, plus those an entry lists in `env_vars` (Codex).
    Allowlist,
    /// Its environment less names that look like credentials (Gemini CLI since 0.28).
    RedactSecrets,
}

/// What a reference to a variable the client does not have becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnsetReference {
    /// The reference text itself (Claude Code: the server receives `${VAR}`).
    #[default]
    Literal,
    /// An empty string (Gemini CLI).
    Empty,
}

/// How a client's installed version is found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionProbe {
    /// The command that prints it (`["gemini", "--version"]`); its first `N.N[.N]` counts.
    #[serde(default)]
    pub command: Vec<String>,
    /// The version assumed when it cannot be found (not installed, no answer in time).
    pub default: String,
    /// Why that default.
    #[serde(default)]
    pub default_reason: String,
}

/// Fields of a client's definition that differ in a range of its versions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// The first version it applies to ("" = from the first).
    #[serde(default)]
    pub from: String,
    /// The first version it no longer applies to ("" = to the last).
    #[serde(default)]
    pub below: String,
    /// What that range accepts, and where that is documented.
    pub note: String,
    /// The fields that change: top-level fields are replaced, and inside a table (`stdio`,
    /// `remote`, `paths`) each field given is replaced whole.
    pub set: serde_json::Map<String, serde_json::Value>,
}

/// How the version a definition is for was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VersionSource {
    /// From the client's own `--version`.
    Detected,
    /// From `MCP_ORCH_CLIENT_VERSION_<ID>`.
    Pinned,
    /// The documented default: the client was not found.
    Default,
}

/// The version a definition is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ResolvedVersion {
    /// The version.
    pub version: String,
    /// How it was found.
    pub source: VersionSource,
    /// The notes of the variants that apply.
    pub variants: Vec<String>,
}

/// `1.2.3` as numbers (missing parts are 0); `None` when it does not start with a number.
pub fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.trim().trim_start_matches('v').split('.').map(|p| {
        p.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<u64>()
            .ok()
    });
    let major = parts.next()??;
    Some((
        major,
        parts.next().flatten().unwrap_or(0),
        parts.next().flatten().unwrap_or(0),
    ))
}

/// The first `N.N` or `N.N.N` in a program's output (`gemini --version` → `0.61.0`).
pub fn find_version(output: &str) -> Option<String> {
    output
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|w| w.trim_matches('.'))
        .find(|w| w.contains('.') && w.split('.').all(|p| !p.is_empty()))
        .map(str::to_owned)
}

impl Variant {
    fn applies(&self, version: (u64, u64, u64)) -> bool {
        let at_least = parse_version(&self.from).is_none_or(|from| version >= from);
        let below = parse_version(&self.below).is_none_or(|below| version < below);
        at_least && below
    }
}

impl ClientDef {
    /// This definition for `version` of the client: every variant whose range holds it laid
    /// over the base definition.
    ///
    /// # Errors
    /// `DATA_FILE_ERROR` when a variant makes the definition invalid.
    pub fn for_version(&self, version: &str, source: VersionSource) -> Result<Self> {
        let parsed = parse_version(version).unwrap_or_default();
        let applying: Vec<&Variant> = self.variants.iter().filter(|v| v.applies(parsed)).collect();
        let mut def = if applying.is_empty() {
            self.clone()
        } else {
            let mut value = serde_json::to_value(self)
                .map_err(|e| Error::Internal(format!("client `{}`: {e}", self.id)))?;
            for variant in &applying {
                for (key, field) in &variant.set {
                    match (value.get_mut(key), field) {
                        (
                            Some(serde_json::Value::Object(table)),
                            serde_json::Value::Object(fields),
                        ) => {
                            for (k, v) in fields {
                                table.insert(k.clone(), v.clone());
                            }
                        }
                        _ => {
                            value[key] = field.clone();
                        }
                    }
                }
            }
            let mut def: Self = serde_json::from_value(value).map_err(|e| Error::Parse {
                path: PathBuf::from("clients.toml"),
                message: format!("client `{}`, variant for {version}: {e}", self.id),
                code: crate::core::code::Code::DataFileError,
            })?;
            def.user_defined = self.user_defined;
            def
        };
        def.resolved_version = Some(ResolvedVersion {
            version: version.to_owned(),
            source,
            variants: applying.iter().map(|v| v.note.clone()).collect(),
        });
        Ok(def)
    }

    /// This definition for one project's local-scope servers: the same file, the container
    /// inside the project's own entry. `None` when the client has no local scope.
    pub fn for_local_scope(&self, project: &Path) -> Option<Self> {
        if self.local_container.is_empty() {
            return None;
        }
        let project = project.display().to_string();
        let mut def = self.clone();
        def.container = self
            .local_container
            .iter()
            .map(|key| key.replace("{project}", &project))
            .collect();
        Some(def)
    }

    /// `MCP_ORCH_CLIENT_VERSION_<ID>`: pins the version mcp-orch renders for.
    pub fn version_var(&self) -> String {
        format!(
            "MCP_ORCH_CLIENT_VERSION_{}",
            self.id.to_ascii_uppercase().replace('-', "_")
        )
    }
}

/// Which allow and deny syntax a managed policy file speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyDialect {
    /// Claude Code's `managed-settings.json`: `allowedMcpServers` / `deniedMcpServers`, lists
    /// of `{serverName}`, `{serverCommand}` (exact argv) or `{serverUrl}` (with `*`).
    ClaudeSettings,
    /// VS Code's `policy.json`: the policies `ChatAllowedMcpServers` / `ChatDeniedMcpServers`,
    /// the same matchers as JSON text.
    VsCodePolicy,
    /// Gemini CLI's system `settings.json`: `mcp.allowed` / `mcp.excluded`, names only.
    GeminiSettings,
    /// Codex's `requirements.toml`: `[mcp_servers.<name>.identity]` with `command` or `url`,
    /// an allowlist only.
    CodexRequirements,
}

/// A client's managed policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedPolicy {
    /// Its syntax.
    pub dialect: PolicyDialect,
    /// The file on macOS ("" = none documented).
    #[serde(default)]
    pub macos: String,
    /// The file on Linux.
    #[serde(default)]
    pub linux: String,
    /// The file on Windows.
    #[serde(default)]
    pub windows: String,
    /// The client's own variable that moves the file, if any.
    #[serde(default)]
    pub env_override: String,
    /// Where these facts come from.
    #[serde(default)]
    pub source: String,
}

/// How a client launches its servers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchModel {
    /// The environment a stdio server gets.
    #[serde(default)]
    pub server_env: ServerEnv,
    /// The variables passed under [`ServerEnv::Allowlist`].
    #[serde(default)]
    pub allowlist: Vec<String>,
    /// What an unset reference becomes.
    #[serde(default)]
    pub unset: UnsetReference,
    /// The client's own command that lists its servers with their state (`claude mcp list`),
    /// shown beside mcp-orch's verdict by `status --verify`; empty when it has none.
    #[serde(default)]
    pub list_command: Vec<String>,
}
