//! The REST API under `/v1`: the original's 14 endpoints on their original paths, working
//! (draft add, publish, deploy and get-config were broken there), plus diff, history, status,
//! audit and rollback. Every handler checks its scope, runs the core off the async threads and
//! answers with documented shapes (see /openapi.json); errors are `{"error": {...}}` with the
//! core's stable codes.

use crate::core::code::Code;
use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::Principal;
use super::error::{self, ApiError};
use crate::core::audit::Filter;
use crate::core::catalog::Transport;
use crate::core::orchestrator::{Action, AddServer, PlanRequest, RollbackTarget};
use crate::core::search::Query;
use crate::core::tokens::Scope;

// ---- extractors with JSON errors ------------------------------------------------------------

/// A JSON body whose rejections are `{"error": ...}` bodies.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Path parameters whose rejections are `{"error": ...}` bodies.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// A query string whose rejections are `{"error": ...}` bodies.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        error::json_rejection(&r)
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        error::path_rejection(&r)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        error::query_rejection(&r)
    }
}

/// An optional JSON body: empty (or `null`) means the defaults; anything else must be
/// `application/json` (415 `UNSUPPORTED_MEDIA_TYPE` otherwise) and match the type, unknown
/// fields refused (400 `MALFORMED_JSON`).
pub struct OptionalJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|m| {
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            });
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r: BytesRejection| {
                let status = r.status();
                ApiError::http(
                    status,
                    if status == StatusCode::PAYLOAD_TOO_LARGE {
                        "BODY_TOO_LARGE"
                    } else {
                        "MALFORMED_BODY"
                    },
                    r.body_text(),
                    "send a JSON body of at most 1 MiB",
                )
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
            return Ok(Self(T::default()));
        }
        if !json {
            return Err(ApiError::http(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "the body is not declared as JSON",
                "send it with `Content-Type: application/json`",
            ));
        }
        serde_json::from_slice(&bytes).map(Self).map_err(|e| {
            ApiError::http(
                StatusCode::BAD_REQUEST,
                "MALFORMED_JSON",
                format!("the body is not valid for this endpoint: {e}"),
                "send a JSON object as described in /openapi.json, or no body",
            )
        })
    }
}

// ---- shapes -----------------------------------------------------------------------------------

/// The (client, profile) of a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TargetPath {
    /// Client id, e.g. `cursor`.
    #[param(pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")]
    pub client_id: String,
    /// Profile id, e.g. `default`.
    #[param(pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")]
    pub profile: String,
}

/// One event of the stream, as schemathesis and other tools parse it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamEvent {
    /// Event id (absent on `resync`).
    pub id: Option<String>,
    /// Event type: `draft_changed`, `published`, `deployed`, `rolled_back`, `restored`,
    /// `keys_changed`, `tokens_changed`, `audit`, `resync`.
    pub event: Option<String>,
    /// JSON text with `type`, `id` and the event's fields.
    pub data: String,
    /// Reconnection delay.
    pub retry: Option<u64>,
}

/// Transports in queries.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransportParam {
    /// Local process.
    Stdio,
    /// Streamable HTTP.
    Http,
    /// Legacy SSE.
    Sse,
}

/// `{"error": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorBodySchema,
}

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBodySchema {
    /// Stable code, e.g. `UNKNOWN_CLIENT`.
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// The bad input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What to do next.
    pub hint: String,
    /// Structured details.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: String,
    /// mcp-orch version.
    pub version: String,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// Storage check.
    pub storage: StorageHealth,
}

/// The storage check.
#[derive(Debug, Serialize, ToSchema)]
pub struct StorageHealth {
    /// Whether the state directory is readable and writable.
    pub ok: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One client.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientSummary {
    /// Client id.
    pub client_id: String,
    /// Display name.
    pub display_name: String,
    /// The operating system the path was resolved for.
    pub platform: String,
    /// The config file.
    pub config_path: String,
    /// File format.
    pub format: String,
    /// Whether the file exists.
    pub detected: bool,
    /// Servers in the file now.
    pub server_count: Option<usize>,
    /// Profile ids.
    pub profiles: Vec<String>,
}

/// `GET /v1/clients`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientsResponse {
    /// Every known client.
    pub clients: Vec<ClientSummary>,
    /// How many.
    pub count: usize,
}

/// `GET /v1/clients/{client_id}/profiles`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfilesResponse {
    /// Client id.
    pub client_id: String,
    /// Profile ids.
    pub profiles: Vec<String>,
    /// Each profile in full.
    #[schema(value_type = Vec<Object>)]
    pub details: Vec<Value>,
}

/// A published configuration.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigResponse {
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// Content address of the payload.
    pub artifact_id: String,
    /// Version within the (client, profile).
    pub version: u64,
    /// When it was published.
    pub created_at: String,
    /// The signing key.
    pub key_id: String,
    /// The changelog.
    pub changelog: Option<String>,
    /// Always true: a release whose signature or payload hash does not verify against the
    /// trust store is an error (422) with its code, as on every face.
    pub verified: bool,
    /// The payload: servers and rendered entries (secret values never appear).
    #[schema(value_type = Object)]
    pub payload: Value,
}

/// `GET /v1/config/{client_id}/{profile}` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConfigQuery {
    /// A specific artifact (id or unique prefix of at least 8 hex digits) of this client and
    /// profile.
    #[param(pattern = "^[0-9a-f]{8,64}$")]
    pub artifact_id: Option<String>,
}

/// `POST /v1/config/diff` body: two `mcpServers` objects (or whole config files holding one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffRequest {
    /// The old configuration.
    #[schema(value_type = Object)]
    pub config1: Value,
    /// The new configuration.
    #[schema(value_type = Object)]
    pub config2: Value,
}

/// `POST /v1/config/diff`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiffResponse {
    /// `up-to-date` or `diverged`.
    pub status: String,
    /// Servers only in config2.
    pub added: Vec<String>,
    /// Servers only in config1.
    pub removed: Vec<String>,
    /// Servers in both that differ.
    pub modified: Vec<String>,
    /// Servers in both that are equal.
    pub unchanged: Vec<String>,
    /// Field-level changes of the modified servers (secret-looking values redacted).
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<Value>,
    /// `"<status>: <n> changes"`.
    pub diff: String,
}

