//! Health probes: start a server exactly as its client would and run `initialize` and
//! `tools/list` with the rmcp client. stdio servers run as a child process (in their own
//! process group, so `npx` and the node process it starts are both stopped afterwards) with
//! stderr captured; remote servers are reached over Streamable HTTP with their headers.
//!
//! A probe never fails with an `Err`: every failure (a missing secret, a command that is not
//! found, a crash, a timeout) is a [`ProbeReport`] with a stable `error_code`, the reason,
//! and the last lines of the server's stderr. Secret values never appear in a report.

use crate::core::code::Code;
use std::collections::{BTreeMap, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::{ClientInitializeError, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClientTransport, StreamableHttpClientTransportConfig,
};
use serde::Serialize;
use tokio::io::AsyncBufReadExt;

use crate::core::catalog::Transport;
use crate::core::diff::Redactor;
use crate::core::error::{Error, Result};

/// Default probe timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Lines of stderr kept.
pub const STDERR_LINES: usize = 20;
/// Longest stderr line kept (characters).
const STDERR_LINE_CHARS: usize = 500;
/// How long a finished server gets to exit after stdin is closed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// How long to wait for the rest of stderr after a failure.
const STDERR_DRAIN: Duration = Duration::from_millis(500);

/// A fully resolved server to probe. Holds secret values: never serialised or printed.
#[derive(Clone)]
pub struct ProbeSpec {
    /// The server's name (draft name or catalog id).
    pub name: String,
    /// Catalog id, when known.
    pub server_id: Option<String>,
    /// Where it was resolved from: `draft` or `catalog`.
    pub resolved_from: &'static str,
    /// Transport.
    pub transport: Transport,
    /// stdio command.
    pub command: Option<String>,
    /// stdio arguments.
    pub args: Vec<String>,
    /// Extra environment of the child (secrets resolved).
    pub env: BTreeMap<String, String>,
    /// Whether `env` is the child's whole environment (a client's launch), rather than
    /// additions to this process's.
    pub clear_env: bool,
    /// Remote URL.
    pub url: Option<String>,
    /// Remote headers (secrets resolved).
    pub headers: BTreeMap<String, String>,
    /// Secret values, for redaction of stderr and messages.
    pub secret_values: Vec<String>,
    /// A failure found while resolving (code, message): the probe reports it without running.
    pub resolve_error: Option<(&'static str, String)>,
}

impl std::fmt::Debug for ProbeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeSpec")
            .field("name", &self.name)
            .field("transport", &self.transport)
            .field("command", &self.command)
            .field("args", &self.args)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("url", &self.url)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The outcome of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProbeStatus {
    /// `initialize` and `tools/list` succeeded.
    Ok,
    /// The server could not be started or answered with an error.
    Failed,
    /// No answer within the timeout.
    Timeout,
}

impl ProbeStatus {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Timeout => "timeout",
        }
    }
}

/// What a probe found.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ProbeReport {
    /// The server's name.
    pub name: String,
    /// Catalog id, when known.
    pub server_id: Option<String>,
    /// `draft` or `catalog`.
    pub resolved_from: &'static str,
    /// Transport.
    pub transport: Transport,
    /// The command line run (stdio; secrets redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// The URL reached (remote).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Outcome.
    pub status: ProbeStatus,
    /// Whether the server works.
    pub ok: bool,
    /// Negotiated protocol version.
    pub protocol_version: Option<String>,
    /// `serverInfo.name`.
    pub server_name: Option<String>,
    /// `serverInfo.version`.
    pub server_version: Option<String>,
    /// Tools listed.
    pub tool_count: Option<usize>,
    /// Tool names.
    pub tools: Vec<String>,
    /// Time from start to the `initialize` answer.
    pub initialize_ms: Option<u64>,
    /// Time from start to the `tools/list` answer (or to the failure).
    pub latency_ms: u64,
    /// Stable failure code: `MISSING_SECRET`, `COMMAND_NOT_FOUND`, `SPAWN_FAILED`,
    /// `INITIALIZE_FAILED`, `TOOLS_LIST_FAILED`, `TIMEOUT`, `INVALID_HEADER`,
    /// `MISSING_COMMAND`, `MISSING_URL`, `MISSING_CLIENT_ENV`, `INVALID_ENTRY`.
    pub error_code: Option<&'static str>,
    /// Why it failed.
    pub error: Option<String>,
    /// The last lines the server wrote to stderr (secrets redacted).
    pub stderr_tail: Vec<String>,
}

