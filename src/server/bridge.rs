//! The stdio-to-remote bridge behind `mcp-orch connect`: a client starts it as a stdio server,
//! and it relays every JSON-RPC message, unchanged, to a remote MCP server over Streamable HTTP
//! (rmcp's client transport, which keeps the session, resumes streams and starts a new session
//! when the server forgets it) or the 2024-11-05 HTTP+SSE transport
//! ([`crate::core::sse_client::SseTransport`], which reconnects and repeats the handshake when
//! its stream drops). Headers, credentials included,
//! are set by the caller, so a client that cannot hold a credential, or does not speak the
//! server's transport, still reaches it. It replaces `npx -y mcp-remote`.

use std::time::Duration;

use rmcp::model::{ClientRequest, JsonRpcMessage};
use rmcp::service::{RoleClient, RoleServer};
use rmcp::transport::streamable_http_client::{
    StreamableHttpClientTransport, StreamableHttpClientTransportConfig,
};
use rmcp::transport::{IntoTransport, Transport};
use tokio::sync::mpsc;

use crate::core::sse_client::SseTransport;

/// The remote server's transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteTransport {
    /// Streamable HTTP (MCP 2025-03-26 and later).
    StreamableHttp,
    /// HTTP+SSE (MCP 2024-11-05): a GET event stream plus POSTs to the endpoint it names.
    Sse,
}

/// Why the bridge stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The remote server could not be reached or refused the connection.
    #[error("cannot connect to {url}: {message}")]
    Connect {
        /// The server's URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// Sending a message failed.
    #[error("relaying a message failed: {0}")]
    Relay(String),
}

/// Relays messages between this process's stdin/stdout and the remote server until either side
/// closes.
pub async fn run(
    url: &str,
    transport: RemoteTransport,
    headers: reqwest::header::HeaderMap,
) -> Result<(), BridgeError> {
    let local = IntoTransport::<RoleServer, _, _>::into_transport(rmcp::transport::stdio());
    // The headers go with every request, as the HTTP client's defaults.
    let client = http_client(headers, url)?;
    match transport {
        RemoteTransport::StreamableHttp => {
            let config = StreamableHttpClientTransportConfig::with_uri(url.to_owned())
                .reinit_on_expired_session(true);
            relay(
                local,
                StreamableHttpClientTransport::with_client(client, config),
            )
            .await
        }
        RemoteTransport::Sse => {
            let remote =
                SseTransport::connect(client, url)
                    .await
                    .map_err(|e| BridgeError::Connect {
                        url: url.to_owned(),
                        message: e.to_string(),
                    })?;
            relay(local, remote).await
        }
    }
}

fn http_client(
    headers: reqwest::header::HeaderMap,
    url: &str,
) -> Result<reqwest::Client, BridgeError> {
    crate::core::registry::fetch::client_builder()
        .default_headers(headers)
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| BridgeError::Connect {
            url: url.to_owned(),
            message: e.to_string(),
        })
}

/// Pumps messages both ways. Requests are sent concurrently (a slow tool call must not hold
/// up the others); `initialize`, notifications and responses are sent in order, because the
/// order of the handshake and of cancellations matters.
pub async fn relay<L, R>(mut local: L, mut remote: R) -> Result<(), BridgeError>
where
    L: Transport<RoleServer>,
    R: Transport<RoleClient>,
{
    let (failures_tx, mut failures) = mpsc::unbounded_channel::<String>();
    loop {
        tokio::select! {
            message = local.receive() => {
                let Some(message) = message else { break };
                let ordered = !matches!(&message, JsonRpcMessage::Request(r)
                    if !matches!(r.request, ClientRequest::InitializeRequest(_)));
                let sending = remote.send(message);
                if ordered {
                    sending.await.map_err(|e| BridgeError::Relay(e.to_string()))?;
                } else {
                    let failures = failures_tx.clone();
                    tokio::spawn(async move {
                        if let Err(e) = sending.await {
                            let _ = failures.send(e.to_string());
                        }
                    });
                }
            }
            message = remote.receive() => {
                let Some(message) = message else { break };
                local.send(message).await.map_err(|e| BridgeError::Relay(e.to_string()))?;
            }
            Some(failure) = failures.recv() => {
                // The request is lost; the client times it out. Say why on stderr.
                tracing::warn!(%failure, "a request could not be relayed");
            }
        }
    }
    let _ = remote.close().await;
    let _ = local.close().await;
    Ok(())
}
