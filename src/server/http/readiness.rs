//! Whether the state directory can be written, checked at most once a second: `/ready` runs
//! the check (concurrent callers share one), `/health` reports the last result from memory.
//! So neither endpoint turns a flood of unauthenticated requests into disk writes.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

/// How long a check's result stands.
const FRESH: Duration = Duration::from_secs(1);

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `Err` says why the directory cannot be written.
    pub result: Result<(), String>,
    /// When the check ran.
    pub checked_at: DateTime<Utc>,
}

/// The readiness check of one server.
#[derive(Debug)]
pub struct Readiness {
    home: PathBuf,
    last: Mutex<Option<(Instant, Verdict)>>,
    /// Tells the probe files of overlapping processes and checks apart.
    serial: AtomicU64,
}

impl Readiness {
    /// A check of `home`.
    pub fn new(home: PathBuf) -> Self {
        Self {
            home,
            last: Mutex::new(None),
            serial: AtomicU64::new(0),
        }
    }

    /// The last result, without checking (`None` before the first check).
    pub async fn last(&self) -> Option<Verdict> {
        self.last.lock().await.as_ref().map(|(_, v)| v.clone())
    }

    /// The result of a check at most a second old: one caller checks, the others wait for it.
    pub async fn check(&self) -> Verdict {
        let mut last = self.last.lock().await;
        if let Some((at, verdict)) = last.as_ref()
            && at.elapsed() < FRESH
        {
            return verdict.clone();
        }
        let probe = self.home.join(format!(
            ".ready-{}-{}",
            std::process::id(),
            self.serial.fetch_add(1, Ordering::Relaxed)
        ));
        let result = tokio::task::spawn_blocking(move || write_and_read(&probe))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        let verdict = Verdict {
            result,
            checked_at: Utc::now(),
        };
        *last = Some((Instant::now(), verdict.clone()));
        verdict
    }
}

fn write_and_read(probe: &std::path::Path) -> Result<(), String> {
    std::fs::write(probe, b"ok").map_err(|e| format!("writing {}: {e}", probe.display()))?;
    let back = std::fs::read(probe).map_err(|e| format!("reading back: {e}"));
    let _ = std::fs::remove_file(probe);
    if back? == b"ok" {
        Ok(())
    } else {
        Err("read back different bytes".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_check_stands_for_a_second_and_concurrent_callers_share_it() {
        let dir = tempfile::tempdir().unwrap();
        let readiness = std::sync::Arc::new(Readiness::new(dir.path().to_path_buf()));
        assert_eq!(readiness.last().await, None);
        let first = readiness.check().await;
        assert_eq!(first.result, Ok(()));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let r = readiness.clone();
                tokio::spawn(async move { r.check().await })
            })
            .collect();
        for h in handles {
            assert_eq!(h.await.unwrap(), first, "within a second, the same check");
        }
        assert_eq!(readiness.serial.load(Ordering::Relaxed), 1, "one write");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no file left"
        );
        let missing = Readiness::new(dir.path().join("gone"));
        assert!(missing.check().await.result.is_err());
    }
}
