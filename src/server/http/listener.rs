//! The accept loop. `axum::serve` installs no timer, so a client that sends half a request
//! header keeps its connection forever; this loop serves each connection through hyper-util
//! with a timer and a header-read timeout, a body that may not stall, and a place in the
//! [`Connections`] tracker, which closes idle connections to make room and after their timeout.
//! It terminates TLS when configured, and on shutdown stops accepting, lets requests in flight
//! finish (up to the grace period) and closes idle connections.
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;
use tower_http::timeout::TimeoutBody;

use super::body::Guarded;
use super::config::ServerConfig;
use super::connections::{Admission, Connections, Slot};
use super::{AppState, router};
use axum::body::Body;
use std::convert::Infallible;

/// Builds the TLS acceptor from PEM files, with the `ring` provider (no C build).
pub fn tls_acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading the certificate {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing the certificate {}", cert.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", cert.display());
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the private key {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("choosing TLS versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves the application on `listener` until `shutdown` is cancelled, then drains.
pub async fn launch_with_listener(
    state: AppState,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let config = state.config.clone();
    let tls = match (&config.tls.cert, &config.tls.key) {
        (Some(cert), Some(key)) => Some(tls_acceptor(cert, key)?),
        _ => None,
    };
    let app: Router = router(state.clone());
    let builder = connection_builder(&config);
    let connections = Connections::new(config.connection_limits());
    let closing = shutdown.child_token();
    connections.spawn_sweeper(SWEEP_EVERY, closing.clone());
    let grace = Duration::from_secs(config.limits.shutdown_grace_secs);
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let slot = loop {
            match connections.admit(peer.ip(), &closing) {
                Admission::Admitted(slot) => break Some(slot),
                Admission::Refused => break None,
                Admission::Full => tokio::select! {
                    () = shutdown.cancelled() => break None,
                    () = connections.room() => {}
                },
            }
        };
        let Some(slot) = slot else {
            tracing::debug!(%peer, "connection refused: the peer's connections are all busy");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let metrics = state.metrics.clone();
        let builder = builder.clone();
        let tls = tls.clone();
        let app = app.clone();
        let handshake_timeout = config.header_read_timeout();
        let body_timeout = config.body_read_timeout();
        tokio::spawn(async move {
            let _guard = metrics.connection();
            let slot = Arc::new(slot);
            let service = TowerToHyperService::new(tracked(app, peer, slot.clone(), body_timeout));
            match tls {
                Some(acceptor) => {
                    let Ok(Ok(io)) =
                        tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await
                    else {
                        tracing::debug!(%peer, "TLS handshake failed or timed out");
                        return;
                    };
                    serve(&builder, &slot, grace, io, service).await;
                }
                None => serve(&builder, &slot, grace, stream, service).await,
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: draining requests in flight");
    closing.cancel();
    let deadline = tokio::time::Instant::now() + grace;
    while !connections.is_empty() {
        tokio::select! {
            () = connections.room() => {}
            () = tokio::time::sleep_until(deadline) => {
                tracing::warn!("grace period over; closing the remaining connections");
                return Ok(());
            }
        }
    }
    tracing::info!("all connections closed");
    Ok(())
}

/// How often idle connections are looked for.
const SWEEP_EVERY: Duration = Duration::from_millis(500);

/// How long an idle connection asked to close may take to go.
const EVICTION_GRACE: Duration = Duration::from_secs(1);

fn connection_builder(config: &ServerConfig) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout())
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(10))
        .max_header_list_size(64 * 1024)
        .max_concurrent_streams(256);
    builder
}

/// The application with the peer address in every request, a body that may not stall longer
/// than `body_timeout`, and each request marking its connection busy until the response body
/// is done.
fn tracked(
    app: Router,
    peer: SocketAddr,
    slot: Arc<Slot>,
    body_timeout: Duration,
) -> impl tower::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future = impl Future<Output = Result<axum::response::Response, Infallible>> + Send,
> + Clone
+ Send
+ 'static {
    tower::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
        let req = req.map(|body| Body::new(TimeoutBody::new(body_timeout, body)));
        let busy = slot.request();
        let app = app.clone();
        async move {
            let Ok(response) = app.oneshot(req).await;
            Ok(response.map(|body| Guarded::holding(body, busy)))
        }
    })
}

async fn serve<I, S>(
    builder: &Builder<TokioExecutor>,
    slot: &Slot,
    grace: Duration,
    io: I,
    service: TowerToHyperService<S>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: tower::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = slot.closed().cancelled() => {
            conn.as_mut().graceful_shutdown();
            let wait = if slot.is_evicted() { EVICTION_GRACE } else { grace };
            let Ok(r) = tokio::time::timeout(wait, conn).await else {
                return;
            };
            r
        }
    };
    if let Err(e) = result {
        tracing::debug!("connection ended: {e}");
    }
}
