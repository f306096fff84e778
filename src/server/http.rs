//! The HTTP server: the REST API under `/v1`, the live event feed, health, metrics and the
//! `OpenAPI` document, and the MCP endpoints, all over the same core.
//!
//! [`router`] builds the whole application (tests drive it without a socket);
//! [`launch_with_listener`] serves it on a bound listener with the protections `axum::serve`
//! lacks: a header-read timeout, a connection cap, optional TLS, and a graceful shutdown that
//! drains requests in flight.
//!
//! Layers, outermost first: metrics → Host/Origin check (403) → CORS (only with an allow-list)
//! → body limit (413) → routes. Authenticated routes add credentials (401), backoff and rate
//! limit (429); handlers check scopes (403). Non-streaming `/v1` routes time out (408).

pub mod auth;
pub mod background;
pub mod body;
pub mod config;
pub mod connections;
pub mod error;
pub mod events;
pub mod legacy;
pub mod listener;
pub mod mcp;
pub mod metrics;
pub mod openapi;
pub mod readiness;
pub mod registry;
pub mod rest;
pub mod resume;
pub mod sessions;
pub mod team;

use crate::core::code::Code;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::Limited;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;

use crate::core::tokens::Scope;
use crate::core::{Options, Orchestrator};
use crate::server::activity::Activity;
use crate::server::watch::{POLL_INTERVAL, SharedCore, Watcher};
use auth::{Auth, OriginPolicy, RateLimiter};
use config::ServerConfig;
use error::ApiError;
use events::EventHub;
use metrics::Metrics;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

pub use listener::launch_with_listener;

/// Everything a handler can reach: one shared [`Shared`], so that the clone every layer and
/// handler takes is a reference count (cloning the fields themselves showed in profiles).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    /// The core (reopened when the catalog or client registry changes on disk).
    pub core: Arc<SharedCore>,
    /// Changes in the state directory, by any process.
    pub watcher: Arc<Watcher>,
    /// Sessions of the Streamable HTTP transport at `/mcp`: those at 2025-11-25 or later, whose
    /// SSE streams start with a priming event, and the older ones, whose streams do not.
    pub mcp_sessions: [Arc<LocalSessionManager>; 2],
    /// Who owns each of those sessions, and the caps.
    pub mcp_owners: Arc<sessions::SessionOwners>,
    /// Recent requests, for the TUI's Server panel.
    pub activity: Arc<Activity>,
    /// Sessions of the 2024-11-05 HTTP+SSE transport.
    pub legacy: Arc<legacy::Sessions>,
    /// The stateless MCP service behind `POST /mcp/message` and the convenience endpoints.
    pub mcp_stateless: mcp::McpService,
    /// The configuration.
    pub config: Arc<ServerConfig>,
    /// Credential checking.
    pub auth: Arc<Auth>,
    /// Per-credential rate limit (`None` when off).
    pub limiter: Option<Arc<RateLimiter>>,
    /// Failed authentications per peer.
    pub auth_failures: Arc<RateLimiter>,
    /// Host and Origin allow-lists.
    pub origins: Arc<OriginPolicy>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The event feed.
    pub events: Arc<EventHub>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Whether the state directory can be written (`/ready`, and `/health` from memory).
    pub readiness: Arc<readiness::Readiness>,
}

impl AppState {
    /// State over the core and a configuration. `api_key` is the static key accepted as
    /// `X-API-Key`, if any. Needs a tokio runtime (the state watcher starts here).
    pub fn new(
        options: Options,
        config: ServerConfig,
        api_key: Option<&str>,
    ) -> crate::core::Result<Self> {
        Ok(Self::with_core(
            Arc::new(SharedCore::open(options)?),
            config,
            api_key,
        ))
    }

    /// State over a core that is already open (the TUI's background server).
    pub fn with_core(core: Arc<SharedCore>, config: ServerConfig, api_key: Option<&str>) -> Self {
        let watcher = Watcher::spawn(core.clone(), POLL_INTERVAL);
        let auth = Auth::new(
            core.get().token_store(),
            api_key,
            config.auth.api_key_scope,
            config.auth.required,
        );
        let limiter = (config.rate_limit.per_second > 0).then(|| {
            Arc::new(RateLimiter::new(
                Duration::from_secs(1) / config.rate_limit.per_second,
                config.rate_limit.burst.max(1),
            ))
        });
        let per_minute = config.rate_limit.auth_failures_per_minute.max(1);
        let auth_failures = Arc::new(RateLimiter::new(
            Duration::from_mins(1) / per_minute,
            per_minute,
        ));
        let mut origins = config.cors.origins.clone();
        origins.extend(config.security.allowed_origins.iter().cloned());
        let policy = OriginPolicy::new(config.host, &config.security.allowed_hosts, &origins);
        let shutdown = CancellationToken::new();
        let activity = Arc::new(Activity::default());
        let mcp_stateless =
            mcp::stateless_service(&core, &watcher, &activity, &config, &policy, &shutdown);
        let readiness = Arc::new(readiness::Readiness::new(core.get().home().to_path_buf()));
        Self(Arc::new(Shared {
            core,
            watcher,
            mcp_stateless,
            mcp_sessions: mcp::session_stores(&config),
            mcp_owners: Arc::new(sessions::SessionOwners::new(config.session_limits())),
            activity,
            legacy: Arc::new(legacy::Sessions::default()),
            events: Arc::new(EventHub::new(config.events.buffer)),
            config: Arc::new(config),
            auth: Arc::new(auth),
            limiter,
            auth_failures,
            origins: Arc::new(policy),
            metrics: Arc::new(Metrics::default()),
            shutdown,
            readiness,
        }))
    }

