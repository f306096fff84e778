//! MCP over HTTP: the same handler as stdio ([`OrchServer`]) behind rmcp's Streamable HTTP
//! service at `/mcp` (sessions, resumable GET streams, every protocol revision), a stateless
//! JSON-RPC endpoint at `POST /mcp/message` (no session: one request, one answer), the
//! convenience `POST /mcp/tools/list` and `POST /mcp/tools/call`, and the Universal Loadability
//! manifest at `/.well-known/mcp-server.json`.
//!
//! Credentials are checked by the router before any of this runs; the caller's scope travels in
//! the request extensions, and the handler refuses tools the scope does not allow.

use crate::core::code::Code;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http_body_util::BodyExt;
use rmcp::transport::common::server_side_http::SessionId;
use rmcp::transport::streamable_http_server::session::SessionManager as _;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};

use super::AppState;
use super::auth::{OriginPolicy, Principal};
use super::body::Guarded;
use super::config::ServerConfig;
use super::error::ApiError;
use super::sessions::{SessionOwners, ToClose};
use crate::core::tokens::Scope;
use crate::server::activity::Activity;
use crate::server::mcp::answers::CatalogAnswers;
use crate::server::mcp::{OrchServer, prompts, resources, tools};
use crate::server::watch::{SharedCore, Watcher};

/// The MCP service type.
pub type McpService = StreamableHttpService<OrchServer, LocalSessionManager>;

/// rmcp's own configuration. Origins are checked once, by the router's
/// [`super::auth::check_origin`] before anything else runs (rmcp's duplicate check printed a
/// warning per portless origin at every start); rmcp keeps its Host check as a second line.
fn base_config(
    config: &ServerConfig,
    policy: &OriginPolicy,
    shutdown: &tokio_util::sync::CancellationToken,
) -> StreamableHttpServerConfig {
    StreamableHttpServerConfig::default()
        .with_allowed_hosts(policy.hosts().to_vec())
        .disable_allowed_origins()
        .with_max_request_body_bytes(config.limits.body_bytes)
        .with_sse_keep_alive(Some(std::time::Duration::from_secs(
            config.events.heartbeat_secs.max(1),
        )))
        .with_cancellation_token(shutdown.child_token())
}

fn factory(
    core: &Arc<SharedCore>,
    watcher: &Arc<Watcher>,
    activity: &Arc<Activity>,
) -> impl Fn() -> Result<OrchServer, std::io::Error> + Send + Sync + 'static {
    let core = core.clone();
    let watcher = watcher.clone();
    let activity = activity.clone();
    let answers = Arc::new(CatalogAnswers::default());
    move || {
        Ok(OrchServer::new(core.clone(), watcher.clone())
            .with_activity(activity.clone())
            .with_answers(answers.clone()))
    }
}

/// The session-mode service mounted at `/mcp`.
pub fn streamable_service(state: &AppState) -> StreamableMcp {
    let config = base_config(&state.config, &state.origins, &state.shutdown);
    let [primed, plain] = &state.mcp_sessions;
    let service = |config: StreamableHttpServerConfig, sessions: &Arc<LocalSessionManager>| {
        StreamableHttpService::new(
            factory(&state.core, &state.watcher, &state.activity),
            sessions.clone(),
            config,
        )
    };
    StreamableMcp(Arc::new(Services {
        priming: service(config.clone(), primed),
        plain: service(config.with_sse_retry(None), plain),
        stores: state.mcp_sessions.clone(),
        owners: state.mcp_owners.clone(),
        body_limit: state.config.limits.body_bytes,
    }))
}

/// The two session stores of `/mcp`: the priming one, and one whose request streams start
/// without a priming event (rmcp adds one per stream at the session layer, whatever the
/// service's own setting). rmcp's own idle timer is a backstop a minute after ours
/// ([`super::sessions`]), which also removes the session from the store (rmcp's timer stops
/// the session but leaves it there).
pub fn session_stores(config: &ServerConfig) -> [Arc<LocalSessionManager>; 2] {
    let store = |priming: bool| {
        let mut sessions = LocalSessionManager::default();
        sessions.session_config.keep_alive =
            Some(config.session_limits().idle + std::time::Duration::from_mins(1));
        if !priming {
            sessions.session_config.sse_retry = None;
        }
        Arc::new(sessions)
    };
    [store(true), store(false)]
}

