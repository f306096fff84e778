//! The HTTP server run in the background of another front-end (the TUI's Server panel): the
//! same application and options as `serve --http`, over the front-end's own core, on a small
//! runtime of its own so that load on the server never delays a frame.
//!
//! Starting it creates a `write` token for the session (shown once, in the panel) when the
//! configuration asks for authentication; stopping it, or dropping the handle, drains the
//! requests in flight and revokes that token. Both are audited like any token change.
//!
//! It implements the TUI's [`ServerControl`] seam; the TUI itself knows nothing of HTTP.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use anyhow::Context as _;
use chrono::Duration as TimeDelta;

use super::AppState;
use super::config::ServerConfig;
use super::listener::{launch_with_listener, tls_acceptor};
use crate::app::effect::ServerControl;
use crate::app::state::{RequestLine, ServerInfo, ServerStatus};
use crate::core::tokens::Scope;
use crate::core::{Options, Orchestrator};
use crate::server::activity::RecentRequest;
use crate::server::watch::SharedCore;

/// Who the session token's creation and revocation are audited as.
const ACTOR: &str = "tui";

/// How long the session token lives if the TUI never gets to revoke it (killed).
const TOKEN_LIFETIME_HOURS: i64 = 12;

/// Worker threads of the server's runtime (the machine may have two cores; the TUI needs
/// one of them).
const WORKERS: usize = 2;

/// What a running background server looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    /// Base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// The session token, when authentication is on.
    pub token: Option<String>,
    /// Open MCP sessions.
    pub sessions: usize,
    /// Recent requests, newest first.
    pub recent: Vec<RecentRequest>,
    /// Warnings about the configuration (no TLS on a public address).
    pub warnings: Vec<String>,
}

/// The server's state, as [`Background::status`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Not running.
    Stopped,
    /// Serving.
    Running(Running),
    /// It stopped by itself with this error.
    Failed(String),
}

struct Instance {
    runtime: tokio::runtime::Runtime,
    state: AppState,
    orch: Arc<Orchestrator>,
    url: String,
    /// The session token and its id.
    token: Option<(String, String)>,
    warnings: Vec<String>,
    /// The serving task's result.
    done: mpsc::Receiver<anyhow::Result<()>>,
}

/// A background HTTP server that can be started and stopped.
pub struct Background {
    options: Options,
    config: ServerConfig,
    api_key: Option<String>,
    instance: Mutex<Option<Instance>>,
    /// The error of the last instance that stopped by itself.
    failed: Mutex<Option<String>>,
}

impl Background {
    /// A stopped server that will serve `config` (as `serve --http` resolves it) over the state
    /// directory of `options`.
    pub fn new(options: Options, config: ServerConfig, api_key: Option<String>) -> Self {
        Self {
            options,
            config,
            api_key,
            instance: Mutex::new(None),
            failed: Mutex::new(None),
        }
    }

    /// Starts the server over `orch` (does nothing when it runs already).
    ///
    /// # Errors
    /// A configuration that `serve --http` refuses, an address that cannot be bound,
    /// unreadable TLS files, or a token that cannot be created.
    pub fn start(&self, orch: &Arc<Orchestrator>) -> anyhow::Result<Running> {
        let mut slot = lock(&self.instance);
        let instance = match slot.take() {
            Some(running) => running,
            None => self.launch(orch)?,
        };
        *lock(&self.failed) = None;
        let running = snapshot(&instance);
        *slot = Some(instance);
        Ok(running)
    }

    fn launch(&self, orch: &Arc<Orchestrator>) -> anyhow::Result<Instance> {
        let config = self.config.clone();
        let auth_on = config.auth.required;
        // The session token counts as credentials: it is created below.
        let warnings = config.check(auth_on || self.api_key.is_some())?;
        if let (Some(cert), Some(key)) = (&config.tls.cert, &config.tls.key) {
            tls_acceptor(cert, key)?;
        }
        let addr = config.addr();
        let listener =
            std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
        listener.set_nonblocking(true)?;
        let local: SocketAddr = listener.local_addr()?;
        let scheme = if config.tls_enabled() {
            "https"
        } else {
            "http"
        };
        let token = if auth_on {
            let name = format!("tui-{}", orch.now().format("%Y%m%d-%H%M%S%.3f"));
            let lifetime = TimeDelta::hours(TOKEN_LIFETIME_HOURS);
            let new = orch.create_token(&name, Scope::Write, Some(lifetime), ACTOR)?;
            Some((new.token, new.record.id))
        } else {
            None
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("mcp-orch-http")
            .enable_all()
            .build()
            .context("starting the server's runtime")?;
        let core = Arc::new(SharedCore::with(orch.clone(), self.options.clone()));
        let state = {
            let _in_runtime = runtime.enter();
            let state = AppState::with_core(core, config, self.api_key.as_deref());
            state.start_background();
            state
        };
        let (tx, done) = mpsc::channel();
        let serving = state.clone();
        runtime.spawn(async move {
            let result = match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => {
                    let shutdown = serving.shutdown.clone();
                    launch_with_listener(serving, listener, shutdown).await
                }
                Err(e) => Err(e.into()),
            };
            let _ = tx.send(result);
        });
        tracing::info!(%local, "background HTTP server started");
        Ok(Instance {
            runtime,
            state,
            orch: orch.clone(),
            url: format!("{scheme}://{local}"),
            token,
            warnings,
            done,
        })
    }