impl ProbeReport {
    fn new(spec: &ProbeSpec, redactor: &Redactor) -> Self {
        Self {
            name: spec.name.clone(),
            server_id: spec.server_id.clone(),
            resolved_from: spec.resolved_from,
            transport: spec.transport,
            command: spec.command.as_ref().map(|c| {
                std::iter::once(c.clone())
                    .chain(spec.args.iter().map(|a| redactor.text(a)))
                    .collect()
            }),
            url: spec.url.as_deref().map(|u| redactor.text(u)),
            status: ProbeStatus::Failed,
            ok: false,
            protocol_version: None,
            server_name: None,
            server_version: None,
            tool_count: None,
            tools: Vec::new(),
            initialize_ms: None,
            latency_ms: 0,
            error_code: None,
            error: None,
            stderr_tail: Vec::new(),
        }
    }

    fn fail(&mut self, status: ProbeStatus, code: &'static str, message: String) {
        self.status = status;
        self.ok = false;
        self.error_code = Some(code);
        self.error = Some(message);
    }
}

/// Parses a duration such as `10s`, `500ms`, `2m` or `15` (seconds).
pub fn parse_duration(raw: &str) -> Result<Duration> {
    let s = raw.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let bad = || {
        Error::invalid(
            Code::InvalidDuration,
            "timeout",
            format!("`{raw}` is not a duration"),
            "write it like 10s, 500ms or 2m",
        )
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let d = match unit.trim() {
        "" | "s" | "sec" | "secs" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" | "min" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(bad()),
    };
    if d.is_zero() {
        return Err(bad());
    }
    Ok(d)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The last lines of a stream, shared between the reader task and the probe.
type Tail = Arc<Mutex<VecDeque<String>>>;

fn push_line(tail: &Tail, line: &str) {
    let line: String = line
        .trim_end_matches(['\r', '\n'])
        .chars()
        .take(STDERR_LINE_CHARS)
        .collect();
    if let Ok(mut t) = tail.lock() {
        if t.len() == STDERR_LINES {
            t.pop_front();
        }
        t.push_back(line);
    }
}

fn client_config() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("mcp-orch-probe", env!("CARGO_PKG_VERSION")),
    )
}

/// Runs a probe. Always returns a report; see the module docs.
pub async fn run(spec: ProbeSpec, timeout: Duration) -> ProbeReport {
    let mut redactor = Redactor::new(spec.secret_values.iter().cloned());
    // Plaintext secrets written into the entry itself (a credential argument, a key in the
    // URL, a token-shaped env value) are masked as well as those filled in from the store.
    let argv: Vec<&String> = spec.command.iter().chain(&spec.args).collect();
    redactor.learn_from_entries([&serde_json::json!({
        "args": argv,
        "url": spec.url,
        "env": spec.env,
        "headers": spec.headers,
    })]);
    let mut report = ProbeReport::new(&spec, &redactor);
    let started = Instant::now();
    if let Some((code, message)) = &spec.resolve_error {
        report.fail(ProbeStatus::Failed, code, redactor.text(message));
        return report;
    }
    match spec.transport {
        Transport::Stdio => probe_stdio(&spec, timeout, started, &mut report).await,
        Transport::Http | Transport::Sse => {
            probe_remote(&spec, timeout, started, &mut report).await;
        }
    }
    if report.latency_ms == 0 {
        report.latency_ms = millis(started.elapsed());
    }
    report.error = report.error.as_deref().map(|e| redactor.text(e));
    report.stderr_tail = report
        .stderr_tail
        .iter()
        .map(|l| redactor.text(l))
        .collect();
    report
}

