//! `GET /openapi.json`: the `OpenAPI` 3.1 document, generated from the handlers' annotations and
//! the response types, so it describes what the server does.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{events, rest, team};

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("mcpo_pat_…")
                    .description(Some(
                        "A token from `mcp-orch token create` (scopes read, write, admin)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "The static key from the environment (MCP_ORCH_API_KEY by default)",
            ))),
        );
    }
}

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "mcp-orch HTTP API",
        description = "REST API of mcp-orch: clients, drafts, validation, signed releases, deploys, status, audit and live events. Errors are `{\"error\": {code, message, field?, hint, details?}}`. The MCP endpoints (/mcp, /mcp/sse, /mcp/message) speak JSON-RPC and are described by the MCP specification.",
        license(name = "MIT OR Apache-2.0")
    ),
    paths(
        rest::health,
        rest::ready,
        rest::mcp_info,
        super::metrics_text,
        rest::clients,
        rest::profiles,
        rest::get_config,
        rest::diff_configs,
        rest::draft_add,
        rest::draft_remove,
        rest::view_draft,
        rest::clear_draft,
        rest::validate,
        rest::diff_draft,
        rest::publish,
        rest::deploy,
        rest::rollback,
        rest::apply,
        rest::undeploy,
        rest::history,
        rest::servers,
        rest::server,
        rest::init_keys,
        rest::status,
        rest::audit,
        rest::audit_verify,
        events::events,
        events::recent,
        team::roots,
        team::snapshot,
        team::release,
    ),
    modifiers(&Security),
    tags(
        (name = "operations", description = "Health and metrics"),
        (name = "mcp", description = "MCP server information"),
        (name = "clients", description = "Known AI clients and their profiles"),
        (name = "config", description = "Published configurations and comparisons"),
        (name = "draft", description = "Drafts: add, remove, view, clear, validate, diff"),
        (name = "release", description = "Publish, deploy, roll back, history, status"),
        (name = "servers", description = "The server catalog"),
        (name = "keys", description = "The signing key"),
        (name = "audit", description = "The audit log"),
        (name = "events", description = "Live domain events"),
        (name = "team", description = "Team mode: the root, snapshot and releases that machines pull"),
    )
)]
pub struct ApiDoc;

/// The document as JSON text (built once).
pub fn json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        // The answer types' components are their JSON Schemas (the same ones the MCP tools
        // declare as `outputSchema`), in place of the placeholders the handlers name.
        if let Some(schemas) = doc
            .pointer_mut("/components/schemas")
            .and_then(serde_json::Value::as_object_mut)
        {
            schemas.extend(crate::api::schema::components());
        }
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    })
}

/// `GET /openapi.json`.
pub async fn document() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json()).into_response()
}
