//! The real server on a random loopback port, and a small raw HTTP/1.1 client (so tests control
//! every header byte: Host, Origin, half-sent requests, oversized bodies).
#![allow(dead_code, clippy::disallowed_methods)] // polls a child process and a socket

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::Sandbox;

/// A running `mcp-orch serve --http`.
pub struct Server {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// Everything it wrote on stderr so far.
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the server with `--port 0` and `extra` flags, and waits until it listens.
    pub fn start(sb: &Sandbox, extra: &[&str]) -> Self {
        Self::try_start(sb, extra).unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// Like [`Server::start`], returning what it printed when it exits instead.
    pub fn try_start(sb: &Sandbox, extra: &[&str]) -> Result<Self, String> {
        let mut args = vec!["serve", "--http", "--port", "0"];
        args.extend_from_slice(extra);
        let mut child = sb
            .std_cmd(&args)
            .env("MCP_ORCH_LOG", "mcp_orch=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let port = line.split("listening on ").nth(1).map(|rest| {
                    rest.split_whitespace()
                        .next()
                        .and_then(|u| u.rsplit(':').next())
                        .and_then(|p| p.parse::<u16>().ok())
                });
                // Recorded before the port is announced, so `log()` already holds the line.
                sink.lock().unwrap().push(line);
                if let Some(port) = port {
                    let _ = tx.send(port);
                }
            }
            let _ = tx.send(None);
        });
        if let Ok(Some(port)) = rx.recv_timeout(Duration::from_secs(30)) {
            return Ok(Self {
                child,
                port,
                stderr: lines,
            });
        }
        let _ = child.wait();
        // The reader thread ends at EOF; wait for it to have collected everything.
        let _ = rx.recv_timeout(Duration::from_secs(5));
        Err(lines.lock().unwrap().join("\n"))
    }

    /// Sends SIGTERM and waits for the exit status (at most `within`).
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    }

    /// The stderr text so far.
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A request.
    pub fn req(&self) -> Req {
        Req {
            port: self.port,
            method: "GET".into(),
            path: "/".into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// GET with a bearer token.
    pub fn get(&self, path: &str, token: &str) -> Resp {
        self.req().path(path).bearer(token).send()
    }

    /// POST JSON with a bearer token.
    pub fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.req()
            .method("POST")
            .path(path)
            .bearer(token)
            .json(body)
            .send()
    }

    /// POST without a body.
    pub fn post_empty(&self, path: &str, token: &str) -> Resp {
        self.req().method("POST").path(path).bearer(token).send()
    }

    /// DELETE.
    pub fn delete(&self, path: &str, token: &str) -> Resp {
        self.req().method("DELETE").path(path).bearer(token).send()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.terminate(Duration::from_secs(5)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A request being built.
pub struct Req {
    port: u16,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Req {
    /// Method.
    pub fn method(mut self, m: &str) -> Self {
        m.clone_into(&mut self.method);
        self
    }
    /// Path and query.
    pub fn path(mut self, p: &str) -> Self {
        p.clone_into(&mut self.path);
        self
    }
    /// A header.
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }
    /// `Authorization: Bearer`.
    pub fn bearer(self, token: &str) -> Self {
        if token.is_empty() {
            return self;
        }
        self.header("Authorization", &format!("Bearer {token}"))
    }
    /// A JSON body.
    pub fn json(mut self, v: &Value) -> Self {
        self.body = Some(serde_json::to_vec(v).unwrap());
        self.header("Content-Type", "application/json")
    }
    /// A raw body.
    pub fn body(mut self, b: Vec<u8>) -> Self {
        self.body = Some(b);
        self
    }

    fn head(&self) -> String {
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, self.path);
        if !self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("host"))
        {
            let _ = write!(head, "Host: 127.0.0.1:{}\r\n", self.port);
        }
        for (k, v) in &self.headers {
            let _ = write!(head, "{k}: {v}\r\n");
        }
        head.push_str("Connection: close\r\n");
        if let Some(b) = &self.body {
            let _ = write!(head, "Content-Length: {}\r\n", b.len());
        }
        head.push_str("\r\n");
        head
    }

    /// Sends it and reads the whole response.
    pub fn send(self) -> Resp {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.write_all(self.head().as_bytes()).unwrap();
        if let Some(b) = &self.body {
            // The server may answer (413) and close before the whole body is written.
            let _ = stream.write_all(b);
        }
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        Resp::parse(&raw)
    }

    /// Sends it and returns an event-stream reader (after the response head).
    pub fn open_stream(self) -> EventStream {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.write_all(self.head().as_bytes()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut es = EventStream {
            stream,
            raw: Vec::new(),
            text: String::new(),
            status: 0,
            head_done: false,
            done: false,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !es.head_done && Instant::now() < deadline {
            es.fill();
        }
        es
    }
}

/// A parsed response.
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body (de-chunked).
    pub body: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = find(body, b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&body[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        let end = (start + size).min(body.len());
        out.extend_from_slice(&body[start..end]);
        body = &body[(end + 2).min(body.len())..];
    }
    out
}

impl Resp {
    fn parse(raw: &[u8]) -> Self {
        let split = find(raw, b"\r\n\r\n").unwrap_or(raw.len());
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let body = raw.get(split + 4..).unwrap_or_default();
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_vec()
        };
        Self {
            status,
            headers,
            body,
        }
    }

    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error code of an error body.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct Sse {
    /// `id:`.
    pub id: Option<String>,
    /// `event:`.
    pub event: String,
    /// `data:`.
    pub data: String,
}

impl Sse {
    /// The data as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// An open event stream.
pub struct EventStream {
    stream: TcpStream,
    raw: Vec<u8>,
    text: String,
    /// Response status.
    pub status: u16,
    head_done: bool,
    /// The body's last chunk arrived.
    done: bool,
}

impl EventStream {
    fn fill(&mut self) -> bool {
        let mut buf = [0u8; 8192];
        match self.stream.read(&mut buf) {
            Ok(0) => false,
            Ok(n) => {
                self.raw.extend_from_slice(&buf[..n]);
                self.decode();
                true
            }
            Err(_) => true,
        }
    }

    fn decode(&mut self) {
        if !self.head_done {
            let Some(split) = find(&self.raw, b"\r\n\r\n") else {
                return;
            };
            let head = String::from_utf8_lossy(&self.raw[..split]).into_owned();
            self.status = head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            self.raw.drain(..split + 4);
            self.head_done = true;
        }
        // De-chunk whatever whole chunks arrived.
        loop {
            let Some(eol) = find(&self.raw, b"\r\n") else {
                return;
            };
            let Ok(size) =
                usize::from_str_radix(String::from_utf8_lossy(&self.raw[..eol]).trim(), 16)
            else {
                return;
            };
            if self.raw.len() < eol + 2 + size + 2 {
                return;
            }
            self.done |= size == 0;
            let chunk = self.raw[eol + 2..eol + 2 + size].to_vec();
            self.text.push_str(&String::from_utf8_lossy(&chunk));
            self.raw.drain(..eol + 2 + size + 2);
        }
    }

    /// The next event (comments skipped), or `None` after `within`.
    pub fn next(&mut self, within: Duration) -> Option<Sse> {
        let deadline = Instant::now() + within;
        loop {
            while let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let mut ev = Sse {
                    id: None,
                    event: "message".into(),
                    data: String::new(),
                };
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        ev.id = Some(v.trim().to_owned());
                        any = true;
                    } else if let Some(v) = line.strip_prefix("event:") {
                        v.trim().clone_into(&mut ev.event);
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if !ev.data.is_empty() {
                            ev.data.push('\n');
                        }
                        ev.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                        any = true;
                    }
                }
                if any {
                    return Some(ev);
                }
            }
            if Instant::now() >= deadline || !self.fill() {
                return None;
            }
        }
    }

    /// Whether the stream ends (its last chunk, or the connection closed) within `within`.
    pub fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.done || !self.fill() {
                return true;
            }
        }
        self.done
    }

    /// Events until `pred` matches one (returned last), or `None` after `within`.
    pub fn until(&mut self, within: Duration, pred: impl Fn(&Sse) -> bool) -> Option<Vec<Sse>> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Some(ev) = self.next(deadline.saturating_duration_since(Instant::now())) {
                let hit = pred(&ev);
                seen.push(ev);
                if hit {
                    return Some(seen);
                }
            }
        }
        None
    }
}
