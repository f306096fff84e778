//! `GET /v1/events`: a Server-Sent Events feed of domain events, whichever front-end caused
//! them (this server, the CLI, the MCP server, the TUI, another process).
//!
//! Sources: the state watcher (drafts, catalog, profiles, clients, secrets, and client files
//! that drifted from what was deployed) and, whenever it reports an append, the audit log
//! (every publish, deploy, rollback, restore, key and token change, with its actor and
//! artifact). Every event
//! gets a rising id and goes into a ring buffer, so a client that reconnects with
//! `Last-Event-ID` gets what it missed; when the ring no longer holds it, the client gets a
//! `resync` event and should reload its state. Subscribers share one broadcast buffer: a slow
//! one falls behind, is caught up from the ring, and costs no per-subscriber queue.

use crate::core::code::Code;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::{BufRead, Seek};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::AppState;
use super::auth::Principal;
use super::error::ApiError;
use crate::core::audit::{AuditRecord, Outcome};
use crate::core::events::DomainEvent;
use crate::core::orchestrator::DriftState;
use crate::core::tokens::Scope;
use crate::server::watch::{SharedCore, Watcher};

/// One published event.
#[derive(Debug)]
pub struct Event {
    /// Rising id.
    pub id: u64,
    /// Event type, e.g. `published`.
    pub kind: String,
    /// The JSON data (it includes `type` and `id` too).
    pub data: String,
    /// The encoded SSE frame, built once and shared by every subscriber.
    pub frame: Bytes,
}

struct Ring {
    next_id: u64,
    events: VecDeque<Arc<Event>>,
    capacity: usize,
}

/// The event ring and the broadcast to live subscribers.
pub struct EventHub {
    ring: Mutex<Ring>,
    tx: broadcast::Sender<Arc<Event>>,
}

/// What a new subscriber gets: missed events, then the live receiver.
pub struct Subscription {
    /// Events after the given `Last-Event-ID`.
    pub backlog: Vec<Arc<Event>>,
    /// Whether events were missed that the ring no longer holds.
    pub gap: bool,
    /// Live events.
    pub rx: broadcast::Receiver<Arc<Event>>,
}

impl EventHub {
    /// A hub keeping `capacity` events. Ids start from the current time in milliseconds times
    /// 1000, so they keep rising across restarts and an id from an earlier run is told apart.
    pub fn new(capacity: usize) -> Self {
        let start = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(1) * 1000;
        let (tx, _) = broadcast::channel(256);
        Self {
            ring: Mutex::new(Ring {
                next_id: start,
                events: VecDeque::with_capacity(capacity.min(4096)),
                capacity: capacity.max(1),
            }),
            tx,
        }
    }

    /// Publishes an event; returns its id.
    pub fn publish(&self, kind: &str, data: Value) -> u64 {
        let Ok(mut ring) = self.ring.lock() else {
            return 0;
        };
        let id = ring.next_id;
        self.push(&mut ring, Self::event(id, kind, data));
        id
    }

    /// Keeps `event` in the ring (dropping the oldest when full) and sends it to subscribers.
    fn push(&self, ring: &mut Ring, event: Arc<Event>) {
        ring.next_id = event.id + 1;
        if ring.events.len() == ring.capacity {
            ring.events.pop_front();
        }
        ring.events.push_back(event.clone());
        let _ = self.tx.send(event);
    }

    /// Publishes an event under an id given by a shared store (the audit chain's sequence
    /// number, the same on every replica); ids it already has are ignored.
    pub fn publish_at(&self, id: u64, kind: &str, data: Value) {
        let Ok(mut ring) = self.ring.lock() else {
            return;
        };
        if id >= ring.next_id {
            self.push(&mut ring, Self::event(id, kind, data));
        }
    }

