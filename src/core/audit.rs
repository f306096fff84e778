//! The append-only, tamper-evident audit log: one JSON record per line in
//! `<home>/audit.jsonl`, each carrying the hash of the one before (a hash chain), plus a signed
//! checkpoint of the head in `audit.head`: the last sequence number and hash, signed with the
//! audit key (`audit.key`, Ed25519, created with the first record). `verify` finds any edited,
//! removed, reordered or truncated record, a chain rewritten with recomputed hashes (the head
//! no longer matches it and cannot be re-signed without the key), and a missing, older or
//! forged head. An exported head (`audit export-head`), kept elsewhere, also catches a rewrite
//! by someone who holds the key.
//!
//! An append writes the checkpoint twice: before the records, naming the head it replaces
//! (in progress), and after them, closed (`prev_*` equal to the head). So a process killed in
//! between leaves a log that ends exactly at the previous head under an in-progress
//! checkpoint, which verifies; any other end is tampering (a log cut back by its last append
//! under a closed checkpoint included).

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
use crate::core::keys::{self, Signer};

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

/// A signed checkpoint of the log's head (`audit.head`, and what `audit export-head` prints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Checkpoint {
    /// The last record's sequence number.
    pub seq: u64,
    /// The last record's hash.
    pub hash: String,
    /// While the append is in progress, the head this one replaces (where the log ends if it
    /// was interrupted); once it is done, `seq` again.
    pub prev_seq: u64,
    /// Its hash.
    pub prev_hash: String,
    /// When it was written.
    pub ts: DateTime<Utc>,
    /// The audit key's id.
    pub key_id: String,
    /// The audit key (base64), so an exported head can be checked on its own.
    pub public_key: String,
    /// Ed25519 signature (base64) over the RFC 8785 form of the fields above.
    pub signature: String,
}

impl Checkpoint {
    fn signed_bytes(&self) -> Result<Vec<u8>> {
        let mut value = serde_json::to_value(self).map_err(|e| Error::Internal(e.to_string()))?;
        if let Some(obj) = value.as_object_mut() {
            obj.remove("signature");
        }
        serde_json_canonicalizer::to_vec(&value).map_err(|e| Error::Internal(e.to_string()))
    }

    /// Whether the signature is the embedded key's, over these fields.
    pub fn signature_holds(&self) -> bool {
        let Some(public) = keys::decode_public(&self.public_key) else {
            return false;
        };
        keys::key_id(&public) == self.key_id
            && self
                .signed_bytes()
                .is_ok_and(|bytes| keys::verify(&public, &bytes, &self.signature))
    }

    /// Whether the log may end at `(seq, hash)` under this head: exactly at it, or, while an
    /// append is in progress, at the head it replaces (the append was interrupted).
    fn admits(&self, seq: u64, hash: &str) -> bool {
        (self.seq == seq && self.hash == hash) || (self.prev_seq == seq && self.prev_hash == hash)
    }

    pub(crate) fn sign(&mut self, signer: &Signer) -> Result<()> {
        signer.key_id().clone_into(&mut self.key_id);
        self.public_key = keys::encode_public(&signer.verifying_key());
        self.signature = signer.sign(&self.signed_bytes()?);
        Ok(())
    }
}

/// The head file of a log written before heads were signed.
#[derive(Deserialize)]
struct UnsignedHead {
    seq: u64,
    hash: String,
}

/// One problem found by [`AuditLog::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Problem {
    /// 1-based line number.
    pub line: usize,
    /// `edited`, `removed_or_reordered`, `unparseable`, `head_missing`, `head_forged`,
    /// `head_behind`, `head_mismatch`, `truncated`, `export_mismatch`.
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

/// `<home>/audit.jsonl`, its head file and its key.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
    head: PathBuf,
    key: PathBuf,
    lock: PathBuf,
}

