//! Open connections, and which of them may be closed to make room.
//!
//! A connection is *busy* while one of its requests is being answered (for a stream, until the
//! stream ends) and *idle* otherwise: before its first request, between keep-alive requests, an
//! HTTP/2 connection with no stream open however many pings it answers, a client still sending
//! its headers. Idle connections cost the server nothing but a slot, so they are what gives way:
//! when the global cap or a peer's cap is reached, the idle connection that has waited longest
//! is closed for the newcomer, and a sweep closes connections idle past their timeout. Busy
//! connections are never cut; when every slot is busy, new connections wait in the accept queue.
//! Every loopback client is the same peer, so the per-peer cap makes an idle socket give way
//! rather than turning the newcomer away.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The limits the tracker enforces.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections at most.
    pub max: usize,
    /// Open connections from one address at most.
    pub per_peer: usize,
    /// How long a connection may wait for its first request.
    pub first_request: Duration,
    /// How long a connection may sit idle between requests.
    pub idle: Duration,
}

/// The open connections.
pub struct Connections {
    limits: ConnectionLimits,
    epoch: Instant,
    open: Mutex<HashMap<u64, Arc<Connection>>>,
    next_id: AtomicU64,
    room: Notify,
}

/// One open connection.
pub struct Connection {
    id: u64,
    peer: IpAddr,
    in_flight: AtomicUsize,
    served: AtomicUsize,
    /// Milliseconds since the tracker's epoch at the last request start or end.
    last_active: AtomicU64,
    close: CancellationToken,
    /// Closed to make room or for idling, not by shutdown.
    evicted: AtomicBool,
}

impl Connection {
    fn evict(&self) {
        self.evicted.store(true, Ordering::Relaxed);
        self.close.cancel();
    }
}

/// What [`Connections::admit`] decided.
pub enum Admission {
    /// Serve it; closing the guard's connection is asked through [`Slot::closed`].
    Admitted(Slot),
    /// Every slot is busy: wait for one to end and try again.
    Full,
    /// The peer holds its whole share with busy connections: close the newcomer.
    Refused,
}

/// A connection's place in the tracker; dropping it frees the slot.
pub struct Slot {
    connection: Arc<Connection>,
    tracker: Arc<Connections>,
}

impl Connections {
    /// An empty tracker.
    pub fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            epoch: Instant::now(),
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            room: Notify::new(),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Makes room for a connection from `peer`, closing the longest-idle connection when a cap
    /// is reached. `shutdown`'s cancellation closes the admitted connection too.
    pub fn admit(self: &Arc<Self>, peer: IpAddr, shutdown: &CancellationToken) -> Admission {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let from_peer = open.values().filter(|c| c.peer == peer).count();
        if from_peer >= self.limits.per_peer {
            if !Self::evict_longest_idle(&mut open, |c| c.peer == peer) {
                return Admission::Refused;
            }
        } else if open.len() >= self.limits.max && !Self::evict_longest_idle(&mut open, |_| true) {
            return Admission::Full;
        }
        let connection = Arc::new(Connection {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            peer,
            in_flight: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
            last_active: AtomicU64::new(self.now_ms()),
            close: shutdown.child_token(),
            evicted: AtomicBool::new(false),
        });
        open.insert(connection.id, connection.clone());
        Admission::Admitted(Slot {
            connection,
            tracker: self.clone(),
        })
    }

    /// Waits until a connection ends (after [`Admission::Full`]).
    pub async fn room(&self) {
        self.room.notified().await;
    }

    fn evict_longest_idle(
        open: &mut HashMap<u64, Arc<Connection>>,
        eligible: impl Fn(&Connection) -> bool,
    ) -> bool {
        let victim = open
            .values()
            .filter(|c| eligible(c) && c.in_flight.load(Ordering::Acquire) == 0)
            .min_by_key(|c| c.last_active.load(Ordering::Relaxed))
            .map(|c| c.id);
        victim
            .and_then(|id| open.remove(&id))
            .inspect(|c| c.evict())
            .is_some()
    }

