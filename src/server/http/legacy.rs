//! The 2024-11-05 HTTP+SSE transport, which rmcp does not implement, bridged onto the same
//! handler: `GET /mcp/sse` opens a session whose first event (`endpoint`) names the URL for
//! POSTs, `POST /mcp/message?sessionId=…` feeds one client message into it (202), and every
//! server message (responses included) arrives as a `message` event on the GET stream.
//! Without `sessionId`, `POST /mcp/message` is the stateless endpoint: one JSON-RPC request,
//! answered directly.
//!
//! A session belongs to the credentials that opened it: a POST with other credentials gets
//! 404, like an unknown session. The session ends when the GET stream closes.

use crate::core::code::Code;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Mutex;
use std::time::Duration;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use rand_core::{OsRng, RngCore};
use rmcp::ServiceExt as _;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::PollSender;

use super::AppState;
use super::auth::Principal;
use super::error::ApiError;
use crate::core::tokens::Scope;
use crate::server::mcp::OrchServer;

/// Messages buffered per direction and session; a client that does not read its stream blocks
/// its own session, nobody else's.
const BUFFER: usize = 64;

struct Session {
    owner: String,
    tx: mpsc::Sender<ClientJsonRpcMessage>,
}

/// Open HTTP+SSE sessions.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// How many are open.
    pub fn len(&self) -> usize {
        self.map.lock().map_or(0, |m| m.len())
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Removes the session when the stream is dropped.
struct Closer {
    state: AppState,
    id: String,
}

impl Drop for Closer {
    fn drop(&mut self) {
        if let Ok(mut m) = self.state.legacy.map.lock() {
            m.remove(&self.id);
        }
    }
}

/// `GET /mcp/sse`.
pub async fn open(State(state): State<AppState>, Extension(p): Extension<Principal>) -> Response {
    if let Err(e) = p.require(Scope::Read) {
        return e.into_response();
    }
    let Some(guard) = state.metrics.stream(state.config.limits.max_streams) else {
        return ApiError::http(
            Code::TooManyStreams,
            "the server holds as many streams as it allows",
            "retry later, or raise limits.max_streams",
        )
        .into_response();
    };
    let mut raw = [0u8; 16];
    OsRng.fill_bytes(&mut raw);
    let id = hex::encode(raw);
    let (to_server, from_client) = mpsc::channel::<ClientJsonRpcMessage>(BUFFER);
    let (to_client, from_server) = mpsc::channel::<ServerJsonRpcMessage>(BUFFER);
    if let Ok(mut m) = state.legacy.map.lock() {
        m.insert(
            id.clone(),
            Session {
                owner: p.owner(),
                tx: to_server,
            },
        );
    }
    let server = OrchServer::new(state.core.clone(), state.watcher.clone())
        .with_scope(p.scope)
        .with_activity(state.activity.clone());
    let transport = (PollSender::new(to_client), ReceiverStream::new(from_client));
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        match server.serve(transport).await {
            Ok(running) => {
                let token = running.cancellation_token();
                tokio::select! {
                    _ = running.waiting() => {}
                    () = shutdown.cancelled() => token.cancel(),
                }
            }
            Err(e) => tracing::debug!("HTTP+SSE session ended before initialize: {e}"),
        }
    });
    let closer = Closer {
        state: state.clone(),
        id: id.clone(),
    };
    let endpoint = SseEvent::default()
        .event("endpoint")
        .data(format!("/mcp/message?sessionId={id}"));
    let shutdown = state.shutdown.clone();
    let messages = ReceiverStream::new(from_server)
        .take_until(async move { shutdown.cancelled().await })
        .map(move |msg| {
            let _keep = (&closer, &guard);
            let data = serde_json::to_string(&msg).unwrap_or_default();
            Ok::<_, Infallible>(SseEvent::default().event("message").data(data))
        });
    let stream = futures_util::stream::once(async move { Ok(endpoint) }).chain(messages);
    let heartbeat = Duration::from_secs(state.config.events.heartbeat_secs.max(1));
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(heartbeat))
        .into_response();
    res.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    res
}

/// `?sessionId=`.
#[derive(Debug, Deserialize)]
pub struct SessionQuery {
    #[serde(rename = "sessionId", alias = "session_id")]
    session_id: Option<String>,
}

/// `POST /mcp/message[?sessionId=…]`.
pub async fn message(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<SessionQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(e) = p.require(Scope::Read) {
        return e.into_response();
    }
    let bytes = match body {
        Ok(b) => b,
        Err(r) => {
            return super::error::body_rejection(&r, "send one JSON-RPC message of at most 1 MiB")
                .into_response();
        }
    };
    if let Some(refused) = super::mcp::refuse_duplicate_keys(&bytes) {
        return refused;
    }
    let Some(id) = q.session_id else {
        return super::mcp::call_stateless(&state, &headers, &p, bytes).await;
    };
    let msg: ClientJsonRpcMessage = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => {
            return ApiError::http(
                Code::MalformedJsonRpc,
                format!("not a JSON-RPC message: {e}"),
                "send one JSON-RPC request, response or notification",
            )
            .into_response();
        }
    };
    let tx = state.legacy.map.lock().ok().and_then(|m| {
        m.get(&id)
            .filter(|s| s.owner == p.owner())
            .map(|s| s.tx.clone())
    });
    let Some(tx) = tx else {
        return ApiError::http(
            Code::UnknownSession,
            "no open session has that id",
            "open one with GET /mcp/sse and use the endpoint it names",
        )
        .into_response();
    };
    if tx.send(msg).await.is_err() {
        return ApiError::http(
            Code::UnknownSession,
            "the session has ended",
            "open a new one with GET /mcp/sse",
        )
        .into_response();
    }
    StatusCode::ACCEPTED.into_response()
}
