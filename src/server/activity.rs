//! Recent requests of a server, newest first: what the TUI's Server panel lists. A bounded
//! ring, so a busy server keeps a constant amount of it.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// How many requests are kept.
pub const KEEP: usize = 50;

/// One request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentRequest {
    /// When it finished.
    pub at: DateTime<Utc>,
    /// What was asked: `tools/call add_server_to_config`, `GET /v1/clients`.
    pub what: String,
    /// How it ended: `ok`, an error code or an HTTP status, with the time taken.
    pub outcome: String,
}

/// The ring.
#[derive(Debug, Default)]
pub struct Activity {
    recent: Mutex<VecDeque<RecentRequest>>,
}

impl Activity {
    /// Records a finished request.
    pub fn record(&self, what: String, outcome: &str, took: Duration) {
        let line = RecentRequest {
            at: Utc::now(),
            what,
            outcome: format!("{outcome} {} ms", took.as_millis()),
        };
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if recent.len() == KEEP {
            recent.pop_back();
        }
        recent.push_front(line);
    }

    /// The requests kept, newest first.
    pub fn recent(&self) -> Vec<RecentRequest> {
        self.recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_requests_first_and_at_most_keep() {
        let activity = Activity::default();
        for i in 0..=KEEP {
            activity.record(format!("GET /{i}"), "200", Duration::from_millis(3));
        }
        let recent = activity.recent();
        assert_eq!(recent.len(), KEEP);
        assert_eq!(recent[0].what, format!("GET /{KEEP}"));
        assert_eq!(recent[0].outcome, "200 3 ms");
        assert_eq!(recent[KEEP - 1].what, "GET /1");
    }
}
