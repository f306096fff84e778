//! The MCP tools: one argument struct per tool (its JSON Schema, with descriptions, comes from
//! the struct), a table with titles, descriptions and annotations, and one function per tool
//! that calls the façade and shapes the result. Names and parameter names are the original
//! project's, so existing prompts and workflows keep working.
//!
//! A tool either returns a JSON object (sent as `structuredContent` and as text) or a
//! [`core::Error`], sent as a tool error (`isError: true`) whose body is the CLI's structured
//! error `{code, message, details, hint}`. Bad arguments are tool errors too
//! (`INVALID_ARGUMENTS`), so a model can correct itself; only an unknown tool is a protocol
//! error.

use crate::core::code::Code;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::api;
use crate::core::orchestrator::{Action, AddServer, PlanRequest, ProbeTarget, RollbackTarget};
use crate::core::profiles::DEFAULT_PROFILE;
use crate::core::render::SecretDelivery;
use crate::core::{self, Error, Orchestrator};

/// The client used when a tool call names none (the original's default).
pub const DEFAULT_CLIENT: &str = "claude-desktop";

fn default_client() -> String {
    DEFAULT_CLIENT.to_owned()
}

fn default_profile() -> String {
    DEFAULT_PROFILE.to_owned()
}

/// What a tool returns: a JSON object, or the core's error.
pub type Outcome = core::Result<Value>;

// ---- argument structs -----------------------------------------------------------------------

/// No arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// A client id.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientArgs {
    /// Client id, e.g. `claude-desktop`, `cursor`, `claude-code`, `vscode` (see `list_clients`).
    pub client_id: String,
}

/// How long `check_server_health` waits for each server by default, and at most.
const HEALTH_TIMEOUT_SECS: u64 = 10;
const HEALTH_TIMEOUT_MAX_SECS: u64 = 120;

fn default_health_timeout() -> u64 {
    HEALTH_TIMEOUT_SECS
}

/// Arguments of `check_server_health`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthArgs {
    /// A server of the draft by name, or a catalog id (see `view_draft_config`,
    /// `list_available_servers`). Without it, every server of the draft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub server_name: Option<String>,
    /// Client id (see `list_clients`).
    #[serde(default = "default_client")]
    pub client_id: String,
    /// Profile id (see `list_profiles`).
    #[serde(default = "default_profile")]
    pub profile_id: String,
    /// Seconds to wait for each server (1 to 120).
    #[serde(default = "default_health_timeout")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_secs: u64,
    /// Start the entries of the client's file as the client starts them (its environment, its
    /// expansion of `${VAR}` references) instead of the draft's servers; an entry that needs a
    /// variable the client lacks fails with `MISSING_CLIENT_ENV`.
    #[serde(default)]
    pub as_client: bool,
}

/// A client and a profile, both with defaults.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetArgs {
    /// Client id (see `list_clients`).
    #[serde(default = "default_client")]
    pub client_id: String,
    /// Profile id (see `list_profiles`).
    #[serde(default = "default_profile")]
    pub profile_id: String,
}

/// Arguments of `diff_config`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffArgs {
    /// Client id (see `list_clients`).
    #[serde(default = "default_client")]
    pub client_id: String,
    /// Profile id.
    #[serde(default = "default_profile")]
    pub profile_id: String,
    /// Server entries to compare with the client's file instead of the draft: an object
    /// mapping server names to entries in the client's own spelling, optionally wrapped in the
    /// client's container key (e.g. `{"mcpServers": {...}}`), as an object or a JSON string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "ObjectOrString")]
    pub local_payload: Option<ObjectOrString>,
}

/// Arguments of `list_available_servers`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Only servers with this transport: `stdio`, `http` or `sse`. Combined with
    /// `search_query` when both are given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub transport_filter: Option<String>,
    /// Fuzzy query over id, name, tags and description; omit to list every server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub search_query: Option<String>,
}

/// Arguments of `describe_server`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerArgs {
    /// Catalog id (see `list_available_servers`).
    pub server_id: String,
}

/// An object, or a JSON string holding one (some clients can only send strings).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ObjectOrString {
    /// A JSON object.
    Object(Map<String, Value>),
    /// A JSON string holding an object.
    String(String),
}

impl ObjectOrString {
    fn into_object(self, field: &str) -> core::Result<Map<String, Value>> {
        match self {
            Self::Object(map) => Ok(map),
            Self::String(text) if text.trim().is_empty() => Ok(Map::new()),
            Self::String(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(_) => Err(bad_argument(
                    field,
                    format!("`{field}` must be a JSON object"),
                    format!("give {field} as an object such as {{\"KEY\": \"value\"}}"),
                )),
                Err(e) => Err(bad_argument(
                    field,
                    format!("`{field}` is not valid JSON: {e}"),
                    format!("give {field} as an object such as {{\"KEY\": \"value\"}}"),
                )),
            },
        }
    }

    /// The object's values as strings (numbers and booleans are written out).
    fn into_pairs(self, field: &str) -> core::Result<Vec<(String, String)>> {
        self.into_object(field)?
            .into_iter()
            .map(|(key, value)| {
                let text = match value {
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => {
                        return Err(bad_argument(
                            &format!("{field}.{key}"),
                            format!("`{field}.{key}` must be a string, number or boolean"),
                            format!("give it as \"{key}\": \"value\""),
                        ));
                    }
                };
                Ok((key, text))
            })
            .collect()
    }
}