/// What the head file holds.
enum HeadFile {
    Missing,
    Signed(Checkpoint),
    /// Written by a version before signed heads (accepted until the audit key exists).
    Unsigned(u64, String),
    Unreadable(String),
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

/// What is wrong with a signed head `head` for a chain ending at `(seq, hash)`, if anything:
/// the problem's kind and message. `trusted_key` is the audit key's id (`None`: no key, so no
/// head can be trusted).
pub(crate) fn signed_head_problem(
    head: &Checkpoint,
    trusted_key: Option<&str>,
    seq: u64,
    hash: &str,
) -> Option<(&'static str, String)> {
    if trusted_key != Some(head.key_id.as_str()) || !head.signature_holds() {
        Some((
            "head_forged",
            "the head's signature is not the audit key's (the head was rewritten)".into(),
        ))
    } else if head.admits(seq, hash) {
        None
    } else if seq < head.prev_seq.max(head.seq) {
        Some((
            "truncated",
            format!(
                "the log ends at record {seq} but its signed head says {} (records were removed from the end)",
                head.seq
            ),
        ))
    } else if seq > head.seq {
        Some((
            "head_behind",
            format!(
                "the log goes on to record {seq} past its signed head at {} (records were added without the key, or an older head was put back)",
                head.seq
            ),
        ))
    } else {
        Some((
            "head_mismatch",
            format!("record {seq} is not the one the signed head names (the chain was rewritten)"),
        ))
    }
}

/// The audit key at `path` (a private file), created when there is none.
///
/// # Errors
/// The file cannot be read or created, or does not hold a key.
pub fn key_at(path: &std::path::Path, now: DateTime<Utc>) -> Result<Signer> {
    match Signer::read(path)? {
        Some(signer) => Ok(signer),
        None => Signer::create(path, now),
    }
}

/// Chains `events` after the record `(seq, prev_hash)`: each gets the next sequence number,
/// the hash of the one before and its own hash.
pub(crate) fn chain(
    events: Vec<(AuditEvent, DateTime<Utc>)>,
    mut seq: u64,
    mut prev_hash: String,
) -> Result<Vec<AuditRecord>> {
    let mut records = Vec::with_capacity(events.len());
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
        prev_hash.clone_from(&record.hash);
        records.push(record);
    }
    Ok(records)
}

/// A walk over a chain's records in order, collecting what does not hold: a record that does
/// not match its hash, or does not follow the one before. Both stores verify with it.
#[derive(Debug)]
pub(crate) struct ChainWalk {
    /// Everything found so far.
    pub problems: Vec<Problem>,
    /// Records read.
    pub records: usize,
    /// The last record's hash ([`GENESIS`] before the first).
    pub tip_hash: String,
    next_seq: u64,
}

impl Default for ChainWalk {
    fn default() -> Self {
        Self {
            problems: Vec::new(),
            records: 0,
            tip_hash: GENESIS.to_owned(),
            next_seq: 1,
        }
    }
}

impl ChainWalk {
    /// Takes the record at position `line` (1-based), or the reason it could not be read.
    pub fn step(
        &mut self,
        line: usize,
        record: std::result::Result<AuditRecord, String>,
    ) -> Result<()> {
        let record = match record {
            Ok(r) => r,
            Err(message) => {
                self.problems.push(Problem {
                    line,
                    kind: "unparseable",
                    message,
                });
                return Ok(());
            }
        };
        self.records += 1;
        if record_hash(&record)? != record.hash {
            self.problems.push(Problem {
                line,
                kind: "edited",
                message: format!("record {} does not match its hash", record.seq),
            });
        }
        if record.prev_hash != self.tip_hash || record.seq != self.next_seq {
            self.problems.push(Problem {
                line,
                kind: "removed_or_reordered",
                message: format!(
                    "record {} does not follow record {} (a record was removed, inserted or moved)",
                    record.seq,
                    self.next_seq - 1
                ),
            });
        }
        self.tip_hash = record.hash;
        self.next_seq = record.seq + 1;
        Ok(())
    }

