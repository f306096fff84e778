//! Who owns each Streamable HTTP session at `/mcp`, and when sessions close.
//!
//! rmcp's session store knows sessions by id alone: any caller who learnt an id could stream
//! from or delete it, it holds every session until a per-session timer fires (and even then
//! keeps the handle), and nothing caps how many there are. Here each session belongs to the
//! credential that opened it (another one gets `404 UNKNOWN_SESSION`, as for an id that does
//! not exist); a credential holds at most `per_credential` sessions (its least recently used
//! closes for a new one); the server at most `max` (`503 TOO_MANY_SESSIONS` beyond); and a
//! session closes when idle past its timeout with no stream open, or as soon as its credential
//! is revoked or expires.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// The caps.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Sessions at most.
    pub max: usize,
    /// Sessions per credential at most.
    pub per_credential: usize,
    /// How long a session with no request and no open stream stays.
    pub idle: Duration,
}

/// A session to close: its id and the store it is in (`true`: the priming one).
pub type ToClose = (String, bool);

/// The owners of the open sessions.
pub struct SessionOwners {
    limits: SessionLimits,
    sessions: Mutex<HashMap<String, Owned>>,
}

struct Owned {
    owner: String,
    ended: CancellationToken,
    primed: bool,
    last_used: Instant,
    streams: Arc<AtomicUsize>,
    delivered: Arc<AtomicU64>,
}

/// A session found for its owner.
pub struct Found {
    /// Whether it lives in the priming store.
    pub primed: bool,
    streams: Arc<AtomicUsize>,
    /// The last event id delivered on the session's GET streams (see [`super::resume`]).
    pub delivered: Arc<AtomicU64>,
}

/// Keeps a session counted as in use while one of its streams is open.
pub struct StreamOpen(Arc<AtomicUsize>);

impl Drop for StreamOpen {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Found {
    /// Marks a stream of the session open until the guard drops.
    pub fn stream(&self) -> StreamOpen {
        self.streams.fetch_add(1, Ordering::AcqRel);
        StreamOpen(self.streams.clone())
    }
}

/// The server holds as many sessions as it allows.
#[derive(Debug)]
pub struct Full;

impl SessionOwners {
    /// No session yet.
    pub fn new(limits: SessionLimits) -> Self {
        Self {
            limits,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Owned>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The session `id` if `owner` opened it (and marks it used); `None` for an unknown id and
    /// for another credential's session alike.
    pub fn find(&self, id: &str, owner: &str) -> Option<Found> {
        let mut sessions = self.lock();
        let s = sessions
            .get_mut(id)
            .filter(|s| s.owner == owner && !s.ended.is_cancelled())?;
        s.last_used = Instant::now();
        Some(Found {
            primed: s.primed,
            streams: s.streams.clone(),
            delivered: s.delivered.clone(),
        })
    }

    /// Makes room for a new session of `owner`: returns the sessions to close (its least
    /// recently used ones beyond its share), or [`Full`] when the server is at its cap.
    pub fn make_room(&self, owner: &str) -> Result<Vec<ToClose>, Full> {
        let mut sessions = self.lock();
        let mut close = Vec::new();
        loop {
            let mine = sessions.values().filter(|s| s.owner == owner);
            if mine.clone().count() < self.limits.per_credential {
                break;
            }
            let Some(oldest) = sessions
                .iter()
                .filter(|(_, s)| s.owner == owner)
                .min_by_key(|(_, s)| s.last_used)
                .map(|(id, _)| id.clone())
            else {
                break;
            };
            if let Some(s) = sessions.remove(&oldest) {
                close.push((oldest, s.primed));
            }
        }
        if sessions.len() >= self.limits.max {
            return Err(Full);
        }
        Ok(close)
    }

    /// Records a new session.
    pub fn insert(&self, id: String, owner: String, ended: CancellationToken, primed: bool) {
        self.lock().insert(
            id,
            Owned {
                owner,
                ended,
                primed,
                last_used: Instant::now(),
                streams: Arc::new(AtomicUsize::new(0)),
                delivered: Arc::new(AtomicU64::new(0)),
            },
        );
    }

    /// Forgets a session the client deleted.
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Takes out the sessions to close now: idle past the timeout with no stream open, or
    /// whose credential is no longer valid.
    pub fn expired(&self) -> Vec<ToClose> {
        let now = Instant::now();
        let mut close = Vec::new();
        self.lock().retain(|id, s| {
            let idle = s.streams.load(Ordering::Acquire) == 0
                && now.duration_since(s.last_used) >= self.limits.idle;
            let keep = !idle && !s.ended.is_cancelled();
            if !keep {
                close.push((id.clone(), s.primed));
            }
            keep
        });
        close
    }

    /// Open sessions.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners(max: usize, per_credential: usize, idle: Duration) -> SessionOwners {
        SessionOwners::new(SessionLimits {
            max,
            per_credential,
            idle,
        })
    }

    #[test]
    fn a_session_answers_only_its_owner() {
        let o = owners(10, 10, Duration::from_mins(1));
        o.insert(
            "s1".into(),
            "token:a".into(),
            CancellationToken::new(),
            true,
        );
        assert!(o.find("s1", "token:a").is_some_and(|f| f.primed));
        assert!(o.find("s1", "token:b").is_none());
        assert!(o.find("s2", "token:a").is_none());
    }

    #[test]
    fn a_credential_at_its_share_gives_up_its_least_recently_used_session() {
        let o = owners(3, 2, Duration::from_mins(1));
        o.insert(
            "s1".into(),
            "token:a".into(),
            CancellationToken::new(),
            true,
        );
        o.insert(
            "s2".into(),
            "token:a".into(),
            CancellationToken::new(),
            false,
        );
        o.find("s1", "token:a");
        assert_eq!(o.make_room("token:a").unwrap(), [("s2".to_owned(), false)]);
        o.insert(
            "s3".into(),
            "token:a".into(),
            CancellationToken::new(),
            true,
        );
        o.insert(
            "s4".into(),
            "token:b".into(),
            CancellationToken::new(),
            true,
        );
        assert!(o.make_room("token:c").is_err());
        assert_eq!(o.len(), 3);
    }

    #[test]
    fn idle_sessions_without_streams_and_those_of_ended_credentials_expire() {
        let o = owners(10, 10, Duration::ZERO);
        let ended = CancellationToken::new();
        o.insert(
            "idle".into(),
            "token:a".into(),
            CancellationToken::new(),
            true,
        );
        o.insert(
            "streaming".into(),
            "token:a".into(),
            CancellationToken::new(),
            true,
        );
        o.insert("revoked".into(), "token:b".into(), ended.clone(), true);
        let stream = o.find("streaming", "token:a").unwrap().stream();
        ended.cancel();
        let mut gone: Vec<String> = o.expired().into_iter().map(|(id, _)| id).collect();
        gone.sort();
        assert_eq!(gone, ["idle", "revoked"]);
        drop(stream);
        assert_eq!(o.expired().len(), 1);
        assert!(o.is_empty());
    }
}