/// Arguments of `add_server_to_config`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddArgs {
    /// Catalog id of the server to add (see `list_available_servers`).
    pub server_id: String,
    /// Parameter values by name (see `describe_server`), as an object or a JSON string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "ObjectOrString")]
    pub params: Option<ObjectOrString>,
    /// Environment variables by name, as an object or a JSON string. Values of variables the
    /// catalog marks secret are stored in the local secret store; the draft keeps only names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "ObjectOrString")]
    pub env_vars: Option<ObjectOrString>,
    /// Name of the server in the client's file (default: the catalog id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub server_name: Option<String>,
    /// How its secrets reach it: `launcher` (mcp-orch starts it with values from the secret
    /// store; nothing to export) or `env` (the client's own `${VAR}` reference, which the user
    /// must export in the client's environment). Default: the client's, `launcher`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_delivery: Option<SecretDelivery>,
    /// When the draft already has a server of that name: `error` (the default,
    /// `DUPLICATE_NAME`) or `keep` (the same server defined the same way is kept and the call
    /// answers `status: "unchanged"`, so an automation can run it again; a different one is
    /// still `DUPLICATE_NAME`).
    #[serde(default)]
    pub if_exists: crate::core::draft::IfExists,
    /// Client id (see `list_clients`).
    #[serde(default = "default_client")]
    pub client_id: String,
    /// Profile id.
    #[serde(default = "default_profile")]
    pub profile_id: String,
}

/// Arguments of `remove_server_from_config`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveArgs {
    /// Name of the server in the draft (see `view_draft_config`).
    pub server_name: String,
    /// Client id (see `list_clients`).
    #[serde(default = "default_client")]
    pub client_id: String,
    /// Profile id.
    #[serde(default = "default_profile")]
    pub profile_id: String,
}

/// Arguments of `publish_config`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishArgs {
    /// What changed, kept in the signed release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub changelog: Option<String>,
    /// Client id (see `list_clients`).
    #[serde(default = "default_client")]
    pub client_id: String,
    /// Profile id.
    #[serde(default = "default_profile")]
    pub profile_id: String,
}

/// Arguments of `initialize_keys`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysArgs {
    /// Rotate an existing signing key (the old one stays trusted for earlier releases).
    #[serde(default)]
    pub regenerate: bool,
}

/// Arguments of `get_config`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetConfigArgs {
    /// Client id (see `list_clients`).
    pub client_id: String,
    /// Profile id.
    #[serde(default = "default_profile")]
    pub profile_id: String,
    /// Artifact id or unique prefix (default: the latest release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub artifact_id: Option<String>,
}

/// Arguments of `get_config_history`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryArgs {
    /// Client id (see `list_clients`).
    #[serde(default = "default_client")]
    pub client_id: String,
    /// Profile id.
    #[serde(default = "default_profile")]
    pub profile_id: String,
    /// At most this many releases, newest first (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "i64")]
    pub limit: Option<i64>,
}

/// Arguments of `get_audit_log`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditArgs {
    /// Only records of this client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub client_id: Option<String>,
    /// Only records of this profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub profile_id: Option<String>,
    /// Only this action: `publish`, `deploy`, `rollback`, `restore`, `key.init`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub action: Option<String>,
    /// Only the newest this many records (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "i64")]
    pub limit: Option<i64>,
    /// Also check the hash chain and report any edited, removed or reordered record.
    #[serde(default)]
    pub verify: bool,
}

/// Arguments of `config_status`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusArgs {
    /// Only this client (every deployed or published target when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub client_id: Option<String>,
    /// Only this profile (needs `client_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub profile_id: Option<String>,
}

/// Arguments of `deploy_config`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployArgs {
    /// Client id (see `list_clients`).
    #[serde(default = "default_client")]
    pub client_id: String,
    /// Profile id.
    #[serde(default = "default_profile")]
    pub profile_id: String,
    /// Artifact id or unique prefix (default: the latest release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub artifact_id: Option<String>,
    /// `true` writes the client's file. Without it the plan is returned as a dry run (and,
    /// when the client supports elicitation, the user is asked first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub confirm: Option<bool>,
    /// The `plan_id` of the plan the user saw (from the dry run): only that plan is written;
    /// when the artifact or the file changed since, nothing is written and the error is
    /// `PLAN_STALE` with the fresh plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub plan_id: Option<String>,
    /// Take over servers with the same name that were added to the file by hand.
    #[serde(default)]
    pub adopt: bool,
}

/// Arguments of `rollback_config`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackArgs {
    /// Client id (see `list_clients`).
    #[serde(default = "default_client")]
    pub client_id: String,
    /// Profile id.
    #[serde(default = "default_profile")]
    pub profile_id: String,
    /// The artifact to go back to (id or unique prefix); default: one version back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub artifact_id: Option<String>,
    /// How many published versions to go back (default 1; ignored with `artifact_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "i64")]
    pub steps: Option<i64>,
    /// `true` writes the client's file. Without it the plan is returned as a dry run (and,
    /// when the client supports elicitation, the user is asked first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub confirm: Option<bool>,
    /// The `plan_id` of the plan the user saw (from the dry run): only that plan is written;
    /// when the artifact or the file changed since, nothing is written and the error is
    /// `PLAN_STALE` with the fresh plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub plan_id: Option<String>,
    /// Take over servers with the same name that were added to the file by hand.
    #[serde(default)]
    pub adopt: bool,
}

