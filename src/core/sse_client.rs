//! A client of the 2024-11-05 HTTP+SSE MCP transport, as an rmcp [`Transport`]: rmcp's own
//! client speaks only Streamable HTTP. Used by probes of SSE servers and by the stdio bridge
//! (`mcp-orch connect --transport sse`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage, ServerJsonRpcMessage};
use rmcp::service::RoleClient;
use rmcp::transport::Transport;
use tokio::sync::mpsc;

/// Why the SSE client failed.
#[derive(Debug, thiserror::Error)]
pub enum SseError {
    /// The event stream could not be opened, or named no endpoint.
    #[error("cannot connect to {url}: {message}")]
    Connect {
        /// The stream's URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A POST of a message failed.
    #[error("sending a message failed: {0}")]
    Send(String),
}

/// A client of the 2024-11-05 HTTP+SSE transport as an rmcp [`Transport`]: the server's
/// messages arrive on one GET event stream, which first names the endpoint that takes the
/// client's messages as POSTs. When the stream drops, it reconnects (with backoff, a bounded
/// number of times) and repeats the `initialize` handshake on the new stream, dropping the
/// repeated answer, so the client keeps its session.
pub struct SseTransport {
    client: reqwest::Client,
    shared: Arc<SseShared>,
    incoming: mpsc::Receiver<ServerJsonRpcMessage>,
    reader: tokio::task::JoinHandle<()>,
}

struct SseShared {
    url: String,
    /// Where POSTs go; changes on reconnect.
    endpoint: Mutex<reqwest::Url>,
    /// The `initialize` request and `initialized` notification, for replay after reconnecting.
    handshake: Mutex<Vec<ClientJsonRpcMessage>>,
}

/// Reconnects after the stream drops, before giving up.
const SSE_RECONNECTS: u32 = 5;

type EventStream = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = Result<sse_stream::Sse, sse_stream::Error>> + Send>,
>;

impl SseTransport {
    /// Opens the event stream and waits for the endpoint.
    pub async fn connect(client: reqwest::Client, url: &str) -> Result<Self, SseError> {
        let (endpoint, events) = open_stream(&client, url).await?;
        let shared = Arc::new(SseShared {
            url: url.to_owned(),
            endpoint: Mutex::new(endpoint),
            handshake: Mutex::new(Vec::new()),
        });
        let (tx, incoming) = mpsc::channel(64);
        let reader = tokio::spawn(read_events(client.clone(), shared.clone(), events, tx));
        Ok(Self {
            client,
            shared,
            incoming,
            reader,
        })
    }
}

impl Transport<RoleClient> for SseTransport {
    type Error = SseError;

    fn send(
        &mut self,
        item: ClientJsonRpcMessage,
    ) -> impl Future<Output = Result<(), SseError>> + Send + 'static {
        let is_handshake = match &item {
            JsonRpcMessage::Request(r) => matches!(r.request, ClientRequest::InitializeRequest(_)),
            JsonRpcMessage::Notification(n) => {
                matches!(
                    n.notification,
                    rmcp::model::ClientNotification::InitializedNotification(_)
                )
            }
            _ => false,
        };
        if is_handshake && let Ok(mut handshake) = self.shared.handshake.lock() {
            handshake.push(item.clone());
        }
        let client = self.client.clone();
        let shared = self.shared.clone();
        async move { post(&client, &shared, &item).await }
    }

    fn receive(&mut self) -> impl Future<Output = Option<ServerJsonRpcMessage>> + Send {
        self.incoming.recv()
    }

    async fn close(&mut self) -> Result<(), SseError> {
        self.reader.abort();
        Ok(())
    }
}

async fn post(
    client: &reqwest::Client,
    shared: &SseShared,
    message: &ClientJsonRpcMessage,
) -> Result<(), SseError> {
    let endpoint = shared
        .endpoint
        .lock()
        .map_err(|_| SseError::Send("endpoint lock poisoned".into()))?
        .clone();
    let response = client
        .post(endpoint)
        .json(message)
        .send()
        .await
        .map_err(|e| SseError::Send(e.to_string()))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(SseError::Send(format!(
            "the server answered {} to a POST",
            response.status()
        )))
    }
}

/// GETs the event stream and reads up to its `endpoint` event.
async fn open_stream(
    client: &reqwest::Client,
    url: &str,
) -> Result<(reqwest::Url, EventStream), SseError> {
    let failed = |message: String| SseError::Connect {
        url: url.to_owned(),
        message,
    };
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "text/event-stream")
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("the server answered {}", response.status())));
    }
    let base = response.url().clone();
    let mut events: EventStream = Box::pin(sse_stream::SseStream::from_bytes_stream(
        response.bytes_stream(),
    ));
    let endpoint = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| failed(e.to_string()))?;
            if event.event.as_deref() == Some("endpoint") {
                let data = event.data.unwrap_or_default();
                return base
                    .join(data.trim())
                    .map_err(|e| failed(format!("bad endpoint `{data}`: {e}")));
            }
        }
        Err(failed("the stream ended before naming its endpoint".into()))
    })
    .await
    .map_err(|_| failed("no endpoint event within 10 s".into()))??;
    Ok((endpoint, events))
}

/// Forwards the server's messages; on a dropped stream, reconnects and replays the handshake.
async fn read_events(
    client: reqwest::Client,
    shared: Arc<SseShared>,
    mut events: EventStream,
    tx: mpsc::Sender<ServerJsonRpcMessage>,
) {
    let mut replayed_id = None;
    let mut reconnects = 0;
    loop {
        while let Some(Ok(event)) = events.next().await {
            if !matches!(event.event.as_deref(), None | Some("message")) {
                continue;
            }
            let Some(message) = event
                .data
                .as_deref()
                .and_then(|d| serde_json::from_str::<ServerJsonRpcMessage>(d).ok())
            else {
                continue;
            };
            // The answer to a replayed `initialize` was already given to the client.
            if let (JsonRpcMessage::Response(r), Some(id)) = (&message, &replayed_id)
                && &r.id == id
            {
                replayed_id = None;
                continue;
            }
            reconnects = 0;
            if tx.send(message).await.is_err() {
                return;
            }
        }
        reconnects += 1;
        if reconnects > SSE_RECONNECTS {
            tracing::warn!(url = %shared.url, "the event stream dropped; giving up");
            return;
        }
        tokio::time::sleep(Duration::from_millis(200 * 2_u64.pow(reconnects))).await;
        let Ok((endpoint, fresh)) = open_stream(&client, &shared.url).await else {
            continue;
        };
        tracing::info!(url = %shared.url, "reconnected to the event stream");
        if let Ok(mut current) = shared.endpoint.lock() {
            *current = endpoint;
        }
        events = fresh;
        let handshake = shared
            .handshake
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default();
        for message in &handshake {
            if let JsonRpcMessage::Request(r) = message {
                replayed_id = Some(r.id.clone());
            }
            if let Err(e) = post(&client, &shared, message).await {
                tracing::warn!(error = %e, "repeating the handshake failed");
            }
        }
    }
}
