//! Prometheus metrics in the text exposition format (version 0.0.4), kept in process.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Every metric the server exports.
pub struct Metrics {
    started: Instant,
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    in_flight: AtomicI64,
    connections_open: AtomicI64,
    connections_total: AtomicU64,
    streams_open: AtomicI64,
    events_published: AtomicU64,
    rate_limited: AtomicU64,
    auth_failures: Mutex<BTreeMap<&'static str, u64>>,
    forbidden: Mutex<BTreeMap<&'static str, u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            requests: Mutex::default(),
            latency: Mutex::default(),
            in_flight: AtomicI64::new(0),
            connections_open: AtomicI64::new(0),
            connections_total: AtomicU64::new(0),
            streams_open: AtomicI64::new(0),
            events_published: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            auth_failures: Mutex::default(),
            forbidden: Mutex::default(),
        }
    }
}

/// Decrements a gauge when dropped.
pub struct GaugeGuard<'a>(&'a AtomicI64);

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Closes an event stream in the gauge when dropped.
pub struct StreamGuard(Arc<Metrics>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.streams_open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Counts a finished request.
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let h = l.entry(route.to_owned()).or_default();
            let secs = took.as_secs_f64();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
        }
    }

    /// A connection opened; the guard closes it.
    pub fn connection(&self) -> GaugeGuard<'_> {
        self.connections_total.fetch_add(1, Ordering::Relaxed);
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        GaugeGuard(&self.connections_open)
    }

    /// An event stream opened; the guard closes it. `None` when `max` are open already.
    pub fn stream(self: &Arc<Self>, max: usize) -> Option<StreamGuard> {
        let open = self.streams_open.fetch_add(1, Ordering::Relaxed);
        let guard = StreamGuard(self.clone());
        (usize::try_from(open).unwrap_or(0) < max).then_some(guard)
    }

    /// Seconds since start.
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Event streams open now.
    pub fn streams_open(&self) -> i64 {
        self.streams_open.load(Ordering::Relaxed)
    }

    /// An event was published.
    pub fn event(&self) {
        self.events_published.fetch_add(1, Ordering::Relaxed);
    }

    /// A request was rate limited.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// A credential was refused.
    pub fn auth_failure(&self, reason: &'static str) {
        if let Ok(mut a) = self.auth_failures.lock() {
            *a.entry(reason).or_default() += 1;
        }
    }

    /// A request was refused for its Host or Origin.
    pub fn forbidden(&self, what: &'static str) {
        if let Ok(mut f) = self.forbidden.lock() {
            *f.entry(what).or_default() += 1;
        }
    }

    /// The exposition text, with the open MCP sessions (Streamable HTTP) counted by the caller.
    pub fn render(&self, rss_bytes: Option<u64>, mcp_sessions: usize) -> String {
        let mut out = String::with_capacity(4096);
        let _ = writeln!(
            out,
            "# HELP mcp_orch_http_requests_total Requests answered, by method, route and status.\n# TYPE mcp_orch_http_requests_total counter"
        );
        if let Ok(r) = self.requests.lock() {
            for ((method, route, status), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "mcp_orch_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP mcp_orch_http_request_duration_seconds Time to the response head, by route.\n# TYPE mcp_orch_http_request_duration_seconds histogram"
        );
        if let Ok(l) = self.latency.lock() {
            for (route, h) in l.iter() {
                let route = escape(route);
                for (i, bound) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "mcp_orch_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "mcp_orch_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\nmcp_orch_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\nmcp_orch_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count, h.sum, h.count
                );
            }
        }
        let gauge = |out: &mut String, name: &str, help: &str, kind: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        gauge(
            &mut out,
            "mcp_orch_http_requests_in_flight",
            "Requests being handled.",
            "gauge",
            self.in_flight.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "mcp_orch_http_connections_open",
            "Open connections.",
            "gauge",
            self.connections_open.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "mcp_orch_http_connections_total",
            "Connections accepted.",
            "counter",
            self.connections_total.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "mcp_orch_event_streams_open",
            "Open /v1/events streams.",
            "gauge",
            self.streams_open.load(Ordering::Relaxed).max(0).to_string(),
        );
        gauge(
            &mut out,
            "mcp_orch_mcp_sessions_open",
            "Open Streamable HTTP sessions at /mcp.",
            "gauge",
            mcp_sessions.to_string(),
        );
        gauge(
            &mut out,
            "mcp_orch_events_published_total",
            "Domain events published to the feed.",
            "counter",
            self.events_published.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "mcp_orch_http_rate_limited_total",
            "Requests answered 429.",
            "counter",
            self.rate_limited.load(Ordering::Relaxed).to_string(),
        );
        let _ = writeln!(
            out,
            "# HELP mcp_orch_http_auth_failures_total Refused credentials, by reason.\n# TYPE mcp_orch_http_auth_failures_total counter"
        );
        if let Ok(a) = self.auth_failures.lock() {
            for (reason, n) in a.iter() {
                let _ = writeln!(
                    out,
                    "mcp_orch_http_auth_failures_total{{reason=\"{reason}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP mcp_orch_http_forbidden_total Requests refused for their Host or Origin.\n# TYPE mcp_orch_http_forbidden_total counter"
        );
        if let Ok(f) = self.forbidden.lock() {
            for (what, n) in f.iter() {
                let _ = writeln!(
                    out,
                    "mcp_orch_http_forbidden_total{{header=\"{what}\"}} {n}"
                );
            }
        }
        gauge(
            &mut out,
            "mcp_orch_uptime_seconds",
            "Seconds since the server started.",
            "gauge",
            self.started.elapsed().as_secs().to_string(),
        );
        if let Some(rss) = rss_bytes {
            gauge(
                &mut out,
                "process_resident_memory_bytes",
                "Resident memory.",
                "gauge",
                rss.to_string(),
            );
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Resident memory of this process (Linux), in bytes.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Routes whose successful requests the MCP handler records itself.
const MCP_ROUTES: [&str; 3] = ["/mcp", "/mcp/message", "/mcp/tools/call"];

/// Middleware on every route: counts requests by route template and status, and times them.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| route_family(req.uri().path()), |m| m.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    state.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let _guard = GaugeGuard(&state.metrics.in_flight);
    let res = next.run(req).await;
    let status = res.status();
    let took = started.elapsed();
    state
        .metrics
        .request(&method, &route, status.as_u16(), took);
    // Successful tool calls are recorded by the MCP handler, by tool name.
    if !status.is_success() || !MCP_ROUTES.contains(&route.as_str()) {
        state
            .activity
            .record(format!("{method} {path}"), status.as_str(), took);
    }
    res
}

/// Routes not matched by the router (nested services, 404s) are grouped, so random paths do
/// not grow the metric set without bound.
fn route_family(path: &str) -> String {
    if path == "/mcp" || path.starts_with("/mcp/") {
        "/mcp".into()
    } else {
        "unmatched".into()
    }
}