/// Arguments of `apply_config`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyArgs {
    /// Client id (see `list_clients`).
    #[serde(default = "default_client")]
    pub client_id: String,
    /// Profile id.
    #[serde(default = "default_profile")]
    pub profile_id: String,
    /// What changed, signed with the release when the draft is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub changelog: Option<String>,
    /// `true` publishes (when the draft changed) and writes the client's file. Without it the
    /// plan is returned as a dry run (and, when the client supports elicitation, the user is
    /// asked first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub confirm: Option<bool>,
    /// The `plan_id` of the plan the user saw (from the dry run): only that plan is written;
    /// when the artifact or the file changed since, nothing is written and the error is
    /// `PLAN_STALE` with the fresh plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub plan_id: Option<String>,
    /// Take over servers with the same name that were added to the file by hand.
    #[serde(default)]
    pub adopt: bool,
}

/// Arguments of `undeploy_config`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UndeployArgs {
    /// Client id (see `list_clients`).
    #[serde(default = "default_client")]
    pub client_id: String,
    /// Profile id.
    #[serde(default = "default_profile")]
    pub profile_id: String,
    /// `true` writes the client's file. Without it the plan is returned as a dry run (and,
    /// when the client supports elicitation, the user is asked first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub confirm: Option<bool>,
    /// The `plan_id` of the plan the user saw (from the dry run): only that plan is written;
    /// when the artifact or the file changed since, nothing is written and the error is
    /// `PLAN_STALE` with the fresh plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub plan_id: Option<String>,
}

// ---- the table ------------------------------------------------------------------------------

/// What kind of effect a tool has, for its annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads only.
    Read,
    /// Changes mcp-orch's own state (drafts, secrets), adding things.
    Write,
    /// Changes state and may remove things.
    Destructive,
    /// Starts the configured servers (runs their commands, calls their URLs) and changes no
    /// state. Runs on the async side: it waits on other processes.
    Execute,
}

/// One tool's static description.
pub struct ToolSpec {
    /// Name.
    pub name: &'static str,
    /// Title.
    pub title: &'static str,
    /// Description.
    pub description: &'static str,
    /// Effect, for annotations.
    pub effect: Effect,
    /// Whether calling twice with the same arguments has no further effect.
    pub idempotent: bool,
    /// Whether it changes state that notifications report (so the watcher is poked).
    pub mutates: bool,
    /// The input schema.
    pub schema: fn() -> Arc<JsonObject>,
    /// The output schema: the JSON Schema of the wire type the tool returns.
    pub output: fn() -> Arc<JsonObject>,
}

fn output<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    Arc::new(api::schema::tool_output::<T>())
}

fn schema<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    rmcp::handler::server::tool::schema_for_input::<T>()
        .unwrap_or_else(|_| Arc::new(JsonObject::from_iter([("type".into(), json!("object"))])))
}

/// The token scope a tool needs over HTTP: `read` for tools that only read, `admin` for keys,
/// `write` for everything else (drafts, publish, deploy, rollback, import).
pub fn required_scope(spec: &ToolSpec) -> crate::core::tokens::Scope {
    use crate::core::tokens::Scope;
    match (spec.name, spec.effect) {
        ("initialize_keys", _) => Scope::Admin,
        (_, Effect::Read) => Scope::Read,
        _ => Scope::Write,
    }
}