/// `POST …/draft/add` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRequest {
    /// Catalog id.
    pub server_id: String,
    /// Parameter values.
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// Env values; those the catalog marks secret go to the secret store.
    #[serde(default)]
    pub env_vars: BTreeMap<String, String>,
    /// Name in the client's file (default: the id).
    #[serde(default)]
    pub server_name: Option<String>,
    /// How its secrets reach it: `launcher` (default) or `env` (the client's own reference,
    /// which must be exported in the client's environment).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "launcher")]
    pub secret_delivery: Option<crate::core::render::SecretDelivery>,
}

/// `POST …/draft/remove` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveRequest {
    /// The server's name in the draft (the original called it `server_id`).
    #[serde(default)]
    pub server_id: Option<String>,
    /// Same, by its proper name.
    #[serde(default)]
    pub server_name: Option<String>,
}

/// A draft change.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftChange {
    /// Always true.
    pub success: bool,
    /// What happened.
    pub message: String,
    /// The server concerned.
    pub server_name: String,
    /// Servers in the draft now.
    pub server_count: usize,
    /// Secrets written to the secret store (names only).
    pub stored_secrets: Vec<String>,
    /// The draft.
    #[schema(value_type = Object)]
    pub draft: Value,
}

/// `GET …/draft`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftView {
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// Server names, sorted.
    pub servers: Vec<String>,
    /// How many.
    pub server_count: usize,
    /// Change counter.
    pub revision: u64,
    /// When it last changed (RFC 3339), `null` for a draft never saved.
    #[schema(value_type = Option<String>)]
    pub updated_at: Value,
    /// The draft's servers.
    #[schema(value_type = Object)]
    pub draft: Value,
    /// The entries as they would be written, in the client's spelling (secrets referenced).
    #[serde(rename = "mcpServers")]
    #[schema(value_type = Object)]
    pub mcp_servers: Value,
    /// Why the entries cannot be rendered yet (the draft is shown all the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub render_error: Option<Value>,
}

/// `DELETE …/draft`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClearResponse {
    /// Always true.
    pub success: bool,
    /// What happened.
    pub message: String,
    /// Servers the draft had.
    pub previous_count: usize,
}

/// `POST …/validate`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidateResponse {
    /// No errors.
    pub valid: bool,
    /// Errors.
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<Value>,
    /// Warnings.
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<Value>,
    /// Servers in the draft.
    pub server_count: usize,
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// When.
    pub validated_at: String,
}

/// `POST …/publish` body (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// What changed.
    #[serde(default)]
    pub changelog: Option<String>,
}

/// `POST …/publish`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublishResponse {
    /// Always true.
    pub success: bool,
    /// What happened.
    pub message: String,
    /// The new artifact.
    pub artifact_id: String,
    /// Its version.
    pub version: u64,
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// Servers published.
    pub server_count: usize,
    /// The signing key.
    pub key_id: String,
    /// When.
    pub created_at: String,
    /// The changelog.
    pub changelog: Option<String>,
}

/// `POST …/deploy` body (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployBody {
    /// The artifact (id or unique prefix); the latest when absent.
    #[serde(default)]
    #[schema(pattern = "^[0-9a-f]{8,64}$")]
    pub artifact_id: Option<String>,
    /// Plan only.
    #[serde(default)]
    pub dry_run: bool,
    /// Apply exactly this plan (the `plan_id` of a dry run): when the artifact or the file
    /// changed since, nothing is written and the answer is 409 `PLAN_STALE` with the fresh plan.
    #[serde(default)]
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub plan_id: Option<String>,
    /// Take over same-named servers the user added by hand.
    #[serde(default)]
    pub adopt: bool,
}

/// `POST …/rollback` body (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    /// Go to this artifact (id or unique prefix); not together with `steps`.
    #[serde(default)]
    #[schema(pattern = "^[0-9a-f]{8,64}$")]
    pub artifact_id: Option<String>,
    /// Or this many versions before the deployed one (default 1).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub steps: Option<u32>,
    /// Plan only.
    #[serde(default)]
    pub dry_run: bool,
    /// Apply exactly this plan (the `plan_id` of a dry run): when the artifact or the file
    /// changed since, nothing is written and the answer is 409 `PLAN_STALE` with the fresh plan.
    #[serde(default)]
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub plan_id: Option<String>,
}

/// `POST …/apply` body (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyBody {
    /// What changed, signed with the release when the draft is published.
    #[serde(default)]
    pub changelog: Option<String>,
    /// Plan only.
    #[serde(default)]
    pub dry_run: bool,
    /// Apply exactly this plan (the `plan_id` of a dry run): when the artifact or the file
    /// changed since, nothing is written and the answer is 409 `PLAN_STALE` with the fresh plan.
    #[serde(default)]
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub plan_id: Option<String>,
    /// Take over same-named servers the user added by hand.
    #[serde(default)]
    pub adopt: bool,
}

/// `POST …/undeploy` body (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UndeployBody {
    /// Plan only.
    #[serde(default)]
    pub dry_run: bool,
    /// Apply exactly this plan (the `plan_id` of a dry run): when the artifact or the file
    /// changed since, nothing is written and the answer is 409 `PLAN_STALE` with the fresh plan.
    #[serde(default)]
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub plan_id: Option<String>,
}

/// `POST …/deploy` and `…/rollback`.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Serialize, ToSchema)]
pub struct DeployResponse {
    /// Always true.
    pub success: bool,
    /// The plan's id: apply exactly this plan by sending it back.
    pub plan_id: String,
    /// `deploy`, `rollback`, `undeploy` or `apply`.
    pub action: String,
    /// Whether the draft is published first (apply).
    pub publishes: bool,
    /// What happened.
    pub message: String,
    /// Whether the file was written (false on a dry run or when nothing changed).
    pub deployed: bool,
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// The artifact.
    pub artifact_id: Option<String>,
    /// Its version.
    pub version: Option<u64>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Whether the file changed.
    pub changed: bool,
    /// Backup of the previous file.
    pub backup_id: Option<String>,
    /// The file.
    pub config_path: String,
    /// The plan: server changes, unified diff (redacted), notes.
    #[schema(value_type = Object)]
    pub plan: Value,
}