/// Closes sessions (in the priming store when the flag is set).
pub async fn close_sessions(stores: &[Arc<LocalSessionManager>; 2], sessions: Vec<ToClose>) {
    for (id, primed) in sessions {
        let store = &stores[usize::from(!primed)];
        if let Err(e) = store.close_session(&SessionId::from(id)).await {
            tracing::debug!("closing an MCP session failed: {e}");
        }
    }
}

/// The first protocol revision whose clients expect SSE priming events (an event with an id
/// and empty data that makes a stream resumable). Earlier SDKs parse every `data:` as JSON and
/// drop the server on the empty one (Gemini CLI 0.61: `Unexpected end of JSON input`).
const PRIMING_SINCE: &str = "2025-11-25";

/// `/mcp`: two rmcp services, each with its own session store, the same but for priming
/// events, which only sessions at 2025-11-25 or later get. A request with a session goes to
/// the store that holds it (a session keeps the revision it began with); one without goes by
/// the `initialize` request's `protocolVersion`, else the `MCP-Protocol-Version` header
/// (clients before 2025-06-18 send none and get none).
#[derive(Clone)]
pub struct StreamableMcp(Arc<Services>);

/// What [`StreamableMcp`] shares between requests (a clone per request is a reference count).
pub struct Services {
    priming: McpService,
    plain: McpService,
    stores: [Arc<LocalSessionManager>; 2],
    owners: Arc<SessionOwners>,
    body_limit: usize,
}

impl tower::Service<Request> for StreamableMcp {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<Response, std::convert::Infallible>> + Send>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let services = self.0.clone();
        Box::pin(async move { Ok(services.route(req).await) })
    }
}

impl Services {
    fn service(&self, primed: bool) -> &McpService {
        if primed { &self.priming } else { &self.plain }
    }

    async fn route(&self, req: Request) -> Response {
        let Some(principal) = req.extensions().get::<Principal>().cloned() else {
            return super::error::unauthorized();
        };
        let owner = principal.owner();
        // A POST's message, read once: checked for keys given twice, then handed on.
        let (req, message) = if req.method() == Method::POST {
            let (parts, body) = req.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
                return super::too_large(self.body_limit);
            };
            if let Some(refused) = refuse_duplicate_keys(&bytes) {
                return refused;
            }
            (
                Request::from_parts(parts, Body::from(bytes.clone())),
                Some(bytes),
            )
        } else {
            (req, None)
        };
        let session = req
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(id) = session {
            return self.in_session(req, &id, &owner).await;
        }
        let header = req
            .headers()
            .get("mcp-protocol-version")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let initialize = message.as_deref().and_then(initialize_version);
        let primed = header
            .or_else(|| initialize.clone())
            .is_some_and(|v| v.as_str() >= PRIMING_SINCE);
        if initialize.is_some() {
            let Ok(close) = self.owners.make_room(&owner) else {
                let mut res = ApiError::http(
                    Code::TooManySessions,
                    "the server holds as many MCP sessions as it allows",
                    "close unused sessions (DELETE /mcp), wait for idle ones to close, or raise limits.max_sessions",
                )
                .into_response();
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                return res;
            };
            close_sessions(&self.stores, close).await;
        }
        let res = self.service(primed).handle(req).await.map(Body::new);
        if let Some(id) = res
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            self.owners
                .insert(id.to_owned(), owner, principal.ended, primed);
        }
        res
    }

    /// A request in a session: only the credential that opened it may use it; a session keeps
    /// the store (revision) it began in, whatever a later header says.
    async fn in_session(&self, req: Request, id: &str, owner: &str) -> Response {
        let Some(found) = self.owners.find(id, owner) else {
            return ApiError::http(
                Code::UnknownSession,
                "no open session has that id",
                "start a new session with an initialize request (without Mcp-Session-Id)",
            )
            .into_response();
        };
        let delete = req.method() == Method::DELETE;
        // A GET stream is renumbered (see `resume`) unless it resumes a request's stream
        // (`Last-Event-ID: n/request`), whose ids rmcp gets right.
        let last_event_id = req
            .headers()
            .get("last-event-id")
            .map(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()));
        let renumber_after = match (req.method() == Method::GET, last_event_id) {
            (true, None) => Some(found.delivered.load(std::sync::atomic::Ordering::Acquire)),
            (true, Some(Some(resume_after))) => Some(resume_after),
            _ => None,
        };
        let res = self.service(found.primed).handle(req).await.map(Body::new);
        let res = match renumber_after {
            Some(after) if super::auth::is_stream(&res) => {
                res.map(|body| super::resume::renumber(body, after, found.delivered.clone()))
            }
            _ => res,
        };
        if delete && res.status().is_success() {
            self.owners.remove(id);
        }
        if super::auth::is_stream(&res) {
            res.map(|body| Guarded::holding(body, found.stream()))
        } else {
            res
        }
    }
}

