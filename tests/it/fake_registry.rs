//! A small MCP Registry (API v0.1) on 127.0.0.1 for tests and benchmarks: `GET
//! /v0.1/servers` with `limit`, `cursor` (opaque, name-based like the real one),
//! `updated_since`, `include_deleted` and `version=latest`, and a queue of failures to inject
//! (an HTTP status, or a hang). Plain std networking, one thread per connection, bounded by
//! the test that owns it; it stops when dropped.

#![allow(dead_code, clippy::needless_pass_by_value)]

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

/// What the next request gets instead of a page.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// This HTTP status, with a small body.
    Status(u16),
    /// No answer until the registry stops (or 10 s pass).
    Hang,
}

/// The registry's data and what it saw.
#[derive(Debug, Default)]
pub struct State {
    /// Records `{server, _meta}` in the order served (sorted by name, then version).
    pub records: Vec<Value>,
    /// Faults for the next requests, in order.
    pub faults: VecDeque<Fault>,
    /// Every request target (`/v0.1/servers?...`).
    pub requests: Vec<String>,
}

/// A running fake registry.
pub struct FakeRegistry {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state, shared with the serving threads.
    pub state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    hang_release: Arc<Mutex<Option<mpsc::Sender<()>>>>,
    handle: Option<JoinHandle<()>>,
}

impl FakeRegistry {
    /// Starts serving `records` on 127.0.0.1 at a free port.
    pub fn start(records: Vec<Value>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State {
            records,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let hang_release = Arc::new(Mutex::new(Some(release_tx)));
        let handle = {
            let state = state.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let state = state.clone();
                    let release_rx = release_rx.clone();
                    std::thread::spawn(move || serve(conn, &state, &release_rx));
                }
            })
        };
        Self {
            addr,
            state,
            stop,
            hang_release,
            handle: Some(handle),
        }
    }

    /// The base URL to give to `registry sync --url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs `f` on the state.
    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("state lock"))
    }

    /// The request targets seen so far.
    pub fn requests(&self) -> Vec<String> {
        self.with(|s| s.requests.clone())
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Releases hung connections and wakes the accept loop.
        drop(self.hang_release.lock().ok().and_then(|mut g| g.take()));
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve(mut conn: TcpStream, state: &Mutex<State>, release: &Mutex<mpsc::Receiver<()>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(conn.try_clone().expect("clone stream"));
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" || header == "\n" {
                break;
            }
        }
        let target = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_owned();
        let (status, body) = {
            let mut s = state.lock().expect("state lock");
            s.requests.push(target.clone());
            match s.faults.pop_front() {
                Some(Fault::Hang) => {
                    drop(s);
                    let _ = release
                        .lock()
                        .map(|rx| rx.recv_timeout(Duration::from_secs(10)));
                    return;
                }
                Some(Fault::Status(code)) => (code, json!({"title": "injected failure"})),
                None => page(&s.records, &target),
            }
        };
        let body = serde_json::to_vec(&body).expect("json");
        let reason = match status {
            200 => "OK",
            404 => "Not Found",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Status",
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        if conn.write_all(head.as_bytes()).is_err() || conn.write_all(&body).is_err() {
            return;
        }
    }
}

fn query(target: &str) -> BTreeMap<String, String> {
    let q = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), decode(v)))
        .collect()
}

fn decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn official(record: &Value) -> &Value {
    &record["_meta"]["io.modelcontextprotocol.registry/official"]
}

fn cursor_of(record: &Value) -> String {
    format!(
        "{}:{}",
        record["server"]["name"].as_str().unwrap_or_default(),
        record["server"]["version"].as_str().unwrap_or_default()
    )
}