/// `GET …/history`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryResponse {
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// Releases, newest first.
    pub releases: Vec<ReleaseSummary>,
}

/// One release.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseSummary {
    /// Artifact id.
    pub artifact_id: String,
    /// Version.
    pub version: u64,
    /// When.
    pub created_at: String,
    /// Signing key.
    pub key_id: String,
    /// Changelog.
    pub changelog: Option<String>,
    /// Servers.
    pub servers: Vec<String>,
}

/// `GET /v1/servers` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ServersQuery {
    /// `stdio`, `http` or `sse`.
    #[param(value_type = Option<TransportParam>)]
    pub transport: Option<String>,
    /// Fuzzy text.
    pub search: Option<String>,
    /// A tag.
    pub tag: Option<String>,
}

/// One catalog server in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerSummary {
    /// Catalog id.
    pub server_id: String,
    /// Display name.
    pub display_name: String,
    /// One line.
    pub description: String,
    /// `stdio`, `http` or `sse`.
    pub transport: String,
    /// npm package, when it is one.
    pub npm_package: Option<String>,
    /// stdio command.
    pub command: Option<String>,
    /// stdio args (with `{param}` placeholders).
    pub args: Vec<String>,
    /// Remote URL template.
    pub url: Option<String>,
    /// Env var names.
    pub env: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Whether it takes parameters.
    pub has_parameters: bool,
    /// Whether it needs env vars.
    pub requires_env: bool,
}

/// `GET /v1/servers`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServersResponse {
    /// Matches, best first.
    pub servers: Vec<ServerSummary>,
    /// How many.
    pub count: usize,
}

/// `POST /v1/keys/initialize` body (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysRequest {
    /// Replace an existing key (the old one stays trusted).
    #[serde(default)]
    pub regenerate: bool,
}

/// `POST /v1/keys/initialize`.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeysResponse {
    /// Always true.
    pub success: bool,
    /// `initialized` or `regenerated`.
    pub status: String,
    /// What happened.
    pub message: String,
    /// The public half only.
    pub keys: PublicKey,
}

/// A public key.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKey {
    /// Key id.
    pub key_id: String,
    /// `ed25519`.
    pub algorithm: String,
    /// Base64.
    pub public_key: String,
    /// The key it replaced.
    pub rotated_from: Option<String>,
}

/// `GET /v1/status` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// Only this client.
    pub client: Option<String>,
}

/// `GET /v1/status`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResponse {
    /// Every target with a deploy record or a release.
    #[schema(value_type = Vec<Object>)]
    pub targets: Vec<Value>,
    /// How many.
    pub count: usize,
    /// Whether any target needs attention (drifted, file missing or unreadable, launcher gone).
    pub drift_detected: bool,
    /// Those targets: `{client_id, profile_id}`.
    #[schema(value_type = Vec<Object>)]
    pub drifted: Vec<Value>,
}

/// `GET /v1/audit` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this client.
    pub client: Option<String>,
    /// Only this profile.
    pub profile: Option<String>,
    /// Only this action (`publish`, `deploy`, `token.create`, ...).
    pub action: Option<String>,
    /// Only records at or after this RFC 3339 time.
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// The newest N records (default 100, at most 10000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

/// `GET /v1/audit`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditResponse {
    /// Records, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<Value>,
    /// How many.
    pub count: usize,
}

/// `GET /v1/audit/verify`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerifyResponse {
    /// Whether the hash chain holds.
    pub ok: bool,
    /// The report.
    #[schema(value_type = Object)]
    pub report: Value,
}

/// `GET /v1/events/recent`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecentEvents {
    /// Events, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Value>,
    /// The id the next event will get.
    pub next_id: u64,
}

/// `GET /mcp/info`.
#[derive(Debug, Serialize, ToSchema)]
pub struct McpInfo {
    /// `mcp-orch`.
    pub name: String,
    /// Version.
    pub version: String,
    /// MCP protocol revisions served.
    pub protocol_versions: Vec<String>,
    /// Transports and their endpoints.
    #[schema(value_type = Object)]
    pub transports: Value,
    /// Authentication modes.
    pub auth: Vec<String>,
    /// Capabilities.
    #[schema(value_type = Object)]
    pub capabilities: Value,
    /// Other endpoints.
    #[schema(value_type = Object)]
    pub endpoints: Value,
}