/// Every tool, in the order `tools/list` shows them.
pub const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "list_clients",
        title: "List clients",
        description: "List the MCP clients mcp-orch knows (Claude Desktop, Claude Code, Cursor, VS Code, ...): whether each is installed, where its config file is, how many servers it has and its profiles.",
        effect: Effect::Read,
        idempotent: true,
        mutates: false,
        schema: schema::<NoArgs>,
        output: output::<api::ClientList>,
    },
    ToolSpec {
        name: "list_profiles",
        title: "List profiles",
        description: "List the profiles of a client: each profile is a separate draft with its own target file (user scope, a project, or a pinned path).",
        effect: Effect::Read,
        idempotent: true,
        mutates: false,
        schema: schema::<ClientArgs>,
        output: output::<api::ProfileList>,
    },
    ToolSpec {
        name: "get_config",
        title: "Get a published config",
        description: "Show a published release of a client and profile (the latest, or `artifact_id`) with its signature verified: version, changelog, signing key and the payload (servers and the entries as they are written into the client's file; secrets only as references).",
        effect: Effect::Read,
        idempotent: true,
        mutates: false,
        schema: schema::<GetConfigArgs>,
        output: output::<api::ReleaseDetail>,
    },
    ToolSpec {
        name: "diff_config",
        title: "Diff config",
        description: "Show what writing the draft (or `local_payload`) into the client's config file would change: servers added, removed and modified field by field, and a unified diff of the file. Secrets are masked. Writes nothing.",
        effect: Effect::Read,
        idempotent: true,
        mutates: false,
        schema: schema::<DiffArgs>,
        output: output::<api::FilePlan>,
    },
    ToolSpec {
        name: "list_available_servers",
        title: "Search the catalog",
        description: "Search the server catalog. `search_query` is a fuzzy query over id, name, tags and description; `transport_filter` keeps one transport (stdio, http, sse); both apply together.",
        effect: Effect::Read,
        idempotent: true,
        mutates: false,
        schema: schema::<SearchArgs>,
        output: output::<api::ServerList>,
    },
    ToolSpec {
        name: "describe_server",
        title: "Describe a server",
        description: "Show one catalog server in full: transport, command or URL, parameters, environment variables (required, optional, secret), package and documentation, with an example `add_server_to_config` call.",
        effect: Effect::Read,
        idempotent: true,
        mutates: false,
        schema: schema::<ServerArgs>,
        output: output::<api::ServerDetail>,
    },
    ToolSpec {
        name: "add_server_to_config",
        title: "Add a server to the draft",
        description: "Add a catalog server to the draft of a client and profile. Parameters are type-checked and defaults applied; secret environment values go to the local secret store and the draft keeps only their names. Returns the validation result of the draft after the change.",
        effect: Effect::Write,
        idempotent: false,
        mutates: true,
        schema: schema::<AddArgs>,
        output: output::<api::DraftChange>,
    },
    ToolSpec {
        name: "remove_server_from_config",
        title: "Remove a server from the draft",
        description: "Remove a server from the draft of a client and profile (the client's file changes only when the draft is deployed).",
        effect: Effect::Destructive,
        idempotent: false,
        mutates: true,
        schema: schema::<RemoveArgs>,
        output: output::<api::DraftChange>,
    },
    ToolSpec {
        name: "view_draft_config",
        title: "View the draft",
        description: "Show the draft of a client and profile: its servers (secret values never included, only their names), revision and last change.",
        effect: Effect::Read,
        idempotent: true,
        mutates: false,
        schema: schema::<TargetArgs>,
        output: output::<api::DraftView>,
    },
    ToolSpec {
        name: "clear_draft_config",
        title: "Clear the draft",
        description: "Remove every server from the draft of a client and profile.",
        effect: Effect::Destructive,
        idempotent: true,
        mutates: true,
        schema: schema::<TargetArgs>,
        output: output::<api::DraftCleared>,
    },
    ToolSpec {
        name: "publish_config",
        title: "Publish the draft",
        description: "Publish the draft of a client and profile as a signed, immutable, versioned artifact. Refuses an empty or invalid draft (VALIDATION_FAILED with every problem). Needs a signing key (see `initialize_keys`).",
        effect: Effect::Write,
        idempotent: false,
        mutates: true,
        schema: schema::<PublishArgs>,
        output: output::<api::Published>,
    },
    ToolSpec {
        name: "initialize_keys",
        title: "Initialize signing keys",
        description: "Create the Ed25519 signing key used to publish artifacts. With `regenerate`, rotate the existing key (releases signed by the old key stay verifiable).",
        effect: Effect::Write,
        idempotent: false,
        mutates: true,
        schema: schema::<KeysArgs>,
        output: output::<api::KeyInitialized>,
    },
    ToolSpec {
        name: "validate_config",
        title: "Validate the draft",
        description: "Validate the draft of a client and profile: every problem at once, each with a stable code, severity, JSON path and hint. An invalid draft is a normal result (`valid: false`), not a tool error.",
        effect: Effect::Read,
        idempotent: true,
        mutates: false,
        schema: schema::<TargetArgs>,
        output: output::<api::Validation>,
    },
    ToolSpec {
        name: "deploy_config",
        title: "Deploy a published config",
        description: "Write a published artifact (the latest by default) into the client's config file: only mcp-orch's entries change, a backup is kept. Acts only with `confirm: true` (or the user's confirmation through elicitation); otherwise returns the plan as a dry run.",
        effect: Effect::Destructive,
        idempotent: true,
        mutates: true,
        schema: schema::<DeployArgs>,
        output: output::<api::DeployOutcome>,
    },
    ToolSpec {
        name: "apply_config",
        title: "Apply the draft to the client",
        description: "From the draft to the client in one step: validate the draft, publish it when it differs from the latest release (needs a signing key: `initialize_keys`), and deploy that release into the client's file. Acts only with `confirm: true` (or the user's confirmation through elicitation); otherwise returns the plan, with its `plan_id`, as a dry run. Pass that `plan_id` with `confirm: true` to write exactly what was shown.",
        effect: Effect::Destructive,
        idempotent: true,
        mutates: true,
        schema: schema::<ApplyArgs>,
        output: output::<api::DeployOutcome>,
    },
    ToolSpec {
        name: "undeploy_config",
        title: "Remove mcp-orch's servers from a client",
        description: "Remove every server mcp-orch put into the client's config file (entries added by hand stay; a backup is kept). Acts only with `confirm: true` (or the user's confirmation through elicitation); otherwise returns the plan as a dry run.",
        effect: Effect::Destructive,
        idempotent: true,
        mutates: true,
        schema: schema::<UndeployArgs>,
        output: output::<api::DeployOutcome>,
    },
    ToolSpec {
        name: "get_config_history",
        title: "Release history",
        description: "List the published releases of a client and profile, newest first: version, artifact id, changelog, servers.",
        effect: Effect::Read,
        idempotent: true,
        mutates: false,
        schema: schema::<HistoryArgs>,
        output: output::<api::ReleaseList>,
    },
    ToolSpec {
        name: "get_audit_log",
        title: "Audit log",
        description: "Read the tamper-evident audit log (publish, deploy, rollback, restore, key events), optionally filtered, and check its hash chain with `verify`.",
        effect: Effect::Read,
        idempotent: true,
        mutates: false,
        schema: schema::<AuditArgs>,
        output: output::<api::AuditPage>,
    },
    ToolSpec {
        name: "config_status",
        title: "Deployment status and drift",
        description: "Show what is deployed where: deployed and latest versions, and drift (entries mcp-orch owns that were changed or removed in the client's file by hand).",
        effect: Effect::Read,
        idempotent: true,
        mutates: false,
        schema: schema::<StatusArgs>,
        output: output::<api::StatusReport>,
    },
    ToolSpec {
        name: "rollback_config",
        title: "Roll back a deploy",
        description: "Deploy an earlier published artifact of a client and profile (one version back by default, or `steps`, or `artifact_id`). Acts only with `confirm: true` (or the user's confirmation through elicitation); otherwise returns the plan as a dry run.",
        effect: Effect::Destructive,
        idempotent: true,
        mutates: true,
        schema: schema::<RollbackArgs>,
        output: output::<api::DeployOutcome>,
    },
    ToolSpec {
        name: "check_server_health",
        title: "Check that servers really work",
        description: "Start servers exactly as the client would (command, arguments, environment with secrets resolved; or the URL with its headers), run initialize and tools/list, and report for each: status (ok, failed, timeout, unsupported), protocol version, tool count and names, latency, and on failure an error code, the reason and the last lines of the server's stderr. One server by `server_name` (a draft name or a catalog id), or every server of the draft. Changes nothing.",
        effect: Effect::Execute,
        idempotent: true,
        mutates: false,
        schema: schema::<HealthArgs>,
        output: output::<api::HealthReport>,
    },
    ToolSpec {
        name: "import_client_config",
        title: "Import the client's file",
        description: "Adopt the servers already in the client's config file into the draft. Plain-text secrets are moved into the local secret store; servers already in the draft are skipped.",
        effect: Effect::Write,
        idempotent: true,
        mutates: true,
        schema: schema::<TargetArgs>,
        output: output::<api::ImportOutcome>,
    },
];