fn page(records: &[Value], target: &str) -> (u16, Value) {
    if !target.starts_with("/v0.1/servers") {
        return (404, json!({"title": "Not Found"}));
    }
    let q = query(target);
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(30)
        .min(100);
    let since = q
        .get("updated_since")
        .map(|s| chrono::DateTime::parse_from_rfc3339(s).expect("updated_since is RFC 3339"));
    let include_deleted = q.get("include_deleted").is_some_and(|v| v == "true");
    let latest_only = q.get("version").is_some_and(|v| v == "latest");
    let matching: Vec<&Value> = records
        .iter()
        .filter(|r| {
            let meta = official(r);
            (include_deleted || meta["status"] != "deleted")
                && (!latest_only || meta["isLatest"] != false)
                && since.is_none_or(|since| {
                    meta["updatedAt"]
                        .as_str()
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                        .is_none_or(|t| t > since)
                })
        })
        .collect();
    let start = match q.get("cursor") {
        Some(c) => matching
            .iter()
            .position(|r| &cursor_of(r) == c)
            .map_or(matching.len(), |i| i + 1),
        None => 0,
    };
    let items: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(limit)
        .map(|r| (*r).clone())
        .collect();
    let more = start + items.len() < matching.len();
    let mut metadata = json!({"count": items.len()});
    if more && let Some(last) = items.last() {
        metadata["nextCursor"] = json!(cursor_of(last));
    }
    (200, json!({"servers": items, "metadata": metadata}))
}

/// A record as the registry serves it.
pub fn record(server: Value, status: &str, is_latest: bool, updated_at: &str) -> Value {
    json!({
        "server": server,
        "_meta": {
            "io.modelcontextprotocol.registry/official": {
                "status": status,
                "publishedAt": "2025-09-20T10:00:00Z",
                "updatedAt": updated_at,
                "isLatest": is_latest,
                "serverId": "00000000-0000-4000-8000-000000000000",
                "versionId": "00000000-0000-4000-8000-000000000001"
            }
        }
    })
}

/// A realistic npm `server.json`.
pub fn npm_server(name: &str, version: &str, description: &str) -> Value {
    let pkg = format!("@{}", name.replace("io.github.", "").replace('.', "-"));
    json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": name,
        "description": description,
        "version": version,
        "repository": {"url": format!("https://github.com/{}", name.replace("io.github.", "")), "source": "github"},
        "packages": [{
            "registryType": "npm",
            "registryBaseUrl": "https://registry.npmjs.org",
            "identifier": pkg,
            "version": version,
            "transport": {"type": "stdio"},
            "packageArguments": [
                {"type": "positional", "valueHint": "directory", "description": "Directory to serve", "isRequired": false, "format": "filepath"}
            ],
            "environmentVariables": [
                {"name": "API_TOKEN", "description": "Token for the API", "isRequired": true, "isSecret": true},
                {"name": "LOG_LEVEL", "description": "Log level", "default": "info", "choices": ["debug", "info", "warn"]}
            ]
        }]
    })
}

/// `n` active, latest npm servers named `io.github.org-<i>/server-<i>`, updated on
/// consecutive seconds after 2025-10-01.
pub fn many(n: usize) -> Vec<Value> {
    let words = [
        "files", "git", "postgres", "slack", "search", "browser", "memory", "docs", "cloud", "kube",
    ];
    let mut records: Vec<Value> = (0..n)
        .map(|i| {
            let w = words[i % words.len()];
            let name = format!("io.github.org-{i:05}/{w}-server");
            let updated = chrono::DateTime::parse_from_rfc3339("2025-10-01T00:00:00Z")
                .expect("date")
                + chrono::Duration::seconds(i64::try_from(i).expect("i"));
            record(
                npm_server(
                    &name,
                    "1.0.0",
                    &format!("Lets the model work with {w} through tool number {i}."),
                ),
                "active",
                true,
                &updated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )
        })
        .collect();
    sort(&mut records);
    records
}

/// Sorts records as the registry serves them.
pub fn sort(records: &mut [Value]) {
    records.sort_by_key(cursor_of);
}