// ---- helpers ----------------------------------------------------------------------------------

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn param_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn servers_of(config: &Value) -> Result<BTreeMap<String, Value>, ApiError> {
    let inner = config
        .get("mcpServers")
        .or_else(|| config.get("servers"))
        .unwrap_or(config);
    let Some(obj) = inner.as_object() else {
        return Err(ApiError::http(
            StatusCode::BAD_REQUEST,
            "INVALID_BODY",
            "config1 and config2 must be objects of servers (or hold `mcpServers`)",
            "send {\"config1\": {\"mcpServers\": {...}}, \"config2\": {...}}",
        ));
    };
    Ok(obj.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn publish_shape(r: &crate::core::artifact::Release) -> PublishResponse {
    PublishResponse {
        success: true,
        message: format!(
            "published {}/{} version {}",
            r.client_id(),
            r.profile_id(),
            r.version()
        ),
        artifact_id: r.artifact_id().to_owned(),
        version: r.version(),
        client_id: r.client_id().to_owned(),
        profile_id: r.profile_id().to_owned(),
        server_count: r.envelope.metadata.server_count,
        key_id: r.key_id.clone(),
        created_at: r.envelope.created_at.to_rfc3339(),
        changelog: r.envelope.changelog.clone(),
    }
}

fn deploy_shape(r: &crate::core::orchestrator::DeployReport, verb: &str) -> DeployResponse {
    let message = if r.dry_run {
        format!(
            "dry run: {} server change(s) planned",
            r.plan.servers.total_changes()
        )
    } else if r.changed {
        format!("{verb} {} into {}", r.plan.client_id, r.plan.path.display())
    } else {
        "nothing to change: the file already holds these entries".to_owned()
    };
    DeployResponse {
        success: true,
        plan_id: r.plan_id.clone(),
        action: r.action.to_owned(),
        publishes: r.publishes,
        message,
        deployed: !r.dry_run && r.changed,
        client_id: r.client_id.clone(),
        profile_id: r.profile_id.clone(),
        artifact_id: r.artifact_id.clone(),
        version: r.version,
        dry_run: r.dry_run,
        changed: r.changed,
        backup_id: r.backup_id.clone(),
        config_path: r.plan.path.display().to_string(),
        plan: to_value(&r.plan),
    }
}

// ---- handlers ---------------------------------------------------------------------------------

/// Liveness plus a storage check: the state directory must be readable and writable.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses(
        (status = 200, description = "Alive and storage works", body = Health),
        (status = 503, description = "Alive but storage fails", body = Health),
    )
)]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let home = state.core.get().home().to_path_buf();
    let check = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let probe = home.join(format!(".health-{}", std::process::id()));
        std::fs::write(&probe, b"ok").map_err(|e| format!("writing {}: {e}", probe.display()))?;
        let back = std::fs::read(&probe).map_err(|e| format!("reading back: {e}"))?;
        let _ = std::fs::remove_file(&probe);
        if back == b"ok" {
            Ok(())
        } else {
            Err("read back different bytes".into())
        }
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    let ok = check.is_ok();
    let body = Health {
        status: if ok { "ok" } else { "degraded" }.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_seconds: state.metrics_uptime(),
        storage: StorageHealth {
            ok,
            error: check.err(),
        },
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// Server information, transports and auth modes.
#[utoipa::path(
    get,
    path = "/mcp/info",
    tag = "mcp",
    responses((status = 200, description = "Server information", body = McpInfo))
)]
pub async fn mcp_info(State(state): State<AppState>) -> Json<McpInfo> {
    Json(McpInfo {
        name: "mcp-orch".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        protocol_versions: super::PROTOCOL_VERSIONS
            .iter()
            .map(|v| (*v).to_owned())
            .collect(),
        transports: super::transports_json(),
        auth: state.auth.modes().into_iter().map(str::to_owned).collect(),
        capabilities: super::capabilities_json(),
        endpoints: json!({
            "health": "/health",
            "openapi": "/openapi.json",
            "metrics": "/metrics",
            "events": "/v1/events",
            "rest": "/v1",
        }),
    })
}

