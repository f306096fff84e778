//! The shared core handle and the state watcher.
//!
//! [`SharedCore`] holds the orchestrator behind a lock so that it can be reopened when the
//! catalog or the client registry changes on disk. [`Watcher`] polls a
//! [`StateSnapshot`] on a timer (and right away when poked
//! after a change made through this process) and broadcasts the [`DomainEvent`]s to every
//! subscriber: each MCP session, later the TUI and the HTTP event feed.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::{Notify, broadcast};

use crate::core::events::{self, DomainEvent, StateSnapshot};
use crate::core::{self, Options, Orchestrator};

/// How often the state directory is polled.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// The orchestrator shared by every session, reopened when its loaded data goes stale.
pub struct SharedCore {
    orch: RwLock<Arc<Orchestrator>>,
    options: Options,
}

impl SharedCore {
    /// Opens the orchestrator.
    pub fn open(options: Options) -> core::Result<Self> {
        let orch = Orchestrator::open(options.clone())?;
        Ok(Self {
            orch: RwLock::new(Arc::new(orch)),
            options,
        })
    }

    /// Shares an orchestrator that is already open (the TUI's), with the options it was
    /// opened with, so that a reload opens the same state directory.
    pub fn with(orch: Arc<Orchestrator>, options: Options) -> Self {
        Self {
            orch: RwLock::new(orch),
            options,
        }
    }

    /// The current orchestrator.
    pub fn get(&self) -> Arc<Orchestrator> {
        match self.orch.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reopens the orchestrator (after the catalog or the client registry changed on disk).
    /// On failure the previous one stays in use.
    pub fn reload(&self) -> core::Result<()> {
        let fresh = Arc::new(Orchestrator::open(self.options.clone())?);
        match self.orch.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }
}

/// One batch of changes, with the snapshot they lead to.
#[derive(Debug)]
pub struct Update {
    /// What changed, sorted.
    pub events: Vec<DomainEvent>,
    /// The state after the changes.
    pub snapshot: Arc<StateSnapshot>,
}

/// A receiver of updates and the snapshot they start from.
pub type Subscription = (broadcast::Receiver<Arc<Update>>, Arc<StateSnapshot>);

/// Polls the state directory and broadcasts changes.
pub struct Watcher {
    tx: broadcast::Sender<Arc<Update>>,
    poke: Arc<Notify>,
    /// The snapshot of the last broadcast (or the first one). Held while an update is sent, so
    /// a subscriber gets a baseline and a receiver that agree: every later change arrives.
    last: Arc<Mutex<Arc<StateSnapshot>>>,
}

impl Watcher {
    /// Takes the first snapshot now and starts polling every `every` on the current tokio
    /// runtime. The task ends when the watcher is dropped.
    pub fn spawn(core: Arc<SharedCore>, every: Duration) -> Arc<Self> {
        let (tx, _) = broadcast::channel(64);
        let poke = Arc::new(Notify::new());
        let first = Arc::new(StateSnapshot::take(&core.get()));
        let last = Arc::new(Mutex::new(first.clone()));
        let watcher = Arc::new(Self {
            tx: tx.clone(),
            poke: poke.clone(),
            last: last.clone(),
        });
        let weak = Arc::downgrade(&watcher);
        let mut previous = first;
        tokio::spawn(async move {
            let mut timer = tokio::time::interval(every);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = timer.tick() => {}
                    () = poke.notified() => {}
                }
                if weak.strong_count() == 0 {
                    break;
                }
                let next = StateSnapshot::take(&core.get());
                let changed = events::changes(&previous, &next);
                if changed.is_empty() {
                    continue;
                }
                if changed.iter().any(DomainEvent::needs_reload)
                    && let Err(e) = core.reload()
                {
                    tracing::warn!(code = e.code(), "reloading the catalog failed: {e}");
                }
                tracing::debug!(?changed, "state changed");
                let next = Arc::new(next);
                previous = next.clone();
                let mut guard = last
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                *guard = next.clone();
                let _ = tx.send(Arc::new(Update {
                    events: changed,
                    snapshot: next,
                }));
                drop(guard);
            }
        });
        watcher
    }

    /// A receiver of every later update, and the snapshot those updates start from.
    pub fn subscribe(&self) -> Subscription {
        let guard = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (self.tx.subscribe(), guard.clone())
    }

    /// Asks for a poll now (after a change made through this process), so notifications do not
    /// wait for the next tick.
    pub fn poke(&self) {
        self.poke.notify_one();
    }
}
