//! What a team server hands to machines that pull (docs/TEAM.md): the roots, a snapshot
//! signed on each request, and releases with their payloads' exact bytes. Read scope.

use axum::Json;
use axum::extract::{Extension, State};
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::auth::Principal;
use super::error::ApiError;
use super::rest::{ApiPath, ErrorResponse};
use crate::api;
use crate::core::tokens::Scope;

/// Every version of the team's root, oldest first.
#[utoipa::path(
    get,
    path = "/v1/team/roots",
    tag = "team",
    responses(
        (status = 200, description = "The roots", body = api::RootList),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 409, description = "No team root yet", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn roots(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<api::RootList>, ApiError> {
    p.require(Scope::Read)?;
    Ok(Json(state.blocking(api::team::roots).await?))
}

/// Every channel's newest release, signed now by this replica.
#[utoipa::path(
    get,
    path = "/v1/team/snapshot",
    tag = "team",
    responses(
        (status = 200, description = "The signed snapshot", body = api::Signed),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 409, description = "No team root or signing key yet", body = ErrorResponse),
        (status = 422, description = "The signing key is not in the team's root", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn snapshot(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<api::Signed>, ApiError> {
    p.require(Scope::Read)?;
    Ok(Json(
        state
            .blocking(crate::core::Orchestrator::team_snapshot)
            .await?,
    ))
}

/// A release of a channel, by version.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ReleasePath {
    /// Client id, e.g. `cursor`.
    #[param(pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")]
    pub client_id: String,
    /// Profile id, e.g. `default`.
    #[param(pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")]
    pub profile: String,
    /// The release's version.
    #[param(minimum = 1)]
    pub version: u64,
}

/// One release with its payload's exact bytes.
#[utoipa::path(
    get,
    path = "/v1/team/releases/{client_id}/{profile}/{version}",
    tag = "team",
    params(ReleasePath),
    responses(
        (status = 200, description = "The release", body = api::PulledRelease),
        (status = 400, description = "Malformed id or version", body = ErrorResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorResponse),
        (status = 404, description = "No such client or release", body = ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn release(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiPath(ReleasePath {
        client_id,
        profile,
        version,
    }): ApiPath<ReleasePath>,
) -> Result<Json<api::PulledRelease>, ApiError> {
    p.require(Scope::Read)?;
    Ok(Json(
        state
            .blocking(move |o| o.team_release(&client_id, &profile, version))
            .await?,
    ))
}