    /// Open MCP sessions: Streamable HTTP and HTTP+SSE.
    pub fn session_count(&self) -> usize {
        // `try_read`: a count taken while a session is being created may be one off; it is
        // shown, never acted on.
        let streamable: usize = self
            .mcp_sessions
            .iter()
            .map(|m| m.sessions.try_read().map_or(0, |s| s.len()))
            .sum();
        streamable + self.legacy.len()
    }

    /// Asks the watcher to look for changes now (after a change made through this server).
    pub fn poke(&self) {
        self.watcher.poke();
    }

    /// Starts the background tasks: the event poller, the check that ends the streams and
    /// sessions of revoked and expired tokens, the MCP session sweeper and the token last-use
    /// flusher. Needs a tokio runtime.
    pub fn start_background(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut timer = tokio::time::interval(CREDENTIAL_CHECK);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = this.shutdown.cancelled() => break,
                    _ = timer.tick() => {
                        this.auth.end_lost_credentials(chrono::Utc::now());
                        mcp::close_sessions(&this.mcp_sessions, this.mcp_owners.expired()).await;
                    }
                }
            }
        });
        events::spawn_feed(
            self.events.clone(),
            self.metrics.clone(),
            self.core.clone(),
            &self.watcher,
            self.shutdown.clone(),
        );
        let auth = self.auth.clone();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let mut timer = tokio::time::interval(Duration::from_secs(5));
            loop {
                let stop = tokio::select! {
                    () = shutdown.cancelled() => true,
                    _ = timer.tick() => false,
                };
                let a = auth.clone();
                let _ = tokio::task::spawn_blocking(move || a.flush_uses()).await;
                if stop {
                    break;
                }
            }
        });
    }

    /// Runs blocking core work off the async threads.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Orchestrator) -> crate::core::Result<T> + Send + 'static,
    {
        let core = self.core.get();
        match tokio::task::spawn_blocking(move || f(&core)).await {
            Ok(r) => r.map_err(ApiError::from),
            Err(e) => Err(ApiError::Core(crate::core::Error::Internal(format!(
                "a worker task failed: {e}"
            )))),
        }
    }
}

/// How often credentials are re-checked and idle MCP sessions looked for: a revoked token's
/// streams end within this (plus the time to notice the token file changed, which is a stat).
const CREDENTIAL_CHECK: Duration = Duration::from_millis(250);

/// MCP protocol revisions the server speaks.
pub const PROTOCOL_VERSIONS: [&str; 5] = [
    "2024-11-05",
    "2025-03-26",
    "2025-06-18",
    "2025-11-25",
    "2026-07-28",
];

/// The transports and their endpoints, for `/mcp/info` and the manifest.
pub fn transports_json() -> serde_json::Value {
    serde_json::json!({
        "streamable_http": { "endpoint": "/mcp", "methods": ["POST", "GET", "DELETE"] },
        "http_sse": { "sse_endpoint": "/mcp/sse", "message_endpoint": "/mcp/message?sessionId=", "protocol_version": "2024-11-05" },
        "stateless_json_rpc": { "endpoint": "/mcp/message", "method": "POST" },
        "convenience": { "tools_list": "/mcp/tools/list", "tools_call": "/mcp/tools/call" },
        "stdio": { "command": "mcp-orch", "args": ["serve", "--stdio"] },
    })
}

/// The MCP capabilities, for `/mcp/info`.
pub fn capabilities_json() -> serde_json::Value {
    serde_json::json!({
        "tools": { "listChanged": false },
        "resources": { "subscribe": true, "listChanged": true },
        "prompts": {},
        "logging": {},
    })
}

