//! The append-only, tamper-evident audit log: one JSON record per line in
//! `<home>/audit.jsonl`, each carrying the hash of the one before (a hash chain), plus a head
//! file with the last sequence number and hash so that removing records from the end is
//! detected too. `verify` finds any edited, removed, reordered or truncated record.

use crate::core::code::Code;
use crate::core::next::{Hint, Op};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::core::error::{Error, Result};
use crate::core::fsutil::{self, LockGuard};

/// The hash that precedes the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Whether the audited operation succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It succeeded.
    Ok,
    /// It failed; `error_code` says why.
    Error,
}

/// What happened, before it is chained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditEvent {
    /// `publish`, `deploy`, `rollback`, `restore`, `key.init`, `key.rotate`, `key.trust`,
    /// `key.untrust`, `token.create`, `token.revoke`, ...
    pub action: String,
    /// Who did it: `cli`, `mcp`, `http:<token id>`, `tui`.
    pub actor: String,
    /// Client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Profile id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    /// Artifact concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_id: Option<String>,
    /// Artifact version concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Success or failure.
    pub outcome: Outcome,
    /// The stable error code of a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Anything else worth keeping (never secret values).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

impl AuditEvent {
    /// A successful event.
    pub fn ok(action: &str, actor: &str) -> Self {
        Self {
            action: action.to_owned(),
            actor: actor.to_owned(),
            client_id: None,
            profile_id: None,
            artifact_id: None,
            version: None,
            outcome: Outcome::Ok,
            error_code: None,
            details: Value::Null,
        }
    }

    /// A failed event with its error code.
    pub fn failed(action: &str, actor: &str, code: &str) -> Self {
        Self {
            outcome: Outcome::Error,
            error_code: Some(code.to_owned()),
            ..Self::ok(action, actor)
        }
    }

    /// Sets the client and profile.
    #[must_use]
    pub fn target(mut self, client: &str, profile: &str) -> Self {
        self.client_id = Some(client.to_owned());
        self.profile_id = Some(profile.to_owned());
        self
    }

    /// Sets the artifact and version.
    #[must_use]
    pub fn artifact(mut self, id: &str, version: u64) -> Self {
        self.artifact_id = Some(id.to_owned());
        self.version = Some(version);
        self
    }

    /// Sets the details.
    #[must_use]
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// A chained record as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditRecord {
    /// 1-based position in the log.
    pub seq: u64,
    /// When.
    pub ts: DateTime<Utc>,
    /// What.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// Hash of the previous record ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// sha256 over `prev_hash` and the RFC 8785 form of this record without `hash`.
    pub hash: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Head {
    seq: u64,
    hash: String,
}

/// One problem found by [`AuditLog::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Problem {
    /// 1-based line number.
    pub line: usize,
    /// `edited`, `removed_or_reordered`, `unparseable`, `truncated_tail`, `head_mismatch`.
    pub kind: &'static str,
    /// Details.
    pub message: String,
}

/// The result of verifying the chain.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct VerifyReport {
    /// No problems.
    pub ok: bool,
    /// Records read.
    pub records: usize,
    /// Every problem found.
    pub problems: Vec<Problem>,
}

/// Which records to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this client.
    pub client: Option<String>,
    /// Only this profile.
    pub profile: Option<String>,
    /// Only records at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only this action.
    pub action: Option<String>,
}

/// `<home>/audit.jsonl` and its head file.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
    head: PathBuf,
    lock: PathBuf,
}

fn record_hash(record: &AuditRecord) -> Result<String> {
    let mut value = serde_json::to_value(record).map_err(|e| Error::Internal(e.to_string()))?;
    if let Some(obj) = value.as_object_mut() {
        obj.remove("hash");
    }
    let canonical =
        serde_json_canonicalizer::to_vec(&value).map_err(|e| Error::Internal(e.to_string()))?;
    let mut hasher = Sha256::new();
    hasher.update(record.prev_hash.as_bytes());
    hasher.update(&canonical);
    Ok(hex::encode(hasher.finalize()))
}

impl AuditLog {
    /// The log at `path`, with its head file beside it and its lock at `lock`.
    pub fn new(path: PathBuf, lock: PathBuf) -> Self {
        let head = path.with_extension("head");
        Self { path, head, lock }
    }

    /// The log file.
    pub fn path(&self) -> &PathBuf {
        &self.path
    }

    fn lines(&self) -> Result<Vec<String>> {
        let bytes = fsutil::read_optional(&self.path)?.unwrap_or_default();
        Ok(String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect())
    }