/// Whether a tool's answer depends only on its arguments and the catalog (which does not
/// change while an orchestrator is loaded), so that it can be kept per orchestrator.
pub fn reads_only_the_catalog(name: &str) -> bool {
    matches!(name, "list_available_servers" | "describe_server")
}

/// The spec of a tool by name.
pub fn spec(name: &str) -> Option<&'static ToolSpec> {
    TOOLS.iter().find(|t| t.name == name)
}

/// The `tools/list` entries (built once: their schemas do not change while the process runs).
pub fn list() -> Vec<Tool> {
    static TOOL_LIST: std::sync::OnceLock<Vec<Tool>> = std::sync::OnceLock::new();
    TOOL_LIST.get_or_init(build_list).clone()
}

fn build_list() -> Vec<Tool> {
    TOOLS
        .iter()
        .map(|t| {
            let annotations = ToolAnnotations::with_title(t.title)
                .read_only(t.effect == Effect::Read)
                .destructive(t.effect == Effect::Destructive)
                .idempotent(t.idempotent)
                .open_world(t.effect == Effect::Execute);
            Tool::new(t.name, t.description, (t.schema)())
                .with_raw_output_schema((t.output)())
                .with_title(t.title)
                .with_annotations(annotations)
        })
        .collect()
}

// ---- dispatch -------------------------------------------------------------------------------

/// Runs a tool that waits on servers ([`Effect::Execute`]) without blocking a worker thread.
pub async fn call_async(orch: &Orchestrator, name: &str, args: JsonObject) -> Outcome {
    match name {
        "check_server_health" => check_server_health(orch, parse(name, args)?).await,
        _ => Err(Error::Internal(format!(
            "tool `{name}` has no async handler"
        ))),
    }
}

/// `check_server_health`.
pub async fn check_server_health(orch: &Orchestrator, a: HealthArgs) -> Outcome {
    if !(1..=HEALTH_TIMEOUT_MAX_SECS).contains(&a.timeout_secs) {
        return Err(bad_argument(
            "timeout_secs",
            format!(
                "timeout_secs must be between 1 and {HEALTH_TIMEOUT_MAX_SECS}, not {}",
                a.timeout_secs
            ),
            format!("leave it out for {HEALTH_TIMEOUT_SECS} seconds"),
        ));
    }
    let timeout = std::time::Duration::from_secs(a.timeout_secs);
    let probes = if a.as_client {
        orch.probe_as_client(
            &a.client_id,
            &a.profile_id,
            a.server_name.as_deref(),
            timeout,
        )
        .await?
    } else if let Some(name) = &a.server_name {
        let target = ProbeTarget::named(
            name.clone(),
            Some(a.client_id.clone()),
            Some(a.profile_id.clone()),
        );
        vec![orch.probe(target, timeout).await?]
    } else {
        let draft = orch.draft(&a.client_id, &a.profile_id)?;
        orch.probe_draft(&draft, timeout).await?
    };
    api::to_json(&api::HealthReport::of(
        Some(a.client_id),
        Some(a.profile_id),
        probes,
    ))
}