    /// Closes connections idle past their timeout. Returns how many.
    pub fn sweep(&self) -> usize {
        let now = self.now_ms();
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let before = open.len();
        open.retain(|_, c| {
            let limit = if c.served.load(Ordering::Relaxed) == 0 {
                self.limits.first_request
            } else {
                self.limits.idle
            };
            let idle_for = now.saturating_sub(c.last_active.load(Ordering::Relaxed));
            let expired = c.in_flight.load(Ordering::Acquire) == 0
                && u128::from(idle_for) >= limit.as_millis();
            if expired {
                c.evict();
            }
            !expired
        });
        let closed = before - open.len();
        if closed > 0 {
            self.room.notify_waiters();
        }
        closed
    }

    /// Runs [`Connections::sweep`] every `every` until `shutdown`.
    pub fn spawn_sweeper(self: &Arc<Self>, every: Duration, shutdown: CancellationToken) {
        let tracker = self.clone();
        tokio::spawn(async move {
            let mut timer = tokio::time::interval(every);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = timer.tick() => {
                        let closed = tracker.sweep();
                        if closed > 0 {
                            tracing::debug!(closed, "closed idle connections");
                        }
                    }
                }
            }
        });
    }

    /// Open connections.
    pub fn len(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Slot {
    /// Cancelled when the connection should close (evicted, idle too long, or shutdown).
    pub fn closed(&self) -> &CancellationToken {
        &self.connection.close
    }

    /// Whether the connection was closed to make room or for idling (not by shutdown).
    pub fn is_evicted(&self) -> bool {
        self.connection.evicted.load(Ordering::Relaxed)
    }

    /// Marks a request as started; the returned guard marks it ended when dropped.
    pub fn request(&self) -> Busy {
        self.connection.in_flight.fetch_add(1, Ordering::AcqRel);
        self.connection.served.fetch_add(1, Ordering::Relaxed);
        self.touch();
        Busy {
            connection: self.connection.clone(),
            epoch: self.tracker.epoch,
        }
    }

    fn touch(&self) {
        self.connection
            .last_active
            .store(self.tracker.now_ms(), Ordering::Relaxed);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .tracker
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.remove(&self.connection.id);
        drop(open);
        self.tracker.room.notify_waiters();
    }
}

/// A request being answered; dropped when its response body has been sent (or abandoned).
pub struct Busy {
    connection: Arc<Connection>,
    epoch: Instant,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.connection.last_active.store(now, Ordering::Relaxed);
        self.connection.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn limits(max: usize, per_peer: usize) -> ConnectionLimits {
        ConnectionLimits {
            max,
            per_peer,
            first_request: Duration::from_millis(0),
            idle: Duration::from_mins(1),
        }
    }

    fn admitted(a: Admission) -> Slot {
        match a {
            Admission::Admitted(slot) => slot,
            Admission::Full => panic!("full"),
            Admission::Refused => panic!("refused"),
        }
    }

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn the_longest_idle_connection_gives_way_and_busy_ones_never_do() {
        let stop = CancellationToken::new();
        let t = Connections::new(limits(2, 10));
        let first = admitted(t.admit(A, &stop));
        let second = admitted(t.admit(B, &stop));
        let _busy = second.request();
        let third = admitted(t.admit(A, &stop));
        assert!(first.closed().is_cancelled());
        assert!(!second.closed().is_cancelled());
        let _busy_too = third.request();
        assert!(matches!(t.admit(A, &stop), Admission::Full));
        drop(first);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_peer_at_its_cap_closes_its_own_idle_connection_or_is_refused() {
        let stop = CancellationToken::new();
        let t = Connections::new(limits(10, 1));
        let other = admitted(t.admit(B, &stop));
        let first = admitted(t.admit(A, &stop));
        let second = admitted(t.admit(A, &stop));
        assert!(first.closed().is_cancelled());
        assert!(!other.closed().is_cancelled());
        let _busy = second.request();
        assert!(matches!(t.admit(A, &stop), Admission::Refused));
    }

    #[test]
    fn the_sweep_closes_idle_connections_and_shutdown_closes_all() {
        let stop = CancellationToken::new();
        let t = Connections::new(limits(10, 10));
        let silent = admitted(t.admit(A, &stop));
        let working = admitted(t.admit(A, &stop));
        let busy = working.request();
        assert_eq!(t.sweep(), 1);
        assert!(silent.closed().is_cancelled());
        assert!(!working.closed().is_cancelled());
        drop(busy);
        stop.cancel();
        assert!(working.closed().is_cancelled());
    }
}
