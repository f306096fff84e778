//! The team's approved catalog as an MCP Registry (API v0.1, docs/TEAM.md §6), read by
//! `mcp-orch registry sync --url` on developer machines and by clients that can be pointed at
//! a private registry (VS Code, GitHub Copilot):
//!
//! - `GET /v0.1/servers?cursor=&limit=&search=&updated_since=&version=&include_deleted=`
//! - `GET /v0.1/servers/{serverName}/versions`
//! - `GET /v0.1/servers/{serverName}/versions/{version}` (`latest` allowed)
//!
//! The answers and errors have the registry's shapes (`{"error": "…"}`), not `/v1`'s. The
//! routes take a read token unless `[registry] public = true`; either way they answer any
//! origin (`Access-Control-Allow-Origin: *`, as GitHub requires of a registry), and only the
//! Host check of the other routes applies to them.

use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;
use tower_http::cors::{Any, CorsLayer};
use tower_http::timeout::TimeoutLayer;

use super::AppState;
use super::auth::{self, Principal};
use crate::core::approvals::{self, Approval};
use crate::core::tokens::Scope;

/// The registry routes, with their own CORS and (unless public) authentication.
pub fn routes(state: &AppState) -> Router<AppState> {
    let timeout =
        TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.request_timeout());
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    let mut routes = Router::new()
        .route("/v0.1/servers", get(list))
        .route("/v0.1/servers/{name}/versions", get(versions))
        .route("/v0.1/servers/{name}/versions/{version}", get(version))
        .layer(timeout);
    if !state.config.registry.public {
        routes = routes.route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_auth,
        ));
    }
    routes.layer(cors).layer(middleware::from_fn_with_state(
        state.clone(),
        auth::check_host,
    ))
}

/// The registry's error shape.
fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

/// Reads the approvals, after checking the caller may (a read token, unless public).
async fn approvals(
    state: &AppState,
    principal: Option<&Principal>,
) -> Result<Vec<Approval>, Response> {
    if let Some(p) = principal
        && p.require(Scope::Read).is_err()
    {
        return Err(error(StatusCode::FORBIDDEN, "the token may not read"));
    }
    state
        .blocking(crate::core::Orchestrator::approvals)
        .await
        .map_err(|_| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the approved catalog cannot be read",
            )
        })
}

/// The query of `GET /v0.1/servers`, as sent.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<String>,
    search: Option<String>,
    updated_since: Option<String>,
    version: Option<String>,
    include_deleted: Option<String>,
}

impl ListQuery {
    fn parse(self) -> Result<approvals::Query, String> {
        let limit = self
            .limit
            .map(|l| {
                l.parse::<usize>()
                    .map_err(|_| format!("limit `{l}` is not a number"))
            })
            .transpose()?;
        let updated_since = self
            .updated_since
            .map(|t| {
                chrono::DateTime::parse_from_rfc3339(&t)
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .map_err(|_| format!("updated_since `{t}` is not an RFC 3339 time"))
            })
            .transpose()?;
        let include_deleted = self
            .include_deleted
            .map(|b| match b.as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(format!("include_deleted `{b}` is not true or false")),
            })
            .transpose()?;
        Ok(approvals::Query {
            cursor: self.cursor,
            limit,
            search: self.search,
            updated_since,
            version: self.version,
            include_deleted,
        })
    }
}

/// `GET /v0.1/servers`.
async fn list(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = match query
        .map_err(|e| e.body_text())
        .and_then(|Query(q)| q.parse())
    {
        Ok(q) => q,
        Err(why) => return error(StatusCode::BAD_REQUEST, &why),
    };
    let all = match approvals(&state, principal.as_deref()).await {
        Ok(all) => all,
        Err(response) => return response,
    };
    match approvals::page(&all, &query) {
        Ok(list) => axum::Json(list).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// `GET /v0.1/servers/{serverName}/versions`.
async fn versions(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    Path(name): Path<String>,
) -> Response {
    let all = match approvals(&state, principal.as_deref()).await {
        Ok(all) => all,
        Err(response) => return response,
    };
    let servers = approvals::versions(&all, &name);
    if servers.is_empty() {
        return error(StatusCode::NOT_FOUND, "Server not found");
    }
    let count = servers.len();
    axum::Json(json!({ "servers": servers, "metadata": { "count": count } })).into_response()
}

/// `GET /v0.1/servers/{serverName}/versions/{version}`.
async fn version(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    let all = match approvals(&state, principal.as_deref()).await {
        Ok(all) => all,
        Err(response) => return response,
    };
    match approvals::version(&all, &name, &version) {
        Some(server) => axum::Json(server).into_response(),
        None => error(StatusCode::NOT_FOUND, "Server not found"),
    }
}