fn bad_argument(field: &str, message: String, hint: String) -> Error {
    Error::invalid(Code::InvalidArguments, field, message, hint)
}

/// Parses a tool's arguments; a mismatch is an `INVALID_ARGUMENTS` tool error naming the field.
pub fn parse<T: DeserializeOwned>(tool: &str, args: JsonObject) -> core::Result<T> {
    serde_json::from_value(Value::Object(args)).map_err(|e| {
        let message = e.to_string();
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| message.contains("field"))
            .unwrap_or("arguments")
            .to_owned();
        bad_argument(
            &field,
            format!("invalid arguments for `{tool}`: {message}"),
            format!("see the input schema of `{tool}` in tools/list"),
        )
    })
}

/// Runs a synchronous tool by name. `None` for an unknown name.
pub fn call(orch: &Orchestrator, name: &str, args: JsonObject, actor: &str) -> Option<Outcome> {
    Some(match name {
        "list_clients" => parse::<NoArgs>(name, args).and_then(|_| list_clients(orch)),
        "list_profiles" => parse(name, args).and_then(|a| list_profiles(orch, &a)),
        "diff_config" => parse(name, args).and_then(|a| diff_config(orch, a)),
        "list_available_servers" => parse(name, args).and_then(|a| list_available_servers(orch, a)),
        "describe_server" => parse(name, args).and_then(|a| describe_server(orch, &a)),
        "add_server_to_config" => parse(name, args).and_then(|a| add_server_to_config(orch, a)),
        "remove_server_from_config" => {
            parse(name, args).and_then(|a| remove_server_from_config(orch, &a))
        }
        "view_draft_config" => parse(name, args).and_then(|a| view_draft_config(orch, &a)),
        "clear_draft_config" => parse(name, args).and_then(|a| clear_draft_config(orch, &a)),
        "validate_config" => parse(name, args).and_then(|a| validate_config(orch, &a)),
        "import_client_config" => parse(name, args).and_then(|a| import_client_config(orch, &a)),
        "get_config" => parse(name, args).and_then(|a| get_config(orch, &a)),
        "publish_config" => parse(name, args).and_then(|a| publish_config(orch, &a, actor)),
        "initialize_keys" => parse(name, args).and_then(|a| initialize_keys(orch, &a, actor)),
        "get_config_history" => parse(name, args).and_then(|a| get_config_history(orch, &a)),
        "get_audit_log" => parse(name, args).and_then(|a| get_audit_log(orch, &a)),
        "config_status" => parse(name, args).and_then(|a| config_status(orch, &a)),
        "deploy_config" => parse(name, args).and_then(|a| deploy_config(orch, &a, actor)),
        "rollback_config" => parse(name, args).and_then(|a| rollback_config(orch, &a, actor)),
        "apply_config" => parse(name, args).and_then(|a| apply_config(orch, &a, actor)),
        "undeploy_config" => parse(name, args).and_then(|a| undeploy_config(orch, &a, actor)),
        _ => return None,
    })
}

// ---- tools ----------------------------------------------------------------------------------

/// `list_clients`.
pub fn list_clients(orch: &Orchestrator) -> Outcome {
    api::to_json(&api::clients::list_clients(orch)?)
}

/// `list_profiles`.
pub fn list_profiles(orch: &Orchestrator, a: &ClientArgs) -> Outcome {
    api::to_json(&api::clients::list_profiles(orch, &a.client_id)?)
}

/// The entries of a payload given to `diff_config`, unwrapped from the client's container.
fn payload_entries(
    orch: &Orchestrator,
    client: &str,
    payload: ObjectOrString,
) -> core::Result<BTreeMap<String, Value>> {
    let def = orch.client(client)?;
    let mut root = Value::Object(payload.into_object("local_payload")?);
    for key in &def.container {
        match root.get(key) {
            Some(inner) if inner.is_object() || inner.is_array() => root = inner.clone(),
            _ => break,
        }
    }
    let entries: Vec<(String, Value)> = match root {
        Value::Object(map) => map.into_iter().collect(),
        Value::Array(items) if !def.name_field.is_empty() => items
            .into_iter()
            .map(|item| {
                let name = item
                    .get(&def.name_field)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        bad_argument(
                            "local_payload",
                            format!("an entry of local_payload has no `{}`", def.name_field),
                            format!("give every entry a `{}` field", def.name_field),
                        )
                    })?;
                Ok((name, item))
            })
            .collect::<core::Result<_>>()?,
        _ => {
            return Err(bad_argument(
                "local_payload",
                "local_payload must map server names to entries".into(),
                format!(
                    "give it as {{\"{}\": {{\"name\": {{...}}}}}}",
                    def.container.join(".")
                ),
            ));
        }
    };
    for (name, entry) in &entries {
        if !entry.is_object() {
            return Err(bad_argument(
                &format!("local_payload.{name}"),
                format!("the entry of `{name}` in local_payload is not an object"),
                "give each server as an object in the client's own spelling".into(),
            ));
        }
    }
    Ok(entries.into_iter().collect())
}

