//! Intent records, for crash consistency. An operation whose effect spans several files (the
//! client file, the deploy record, the audit log; a release and its audit record) first writes
//! what it is about to do, durably, under the lock it holds; then acts; then removes the
//! intent. A process killed anywhere in between leaves the intent behind, and the next one to
//! take that lock finishes the operation or records that it did not happen, judged by the
//! effect itself (the file's hash, the release file), never by guesswork.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::core::audit::AuditEvent;
use crate::core::error::{Error, Result};
use crate::core::fsutil;
use crate::core::state::DeployRecord;

/// What shows whether the operation's effect happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// A client file replaced: it happened unless the file still holds `before`.
    File {
        /// The real path of the file.
        path: PathBuf,
        /// sha256 of its bytes before (`None`: it did not exist).
        before: Option<String>,
        /// sha256 of the bytes being written.
        after: String,
    },
    /// A release file created: it happened when the file exists.
    Release {
        /// The release file.
        path: PathBuf,
    },
}

/// One operation in flight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// Unique id, also written into the details of each of its audit records.
    pub id: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// The lock the operation holds from before the intent until after its removal.
    pub lock: PathBuf,
    /// How to tell whether the effect happened.
    pub evidence: Evidence,
    /// Deploy records to write once the effect happened.
    #[serde(default)]
    pub records: Vec<(PathBuf, DeployRecord)>,
    /// The audit records of the operation, appended once the effect happened.
    pub events: Vec<AuditEvent>,
}

impl Intent {
    /// A new intent; its id goes into every event's details.
    pub fn new(
        lock: PathBuf,
        evidence: Evidence,
        records: Vec<(PathBuf, DeployRecord)>,
        events: Vec<AuditEvent>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut bytes = [0u8; 12];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        let id = hex::encode(bytes);
        let events = events
            .into_iter()
            .map(|mut event| {
                tag(&mut event, &id);
                event
            })
            .collect();
        Self {
            id,
            started_at: now,
            lock,
            evidence,
            records,
            events,
        }
    }

    /// Whether the effect happened, judged from the files as they are now.
    pub fn happened(&self) -> Result<bool> {
        Ok(match &self.evidence {
            Evidence::File { path, before, .. } => {
                let now = fsutil::read_optional(path)?.map(|b| fsutil::sha256_hex(&b));
                now != *before
            }
            Evidence::Release { path } => path.exists(),
        })
    }

    /// Writes the deploy records of the operation.
    pub fn write_records(&self) -> Result<()> {
        self.records
            .iter()
            .try_for_each(|(path, record)| fsutil::write_json(path, record))
    }
}

/// Puts the intent id into an event's details, so recovery can tell whether it was appended.
fn tag(event: &mut AuditEvent, id: &str) {
    if !event.details.is_object() {
        event.details = serde_json::json!({});
    }
    event.details["intent"] = serde_json::Value::String(id.to_owned());
}

/// The intent id an audit event carries, if any.
pub fn intent_of(event: &AuditEvent) -> Option<&str> {
    event.details.get("intent").and_then(|v| v.as_str())
}

/// `<home>/intents/`: one file per operation in flight.
#[derive(Debug, Clone)]
pub struct IntentStore {
    dir: PathBuf,
}

impl IntentStore {
    /// The store in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Records the intent durably (written and fsync'd before this returns).
    pub fn begin(&self, intent: &Intent) -> Result<()> {
        fsutil::write_json(&self.path(&intent.id), intent)
    }

    /// Removes a finished intent.
    pub fn finish(&self, id: &str) -> Result<()> {
        let path = self.path(id);
        match std::fs::remove_file(&path) {
            Ok(()) => {
                fsutil::sync_dir(&self.dir);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(format!("removing {}", path.display()), e)),
        }
    }

    /// Every intent left behind, oldest first; those held under `lock` only, when given.
    pub fn pending(&self, lock: Option<&Path>) -> Result<Vec<Intent>> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(Vec::new());
        };
        let mut intents = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            // Written atomically, so a file is whole; one that vanished was just finished.
            if let Some(intent) = fsutil::read_json::<Intent>(&path)?
                && lock.is_none_or(|l| l == intent.lock)
            {
                intents.push(intent);
            }
        }
        intents.sort_by_key(|i| i.started_at);
        Ok(intents)
    }

    /// Whether the intent is still there (its owner did not finish it).
    pub fn is_pending(&self, id: &str) -> bool {
        self.path(id).exists()
    }
}