    /// The event `id` of type `kind` (its data gets the `type` and the `id`).
    pub fn event(id: u64, kind: &str, mut data: Value) -> Arc<Event> {
        if let Some(obj) = data.as_object_mut() {
            obj.insert("type".into(), json!(kind));
            obj.insert("id".into(), json!(id));
        }
        Arc::new(Event {
            id,
            kind: kind.to_owned(),
            frame: Bytes::from(format!("id: {id}\nevent: {kind}\ndata: {data}\n\n")),
            data: data.to_string(),
        })
    }

    /// Starts numbering over after `last` (a shared store's ids), forgetting what the ring
    /// held.
    pub fn restart_after(&self, last: u64) {
        if let Ok(mut ring) = self.ring.lock() {
            ring.events.clear();
            ring.next_id = last + 1;
        }
    }

    /// Subscribes, replaying what came after `last_id`.
    pub fn subscribe(&self, last_id: Option<u64>) -> Subscription {
        let Ok(ring) = self.ring.lock() else {
            return Subscription {
                backlog: Vec::new(),
                gap: true,
                rx: self.tx.subscribe(),
            };
        };
        let rx = self.tx.subscribe();
        let (backlog, gap) = ring.after(last_id);
        Subscription { backlog, gap, rx }
    }

    /// The events after `last_id` still in the ring, and whether some are missing.
    pub fn since(&self, last_id: u64) -> (Vec<Arc<Event>>, bool) {
        match self.ring.lock() {
            Ok(ring) => ring.after(Some(last_id)),
            Err(_) => (Vec::new(), true),
        }
    }

    /// The id the next event will get.
    pub fn next_id(&self) -> u64 {
        self.ring.lock().map_or(0, |r| r.next_id)
    }
}

impl Ring {
    fn after(&self, last_id: Option<u64>) -> (Vec<Arc<Event>>, bool) {
        let Some(last) = last_id else {
            return (Vec::new(), false);
        };
        if last >= self.next_id {
            // From the future: another run, or made up.
            return (Vec::new(), true);
        }
        let oldest = self.events.front().map_or(self.next_id, |e| e.id);
        let gap = last.saturating_add(1) < oldest;
        let backlog = self
            .events
            .iter()
            .filter(|e| e.id > last)
            .cloned()
            .collect();
        (backlog, gap)
    }
}

fn sse(event: &Event) -> Bytes {
    event.frame.clone()
}

fn resync() -> Bytes {
    Bytes::from_static(
        b"event: resync\ndata: {\"type\":\"resync\",\"reason\":\"events were missed; reload the state\"}\n\n",
    )
}

enum Phase {
    Start(std::vec::IntoIter<Arc<Event>>),
    Backlog(std::vec::IntoIter<Arc<Event>>),
    Live,
}

struct StreamState {
    hub: Arc<EventHub>,
    rx: broadcast::Receiver<Arc<Event>>,
    phase: Phase,
    gap: bool,
    last: u64,
    shutdown: CancellationToken,
    heartbeat: tokio::time::Interval,
    _guard: super::metrics::StreamGuard,
}