    /// Stops the server: drains requests in flight, then revokes the session token.
    ///
    /// # Errors
    /// The token could not be revoked (it still expires on its own).
    pub fn stop(&self) -> anyhow::Result<()> {
        let Some(instance) = lock(&self.instance).take() else {
            return Ok(());
        };
        instance.state.shutdown.cancel();
        let grace = Duration::from_secs(instance.state.config.limits.shutdown_grace_secs);
        let _ = instance.done.recv_timeout(grace + Duration::from_secs(1));
        instance.tear_down()
    }

    /// The server's state now.
    pub fn status(&self) -> Status {
        let mut slot = lock(&self.instance);
        let ended = slot.as_ref().and_then(|i| i.done.try_recv().ok());
        if let Some(result) = ended {
            // It stopped by itself: tidy up as `stop` would and remember why.
            let why = result
                .err()
                .map_or_else(|| "the server stopped".to_owned(), |e| format!("{e:#}"));
            if let Some(instance) = slot.take()
                && let Err(e) = instance.tear_down()
            {
                tracing::warn!("tidying up after the background server: {e:#}");
            }
            *lock(&self.failed) = Some(why);
        }
        match (slot.as_ref(), lock(&self.failed).clone()) {
            (Some(instance), _) => Status::Running(snapshot(instance)),
            (None, Some(why)) => Status::Failed(why),
            (None, None) => Status::Stopped,
        }
    }
}

/// The TUI's Server panel drives this server through its seam.
impl ServerControl for Background {
    fn start(&self, orch: &Arc<Orchestrator>) -> ServerStatus {
        match Self::start(self, orch) {
            Ok(running) => running.into(),
            Err(e) => ServerStatus::Failed(format!("{e:#}")),
        }
    }

    fn stop(&self) -> ServerStatus {
        match Self::stop(self) {
            Ok(()) => ServerStatus::Stopped,
            Err(e) => ServerStatus::Failed(format!("stopped, but {e:#}")),
        }
    }

    fn status(&self) -> ServerStatus {
        match Self::status(self) {
            Status::Stopped => ServerStatus::Stopped,
            Status::Running(running) => running.into(),
            Status::Failed(why) => ServerStatus::Failed(why),
        }
    }
}

impl From<Running> for ServerStatus {
    fn from(running: Running) -> Self {
        Self::Running(ServerInfo {
            addr: running.url,
            token: running.token,
            sessions: running.sessions,
            recent: running
                .recent
                .into_iter()
                .map(|r| RequestLine {
                    at: r
                        .at
                        .with_timezone(&chrono::Local)
                        .format("%H:%M:%S")
                        .to_string(),
                    what: r.what,
                    outcome: r.outcome,
                })
                .collect(),
            warnings: running.warnings,
        })
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!("stopping the background server: {e:#}");
        }
    }
}

impl Instance {
    /// After the serving task ended: records the token uses, stops the runtime and revokes
    /// the session token.
    fn tear_down(self) -> anyhow::Result<()> {
        self.state.auth.flush_uses();
        self.runtime.shutdown_timeout(Duration::from_millis(200));
        tracing::info!("background HTTP server stopped");
        if let Some((_, id)) = &self.token {
            self.orch.revoke_token(id, ACTOR)?;
        }
        Ok(())
    }
}

fn snapshot(instance: &Instance) -> Running {
    Running {
        url: instance.url.clone(),
        token: instance.token.as_ref().map(|(t, _)| t.clone()),
        sessions: instance.state.session_count(),
        recent: instance.state.activity.recent(),
        warnings: instance.warnings.clone(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