/// `400 MALFORMED_JSON_RPC` for a message that gives a key twice in one object (its meaning
/// would depend on the parser: see `core::unique_keys`).
pub fn refuse_duplicate_keys(body: &[u8]) -> Option<Response> {
    let key = crate::core::unique_keys::duplicate_key(body)?;
    Some(
        ApiError::http(
            Code::MalformedJsonRpc,
            format!("the message gives the key `{key}` twice in one object"),
            "send each key once per object",
        )
        .into_response(),
    )
}

/// The `protocolVersion` an `initialize` request asks for.
fn initialize_version(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Message {
        method: Option<String>,
        params: Option<Params>,
    }
    #[derive(serde::Deserialize)]
    struct Params {
        #[serde(rename = "protocolVersion")]
        protocol_version: Option<String>,
    }
    let message: Message = serde_json::from_slice(body).ok()?;
    (message.method.as_deref() == Some("initialize"))
        .then(|| message.params?.protocol_version)
        .flatten()
}

/// The stateless JSON service behind `POST /mcp/message` and the convenience endpoints.
pub fn stateless_service(
    core: &Arc<SharedCore>,
    watcher: &Arc<Watcher>,
    activity: &Arc<Activity>,
    config: &ServerConfig,
    policy: &OriginPolicy,
    shutdown: &tokio_util::sync::CancellationToken,
) -> McpService {
    StreamableHttpService::new(
        factory(core, watcher, activity),
        Arc::new(LocalSessionManager::default()),
        base_config(config, policy, shutdown)
            .with_legacy_session_mode(false)
            .with_json_response(true),
    )
}

/// Sends one JSON-RPC message through the stateless service, carrying the caller and the
/// original Host, and returns its response. Dropping the future (the request timed out, or
/// the client went away) cancels the call.
pub async fn call_stateless(
    state: &AppState,
    headers: &HeaderMap,
    caller: &Principal,
    body: Bytes,
) -> Response {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/mcp")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, text/event-stream");
    for name in [
        header::HOST,
        header::HeaderName::from_static("mcp-protocol-version"),
        header::HeaderName::from_static("mcp-method"),
        header::HeaderName::from_static("mcp-name"),
    ] {
        if let Some(v) = headers.get(&name) {
            req = req.header(name, v);
        }
    }
    let Ok(mut req) = req.body(Body::from(body)) else {
        return ApiError::http(
            Code::MalformedRequest,
            "the request could not be forwarded",
            "send a JSON-RPC message",
        )
        .into_response();
    };
    req.extensions_mut().insert(caller.scope);
    req.extensions_mut().insert(caller.clone());
    state.mcp_stateless.handle(req).await.map(Body::new)
}

/// Reads a JSON-RPC answer from a JSON body or from the last `data:` of an SSE body.
async fn json_rpc_answer(res: Response) -> Result<Value, ApiError> {
    let status = res.status();
    let is_sse = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let bytes = res
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let parsed = if is_sse {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .rfind(|v| v.get("result").is_some() || v.get("error").is_some())
    } else {
        serde_json::from_str::<Value>(&text).ok()
    };
    match parsed {
        Some(v) if v.get("result").is_some() => Ok(v["result"].clone()),
        Some(v) => Err(ApiError::relayed(
            if status.is_success() {
                StatusCode::BAD_REQUEST
            } else {
                status
            },
            Code::JsonRpcError,
            v["error"]["message"]
                .as_str()
                .unwrap_or("the MCP request failed")
                .to_owned(),
            "see the MCP specification for tools/list and tools/call",
        )),
        None => Err(ApiError::relayed(
            if status.is_success() {
                StatusCode::BAD_GATEWAY
            } else {
                status
            },
            Code::McpFailed,
            format!("the MCP handler answered {status}: {text}"),
            "retry; if it persists, report it",
        )),
    }
}

fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|r| super::error::body_rejection(&r, "send a JSON body of at most 1 MiB"))
}

