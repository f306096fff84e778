//! Errors as HTTP responses: every error body is `{"error": {code, message, field?, hint,
//! details?}}`, the same shape and codes as the CLI's `--json` errors.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::core;
use crate::core::code::Code;

/// A core error, or a failure of the HTTP layer itself, as a response.
#[derive(Debug)]
pub enum ApiError {
    /// An error from the core: the status follows its code.
    Core(core::Error),
    /// An HTTP-level error: its code's category gives the status, unless relayed.
    Http {
        /// Status.
        status: StatusCode,
        /// Stable code.
        code: Code,
        /// Message.
        message: String,
        /// What to do next.
        hint: String,
    },
}

impl From<core::Error> for ApiError {
    fn from(e: core::Error) -> Self {
        Self::Core(e)
    }
}

impl ApiError {
    /// An HTTP-level error; the status is its code's category's.
    pub fn http(code: Code, message: impl Into<String>, hint: impl Into<String>) -> Self {
        let status = StatusCode::from_u16(code.category().http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::relayed(status, code, message, hint)
    }

    /// An HTTP-level error with another component's status (the MCP handler's, relayed).
    pub fn relayed(
        status: StatusCode,
        code: Code,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self::Http {
            status,
            code,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Core(e) => status_of(e),
            Self::Http { status, .. } => *status,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        match self {
            Self::Core(e) => {
                json!({ "error": crate::api::next::error_body(e, crate::api::next::Face::Rest) })
            }
            Self::Http {
                code,
                message,
                hint,
                ..
            } => json!({ "error": { "code": code.as_str(), "message": message, "hint": hint } }),
        }
    }
}

/// The status for a core error: its code's category decides (`core::code`).
pub fn status_of(e: &core::Error) -> StatusCode {
    StatusCode::from_u16(e.error_code().category().http_status())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), body = %self.body(), "request failed");
        }
        (status, Json(self.body())).into_response()
    }
}

/// 401 with the challenge. The body is the same whatever was wrong (missing, malformed,
/// unknown, revoked or expired), so a caller learns nothing from it.
pub fn unauthorized() -> Response {
    let mut res = ApiError::http(
        Code::Unauthorized,
        "authentication required: the request has no valid credentials",
        "send `Authorization: Bearer <token>` (create one with `mcp-orch token create`) or the `X-API-Key` header",
    )
    .into_response();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"mcp-orch\""),
    );
    res
}

/// 403 for a scope that does not allow the call.
pub fn forbidden_scope(needed: &str, have: &str) -> ApiError {
    ApiError::http(
        Code::InsufficientScope,
        format!("this call needs the `{needed}` scope; the credentials have `{have}`"),
        format!("use a token created with `mcp-orch token create --scope {needed}`"),
    )
}

/// Maps a JSON body rejection (syntax, type, size, content type) to an error body.
pub fn json_rejection(r: &JsonRejection) -> ApiError {
    let code = match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Code::BodyTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Code::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => Code::InvalidBody,
        _ => Code::MalformedJson,
    };
    ApiError::http(
        code,
        r.body_text(),
        "send a JSON body as described in /openapi.json (at most 1 MiB)",
    )
}

/// Maps a body that could not be read: over the limit (413 `BODY_TOO_LARGE`) or broken (400
/// `MALFORMED_BODY`).
pub fn body_rejection(r: &axum::extract::rejection::BytesRejection, hint: &str) -> ApiError {
    let code = if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Code::BodyTooLarge
    } else {
        Code::MalformedBody
    };
    ApiError::http(code, r.body_text(), hint)
}

/// Maps a query-string rejection.
pub fn query_rejection(r: &QueryRejection) -> ApiError {
    ApiError::http(
        Code::InvalidQuery,
        r.body_text(),
        "see /openapi.json for the query parameters",
    )
}

/// Maps a path rejection.
pub fn path_rejection(r: &PathRejection) -> ApiError {
    ApiError::http(
        Code::InvalidPath,
        r.body_text(),
        "see /openapi.json for the paths",
    )
}