/// `diff_config`.
pub fn diff_config(orch: &Orchestrator, a: DiffArgs) -> Outcome {
    let plan = match a.local_payload {
        None => api::deploy::diff_draft(orch, &a.client_id, &a.profile_id)?,
        Some(payload) => {
            orch.profile(&a.client_id, &a.profile_id)?;
            let entries = payload_entries(orch, &a.client_id, payload)?;
            let plan = orch.plan_file(&a.client_id, &a.profile_id, entries, &BTreeSet::new())?;
            api::FilePlan::of(&plan, "local_payload")
        }
    };
    api::to_json(&plan)
}

/// `list_available_servers`.
pub fn list_available_servers(orch: &Orchestrator, a: SearchArgs) -> Outcome {
    api::to_json(&api::catalog::search_servers(
        orch,
        &api::catalog::Search {
            text: a.search_query.unwrap_or_default(),
            transport: a.transport_filter,
            tag: None,
            limit: None,
        },
    )?)
}

/// `describe_server`.
pub fn describe_server(orch: &Orchestrator, a: &ServerArgs) -> Outcome {
    api::to_json(&api::catalog::describe_server(orch, &a.server_id)?)
}

/// `add_server_to_config`.
pub fn add_server_to_config(orch: &Orchestrator, a: AddArgs) -> Outcome {
    let params = a
        .params
        .map(|p| p.into_pairs("params"))
        .transpose()?
        .unwrap_or_default();
    let env = a
        .env_vars
        .map(|p| p.into_pairs("env_vars"))
        .transpose()?
        .unwrap_or_default();
    api::to_json(&api::drafts::add_server(
        orch,
        &AddServer {
            client: a.client_id,
            profile: a.profile_id,
            server_id: a.server_id,
            name: a.server_name.filter(|n| !n.trim().is_empty()),
            params,
            env,
            secret_delivery: a.secret_delivery,
            if_exists: a.if_exists,
            ..AddServer::default()
        },
    )?)
}

/// `remove_server_from_config`.
pub fn remove_server_from_config(orch: &Orchestrator, a: &RemoveArgs) -> Outcome {
    api::to_json(&api::drafts::remove_server(
        orch,
        &a.client_id,
        &a.profile_id,
        &a.server_name,
    )?)
}

/// `view_draft_config`.
pub fn view_draft_config(orch: &Orchestrator, a: &TargetArgs) -> Outcome {
    api::to_json(&api::drafts::view_draft(orch, &a.client_id, &a.profile_id)?)
}

/// `clear_draft_config`.
pub fn clear_draft_config(orch: &Orchestrator, a: &TargetArgs) -> Outcome {
    api::to_json(&api::drafts::clear_draft(
        orch,
        &a.client_id,
        &a.profile_id,
    )?)
}

/// `validate_config`.
pub fn validate_config(orch: &Orchestrator, a: &TargetArgs) -> Outcome {
    api::to_json(&api::drafts::validate(orch, &a.client_id, &a.profile_id)?)
}

/// `import_client_config`.
pub fn import_client_config(orch: &Orchestrator, a: &TargetArgs) -> Outcome {
    api::to_json(&api::drafts::import(orch, &a.client_id, &a.profile_id)?)
}

// ---- publishing and deploying ---------------------------------------------------------------

/// `get_config`.
pub fn get_config(orch: &Orchestrator, a: &GetConfigArgs) -> Outcome {
    api::to_json(&api::releases::get_release(
        orch,
        &a.client_id,
        &a.profile_id,
        a.artifact_id.as_deref(),
    )?)
}

/// `publish_config`.
pub fn publish_config(orch: &Orchestrator, a: &PublishArgs, actor: &str) -> Outcome {
    api::to_json(&api::releases::publish(
        orch,
        &a.client_id,
        &a.profile_id,
        a.changelog.as_deref(),
        actor,
    )?)
}

/// `initialize_keys`.
pub fn initialize_keys(orch: &Orchestrator, a: &KeysArgs, actor: &str) -> Outcome {
    api::to_json(&api::releases::init_keys(orch, a.regenerate, actor)?)
}

fn non_negative(field: &str, n: Option<i64>) -> core::Result<Option<usize>> {
    n.map(|n| {
        usize::try_from(n).map_err(|_| {
            bad_argument(
                field,
                format!("`{field}` must not be negative, got {n}"),
                format!("give {field} as a positive number"),
            )
        })
    })
    .transpose()
}

/// `get_config_history`.
pub fn get_config_history(orch: &Orchestrator, a: &HistoryArgs) -> Outcome {
    let limit = non_negative("limit", a.limit)?;
    api::to_json(&api::releases::history(
        orch,
        &a.client_id,
        &a.profile_id,
        limit,
    )?)
}

/// `get_audit_log`.
pub fn get_audit_log(orch: &Orchestrator, a: &AuditArgs) -> Outcome {
    api::to_json(&api::audit::read(
        orch,
        &api::AuditQuery {
            client: a.client_id.clone(),
            profile: a.profile_id.clone(),
            action: a.action.clone(),
            since: None,
            limit: non_negative("limit", a.limit)?,
            verify: a.verify,
        },
    )?)
}