/// Runs `initialize` (inside `connect`) and `tools/list`, filling the report.
async fn handshake<F, E>(
    connect: F,
    timeout: Duration,
    started: Instant,
    report: &mut ProbeReport,
) -> Option<RunningService<rmcp::RoleClient, ClientConfig>>
where
    F: std::future::Future<
            Output = std::result::Result<RunningService<rmcp::RoleClient, ClientConfig>, E>,
        >,
    E: Into<ClientInitializeError>,
{
    let deadline = tokio::time::Instant::from_std(started) + timeout;
    let client = match tokio::time::timeout_at(deadline, connect).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            report.fail(
                ProbeStatus::Failed,
                "INITIALIZE_FAILED",
                format!(
                    "initialize failed: {}",
                    describe_initialize_error(&e.into())
                ),
            );
            return None;
        }
        Err(_) => {
            report.fail(
                ProbeStatus::Timeout,
                "TIMEOUT",
                format!("no answer to initialize within {} ms", millis(timeout)),
            );
            return None;
        }
    };
    report.initialize_ms = Some(millis(started.elapsed()));
    if let Some(info) = client.peer_info() {
        report.protocol_version = Some(info.protocol_version.to_string());
        if let Some(server) = &info.server_info {
            report.server_name = Some(server.name.clone());
            report.server_version = Some(server.version.clone());
        }
    }
    match tokio::time::timeout_at(deadline, client.list_all_tools()).await {
        Ok(Ok(tools)) => {
            report.latency_ms = millis(started.elapsed());
            report.tool_count = Some(tools.len());
            report.tools = tools.iter().map(|t| t.name.to_string()).collect();
            report.status = ProbeStatus::Ok;
            report.ok = true;
        }
        Ok(Err(e)) => report.fail(
            ProbeStatus::Failed,
            "TOOLS_LIST_FAILED",
            format!("tools/list failed: {e}"),
        ),
        Err(_) => report.fail(
            ProbeStatus::Timeout,
            "TIMEOUT",
            format!("no answer to tools/list within {} ms", millis(timeout)),
        ),
    }
    Some(client)
}

/// Describes why `initialize` failed. A server that exits at once makes the write of
/// `initialize` fail with a broken pipe or the read see end of file, depending on timing;
/// both mean the same thing to the user, so both get the same words.
fn describe_initialize_error(error: &ClientInitializeError) -> String {
    let closed = match error {
        ClientInitializeError::ConnectionClosed(_) => true,
        ClientInitializeError::TransportError { error, .. } => error
            .error
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe),
        _ => false,
    };
    if closed {
        "connection closed before the server answered (see its stderr)".to_owned()
    } else {
        error.to_string()
    }
}

async fn probe_stdio(
    spec: &ProbeSpec,
    timeout: Duration,
    started: Instant,
    report: &mut ProbeReport,
) {
    let Some(program) = spec.command.as_deref().filter(|c| !c.trim().is_empty()) else {
        report.fail(
            ProbeStatus::Failed,
            "MISSING_COMMAND",
            format!("stdio server `{}` has no command", spec.name),
        );
        return;
    };
    let mut command = tokio::process::Command::new(program);
    if spec.clear_env {
        command.env_clear();
    }
    command.args(&spec.args).envs(&spec.env).kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    let spawned = TokioChildProcess::builder(command)
        .stderr(Stdio::piped())
        .spawn();
    let (transport, stderr) = match spawned {
        Ok(parts) => parts,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            report.fail(
                ProbeStatus::Failed,
                "COMMAND_NOT_FOUND",
                format!("command `{program}` was not found (is it installed and on PATH?)"),
            );
            return;
        }
        Err(e) => {
            report.fail(
                ProbeStatus::Failed,
                "SPAWN_FAILED",
                format!("cannot start `{program}`: {e}"),
            );
            return;
        }
    };
    let pid = transport.id();
    let tail: Tail = Arc::new(Mutex::new(VecDeque::new()));
    let reader = stderr.map(|stderr| {
        let tail = tail.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match lines.read_until(b'\n', &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => push_line(&tail, &String::from_utf8_lossy(&buf)),
                }
            }
        })
    });
    let client = handshake(
        Box::pin(client_config().serve(transport)),
        timeout,
        started,
        report,
    )
    .await;
    if let Some(client) = client {
        // Close stdin and give the server a moment to exit on its own (the MCP stdio shutdown).
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, client.cancel()).await;
    }
    kill_group(pid);
    if let Some(reader) = reader {
        let _ = tokio::time::timeout(STDERR_DRAIN, reader).await;
    }
    if !report.ok
        && let Ok(t) = tail.lock()
    {
        report.stderr_tail = t.iter().cloned().collect();
    }
}