    /// The last record's sequence number (0 before the first).
    pub fn tip_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// Adds a problem of the head (at position `line`), if there is one.
    pub fn head(&mut self, line: usize, problem: Option<(&'static str, String)>) {
        if let Some((kind, message)) = problem {
            self.problems.push(Problem {
                line,
                kind,
                message,
            });
        }
    }

    /// The report.
    pub fn report(self) -> VerifyReport {
        VerifyReport {
            ok: self.problems.is_empty(),
            records: self.records,
            problems: self.problems,
        }
    }
}

/// The problem a verification finds when `exported` (a head exported earlier) is no longer in
/// the chain: `held` says whether the chain still has its record with its hash.
pub(crate) fn export_problem(exported: &Checkpoint, held: bool) -> Option<Problem> {
    (!exported.signature_holds() || !held).then(|| Problem {
        line: 0,
        kind: "export_mismatch",
        message: format!(
            "the log no longer holds the exported head (record {} with hash {}): it was rewritten or cut",
            exported.seq,
            exported.hash.get(..12).unwrap_or(&exported.hash)
        ),
    })
}

impl AuditLog {
    /// The log at `path`, with its head file and key beside it and its lock at `lock`.
    pub fn new(path: PathBuf, lock: PathBuf) -> Self {
        let head = path.with_extension("head");
        let key = path.with_extension("key");
        Self {
            path,
            head,
            key,
            lock,
        }
    }

    fn head_file(&self) -> HeadFile {
        let bytes = match fsutil::read_optional(&self.head) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return HeadFile::Missing,
            Err(e) => return HeadFile::Unreadable(e.to_string()),
        };
        if let Ok(checkpoint) = serde_json::from_slice::<Checkpoint>(&bytes) {
            return HeadFile::Signed(checkpoint);
        }
        match serde_json::from_slice::<UnsignedHead>(&bytes) {
            Ok(h) => HeadFile::Unsigned(h.seq, h.hash),
            Err(e) => HeadFile::Unreadable(e.to_string()),
        }
    }

    /// What is wrong with the head for a log ending at `(seq, hash)`, if anything: the
    /// problem's kind and message.
    fn head_problem(&self, seq: u64, hash: &str) -> Option<(&'static str, String)> {
        let key = Signer::read(&self.key);
        match self.head_file() {
            HeadFile::Missing if seq == 0 => None,
            HeadFile::Missing => Some((
                "head_missing",
                format!("the log has {seq} records but its signed head (audit.head) is gone"),
            )),
            HeadFile::Unreadable(e) => Some(("head_forged", format!("the head does not parse: {e}"))),
            HeadFile::Unsigned(head_seq, head_hash) => match key {
                Ok(None) if head_seq == seq && head_hash == hash => None,
                Ok(None) if head_seq > seq => Some((
                    "truncated",
                    format!("the log ends at record {seq} but its head says {head_seq} (records were removed from the end)"),
                )),
                Ok(None) => Some((
                    "head_mismatch",
                    format!("the log ends at record {seq} but its head says {head_seq}"),
                )),
                _ => Some((
                    "head_forged",
                    "the head is not signed, but the log's heads have been signed since its audit key was made".into(),
                )),
            },
            HeadFile::Signed(head) => {
                let trusted = match key {
                    Ok(Some(signer)) => Some(signer.key_id().to_owned()),
                    _ => None,
                };
                signed_head_problem(&head, trusted.as_deref(), seq, hash)
            }
        }
    }