/// `POST /mcp/tools/list`: the tool list as plain JSON (`{tools: [...]}`).
pub async fn tools_list(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    p.require(Scope::Read)?;
    let msg = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
    let res = call_stateless(&state, &headers, &p, Bytes::from(msg.to_string())).await;
    Ok(Json(json_rpc_answer(res).await?))
}

/// `POST /mcp/tools/call` with `{"name": ..., "arguments": {...}}`: the tool result as plain
/// JSON (`{content, structuredContent, isError}`).
pub async fn tools_call(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    p.require(Scope::Read)?;
    let bytes = body_bytes(body)?;
    if let Some(key) = crate::core::unique_keys::duplicate_key(&bytes) {
        return Err(ApiError::http(
            Code::MalformedJson,
            format!("the body gives the key `{key}` twice in one object"),
            "send each key once per object",
        ));
    }
    let params: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::http(
            Code::MalformedJson,
            format!("the body is not JSON: {e}"),
            "send {\"name\": \"list_clients\", \"arguments\": {}}",
        )
    })?;
    if !params.get("name").is_some_and(Value::is_string) {
        return Err(ApiError::http(
            Code::MissingField,
            "give the tool's `name`",
            "send {\"name\": \"list_clients\", \"arguments\": {}}",
        ));
    }
    let msg = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
    let res = call_stateless(&state, &headers, &p, Bytes::from(msg.to_string())).await;
    Ok(Json(json_rpc_answer(res).await?))
}

/// The Universal Loadability manifest (`mcp-server.json`), derived from the live tool list.
/// `base` is the server's URL (`http://127.0.0.1:8000`) when it is known.
pub fn manifest_json(base: Option<&str>, auth_required: bool) -> Value {
    let tools = tools::list();
    let tool_docs: Vec<Value> = tools
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "description": t.description,
                "input_schema": t.input_schema,
                "annotations": t.annotations,
            })
        })
        .collect();
    let http = base.map(|b| {
        json!({
            "url": format!("{b}/mcp"),
            "method": "POST",
            "transport": "streamable-http",
            "auth": if auth_required { "bearer" } else { "none" },
            "sse_endpoint": format!("{b}/mcp/sse"),
            "message_endpoint": format!("{b}/mcp/message"),
        })
    });
    json!({
        "$comment": "Universal Loadability manifest (drafts A and B of the mcp-gateway format, merged); generated by mcp-orch from its live tool list",
        "mcpVersion": super::PROTOCOL_VERSIONS[3],
        "name": "mcp-orch",
        "version": env!("CARGO_PKG_VERSION"),
        "description": env!("CARGO_PKG_DESCRIPTION"),
        "license": env!("CARGO_PKG_LICENSE"),
        "server": {
            "name": "mcp-orch",
            "version": env!("CARGO_PKG_VERSION"),
            "description": env!("CARGO_PKG_DESCRIPTION"),
        },
        "endpoints": {
            "stdio": { "command": "mcp-orch", "args": ["serve"], "env": { "MCP_ORCH_HOME": "${MCP_ORCH_HOME}" } },
            "http": http,
        },
        "capabilities": {
            "tools": { "supported": true, "count": tools.len() },
            "resources": { "supported": true, "count": resources::STATIC.len() + resources::TEMPLATES.len() },
            "prompts": { "supported": true, "count": prompts::PROMPTS.len() },
            "sampling": false,
        },
        "authentication": {
            "type": "bearer",
            "required": auth_required,
            "header": "Authorization",
            "alternatives": ["X-API-Key"],
        },
        "discovery": {
            "tags": ["mcp", "configuration", "deployment"],
            "categories": ["developer-tools"],
            "keywords": ["mcp", "claude", "cursor", "vscode", "config", "orchestration"],
        },
        "n8n": { "compatible": true, "triggerType": "webhook", "transportType": "http" },
        "mcp": {
            "protocol_version": super::PROTOCOL_VERSIONS[3],
            "protocol_versions": super::PROTOCOL_VERSIONS,
            "transport": {
                "stdio": { "command": "mcp-orch", "args": ["serve"] },
                "http": http,
            },
            "capabilities": { "tools": true, "resources": true, "prompts": true },
            "tools": tool_docs,
        },
    })
}

/// `GET /.well-known/mcp-server.json`.
pub async fn manifest(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let scheme = if state.config.tls_enabled() {
        "https"
    } else {
        "http"
    };
    let base = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("{scheme}://{h}"));
    let mut res = Json(manifest_json(base.as_deref(), state.auth.required())).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}