/// The original's client list, with more detail.
#[utoipa::path(
    get,
    path = "/v1/clients",
    tag = "clients",
    responses(
        (status = 200, description = "Every known client", body = ClientsResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn clients(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<ClientsResponse>, ApiError> {
    p.require(Scope::Read)?;
    let list = state
        .blocking(crate::core::Orchestrator::client_statuses)
        .await?;
    let clients: Vec<ClientSummary> = list
        .into_iter()
        .map(|c| ClientSummary {
            client_id: c.id,
            display_name: c.name,
            platform: std::env::consts::OS.into(),
            config_path: c
                .config
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            format: c.format.into(),
            detected: c.detected,
            server_count: c.server_count,
            profiles: c.profiles,
        })
        .collect();
    let count = clients.len();
    Ok(Json(ClientsResponse { clients, count }))
}

/// Profiles of a client.
#[utoipa::path(
    get,
    path = "/v1/clients/{client_id}/profiles",
    tag = "clients",
    params(("client_id" = String, Path, description = "Client id", pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")),
    responses(
        (status = 200, description = "Profiles", body = ProfilesResponse),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 404, description = "Unknown client", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn profiles(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(client): ApiPath<String>,
) -> Result<Json<ProfilesResponse>, ApiError> {
    p.require(Scope::Read)?;
    let c = client.clone();
    let list = state.blocking(move |o| o.profiles(&c)).await?;
    Ok(Json(ProfilesResponse {
        client_id: client,
        profiles: list.iter().map(|p| p.id.clone()).collect(),
        details: list.iter().map(to_value).collect(),
    }))
}

/// The published configuration of a client and profile (the latest, or `?artifact_id=`).
#[utoipa::path(
    get,
    path = "/v1/config/{client_id}/{profile}",
    tag = "config",
    params(TargetPath, ConfigQuery),
    responses(
        (status = 200, description = "The artifact", body = ConfigResponse),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 404, description = "Unknown client or profile, or nothing published", body = ErrorResponse),
        (status = 422, description = "The artifact belongs to another client or profile, or is damaged", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn get_config(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(TargetPath {
        client_id: client,
        profile,
    }): ApiPath<TargetPath>,
    ApiQuery(q): ApiQuery<ConfigQuery>,
) -> Result<Json<ConfigResponse>, ApiError> {
    p.require(Scope::Read)?;
    let out = state
        .blocking(move |o| {
            let release = match &q.artifact_id {
                Some(id) => o.find_release(&client, &profile, id)?,
                None => o.latest_release(&client, &profile)?.ok_or_else(|| {
                    crate::core::Error::invalid(
                        Code::ArtifactNotFound,
                        "artifact",
                        format!("nothing has been published for {client}/{profile}"),
                        format!(
                            "publish the draft first: POST /v1/config/{client}/{profile}/publish"
                        ),
                    )
                })?,
            };
            // A release that does not verify is an error with its code here as on every
            // face (422 `SIGNATURE_INVALID`, `ARTIFACT_TAMPERED`, `UNTRUSTED_KEY`, ...).
            let verified = o.verify_release(&release)?;
            let payload = verified.payload;
            Ok(ConfigResponse {
                client_id: release.client_id().to_owned(),
                profile_id: release.profile_id().to_owned(),
                artifact_id: release.artifact_id().to_owned(),
                version: release.version(),
                created_at: release.envelope.created_at.to_rfc3339(),
                key_id: release.key_id.clone(),
                changelog: release.envelope.changelog.clone(),
                verified: true,
                payload: to_value(&payload),
            })
        })
        .await?;
    Ok(Json(out))
}

/// Compares two configurations server by server.
#[utoipa::path(
    post,
    path = "/v1/config/diff",
    tag = "config",
    request_body = DiffRequest,
    responses(
        (status = 200, description = "The comparison", body = DiffResponse),
        (status = 400, description = "Malformed body", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 413, description = "Body over 1 MiB", body = ErrorResponse),
        (status = 415, description = "Not JSON", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn diff_configs(
    Extension(p): Extension<Principal>,
    ApiJson(req): ApiJson<DiffRequest>,
) -> Result<Json<DiffResponse>, ApiError> {
    p.require(Scope::Read)?;
    let old = servers_of(&req.config1)?;
    let new = servers_of(&req.config2)?;
    let owned = old.keys().cloned().collect();
    let mut d =
        crate::core::diff::diff_entries(&old, &new, &owned, &std::collections::BTreeSet::new());
    let mut redactor = crate::core::diff::Redactor::new(Vec::<String>::new());
    redactor.learn_from_entries(old.values().chain(new.values()));
    redactor.server_diff(&mut d);
    let total = d.total_changes();
    let status = if total == 0 { "up-to-date" } else { "diverged" };
    Ok(Json(DiffResponse {
        status: status.into(),
        added: d.added.clone(),
        removed: d.removed.clone(),
        modified: d.modified.iter().map(|m| m.name.clone()).collect(),
        unchanged: d.unchanged.clone(),
        changes: d.modified.iter().map(to_value).collect(),
        diff: format!("{status}: {total} changes"),
    }))
}

/// Adds a catalog server to the draft.
#[utoipa::path(
    post,
    path = "/v1/config/{client_id}/{profile}/draft/add",
    tag = "draft",
    params(TargetPath),
    request_body = AddRequest,
    responses(
        (status = 200, description = "Added", body = DraftChange),
        (status = 400, description = "Bad parameters or env", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 403, description = "Needs the write scope", body = ErrorResponse),
        (status = 404, description = "Unknown client, profile or server", body = ErrorResponse),
        (status = 409, description = "The name is taken", body = ErrorResponse),
        (status = 413, description = "Body over 1 MiB", body = ErrorResponse),
        (status = 415, description = "Not JSON", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn draft_add(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(TargetPath {
        client_id: client,
        profile,
    }): ApiPath<TargetPath>,
    ApiJson(req): ApiJson<AddRequest>,
) -> Result<Json<DraftChange>, ApiError> {
    p.require(Scope::Write)?;
    let add = AddServer {
        client,
        profile,
        server_id: req.server_id,
        name: req.server_name,
        params: req
            .params
            .iter()
            .map(|(k, v)| (k.clone(), param_text(v)))
            .collect(),
        env: req.env_vars.into_iter().collect(),
        secret_delivery: req.secret_delivery,
        ..AddServer::default()
    };
    let (outcome, draft) = state
        .blocking(move |o| {
            let outcome = o.add_server(&add)?;
            let draft = o.draft(&add.client, &add.profile)?;
            Ok((outcome, draft))
        })
        .await?;
    state.poke();
    Ok(Json(DraftChange {
        success: true,
        message: format!("added `{}` to the draft", outcome.name),
        server_name: outcome.name,
        server_count: outcome.server_count,
        stored_secrets: outcome.stored_secrets,
        draft: to_value(&draft),
    }))
}

/// Removes a server from the draft.
#[utoipa::path(
    post,
    path = "/v1/config/{client_id}/{profile}/draft/remove",
    tag = "draft",
    params(TargetPath),
    request_body = RemoveRequest,
    responses(
        (status = 200, description = "Removed", body = DraftChange),
        (status = 400, description = "No name given", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 403, description = "Needs the write scope", body = ErrorResponse),
        (status = 404, description = "Unknown client or profile, or not in the draft", body = ErrorResponse),
        (status = 413, description = "Body over 1 MiB", body = ErrorResponse),
        (status = 415, description = "Not JSON", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn draft_remove(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(TargetPath {
        client_id: client,
        profile,
    }): ApiPath<TargetPath>,
    ApiJson(req): ApiJson<RemoveRequest>,
) -> Result<Json<DraftChange>, ApiError> {
    p.require(Scope::Write)?;
    let Some(name) = req.server_name.or(req.server_id) else {
        return Err(ApiError::http(
            StatusCode::BAD_REQUEST,
            "MISSING_FIELD",
            "give the server's name as `server_name` (or `server_id`)",
            "send {\"server_name\": \"github\"}",
        ));
    };
    let n = name.clone();
    let draft = state
        .blocking(move |o| o.remove_server(&client, &profile, &n))
        .await?;
    state.poke();
    Ok(Json(DraftChange {
        success: true,
        message: format!("removed `{name}` from the draft"),
        server_name: name,
        server_count: draft.servers.len(),
        stored_secrets: Vec::new(),
        draft: to_value(&draft),
    }))
}

/// The draft.
#[utoipa::path(
    get,
    path = "/v1/config/{client_id}/{profile}/draft",
    tag = "draft",
    params(TargetPath),
    responses(
        (status = 200, description = "The draft (empty when none was started)", body = DraftView),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 404, description = "Unknown client or profile", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn view_draft(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(TargetPath {
        client_id: client,
        profile,
    }): ApiPath<TargetPath>,
) -> Result<Json<DraftView>, ApiError> {
    p.require(Scope::Read)?;
    let out = state
        .blocking(move |o| {
            let view = o.draft_view(&client, &profile)?;
            Ok(DraftView {
                client_id: view.client_id,
                profile_id: view.profile_id,
                servers: view.servers,
                server_count: view.server_count,
                revision: view.revision,
                updated_at: to_value(&view.updated_at),
                draft: to_value(&view.draft),
                mcp_servers: to_value(&view.mcp_servers),
                render_error: view.render_error.as_ref().map(to_value),
            })
        })
        .await?;
    Ok(Json(out))
}

/// Empties the draft.
#[utoipa::path(
    delete,
    path = "/v1/config/{client_id}/{profile}/draft",
    tag = "draft",
    params(TargetPath),
    responses(
        (status = 200, description = "Cleared", body = ClearResponse),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 403, description = "Needs the write scope", body = ErrorResponse),
        (status = 404, description = "Unknown client or profile", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn clear_draft(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(TargetPath {
        client_id: client,
        profile,
    }): ApiPath<TargetPath>,
) -> Result<Json<ClearResponse>, ApiError> {
    p.require(Scope::Write)?;
    let count = state
        .blocking(move |o| o.clear_draft(&client, &profile))
        .await?;
    state.poke();
    Ok(Json(ClearResponse {
        success: true,
        message: format!("cleared the draft ({count} server(s) removed)"),
        previous_count: count,
    }))
}

/// Validates the draft (200 whether or not it is valid).
#[utoipa::path(
    post,
    path = "/v1/config/{client_id}/{profile}/validate",
    tag = "draft",
    params(TargetPath),
    responses(
        (status = 200, description = "The report", body = ValidateResponse),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 404, description = "Unknown client or profile", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn validate(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(TargetPath {
        client_id: client,
        profile,
    }): ApiPath<TargetPath>,
) -> Result<Json<ValidateResponse>, ApiError> {
    p.require(Scope::Read)?;
    let r = state
        .blocking(move |o| o.validate(&client, &profile))
        .await?;
    Ok(Json(ValidateResponse {
        valid: r.valid,
        errors: r.errors.iter().map(to_value).collect(),
        warnings: r.warnings.iter().map(to_value).collect(),
        server_count: r.server_count,
        client_id: r.client_id,
        profile_id: r.profile_id,
        validated_at: chrono::Utc::now().to_rfc3339(),
    }))
}

/// What deploying the draft would change in the client's file.
#[utoipa::path(
    get,
    path = "/v1/config/{client_id}/{profile}/diff",
    tag = "draft",
    params(TargetPath),
    responses(
        (status = 200, description = "The plan (redacted)", body = Object),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 404, description = "Unknown client or profile", body = ErrorResponse),
        (status = 409, description = "The client's file cannot be parsed", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn diff_draft(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(TargetPath {
        client_id: client,
        profile,
    }): ApiPath<TargetPath>,
) -> Result<Json<Value>, ApiError> {
    p.require(Scope::Read)?;
    let d = state.blocking(move |o| o.diff(&client, &profile)).await?;
    Ok(Json(to_value(&d)))
}

/// Publishes the draft as a signed artifact.
#[utoipa::path(
    post,
    path = "/v1/config/{client_id}/{profile}/publish",
    tag = "release",
    params(TargetPath),
    request_body(content = Option<PublishRequest>, description = "Optional"),
    responses(
        (status = 201, description = "Published", body = PublishResponse),
        (status = 400, description = "Malformed body or id", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 403, description = "Needs the write scope", body = ErrorResponse),
        (status = 404, description = "Unknown client or profile", body = ErrorResponse),
        (status = 409, description = "No signing key", body = ErrorResponse),
        (status = 413, description = "Body over 1 MiB", body = ErrorResponse),
        (status = 422, description = "The draft is empty or invalid", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn publish(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(TargetPath {
        client_id: client,
        profile,
    }): ApiPath<TargetPath>,
    OptionalJson(req): OptionalJson<PublishRequest>,
) -> Result<(StatusCode, Json<PublishResponse>), ApiError> {
    p.require(Scope::Write)?;
    let actor = p.actor();
    let release = state
        .blocking(move |o| o.publish(&client, &profile, req.changelog.as_deref(), &actor))
        .await?;
    state.poke();
    Ok((StatusCode::CREATED, Json(publish_shape(&release))))
}

/// Deploys a published artifact (the latest by default) into the client's file.
#[utoipa::path(
    post,
    path = "/v1/config/{client_id}/{profile}/deploy",
    tag = "release",
    params(TargetPath),
    request_body(content = Option<DeployBody>, description = "Optional"),
    responses(
        (status = 200, description = "Deployed (or planned)", body = DeployResponse),
        (status = 400, description = "Malformed body or id", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 403, description = "Needs the write scope", body = ErrorResponse),
        (status = 404, description = "Unknown client, profile or artifact", body = ErrorResponse),
        (status = 409, description = "Downgrade, concurrent change, or unreadable client file", body = ErrorResponse),
        (status = 413, description = "Body over 1 MiB", body = ErrorResponse),
        (status = 422, description = "The artifact does not verify", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn deploy(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(TargetPath {
        client_id: client,
        profile,
    }): ApiPath<TargetPath>,
    OptionalJson(b): OptionalJson<DeployBody>,
) -> Result<Json<DeployResponse>, ApiError> {
    p.require(Scope::Write)?;
    let req = PlanRequest {
        adopt: b.adopt,
        ..PlanRequest::new(
            &client,
            &profile,
            Action::Deploy {
                artifact: b.artifact_id,
                inline_secrets: false,
            },
        )
    };
    plan_or_apply(&state, &p, req, b.dry_run, b.plan_id, "deployed").await
}

/// Plans (`dry_run`) or applies a request: exactly the plan `plan_id` names when given.
async fn plan_or_apply(
    state: &AppState,
    principal: &Principal,
    req: PlanRequest,
    dry_run: bool,
    plan_id: Option<String>,
    verb: &'static str,
) -> Result<Json<DeployResponse>, ApiError> {
    let actor = principal.actor();
    let report = state
        .blocking(move |o| {
            if dry_run {
                o.plan(&req)
            } else {
                o.apply(&req, plan_id.as_deref(), &actor)
            }
        })
        .await?;
    if !dry_run {
        state.poke();
    }
    Ok(Json(deploy_shape(&report, verb)))
}

/// From the draft to the client in one step: validates the draft, publishes it when it
/// differs from the latest release, and deploys that release.
#[utoipa::path(
    post,
    path = "/v1/config/{client_id}/{profile}/apply",
    tag = "release",
    params(TargetPath),
    request_body(content = Option<ApplyBody>, description = "Optional"),
    responses(
        (status = 200, description = "Applied (or planned)", body = DeployResponse),
        (status = 400, description = "Malformed body or id", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 403, description = "Needs the write scope", body = ErrorResponse),
        (status = 404, description = "Unknown client or profile", body = ErrorResponse),
        (status = 409, description = "Stale plan, no signing key, name clash, or a client file that cannot be edited safely", body = ErrorResponse),
        (status = 413, description = "Body over 1 MiB", body = ErrorResponse),
        (status = 422, description = "The draft is not valid", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn apply(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(TargetPath {
        client_id: client,
        profile,
    }): ApiPath<TargetPath>,
    OptionalJson(b): OptionalJson<ApplyBody>,
) -> Result<Json<DeployResponse>, ApiError> {
    p.require(Scope::Write)?;
    let req = PlanRequest {
        adopt: b.adopt,
        ..PlanRequest::new(
            &client,
            &profile,
            Action::Apply {
                changelog: b.changelog,
            },
        )
    };
    plan_or_apply(&state, &p, req, b.dry_run, b.plan_id, "applied").await
}

/// Removes every entry mcp-orch owns from the client's file.
#[utoipa::path(
    post,
    path = "/v1/config/{client_id}/{profile}/undeploy",
    tag = "release",
    params(TargetPath),
    request_body(content = Option<UndeployBody>, description = "Optional"),
    responses(
        (status = 200, description = "Removed (or planned)", body = DeployResponse),
        (status = 400, description = "Malformed body or id", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 403, description = "Needs the write scope", body = ErrorResponse),
        (status = 404, description = "Unknown client or profile", body = ErrorResponse),
        (status = 409, description = "Stale plan, or a client file that cannot be edited safely", body = ErrorResponse),
        (status = 413, description = "Body over 1 MiB", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn undeploy(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(TargetPath {
        client_id: client,
        profile,
    }): ApiPath<TargetPath>,
    OptionalJson(b): OptionalJson<UndeployBody>,
) -> Result<Json<DeployResponse>, ApiError> {
    p.require(Scope::Write)?;
    let req = PlanRequest::new(&client, &profile, Action::Undeploy);
    plan_or_apply(&state, &p, req, b.dry_run, b.plan_id, "undeployed").await
}

/// Deploys an earlier artifact, recorded as a rollback.
#[utoipa::path(
    post,
    path = "/v1/config/{client_id}/{profile}/rollback",
    tag = "release",
    params(TargetPath),
    request_body(content = Option<RollbackBody>, description = "Optional: default one version back"),
    responses(
        (status = 200, description = "Rolled back (or planned)", body = DeployResponse),
        (status = 400, description = "Malformed body or id", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 403, description = "Needs the write scope", body = ErrorResponse),
        (status = 404, description = "Unknown client, profile or artifact", body = ErrorResponse),
        (status = 409, description = "Nothing deployed, or no earlier artifact", body = ErrorResponse),
        (status = 413, description = "Body over 1 MiB", body = ErrorResponse),
        (status = 422, description = "The artifact does not verify", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn rollback(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(TargetPath {
        client_id: client,
        profile,
    }): ApiPath<TargetPath>,
    OptionalJson(b): OptionalJson<RollbackBody>,
) -> Result<Json<DeployResponse>, ApiError> {
    p.require(Scope::Write)?;
    let to = match (b.artifact_id, b.steps) {
        (Some(id), None) => RollbackTarget::Artifact(id),
        (None, steps) => RollbackTarget::Steps(steps.unwrap_or(1).max(1) as usize),
        (Some(_), Some(_)) => {
            return Err(ApiError::http(
                StatusCode::BAD_REQUEST,
                "CONFLICTING_FIELDS",
                "give either `artifact_id` or `steps`, not both",
                "send {\"steps\": 1} or {\"artifact_id\": \"...\"}",
            ));
        }
    };
    let req = PlanRequest::new(&client, &profile, Action::Rollback { to });
    plan_or_apply(&state, &p, req, b.dry_run, b.plan_id, "rolled back").await
}

/// Published releases, newest first.
#[utoipa::path(
    get,
    path = "/v1/config/{client_id}/{profile}/history",
    tag = "release",
    params(TargetPath),
    responses(
        (status = 200, description = "Releases", body = HistoryResponse),
        (status = 400, description = "Malformed id", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 404, description = "Unknown client", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn history(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(TargetPath {
        client_id: client,
        profile,
    }): ApiPath<TargetPath>,
) -> Result<Json<HistoryResponse>, ApiError> {
    p.require(Scope::Read)?;
    let (c, pr) = (client.clone(), profile.clone());
    let releases = state
        .blocking(move |o| {
            crate::core::draft::check_id("profile", &pr)?;
            o.history(&c, &pr)
        })
        .await?;
    Ok(Json(HistoryResponse {
        client_id: client,
        profile_id: profile,
        releases: releases
            .iter()
            .map(|r| ReleaseSummary {
                artifact_id: r.artifact_id().to_owned(),
                version: r.version(),
                created_at: r.envelope.created_at.to_rfc3339(),
                key_id: r.key_id.clone(),
                changelog: r.envelope.changelog.clone(),
                servers: r.envelope.metadata.servers.clone(),
            })
            .collect(),
    }))
}

/// Catalog servers, filtered.
#[utoipa::path(
    get,
    path = "/v1/servers",
    tag = "servers",
    params(ServersQuery),
    responses(
        (status = 200, description = "Matches", body = ServersResponse),
        (status = 400, description = "Unknown transport", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn servers(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiQuery(q): ApiQuery<ServersQuery>,
) -> Result<Json<ServersResponse>, ApiError> {
    p.require(Scope::Read)?;
    let transport = match q.transport.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => Some(
            serde_json::from_value::<Transport>(json!(t.to_ascii_lowercase())).map_err(|_| {
                ApiError::http(
                    StatusCode::BAD_REQUEST,
                    "INVALID_TRANSPORT",
                    format!("`{t}` is not a transport"),
                    "use stdio, http or sse",
                )
            })?,
        ),
    };
    let query = Query {
        text: q.search.unwrap_or_default(),
        transport,
        tag: q.tag.filter(|t| !t.trim().is_empty()),
    };
    let list = state
        .blocking(move |o| {
            Ok(o.search(&query)
                .into_iter()
                .map(|(e, _)| ServerSummary {
                    server_id: e.id.clone(),
                    display_name: e.name.clone(),
                    description: e.description.clone(),
                    transport: e.transport.as_str().to_owned(),
                    npm_package: e.package.as_ref().and_then(|p| {
                        let v = to_value(p);
                        (v.get("registry").and_then(Value::as_str) == Some("npm"))
                            .then(|| v.get("name").and_then(Value::as_str).map(str::to_owned))
                            .flatten()
                    }),
                    command: e.command.clone(),
                    args: e.args.clone(),
                    url: e.url.clone(),
                    env: e.env.iter().map(|v| v.name.clone()).collect(),
                    tags: e.tags.clone(),
                    has_parameters: !e.params.is_empty(),
                    requires_env: e.env.iter().any(|v| v.required),
                })
                .collect::<Vec<_>>())
        })
        .await?;
    let count = list.len();
    Ok(Json(ServersResponse {
        servers: list,
        count,
    }))
}

/// One catalog server in full.
#[utoipa::path(
    get,
    path = "/v1/servers/{server_id}",
    tag = "servers",
    params(("server_id" = String, Path, description = "Catalog id")),
    responses(
        (status = 200, description = "The catalog entry", body = Object),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 404, description = "Unknown server", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn server(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    p.require(Scope::Read)?;
    let entry = state.blocking(move |o| o.server(&id).map(to_value)).await?;
    let mut entry = entry;
    if let Some(obj) = entry.as_object_mut() {
        if let Some(id) = obj.get("id").cloned() {
            obj.insert("server_id".into(), id);
        }
        if let Some(name) = obj.get("name").cloned() {
            obj.insert("display_name".into(), name);
        }
    }
    Ok(Json(entry))
}

/// Creates the signing key (the public half is returned; the private key never leaves disk).
#[utoipa::path(
    post,
    path = "/v1/keys/initialize",
    tag = "keys",
    request_body(content = Option<KeysRequest>, description = "Optional"),
    responses(
        (status = 201, description = "Created or rotated", body = KeysResponse),
        (status = 400, description = "Malformed body", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 403, description = "Needs the admin scope", body = ErrorResponse),
        (status = 409, description = "A key exists (send regenerate: true to rotate)", body = ErrorResponse),
        (status = 413, description = "Body over 1 MiB", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn init_keys(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    OptionalJson(req): OptionalJson<KeysRequest>,
) -> Result<(StatusCode, Json<KeysResponse>), ApiError> {
    p.require(Scope::Admin)?;
    let actor = p.actor();
    let info = state
        .blocking(move |o| o.init_keys(req.regenerate, &actor))
        .await?;
    state.poke();
    let rotated = info.rotated_from.is_some();
    Ok((
        StatusCode::CREATED,
        Json(KeysResponse {
            success: true,
            status: if rotated {
                "regenerated"
            } else {
                "initialized"
            }
            .into(),
            message: format!("signing key {} is ready", info.key_id),
            keys: PublicKey {
                key_id: info.key_id,
                algorithm: info.algorithm.into(),
                public_key: info.public_key,
                rotated_from: info.rotated_from,
            },
        }),
    ))
}

/// Deployed and latest artifacts, and drift, per target.
#[utoipa::path(
    get,
    path = "/v1/status",
    tag = "release",
    params(StatusQuery),
    responses(
        (status = 200, description = "Targets", body = StatusResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 404, description = "Unknown client", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn status(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiQuery(q): ApiQuery<StatusQuery>,
) -> Result<Json<StatusResponse>, ApiError> {
    p.require(Scope::Read)?;
    let targets = state
        .blocking(move |o| o.status(q.client.as_deref().filter(|c| !c.is_empty())))
        .await?;
    // The core's report, field for field: the same JSON as `status --json` and the MCP tool.
    let report = crate::core::orchestrator::StatusReport::of(targets);
    Ok(Json(StatusResponse {
        targets: report.targets.iter().map(to_value).collect(),
        count: report.count,
        drift_detected: report.drift_detected,
        drifted: report.drifted.iter().map(to_value).collect(),
    }))
}

/// The audit log, filtered.
#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "Records", body = AuditResponse),
        (status = 400, description = "Bad filter", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn audit(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditResponse>, ApiError> {
    p.require(Scope::Read)?;
    let since = match q.since.as_deref() {
        None => None,
        Some(s) => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    ApiError::http(
                        StatusCode::BAD_REQUEST,
                        "INVALID_TIME",
                        format!("`{s}` is not an RFC 3339 time"),
                        "use e.g. 2026-11-22T10:00:00Z",
                    )
                })?
                .with_timezone(&chrono::Utc),
        ),
    };
    let limit = match q.limit {
        None => 100,
        Some(n @ 1..=10_000) => n as usize,
        Some(n) => {
            return Err(ApiError::http(
                StatusCode::BAD_REQUEST,
                "INVALID_QUERY",
                format!("limit must be 1 to 10000, got {n}"),
                "give ?limit=100",
            ));
        }
    };
    let filter = Filter {
        client: q.client.filter(|s| !s.is_empty()),
        profile: q.profile.filter(|s| !s.is_empty()),
        since,
        action: q.action.filter(|s| !s.is_empty()),
    };
    let records = state.blocking(move |o| o.audit_log().read(&filter)).await?;
    let skip = records.len().saturating_sub(limit);
    let records: Vec<Value> = records[skip..].iter().map(to_value).collect();
    Ok(Json(AuditResponse {
        count: records.len(),
        records,
    }))
}

/// Verifies the audit log's hash chain.
#[utoipa::path(
    get,
    path = "/v1/audit/verify",
    tag = "audit",
    responses(
        (status = 200, description = "The report", body = AuditVerifyResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn audit_verify(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<AuditVerifyResponse>, ApiError> {
    p.require(Scope::Read)?;
    let report = state.blocking(|o| o.audit_log().verify()).await?;
    let value = to_value(&report);
    Ok(Json(AuditVerifyResponse {
        ok: value
            .get("problems")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty),
        report: value,
    }))
}