/// `config_status`.
pub fn config_status(orch: &Orchestrator, a: &StatusArgs) -> Outcome {
    api::to_json(&api::deploy::status(
        orch,
        a.client_id.as_deref(),
        a.profile_id.as_deref(),
    )?)
}

/// Plans `action` (a dry run) or, with `confirm: true`, applies it: exactly the plan
/// `plan_id` names when given, else a plan made under the file's lock.
fn plan_or_apply(
    orch: &Orchestrator,
    (client, profile): (&str, &str),
    action: Action,
    (confirm, plan_id, adopt): (Option<bool>, Option<&str>, bool),
    actor: &str,
) -> Outcome {
    let req = PlanRequest {
        adopt,
        ..PlanRequest::new(client, profile, action)
    };
    api::to_json(&api::deploy::plan_or_apply(
        orch,
        &req,
        confirm == Some(true),
        plan_id,
        actor,
    )?)
}

/// `deploy_config`.
pub fn deploy_config(orch: &Orchestrator, a: &DeployArgs, actor: &str) -> Outcome {
    let action = Action::Deploy {
        artifact: a.artifact_id.clone(),
        inline_secrets: false,
    };
    let confirm = (a.confirm, a.plan_id.as_deref(), a.adopt);
    plan_or_apply(orch, (&a.client_id, &a.profile_id), action, confirm, actor)
}

/// `rollback_config`.
pub fn rollback_config(orch: &Orchestrator, a: &RollbackArgs, actor: &str) -> Outcome {
    let to = match (&a.artifact_id, non_negative("steps", a.steps)?) {
        (Some(id), _) => RollbackTarget::Artifact(id.clone()),
        (None, steps) => RollbackTarget::Steps(steps.unwrap_or(1).max(1)),
    };
    let confirm = (a.confirm, a.plan_id.as_deref(), a.adopt);
    let action = Action::Rollback { to };
    plan_or_apply(orch, (&a.client_id, &a.profile_id), action, confirm, actor)
}

/// `apply_config`.
pub fn apply_config(orch: &Orchestrator, a: &ApplyArgs, actor: &str) -> Outcome {
    let action = Action::Apply {
        changelog: a.changelog.clone(),
    };
    let confirm = (a.confirm, a.plan_id.as_deref(), a.adopt);
    plan_or_apply(orch, (&a.client_id, &a.profile_id), action, confirm, actor)
}

/// `undeploy_config`.
pub fn undeploy_config(orch: &Orchestrator, a: &UndeployArgs, actor: &str) -> Outcome {
    let confirm = (a.confirm, a.plan_id.as_deref(), false);
    plan_or_apply(
        orch,
        (&a.client_id, &a.profile_id),
        Action::Undeploy,
        confirm,
        actor,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> JsonObject {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn params_accept_an_object_or_a_json_string() {
        let from_object = ObjectOrString::Object(obj(json!({"path": "/x", "port": 5, "on": true})));
        let from_string = ObjectOrString::String(r#"{"path": "/x", "port": 5, "on": true}"#.into());
        let want = vec![
            ("on".to_owned(), "true".to_owned()),
            ("path".to_owned(), "/x".to_owned()),
            ("port".to_owned(), "5".to_owned()),
        ];
        let mut a = from_object.into_pairs("params").unwrap();
        let mut b = from_string.into_pairs("params").unwrap();
        a.sort();
        b.sort();
        assert_eq!(a, want);
        assert_eq!(b, want);
        assert!(
            ObjectOrString::String("  ".into())
                .into_pairs("params")
                .unwrap()
                .is_empty()
        );
        let e = ObjectOrString::String("[1]".into())
            .into_pairs("params")
            .unwrap_err();
        assert_eq!(
            (e.code(), e.body().field.as_deref()),
            ("INVALID_ARGUMENTS", Some("params"))
        );
        let e = ObjectOrString::Object(obj(json!({"a": [1]})))
            .into_pairs("env_vars")
            .unwrap_err();
        assert_eq!(e.body().field.as_deref(), Some("env_vars.a"));
    }

    #[test]
    fn argument_errors_name_the_field() {
        let e = parse::<ClientArgs>("list_profiles", JsonObject::new()).unwrap_err();
        assert_eq!(
            (e.code(), e.body().field.as_deref()),
            ("INVALID_ARGUMENTS", Some("client_id"))
        );
        let e = parse::<NoArgs>("list_clients", obj(json!({"x": 1}))).unwrap_err();
        assert_eq!(e.body().field.as_deref(), Some("x"));
        let a = parse::<TargetArgs>("view_draft_config", JsonObject::new()).unwrap();
        assert_eq!(
            (a.client_id.as_str(), a.profile_id.as_str()),
            ("claude-desktop", "default")
        );
    }

    #[test]
    fn every_tool_has_a_handler_schema_and_annotations() {
        let tools = list();
        assert_eq!(tools.len(), TOOLS.len());
        for t in &tools {
            assert_eq!(
                t.input_schema.get("type"),
                Some(&json!("object")),
                "{}",
                t.name
            );
            let a = t.annotations.as_ref().unwrap();
            assert!(
                a.read_only_hint.is_some()
                    && a.destructive_hint.is_some()
                    && a.idempotent_hint.is_some()
            );
        }
        let mut names: Vec<&str> = TOOLS.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TOOLS.len(), "duplicate tool names");
    }
}