/// Kills what is left of the server's process group.
fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    #[cfg(not(unix))]
    let _ = pid;
}

async fn probe_remote(
    spec: &ProbeSpec,
    timeout: Duration,
    started: Instant,
    report: &mut ProbeReport,
) {
    let Some(url) = spec.url.as_deref().filter(|u| !u.trim().is_empty()) else {
        report.fail(
            ProbeStatus::Failed,
            "MISSING_URL",
            format!("remote server `{}` has no URL", spec.name),
        );
        return;
    };
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in &spec.headers {
        let Some((n, v)) = sensitive_header(name, value) else {
            report.fail(
                ProbeStatus::Failed,
                "INVALID_HEADER",
                format!("header `{name}` is not a valid HTTP header"),
            );
            return;
        };
        headers.insert(n, v);
    }
    // The headers go with every request (the SSE stream's GET included), as defaults.
    let client = match crate::core::registry::fetch::client_builder()
        .connect_timeout(timeout)
        .default_headers(headers)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            report.fail(
                ProbeStatus::Failed,
                "SPAWN_FAILED",
                format!("cannot build the HTTP client: {e}"),
            );
            return;
        }
    };
    let serving = if spec.transport == Transport::Sse {
        let connecting = crate::core::sse_client::SseTransport::connect(client, url);
        let transport = match tokio::time::timeout(timeout, connecting).await {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                report.fail(ProbeStatus::Failed, "INITIALIZE_FAILED", e.to_string());
                return;
            }
            Err(_) => {
                report.fail(
                    ProbeStatus::Timeout,
                    "TIMEOUT",
                    format!("no event stream within {} ms", timeout.as_millis()),
                );
                return;
            }
        };
        handshake(
            Box::pin(client_config().serve(transport)),
            timeout,
            started,
            report,
        )
        .await
    } else {
        let config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
        let transport = StreamableHttpClientTransport::with_client(client, config);
        handshake(
            Box::pin(client_config().serve(transport)),
            timeout,
            started,
            report,
        )
        .await
    };
    if let Some(client) = serving {
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, client.cancel()).await;
    }
}

/// A header whose value is marked sensitive (never printed by the HTTP stack's debug output),
/// or `None` when the name or value is not valid HTTP.
pub fn sensitive_header(
    name: &str,
    value: &str,
) -> Option<(reqwest::header::HeaderName, reqwest::header::HeaderValue)> {
    let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).ok()?;
    let mut value = reqwest::header::HeaderValue::from_str(value).ok()?;
    value.set_sensitive(true);
    Some((name, value))
}

/// Runs probes concurrently (at most `parallel` at once), in the order given.
pub async fn run_many(
    specs: Vec<ProbeSpec>,
    timeout: Duration,
    parallel: usize,
) -> Vec<ProbeReport> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let mut set = tokio::task::JoinSet::new();
    let count = specs.len();
    for (i, spec) in specs.into_iter().enumerate() {
        let semaphore = semaphore.clone();
        set.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            (i, run(spec, timeout).await)
        });
    }
    let mut out: Vec<Option<ProbeReport>> = vec![None; count];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, report)) = joined {
            out[i] = Some(report);
        }
    }
    out.into_iter().flatten().collect()
}

/// A current-thread tokio runtime for the blocking wrappers of the façade.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the async runtime", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_mins(2));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        for bad in ["", "0", "s", "1h", "-1s", "1.5s"] {
            assert_eq!(
                parse_duration(bad).unwrap_err().code(),
                "INVALID_DURATION",
                "{bad}"
            );
        }
    }

    #[test]
    fn stderr_tail_keeps_the_last_lines() {
        let tail: Tail = Arc::new(Mutex::new(VecDeque::new()));
        for i in 0..30 {
            push_line(&tail, &format!("line {i}\n"));
        }
        let t = tail.lock().unwrap();
        assert_eq!(t.len(), STDERR_LINES);
        assert_eq!(t.front().map(String::as_str), Some("line 10"));
        assert_eq!(t.back().map(String::as_str), Some("line 29"));
    }
}
