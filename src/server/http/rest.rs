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
use crate::api;
use crate::core::audit::VerifyReport;
use crate::core::orchestrator::{Action, AddServer, PlanRequest, RollbackTarget};
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
                error::body_rejection(&r, "send a JSON body of at most 1 MiB")
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
            return Ok(Self(T::default()));
        }
        if !json {
            return Err(ApiError::http(
                Code::UnsupportedMediaType,
                "the body is not declared as JSON",
                "send it with `Content-Type: application/json`",
            ));
        }
        serde_json::from_slice(&bytes).map(Self).map_err(|e| {
            ApiError::http(
                Code::MalformedJson,
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
    /// When it was checked (at most once a second).
    pub checked_at: String,
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
    /// When the draft already has a server of that name: `error` (default, 409
    /// `DUPLICATE_NAME`) or `keep` (the same server is kept, `status: "unchanged"`).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "keep")]
    pub if_exists: crate::core::draft::IfExists,
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

/// `POST …/publish` body (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// What changed.
    #[serde(default)]
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

/// `POST /v1/keys/initialize` body (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysRequest {
    /// Replace an existing key (the old one stays trusted).
    #[serde(default)]
    pub regenerate: bool,
}

/// `GET /v1/status` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// Only this client.
    pub client: Option<String>,
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
            Code::InvalidBody,
            "config1 and config2 must be objects of servers (or hold `mcpServers`)",
            "send {\"config1\": {\"mcpServers\": {...}}, \"config2\": {...}}",
        ));
    };
    Ok(obj.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

// ---- handlers ---------------------------------------------------------------------------------

/// Liveness, from memory: always 200 while the server runs; `status` and `storage` repeat the
/// last readiness check (`degraded` when the state directory could not be written). Nothing is
/// written per request.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses((status = 200, description = "Alive (`degraded` when storage failed its last check)", body = Health))
)]
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    let verdict = match state.readiness.last().await {
        Some(verdict) => verdict,
        None => state.readiness.check().await,
    };
    Json(health_of(&state, verdict))
}

/// Readiness: whether the state directory can be written, checked at most once a second
/// (concurrent requests share one check).
#[utoipa::path(
    get,
    path = "/ready",
    tag = "operations",
    responses(
        (status = 200, description = "Ready: storage works", body = Health),
        (status = 503, description = "Not ready: storage fails", body = Health),
    )
)]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let verdict = state.readiness.check().await;
    let status = if verdict.result.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health_of(&state, verdict)))
}