    /// The last complete line of the log (read from its end: the log only grows), after
    /// cutting off a partial last line left by a process killed in the middle of an append.
    fn last_line(&self, repair: bool) -> Result<Option<String>> {
        use std::io::{Read, Seek, SeekFrom};
        /// Larger than any record: one record is one operation's summary.
        const TAIL: u64 = 256 * 1024;
        let ctx = |e| Error::io(format!("reading {}", self.path.display()), e);
        let mut file = match std::fs::File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ctx(e)),
        };
        let len = file.metadata().map_err(ctx)?.len();
        let start = len.saturating_sub(TAIL);
        file.seek(SeekFrom::Start(start)).map_err(ctx)?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).map_err(ctx)?;
        let complete = tail.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if repair && complete < tail.len() {
            let file = OpenOptions::new()
                .write(true)
                .open(&self.path)
                .map_err(ctx)?;
            file.set_len(start + complete as u64).map_err(ctx)?;
            file.sync_all().map_err(ctx)?;
        }
        let text = String::from_utf8_lossy(&tail[..complete]);
        Ok(text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(str::to_owned))
    }

    /// The last complete record's sequence number and hash ([`GENESIS`] for an empty log).
    fn tip(&self, repair: bool) -> Result<(u64, String)> {
        let Some(line) = self.last_line(repair)? else {
            return Ok((0, GENESIS.to_owned()));
        };
        let last: AuditRecord = serde_json::from_str(&line)
            .map_err(|e| self.corrupt(&format!("its last record does not parse ({e})")))?;
        Ok((last.seq, last.hash))
    }

    fn corrupt(&self, what: &str) -> Error {
        Error::invalid(
            Code::AuditCorrupt,
            "audit",
            format!(
                "the audit log {} is damaged: {what}; nothing was done",
                self.path.display()
            ),
            Hint::step(
                "see where the chain breaks; repair the log, or move it aside to start a new chain",
                Op::VerifyAudit,
                &[],
            ),
        )
    }

    /// Checks, before an operation acts, that its record can be appended: the last record
    /// parses and the head is not ahead of it (records removed from the end). An operation
    /// that would fail to audit itself is refused up front, never after its effect.
    ///
    /// # Errors
    /// `AUDIT_CORRUPT`, or the I/O error reading the log.
    pub fn check_appendable(&self) -> Result<()> {
        // The head first: it is written after each append, so a log read after it is never
        // behind it, whatever other processes append meanwhile.
        let head: Head = fsutil::read_json(&self.head)
            .map_err(|_| self.corrupt("its head file does not parse"))?
            .unwrap_or_default();
        let (seq, _) = self.tip(false)?;
        if head.seq > seq {
            return Err(self.corrupt(&format!(
                "it ends at record {seq} but its head says {} (records were removed from the end)",
                head.seq
            )));
        }
        Ok(())
    }

    /// Appends an event, chained to the last record, and fsyncs it.
    pub fn append(&self, event: AuditEvent, now: DateTime<Utc>) -> Result<AuditRecord> {
        self.append_all(vec![(event, now)])?
            .pop()
            .ok_or_else(|| Error::Internal("an append of one event made no record".into()))
    }

    /// Appends events in order, each chained to the one before, with one write and one fsync.
    pub fn append_all(&self, events: Vec<(AuditEvent, DateTime<Utc>)>) -> Result<Vec<AuditRecord>> {
        let _lock = LockGuard::acquire(&self.lock)?;
        let (mut seq, mut prev_hash) = self.tip(true)?;
        let mut records = Vec::with_capacity(events.len());
        let mut lines = Vec::new();
        for (event, now) in events {
            seq += 1;
            let mut record = AuditRecord {
                seq,
                ts: now,
                event,
                prev_hash: std::mem::take(&mut prev_hash),
                hash: String::new(),
            };
            record.hash = record_hash(&record)?;
            serde_json::to_writer(&mut lines, &record)
                .map_err(|e| Error::Internal(e.to_string()))?;
            lines.push(b'\n');
            prev_hash.clone_from(&record.hash);
            records.push(record);
        }
        let Some(last) = records.last() else {
            return Ok(records);
        };
        if let Some(parent) = self.path.parent() {
            fsutil::ensure_private_dir(parent)?;
        }
        let mut opts = OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let ctx = |e| Error::io(format!("appending to {}", self.path.display()), e);
        let mut file = opts.open(&self.path).map_err(ctx)?;
        file.write_all(&lines).map_err(ctx)?;
        file.sync_all().map_err(ctx)?;
        fsutil::write_json(
            &self.head,
            &Head {
                seq: last.seq,
                hash: last.hash.clone(),
            },
        )?;
        Ok(records)
    }

    /// Records matching `filter`, oldest first. Unparseable lines are skipped (see `verify`).
    pub fn read(&self, filter: &Filter) -> Result<Vec<AuditRecord>> {
        Ok(self
            .lines()?
            .iter()
            .filter_map(|l| serde_json::from_str::<AuditRecord>(l).ok())
            .filter(|r| {
                filter
                    .client
                    .as_deref()
                    .is_none_or(|c| r.event.client_id.as_deref() == Some(c))
            })
            .filter(|r| {
                filter
                    .profile
                    .as_deref()
                    .is_none_or(|p| r.event.profile_id.as_deref() == Some(p))
            })
            .filter(|r| filter.action.as_deref().is_none_or(|a| r.event.action == a))
            .filter(|r| filter.since.is_none_or(|s| r.ts >= s))
            .collect())
    }

    /// Checks every record's hash, the chain links, the sequence and the head.
    pub fn verify(&self) -> Result<VerifyReport> {
        let lines = self.lines()?;
        let mut problems = Vec::new();
        let mut prev_hash = GENESIS.to_owned();
        let mut expected_seq = 1;
        let mut records = 0;
        for (i, line) in lines.iter().enumerate() {
            let n = i + 1;
            let record: AuditRecord = match serde_json::from_str(line) {
                Ok(r) => r,
                Err(e) => {
                    problems.push(Problem {
                        line: n,
                        kind: "unparseable",
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            records += 1;
            if record_hash(&record)? != record.hash {
                problems.push(Problem {
                    line: n,
                    kind: "edited",
                    message: format!("record {} does not match its hash", record.seq),
                });
            }
            if record.prev_hash != prev_hash || record.seq != expected_seq {
                problems.push(Problem {
                    line: n,
                    kind: "removed_or_reordered",
                    message: format!("record {} does not follow record {} (a record was removed, inserted or moved)", record.seq, expected_seq - 1),
                });
            }
            prev_hash.clone_from(&record.hash);
            expected_seq = record.seq + 1;
        }
        // The head is written after each append, so it may lag by one record after a crash; it
        // must never be ahead of the log (records removed from the end).
        let head: Head = fsutil::read_json(&self.head)?.unwrap_or_default();
        let last_seq = expected_seq - 1;
        if head.seq > last_seq || (head.seq == last_seq && head.seq > 0 && head.hash != prev_hash) {
            problems.push(Problem {
                line: lines.len(),
                kind: "head_mismatch",
                message: format!("the log ends at record {} but the head says {} (records were removed from the end)", expected_seq - 1, head.seq),
            });
        }
        Ok(VerifyReport {
            ok: problems.is_empty(),
            records,
            problems,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log() -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(
            dir.path().join("audit.jsonl"),
            dir.path().join("audit.lock"),
        );
        (dir, log)
    }

    #[test]
    fn a_batch_is_chained_like_single_appends() {
        let (_dir, log) = log();
        let now = Utc::now();
        let first = log.append(AuditEvent::ok("keys.init", "cli"), now).unwrap();
        let batch = log
            .append_all(
                (1..=3)
                    .map(|i| {
                        (
                            AuditEvent::ok("deploy", "http").target("cursor", &format!("p{i}")),
                            now,
                        )
                    })
                    .collect(),
            )
            .unwrap();
        let seqs: Vec<u64> = batch.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [2, 3, 4]);
        assert_eq!(batch[0].prev_hash, first.hash);
        assert_eq!(batch[2].prev_hash, batch[1].hash);
        let report = log.verify().unwrap();
        assert!(report.ok, "{:?}", report.problems);
        assert_eq!(report.records, 4);
        assert!(log.append_all(Vec::new()).unwrap().is_empty());
    }

    #[test]
    fn chain_verifies_and_detects_tampering() {
        let (_dir, log) = log();
        let now = Utc::now();
        for i in 0..3 {
            log.append(
                AuditEvent::ok("publish", "cli")
                    .target("cursor", "default")
                    .artifact("abc", i),
                now,
            )
            .unwrap();
        }
        assert!(log.verify().unwrap().ok);
        let text = std::fs::read_to_string(log.path()).unwrap();
        std::fs::write(
            log.path(),
            text.replacen("\"version\":1", "\"version\":7", 1),
        )
        .unwrap();
        let report = log.verify().unwrap();
        assert_eq!(
            report.problems.iter().map(|p| p.kind).collect::<Vec<_>>(),
            vec!["edited"]
        );
    }

    #[test]
    fn removal_and_reordering_are_detected() {
        let (_dir, log) = log();
        for i in 0..3 {
            log.append(AuditEvent::ok("deploy", "cli").artifact("x", i), Utc::now())
                .unwrap();
        }
        let lines: Vec<String> = std::fs::read_to_string(log.path())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        std::fs::write(log.path(), format!("{}\n{}\n", lines[0], lines[2])).unwrap();
        assert_eq!(
            log.verify().unwrap().problems[0].kind,
            "removed_or_reordered"
        );
        std::fs::write(log.path(), format!("{}\n{}\n", lines[0], lines[1])).unwrap();
        assert_eq!(log.verify().unwrap().problems[0].kind, "head_mismatch");
    }

    #[test]
    fn a_partial_last_line_from_a_killed_append_is_discarded() {
        let (_dir, log) = log();
        log.append(AuditEvent::ok("deploy", "cli"), Utc::now())
            .unwrap();
        let mut text = std::fs::read_to_string(log.path()).unwrap();
        text.push_str("{\"seq\":2,\"ts\":");
        std::fs::write(log.path(), text).unwrap();
        let second = log
            .append(AuditEvent::ok("deploy", "cli"), Utc::now())
            .unwrap();
        assert_eq!(second.seq, 2);
        let report = log.verify().unwrap();
        assert!(report.ok, "{report:?}");
    }
}
