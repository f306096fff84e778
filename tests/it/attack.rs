//! Hostile load against the real `serve --http`, loopback only and bounded in count and time:
//! swarms of sockets that never finish a request (idle HTTP/1.1, silent HTTP/2 answering pings,
//! headers sent a byte at a time), each while a normal client keeps calling; sessions and
//! streams that outlive their credential; one client's bad credentials; `/health` under load.
//! Every swarm reconnects what the server closes, so the pressure lasts the whole test.
#![allow(clippy::disallowed_methods)] // real sockets and real time are what is under test

use crate::common::Sandbox;
use crate::http_support::Server;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// Sockets in each swarm.
const SWARM: usize = 1_000;
/// Calls the normal client makes while a swarm runs.
const CALLS: usize = 100;
/// How long each of them may take.
const WITHIN: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Connects and sends nothing.
    IdleHttp1,
    /// Sends the HTTP/2 preface and settings, then nothing but answers to pings.
    SilentHttp2,
    /// Sends a request line, then one header byte every 200 ms.
    SlowHeaders,
}

/// `SWARM` attacking sockets on a runtime of their own.
struct Swarm {
    stop: CancellationToken,
    /// Connections opened so far (reconnections included).
    opened: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Swarm {
    fn start(port: u16, kind: Kind) -> Self {
        let stop = CancellationToken::new();
        let opened = Arc::new(AtomicUsize::new(0));
        let (s, o) = (stop.clone(), opened.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                let tasks: Vec<_> = (0..SWARM)
                    .map(|_| tokio::spawn(attacker(addr, kind, s.clone(), o.clone())))
                    .collect();
                for t in tasks {
                    let _ = t.await;
                }
            });
        });
        Self {
            stop,
            opened,
            thread: Some(thread),
        }
    }

    /// Waits until every socket has connected once.
    fn wait_connected(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.opened.load(Ordering::Relaxed) < SWARM {
            assert!(Instant::now() < deadline, "the swarm could not connect");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn attacker(addr: SocketAddr, kind: Kind, stop: CancellationToken, opened: Arc<AtomicUsize>) {
    while !stop.is_cancelled() {
        if let Ok(stream) = tokio::net::TcpStream::connect(addr).await {
            opened.fetch_add(1, Ordering::Relaxed);
            tokio::select! {
                () = stop.cancelled() => return,
                () = hold(stream, kind) => {}
            }
        }
        // The server closed it: come back, as an attacker would, a little later.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Holds one connection open the way `kind` does, until the server closes it.
async fn hold(mut stream: tokio::net::TcpStream, kind: Kind) {
    match kind {
        Kind::IdleHttp1 => {
            let mut buf = [0u8; 512];
            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
        }
        Kind::SlowHeaders => {
            if stream
                .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                .await
                .is_err()
            {
                return;
            }
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if stream.write_all(b"a").await.is_err() {
                    return;
                }
            }
        }
        Kind::SilentHttp2 => {
            // The h2 connection task answers the server's settings and pings; no stream is
            // ever opened.
            let Ok((_client, connection)) = h2::client::handshake(stream).await else {
                return;
            };
            let _ = connection.await;
        }
    }
}

/// The normal client: `CALLS` fresh connections, each `GET /health`; returns how many were
/// answered 200 within `WITHIN`.
fn normal_calls(port: u16) -> usize {
    let mut answered = 0;
    for _ in 0..CALLS {
        let started = Instant::now();
        if call_health(port).is_some_and(|status| status == 200) && started.elapsed() <= WITHIN {
            answered += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    answered
}

fn call_health(port: u16) -> Option<u16> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, WITHIN).ok()?;
    stream.set_read_timeout(Some(WITHIN)).ok()?;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out).ok()?;
    let head = String::from_utf8_lossy(&out);
    head.get(9..12)?.parse().ok()
}

fn under_swarm(kind: Kind) {
    let sb = Sandbox::new();
    let server = Server::start(&sb, &[]);
    let swarm = Swarm::start(server.port, kind);
    swarm.wait_connected();
    let answered = normal_calls(server.port);
    let opened = swarm.opened.load(Ordering::Relaxed);
    drop(swarm);
    assert!(
        answered * 100 >= CALLS * 99,
        "{kind:?}: {answered} of {CALLS} calls answered within {WITHIN:?} ({opened} attacking connections opened)"
    );
    // The server is still whole afterwards.
    assert_eq!(call_health(server.port), Some(200));
}

#[test]
fn a_thousand_idle_sockets_do_not_keep_out_a_normal_client() {
    under_swarm(Kind::IdleHttp1);
}

#[test]
fn a_thousand_silent_http2_connections_do_not_keep_out_a_normal_client() {
    under_swarm(Kind::SilentHttp2);
}

#[test]
fn a_thousand_slow_header_sockets_do_not_keep_out_a_normal_client() {
    under_swarm(Kind::SlowHeaders);
}