impl AppState {
    /// Seconds since the server started.
    pub fn metrics_uptime(&self) -> u64 {
        self.metrics.uptime_secs()
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let timeout =
        TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.request_timeout());
    let v1 = Router::new()
        .route("/clients", get(rest::clients))
        .route("/clients/{client_id}/profiles", get(rest::profiles))
        .route("/config/diff", post(rest::diff_configs))
        .route("/config/{client_id}/{profile}", get(rest::get_config))
        .route(
            "/config/{client_id}/{profile}/draft",
            get(rest::view_draft).delete(rest::clear_draft),
        )
        .route(
            "/config/{client_id}/{profile}/draft/add",
            post(rest::draft_add),
        )
        .route(
            "/config/{client_id}/{profile}/draft/remove",
            post(rest::draft_remove),
        )
        .route(
            "/config/{client_id}/{profile}/validate",
            post(rest::validate),
        )
        .route("/config/{client_id}/{profile}/diff", get(rest::diff_draft))
        .route("/config/{client_id}/{profile}/publish", post(rest::publish))
        .route("/config/{client_id}/{profile}/deploy", post(rest::deploy))
        .route(
            "/config/{client_id}/{profile}/rollback",
            post(rest::rollback),
        )
        .route("/config/{client_id}/{profile}/apply", post(rest::apply))
        .route(
            "/config/{client_id}/{profile}/undeploy",
            post(rest::undeploy),
        )
        .route("/config/{client_id}/{profile}/history", get(rest::history))
        .route("/servers", get(rest::servers))
        .route("/servers/{server_id}", get(rest::server))
        .route("/keys/initialize", post(rest::init_keys))
        .route("/status", get(rest::status))
        .route("/audit", get(rest::audit))
        .route("/audit/verify", get(rest::audit_verify))
        .route("/events/recent", get(events::recent))
        .route("/team/roots", get(team::roots))
        .route("/team/snapshot", get(team::snapshot))
        .route(
            "/team/releases/{client_id}/{profile}/{version}",
            get(team::release),
        )
        .layer(timeout);
    let authed = Router::new()
        .nest("/v1", v1.route("/events", get(events::events)))
        .route("/metrics", get(metrics_text).layer(timeout))
        .route_service("/mcp", mcp::streamable_service(&state))
        .route("/mcp/sse", get(legacy::open))
        .route("/mcp/message", post(legacy::message))
        .route("/mcp/tools/list", post(mcp::tools_list).layer(timeout))
        .route("/mcp/tools/call", post(mcp::tools_call).layer(timeout))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_auth,
        ));
    let public = Router::new()
        .route("/health", get(rest::health))
        .route("/ready", get(rest::ready))
        .route("/mcp/info", get(rest::mcp_info))
        .route("/openapi.json", get(openapi::document))
        .route("/.well-known/mcp-server.json", get(mcp::manifest))
        .layer(timeout);
    let mut app = Router::new()
        .merge(public)
        .merge(authed)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), limit_body));
    if let Some(cors) = cors_layer(&state.config) {
        app = app.layer(cors);
    }
    let app = app.layer(middleware::from_fn_with_state(
        state.clone(),
        auth::check_origin,
    ));
    // The registry routes have their own CORS and checks: outside the layers above.
    Router::new()
        .merge(registry::routes(&state))
        .merge(app)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// The CORS layer for the configured origins; `None` when none are configured (no CORS).
fn cors_layer(config: &ServerConfig) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = config
        .cors
        .origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim().trim_end_matches('/')).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                header::HeaderName::from_static("x-api-key"),
                header::HeaderName::from_static("last-event-id"),
                header::HeaderName::from_static("mcp-session-id"),
                header::HeaderName::from_static("mcp-protocol-version"),
                // Sent with every request from 2026-07-28 on.
                header::HeaderName::from_static("mcp-method"),
                header::HeaderName::from_static("mcp-name"),
            ])
            .expose_headers([
                header::HeaderName::from_static("mcp-session-id"),
                header::RETRY_AFTER,
                header::WWW_AUTHENTICATE,
            ])
            .max_age(Duration::from_mins(10)),
    )
}

/// 413 for a declared length over the limit, and a length-limited body for the rest (the JSON
/// extractors turn an overrun into 413 too). Every 413 closes the connection: the unread rest
/// of the body would otherwise be taken for the next request on a keep-alive connection.
async fn limit_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config.limits.body_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut res = if declared.is_some_and(|n| n > limit as u64) {
        too_large(limit)
    } else {
        let req = req.map(|b| Body::new(Limited::new(b, limit)));
        next.run(req).await
    };
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

fn too_large(limit: usize) -> Response {
    ApiError::http(
        Code::BodyTooLarge,
        format!("the request body is larger than {limit} bytes"),
        "send a smaller body",
    )
    .into_response()
}

async fn not_found() -> Response {
    ApiError::http(
        Code::NotFound,
        "no such endpoint",
        "see /openapi.json for the endpoints",
    )
    .into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::http(
        Code::MethodNotAllowed,
        "this endpoint does not take that method",
        "see /openapi.json for the methods",
    )
    .into_response()
}

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, description = "Missing or bad credentials", body = rest::ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn metrics_text(
    State(state): State<AppState>,
    axum::Extension(principal): axum::Extension<auth::Principal>,
) -> Response {
    if let Err(e) = principal.require(Scope::Read) {
        return e.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state
            .metrics
            .render(metrics::rss_bytes(), state.mcp_owners.len()),
    )
        .into_response()
}