    /// The current signed head, for storing elsewhere (`audit export-head`).
    ///
    /// # Errors
    /// `AUDIT_CORRUPT` when the log has no valid signed head (see [`AuditLog::verify`]).
    pub fn export_head(&self) -> Result<Checkpoint> {
        let _lock = LockGuard::acquire(&self.lock)?;
        let (seq, hash) = self.tip(false)?;
        if let Some((_, problem)) = self.head_problem(seq, &hash) {
            return Err(self.corrupt(&problem));
        }
        match self.head_file() {
            HeadFile::Signed(head) if head.seq == seq => Ok(head),
            _ => Err(Error::invalid(
                Code::AuditCorrupt,
                "audit",
                "the audit log has no signed head yet",
                "run any command that records something (for example `mcp-orch keys init`), then export",
            )),
        }
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
    /// parses and the log ends where its signed head says. An operation
    /// that would fail to audit itself is refused up front, never after its effect.
    ///
    /// # Errors
    /// `AUDIT_CORRUPT`, or the I/O error reading the log.
    pub fn check_appendable(&self) -> Result<()> {
        // Under the lock: the head and the tail must be read from the same moment.
        let _lock = LockGuard::acquire(&self.lock)?;
        let (seq, hash) = self.tip(false)?;
        match self.head_problem(seq, &hash) {
            Some((_, problem)) => Err(self.corrupt(&problem)),
            None => Ok(()),
        }
    }

    /// The audit key, created with the first signed head.
    fn signer(&self, now: DateTime<Utc>) -> Result<Signer> {
        key_at(&self.key, now)
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
        let (seq, prev_hash) = self.tip(true)?;
        if let Some((_, problem)) = self.head_problem(seq, &prev_hash) {
            return Err(self.corrupt(&problem));
        }
        let records = chain(events, seq, prev_hash.clone())?;
        let mut lines = Vec::new();
        for record in &records {
            serde_json::to_writer(&mut lines, record)
                .map_err(|e| Error::Internal(e.to_string()))?;
            lines.push(b'\n');
        }
        let Some(last) = records.last() else {
            return Ok(records);
        };
        if let Some(parent) = self.path.parent() {
            fsutil::ensure_private_dir(parent)?;
        }
        // The signed head first, naming the one it replaces (see the module's doc).
        let signer = self.signer(last.ts)?;
        let mut head = Checkpoint {
            seq: last.seq,
            hash: last.hash.clone(),
            prev_seq: seq,
            prev_hash,
            ts: last.ts,
            key_id: String::new(),
            public_key: String::new(),
            signature: String::new(),
        };
        head.sign(&signer)?;
        fsutil::write_json(&self.head, &head)?;
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
        head.prev_seq = head.seq;
        head.prev_hash.clone_from(&head.hash);
        head.sign(&signer)?;
        fsutil::write_json(&self.head, &head)?;
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

    /// Checks every record's hash, the chain links, the sequence and the signed head.
    pub fn verify(&self) -> Result<VerifyReport> {
        self.verify_with(None)
    }

    /// [`AuditLog::verify`], and that the log still holds `exported` (a head exported earlier
    /// and kept elsewhere): its record, at its sequence number, with its hash.
    pub fn verify_with(&self, exported: Option<&Checkpoint>) -> Result<VerifyReport> {
        let lock = LockGuard::acquire(&self.lock)?;
        let mut report = self.verify_chain()?;
        drop(lock);
        if let Some(head) = exported {
            let held = self
                .read(&Filter::default())?
                .into_iter()
                .find(|r| r.seq == head.seq)
                .is_some_and(|r| r.hash == head.hash);
            if let Some(problem) = export_problem(head, held) {
                report.problems.push(problem);
                report.ok = false;
            }
        }
        Ok(report)
    }

    fn verify_chain(&self) -> Result<VerifyReport> {
        let lines = self.lines()?;
        let mut walk = ChainWalk::default();
        for (i, line) in lines.iter().enumerate() {
            walk.step(i + 1, serde_json::from_str(line).map_err(|e| e.to_string()))?;
        }
        let problem = self.head_problem(walk.tip_seq(), &walk.tip_hash);
        walk.head(lines.len(), problem);
        Ok(walk.report())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert_eq!(log.verify().unwrap().problems[0].kind, "truncated");
    }

    fn kinds(log: &AuditLog) -> Vec<&'static str> {
        log.verify()
            .unwrap()
            .problems
            .iter()
            .map(|p| p.kind)
            .collect()
    }

    fn three(log: &AuditLog) {
        for i in 0..3 {
            log.append(AuditEvent::ok("deploy", "cli").artifact("x", i), Utc::now())
                .unwrap();
        }
    }

    #[test]
    fn truncation_with_the_head_removed_is_tampering() {
        let (_dir, log) = log();
        three(&log);
        let text = std::fs::read_to_string(log.path()).unwrap();
        let first = text.lines().next().unwrap();
        std::fs::write(log.path(), format!("{first}\n")).unwrap();
        std::fs::remove_file(&log.head).unwrap();
        assert_eq!(kinds(&log), ["head_missing"]);
        assert_eq!(
            log.append(AuditEvent::ok("deploy", "cli"), Utc::now())
                .unwrap_err()
                .code(),
            "AUDIT_CORRUPT"
        );
    }

    /// A chain rewritten with recomputed hashes: its end no longer matches the signed head,
    /// and a head rewritten to match has no valid signature.
    #[test]
    fn a_rehashed_forged_chain_is_caught() {
        let (_dir, log) = log();
        three(&log);
        let mut records = log.read(&Filter::default()).unwrap();
        records[1].event.version = Some(99);
        let mut prev = GENESIS.to_owned();
        let mut text = String::new();
        for r in &mut records {
            r.prev_hash.clone_from(&prev);
            r.hash = record_hash(r).unwrap();
            prev.clone_from(&r.hash);
            text.push_str(&serde_json::to_string(r).unwrap());
            text.push('\n');
        }
        std::fs::write(log.path(), text).unwrap();
        assert_eq!(kinds(&log), ["head_mismatch"]);
        let mut head: Checkpoint = fsutil::read_json(&log.head).unwrap().unwrap();
        head.hash.clone_from(&prev);
        fsutil::write_json(&log.head, &head).unwrap();
        assert_eq!(kinds(&log), ["head_forged"]);
        fsutil::write_json(&log.head, &json!({"seq": 3, "hash": prev})).unwrap();
        assert_eq!(kinds(&log), ["head_forged"]);
    }

    #[test]
    fn an_older_head_put_back_is_caught_and_an_interrupted_append_is_not() {
        let (_dir, log) = log();
        three(&log);
        let older = std::fs::read(&log.head).unwrap();
        let third: Checkpoint = fsutil::read_json(&log.head).unwrap().unwrap();
        let before = std::fs::read(log.path()).unwrap();
        log.append(AuditEvent::ok("deploy", "cli"), Utc::now())
            .unwrap();
        // Cut back by its last append under the closed head: tampering.
        let closed = std::fs::read(&log.head).unwrap();
        std::fs::write(log.path(), &before).unwrap();
        assert_eq!(kinds(&log), ["truncated"]);
        // Killed between the in-progress head and the records: the log ends at the old head.
        let mut in_progress: Checkpoint = serde_json::from_slice(&closed).unwrap();
        in_progress.prev_seq = third.seq;
        in_progress.prev_hash = third.hash;
        in_progress
            .sign(&Signer::read(&log.key).unwrap().unwrap())
            .unwrap();
        fsutil::write_json(&log.head, &in_progress).unwrap();
        assert!(kinds(&log).is_empty());
        assert_eq!(
            log.append(AuditEvent::ok("deploy", "cli"), Utc::now())
                .unwrap()
                .seq,
            4
        );
        assert!(kinds(&log).is_empty());
        std::fs::write(&log.head, older).unwrap();
        assert_eq!(kinds(&log), ["head_behind"]);
    }

    #[test]
    fn an_exported_head_catches_a_rewrite_by_whoever_holds_the_key() {
        let (_dir, log) = log();
        three(&log);
        let exported = log.export_head().unwrap();
        assert_eq!(exported.seq, 3);
        assert!(log.verify_with(Some(&exported)).unwrap().ok);
        // With the key, a new chain and a head for it verify on their own.
        std::fs::remove_file(log.path()).unwrap();
        std::fs::remove_file(&log.head).unwrap();
        log.append(AuditEvent::ok("keys.init", "cli"), Utc::now())
            .unwrap();
        assert!(kinds(&log).is_empty());
        let report = log.verify_with(Some(&exported)).unwrap();
        assert_eq!(
            report.problems.iter().map(|p| p.kind).collect::<Vec<_>>(),
            ["export_mismatch"]
        );
    }

    #[test]
    fn a_log_from_before_signed_heads_is_taken_over() {
        let (_dir, log) = log();
        three(&log);
        let records = log.read(&Filter::default()).unwrap();
        std::fs::remove_file(&log.key).unwrap();
        fsutil::write_json(&log.head, &json!({"seq": 3, "hash": records[2].hash})).unwrap();
        assert!(kinds(&log).is_empty());
        log.append(AuditEvent::ok("deploy", "cli"), Utc::now())
            .unwrap();
        assert!(matches!(log.head_file(), HeadFile::Signed(h) if h.seq == 4));
        assert!(kinds(&log).is_empty());
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