/// The stream of SSE frames. Frames are encoded once per event (not per subscriber), so a
/// publish costs each subscriber one reference-counted buffer and one write.
fn event_stream(state: StreamState) -> impl Stream<Item = Result<Bytes, Infallible>> {
    futures_util::stream::unfold(state, |mut s| async move {
        loop {
            match &mut s.phase {
                Phase::Start(backlog) => {
                    let backlog = std::mem::take(backlog);
                    s.phase = Phase::Backlog(backlog);
                    if s.gap {
                        return Some((Ok(resync()), s));
                    }
                    return Some((Ok(Bytes::from_static(b": connected\n\n")), s));
                }
                Phase::Backlog(iter) => match iter.next() {
                    Some(e) if e.id > s.last => {
                        s.last = e.id;
                        return Some((Ok(sse(&e)), s));
                    }
                    Some(_) => {}
                    None => s.phase = Phase::Live,
                },
                Phase::Live => {
                    let received = tokio::select! {
                        () = s.shutdown.cancelled() => return None,
                        _ = s.heartbeat.tick() => {
                            return Some((Ok(Bytes::from_static(b": heartbeat\n\n")), s));
                        }
                        r = s.rx.recv() => r,
                    };
                    match received {
                        Ok(e) if e.id > s.last => {
                            s.last = e.id;
                            return Some((Ok(sse(&e)), s));
                        }
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            // Fell behind the shared buffer: catch up from the ring.
                            let (missed, gap) = s.hub.since(s.last);
                            s.phase = Phase::Backlog(missed.into_iter());
                            if gap {
                                return Some((Ok(resync()), s));
                            }
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        }
    })
}

/// `GET /v1/events`.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    params(("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id")),
    responses(
        (status = 200, description = "An SSE stream: `id`, `event` (the type) and JSON `data` per domain event; `resync` when events were missed; keep-alive comments", content_type = "text/event-stream", body = super::rest::StreamEvent),
        (status = 401, description = "Missing or bad credentials", body = super::rest::ErrorResponse),
        (status = 503, description = "Too many open streams", body = super::rest::ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn events(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = principal.require(Scope::Read) {
        return e.into_response();
    }
    let Some(guard) = state.metrics.stream(state.config.limits.max_streams) else {
        return ApiError::http(
            Code::TooManyStreams,
            "the server holds as many event streams as it allows",
            "retry later, or raise limits.max_streams",
        )
        .into_response();
    };
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().parse::<u64>().map_err(|_| ()));
    let mut sub = match last_id {
        None => state.events.subscribe(None),
        Some(Ok(id)) => state.events.subscribe(Some(id)),
        Some(Err(())) => {
            let mut s = state.events.subscribe(None);
            s.gap = true;
            s
        }
    };
    // Older than this replica's ring: a shared store replays from its table (the id is the
    // chain's sequence number on every replica).
    if sub.gap
        && let Some(Ok(after)) = last_id
        && let Ok(Some(records)) = state
            .blocking(move |orch| orch.audit_records_after(after, REPLAY_LIMIT))
            .await
    {
        let complete = records.len() < REPLAY_LIMIT;
        let mut backlog: Vec<Arc<Event>> = records
            .iter()
            .filter_map(|r| audit_event(r).map(|(kind, data)| EventHub::event(r.seq, kind, data)))
            .collect();
        backlog.append(&mut sub.backlog);
        sub.backlog = backlog;
        sub.gap = !complete;
    }
    let last = sub.backlog.first().map_or(0, |e| e.id.saturating_sub(1));
    let every = Duration::from_secs(state.config.events.heartbeat_secs.max(1));
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stream = event_stream(StreamState {
        hub: state.events.clone(),
        rx: sub.rx,
        phase: Phase::Start(sub.backlog.into_iter()),
        gap: sub.gap,
        last,
        shutdown: state.shutdown.clone(),
        heartbeat,
        _guard: guard,
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// `GET /v1/events/recent`: the events still in the ring, as JSON (for polling clients).
#[utoipa::path(
    get,
    path = "/v1/events/recent",
    tag = "events",
    responses(
        (status = 200, description = "Events in the ring, oldest first", body = super::rest::RecentEvents),
        (status = 401, description = "Missing or bad credentials", body = super::rest::ErrorResponse),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn recent(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Scope::Read)?;
    let (events, _) = state.events.since(0);
    let list: Vec<Value> = events
        .iter()
        .filter_map(|e| serde_json::from_str(&e.data).ok())
        .collect();
    Ok(Json(
        json!({ "events": list, "next_id": state.events.next_id() }),
    ))
}

/// Turns new audit records into events.
pub fn audit_event(record: &AuditRecord) -> Option<(&'static str, Value)> {
    let e = &record.event;
    if e.outcome != Outcome::Ok {
        return None;
    }
    let kind = match e.action.as_str() {
        "publish" => "published",
        "deploy" => "deployed",
        "rollback" => "rolled_back",
        "restore" => "restored",
        // A shared store's draft changes (a state directory's are watched as files).
        "draft.change" => "draft_changed",
        a if a.starts_with("key.") => "keys_changed",
        a if a.starts_with("token.") => "tokens_changed",
        _ => "audit",
    };
    Some((
        kind,
        json!({
            "action": e.action,
            "actor": e.actor,
            "client_id": e.client_id,
            "profile_id": e.profile_id,
            "artifact_id": e.artifact_id,
            "version": e.version,
            "at": record.ts,
            "audit_seq": record.seq,
        }),
    ))
}

/// Reads records appended to the audit log since the last call.
pub struct AuditTail {
    path: PathBuf,
    offset: u64,
}

impl AuditTail {
    /// Starts at the current end of the log.
    pub fn new(path: PathBuf) -> Self {
        let offset = std::fs::metadata(&path).map_or(0, |m| m.len());
        Self { path, offset }
    }

    /// Whole records appended since the last call.
    pub fn read_new(&mut self) -> Vec<AuditRecord> {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let len = file.metadata().map_or(0, |m| m.len());
        if len < self.offset {
            // Replaced or truncated: start over from its end.
            self.offset = len;
            return Vec::new();
        }
        if len == self.offset || file.seek(std::io::SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut reader = std::io::BufReader::new(file);
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if !line.ends_with('\n') {
                        break; // a partial line: read it next time
                    }
                    self.offset += n as u64;
                    if let Ok(record) = serde_json::from_str::<AuditRecord>(line.trim_end()) {
                        out.push(record);
                    }
                }
            }
        }
        out
    }
}

/// Turns one watcher update into feed events. Publishes, deploys, rollbacks, restores, key and
/// token changes come from the audit log (with actor and artifact); drafts, catalog, profiles,
/// clients and secrets from the state snapshot; a changed client file becomes
/// `drift_detected` when mcp-orch's entries in it no longer match what was deployed.
fn feed_events(
    core: &SharedCore,
    tail: &mut AuditTail,
    events: &[DomainEvent],
) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    for e in events {
        match e {
            DomainEvent::DraftChanged {
                client,
                profile,
                exists,
            } => out.push((
                "draft_changed",
                json!({"client_id": client, "profile_id": profile, "exists": exists}),
            )),
            DomainEvent::ClientFileChanged {
                client,
                profile,
                path,
            } => {
                if let Ok(st) = core.get().target_status(client, profile)
                    && st.drift != DriftState::InSync
                {
                    out.push((
                        "drift_detected",
                        json!({
                            "client_id": client,
                            "profile_id": profile,
                            "path": path,
                            "drift": st.drift,
                            "changed": st.changed,
                            "missing": st.missing,
                        }),
                    ));
                }
            }
            DomainEvent::CatalogChanged => out.push(("catalog_changed", json!({}))),
            DomainEvent::ProfilesChanged => out.push(("profiles_changed", json!({}))),
            DomainEvent::ClientsChanged => out.push(("clients_changed", json!({}))),
            DomainEvent::SecretsChanged => out.push(("secrets_changed", json!({}))),
            DomainEvent::AuditAppended => {
                out.extend(tail.read_new().iter().filter_map(audit_event));
            }
            DomainEvent::Published { .. }
            | DomainEvent::Deployed { .. }
            | DomainEvent::KeysChanged => {}
        }
    }
    out
}

/// The most events a stream replays from a shared store's table; further back, `resync`.
const REPLAY_LIMIT: usize = 1000;

/// Feeds the hub until `shutdown`: from a shared store's audit chain when the state lives in
/// one (every replica publishes every audited change under its sequence number), else from
/// the state watcher.
pub fn spawn_feed(
    hub: Arc<EventHub>,
    metrics: Arc<super::metrics::Metrics>,
    core: Arc<SharedCore>,
    watcher: &Watcher,
    shutdown: CancellationToken,
) {
    let (rx, _baseline) = watcher.subscribe();
    let tail = AuditTail::new(core.get().audit_path());
    tokio::spawn(async move {
        let (shared_hub, shared_metrics, orch, stop) =
            (hub.clone(), metrics.clone(), core.get(), shutdown.clone());
        let deliver = Box::new(move |record: AuditRecord| {
            if let Some((kind, data)) = audit_event(&record) {
                shared_hub.publish_at(record.seq, kind, data);
                shared_metrics.event();
            }
        });
        let followed = tokio::task::spawn_blocking(move || orch.follow_audit(deliver, stop)).await;
        match followed {
            Ok(Ok(Some(start))) => hub.restart_after(start),
            Ok(Ok(None)) => watch_feed(hub, metrics, core, rx, tail, shutdown).await,
            Ok(Err(e)) => tracing::error!(
                code = e.code(),
                "following the shared audit chain failed: {e}"
            ),
            Err(e) => tracing::error!("following the shared audit chain failed: {e}"),
        }
    });
}

/// Feeds the hub from the state watcher (the state directory's changes, and its audit log's
/// new lines).
async fn watch_feed(
    hub: Arc<EventHub>,
    metrics: Arc<super::metrics::Metrics>,
    core: Arc<SharedCore>,
    mut rx: broadcast::Receiver<Arc<crate::server::watch::Update>>,
    tail: AuditTail,
    shutdown: CancellationToken,
) {
    let mut tail = Some(tail);
    loop {
        let events: Vec<DomainEvent> = tokio::select! {
            () = shutdown.cancelled() => break,
            update = rx.recv() => match update {
                Ok(update) => update.events.clone(),
                // Missed updates: at least catch up on the audit log.
                Err(broadcast::error::RecvError::Lagged(_)) => vec![DomainEvent::AuditAppended],
                Err(broadcast::error::RecvError::Closed) => break,
            },
        };
        let core = core.clone();
        let Some(mut t) = tail.take() else { break };
        let Ok((t, out)) = tokio::task::spawn_blocking(move || {
            let out = feed_events(&core, &mut t, &events);
            (t, out)
        })
        .await
        else {
            break;
        };
        tail = Some(t);
        for (kind, data) in out {
            hub.publish(kind, data);
            metrics.event();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_replays_and_reports_gaps() {
        let hub = EventHub::new(3);
        let first = hub.publish("a", json!({}));
        for _ in 0..4 {
            hub.publish("b", json!({"x": 1}));
        }
        let sub = hub.subscribe(Some(first + 2));
        assert_eq!(
            sub.backlog.iter().map(|e| e.id).collect::<Vec<_>>(),
            [first + 3, first + 4]
        );
        assert!(!sub.gap);
        let sub = hub.subscribe(Some(first));
        assert!(sub.gap);
        assert_eq!(sub.backlog.len(), 3);
        assert!(hub.subscribe(Some(first + 99)).gap);
        let data: Value = serde_json::from_str(&sub.backlog[0].data).unwrap();
        assert_eq!(data["type"], "b");
        assert_eq!(data["x"], 1);
    }

    #[test]
    fn audit_tail_reads_whole_new_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, "").unwrap();
        let mut tail = AuditTail::new(path.clone());
        let log = crate::core::audit::AuditLog::new(path.clone(), dir.path().join("l"));
        log.append(
            crate::core::audit::AuditEvent::ok("publish", "cli").target("cursor", "default"),
            chrono::Utc::now(),
        )
        .unwrap();
        let records = tail.read_new();
        assert_eq!(records.len(), 1);
        let (kind, data) = audit_event(&records[0]).unwrap();
        assert_eq!(kind, "published");
        assert_eq!(data["client_id"], "cursor");
        assert!(tail.read_new().is_empty());
    }
}