fn health_of(state: &AppState, verdict: super::readiness::Verdict) -> Health {
    let ok = verdict.result.is_ok();
    Health {
        status: if ok { "ok" } else { "degraded" }.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_seconds: state.metrics_uptime(),
        storage: StorageHealth {
            ok,
            error: verdict.result.err(),
            checked_at: verdict.checked_at.to_rfc3339(),
        },
    }
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
        (status = 200, description = "Every known client", body = api::ClientList),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn clients(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<api::ClientList>, ApiError> {
    p.require(Scope::Read)?;
    Ok(Json(state.blocking(api::clients::list_clients).await?))
}

/// Profiles of a client.
#[utoipa::path(
    get,
    path = "/v1/clients/{client_id}/profiles",
    tag = "clients",
    params(("client_id" = String, Path, description = "Client id", pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")),
    responses(
        (status = 200, description = "Profiles", body = api::ProfileList),
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
) -> Result<Json<api::ProfileList>, ApiError> {
    p.require(Scope::Read)?;
    Ok(Json(
        state
            .blocking(move |o| api::clients::list_profiles(o, &client))
            .await?,
    ))
}

/// The published configuration of a client and profile (the latest, or `?artifact_id=`).
#[utoipa::path(
    get,
    path = "/v1/config/{client_id}/{profile}",
    tag = "config",
    params(TargetPath, ConfigQuery),
    responses(
        (status = 200, description = "The artifact", body = api::ReleaseDetail),
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
) -> Result<Json<api::ReleaseDetail>, ApiError> {
    p.require(Scope::Read)?;
    // A release that does not verify is an error with its code here as on every face (422
    // `SIGNATURE_INVALID`, `ARTIFACT_TAMPERED`, `UNTRUSTED_KEY`, ...).
    let detail = state
        .blocking(move |o| {
            api::releases::get_release(o, &client, &profile, q.artifact_id.as_deref())
        })
        .await?;
    Ok(Json(detail))
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
        (status = 200, description = "Added", body = api::DraftChange),
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
) -> Result<Json<api::DraftChange>, ApiError> {
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
        if_exists: req.if_exists,
        ..AddServer::default()
    };
    let change = state
        .blocking(move |o| api::drafts::add_server(o, &add))
        .await?;
    state.poke();
    Ok(Json(change))
}

/// Removes a server from the draft.
#[utoipa::path(
    post,
    path = "/v1/config/{client_id}/{profile}/draft/remove",
    tag = "draft",
    params(TargetPath),
    request_body = RemoveRequest,
    responses(
        (status = 200, description = "Removed", body = api::DraftChange),
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
) -> Result<Json<api::DraftChange>, ApiError> {
    p.require(Scope::Write)?;
    let Some(name) = req.server_name.or(req.server_id) else {
        return Err(ApiError::http(
            Code::MissingField,
            "give the server's name as `server_name` (or `server_id`)",
            "send {\"server_name\": \"github\"}",
        ));
    };
    let change = state
        .blocking(move |o| api::drafts::remove_server(o, &client, &profile, &name))
        .await?;
    state.poke();
    Ok(Json(change))
}

/// The draft.
#[utoipa::path(
    get,
    path = "/v1/config/{client_id}/{profile}/draft",
    tag = "draft",
    params(TargetPath),
    responses(
        (status = 200, description = "The draft (empty when none was started)", body = api::DraftView),
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
) -> Result<Json<api::DraftView>, ApiError> {
    p.require(Scope::Read)?;
    Ok(Json(
        state
            .blocking(move |o| api::drafts::view_draft(o, &client, &profile))
            .await?,
    ))
}

/// Empties the draft.
#[utoipa::path(
    delete,
    path = "/v1/config/{client_id}/{profile}/draft",
    tag = "draft",
    params(TargetPath),
    responses(
        (status = 200, description = "Cleared", body = api::DraftCleared),
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
) -> Result<Json<api::DraftCleared>, ApiError> {
    p.require(Scope::Write)?;
    let cleared = state
        .blocking(move |o| api::drafts::clear_draft(o, &client, &profile))
        .await?;
    state.poke();
    Ok(Json(cleared))
}

/// Validates the draft (200 whether or not it is valid).
#[utoipa::path(
    post,
    path = "/v1/config/{client_id}/{profile}/validate",
    tag = "draft",
    params(TargetPath),
    responses(
        (status = 200, description = "The report", body = api::Validation),
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
) -> Result<Json<api::Validation>, ApiError> {
    p.require(Scope::Read)?;
    Ok(Json(
        state
            .blocking(move |o| api::drafts::validate(o, &client, &profile))
            .await?,
    ))
}

/// What deploying the draft would change in the client's file.
#[utoipa::path(
    get,
    path = "/v1/config/{client_id}/{profile}/diff",
    tag = "draft",
    params(TargetPath),
    responses(
        (status = 200, description = "The plan (redacted)", body = api::FilePlan),
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
) -> Result<Json<api::FilePlan>, ApiError> {
    p.require(Scope::Read)?;
    Ok(Json(
        state
            .blocking(move |o| api::deploy::diff_draft(o, &client, &profile))
            .await?,
    ))
}

/// Publishes the draft as a signed artifact.
#[utoipa::path(
    post,
    path = "/v1/config/{client_id}/{profile}/publish",
    tag = "release",
    params(TargetPath),
    request_body(content = Option<PublishRequest>, description = "Optional"),
    responses(
        (status = 201, description = "Published", body = api::Published),
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
) -> Result<(StatusCode, Json<api::Published>), ApiError> {
    p.require(Scope::Write)?;
    let actor = p.actor();
    let published = state
        .blocking(move |o| {
            api::releases::publish(o, &client, &profile, req.changelog.as_deref(), &actor)
        })
        .await?;
    state.poke();
    Ok((StatusCode::CREATED, Json(published)))
}

/// Deploys a published artifact (the latest by default) into the client's file.
#[utoipa::path(
    post,
    path = "/v1/config/{client_id}/{profile}/deploy",
    tag = "release",
    params(TargetPath),
    request_body(content = Option<DeployBody>, description = "Optional"),
    responses(
        (status = 200, description = "Deployed (or planned)", body = api::DeployOutcome),
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
) -> Result<Json<api::DeployOutcome>, ApiError> {
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
    plan_or_apply(&state, &p, req, b.dry_run, b.plan_id).await
}

/// Plans (`dry_run`) or applies a request: exactly the plan `plan_id` names when given.
async fn plan_or_apply(
    state: &AppState,
    principal: &Principal,
    req: PlanRequest,
    dry_run: bool,
    plan_id: Option<String>,
) -> Result<Json<api::DeployOutcome>, ApiError> {
    let actor = principal.actor();
    let outcome = state
        .blocking(move |o| {
            api::deploy::plan_or_apply(o, &req, !dry_run, plan_id.as_deref(), &actor)
        })
        .await?;
    if !dry_run {
        state.poke();
    }
    Ok(Json(outcome))
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
        (status = 200, description = "Applied (or planned)", body = api::DeployOutcome),
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
) -> Result<Json<api::DeployOutcome>, ApiError> {
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
    plan_or_apply(&state, &p, req, b.dry_run, b.plan_id).await
}

/// Removes every entry mcp-orch owns from the client's file.
#[utoipa::path(
    post,
    path = "/v1/config/{client_id}/{profile}/undeploy",
    tag = "release",
    params(TargetPath),
    request_body(content = Option<UndeployBody>, description = "Optional"),
    responses(
        (status = 200, description = "Removed (or planned)", body = api::DeployOutcome),
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
) -> Result<Json<api::DeployOutcome>, ApiError> {
    p.require(Scope::Write)?;
    let req = PlanRequest::new(&client, &profile, Action::Undeploy);
    plan_or_apply(&state, &p, req, b.dry_run, b.plan_id).await
}

/// Deploys an earlier artifact, recorded as a rollback.
#[utoipa::path(
    post,
    path = "/v1/config/{client_id}/{profile}/rollback",
    tag = "release",
    params(TargetPath),
    request_body(content = Option<RollbackBody>, description = "Optional: default one version back"),
    responses(
        (status = 200, description = "Rolled back (or planned)", body = api::DeployOutcome),
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
) -> Result<Json<api::DeployOutcome>, ApiError> {
    p.require(Scope::Write)?;
    let to = match (b.artifact_id, b.steps) {
        (Some(id), None) => RollbackTarget::Artifact(id),
        (None, steps) => RollbackTarget::Steps(steps.unwrap_or(1).max(1) as usize),
        (Some(_), Some(_)) => {
            return Err(ApiError::http(
                Code::ConflictingFields,
                "give either `artifact_id` or `steps`, not both",
                "send {\"steps\": 1} or {\"artifact_id\": \"...\"}",
            ));
        }
    };
    let req = PlanRequest::new(&client, &profile, Action::Rollback { to });
    plan_or_apply(&state, &p, req, b.dry_run, b.plan_id).await
}

/// Published releases, newest first.
#[utoipa::path(
    get,
    path = "/v1/config/{client_id}/{profile}/history",
    tag = "release",
    params(TargetPath),
    responses(
        (status = 200, description = "Releases", body = api::ReleaseList),
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
) -> Result<Json<api::ReleaseList>, ApiError> {
    p.require(Scope::Read)?;
    Ok(Json(
        state
            .blocking(move |o| api::releases::history(o, &client, &profile, None))
            .await?,
    ))
}

/// Catalog servers, filtered.
#[utoipa::path(
    get,
    path = "/v1/servers",
    tag = "servers",
    params(ServersQuery),
    responses(
        (status = 200, description = "Matches", body = api::ServerList),
        (status = 400, description = "Unknown transport", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn servers(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiQuery(q): ApiQuery<ServersQuery>,
) -> Result<Json<api::ServerList>, ApiError> {
    p.require(Scope::Read)?;
    let search = api::catalog::Search {
        text: q.search.unwrap_or_default(),
        transport: q.transport.map(|t| t.to_ascii_lowercase()),
        tag: q.tag,
        limit: None,
    };
    Ok(Json(
        state
            .blocking(move |o| api::catalog::search_servers(o, &search))
            .await?,
    ))
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
) -> Result<Json<api::ServerDetail>, ApiError> {
    p.require(Scope::Read)?;
    Ok(Json(
        state
            .blocking(move |o| api::catalog::describe_server(o, &id))
            .await?,
    ))
}

/// Creates the signing key (the public half is returned; the private key never leaves disk).
#[utoipa::path(
    post,
    path = "/v1/keys/initialize",
    tag = "keys",
    request_body(content = Option<KeysRequest>, description = "Optional"),
    responses(
        (status = 201, description = "Created or rotated", body = api::KeyInitialized),
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
) -> Result<(StatusCode, Json<api::KeyInitialized>), ApiError> {
    p.require(Scope::Admin)?;
    let actor = p.actor();
    let key = state
        .blocking(move |o| api::releases::init_keys(o, req.regenerate, &actor))
        .await?;
    state.poke();
    Ok((StatusCode::CREATED, Json(key)))
}

/// Deployed and latest artifacts, and drift, per target.
#[utoipa::path(
    get,
    path = "/v1/status",
    tag = "release",
    params(StatusQuery),
    responses(
        (status = 200, description = "Targets", body = api::StatusReport),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 404, description = "Unknown client", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn status(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiQuery(q): ApiQuery<StatusQuery>,
) -> Result<Json<api::StatusReport>, ApiError> {
    p.require(Scope::Read)?;
    let client = q.client.filter(|c| !c.is_empty());
    Ok(Json(
        state
            .blocking(move |o| api::deploy::status(o, client.as_deref(), None))
            .await?,
    ))
}

/// The audit log, filtered.
#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "Records", body = api::AuditPage),
        (status = 400, description = "Bad filter", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 404, description = "Unknown client", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn audit(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<api::AuditPage>, ApiError> {
    p.require(Scope::Read)?;
    let since = match q.since.as_deref() {
        None => None,
        Some(s) => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    ApiError::http(
                        Code::InvalidTime,
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
                Code::InvalidQuery,
                format!("limit must be 1 to 10000, got {n}"),
                "give ?limit=100",
            ));
        }
    };
    let query = api::AuditQuery {
        client: q.client.filter(|s| !s.is_empty()),
        profile: q.profile.filter(|s| !s.is_empty()),
        action: q.action.filter(|s| !s.is_empty()),
        since,
        limit: Some(limit),
        verify: false,
    };
    Ok(Json(
        state.blocking(move |o| api::audit::read(o, &query)).await?,
    ))
}

/// Verifies the audit log's hash chain.
#[utoipa::path(
    get,
    path = "/v1/audit/verify",
    tag = "audit",
    responses(
        (status = 200, description = "The report", body = VerifyReport),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn audit_verify(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<VerifyReport>, ApiError> {
    p.require(Scope::Read)?;
    Ok(Json(state.blocking(|o| api::audit::verify(o, None)).await?))
}
