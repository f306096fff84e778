//! Where shared state lives: the local state directory (the default), or a PostgreSQL
//! database that any number of `serve --http` replicas share (team mode, docs/TEAM.md). Each
//! kind of state is a trait here with one implementation per store, and one suite of tests
//! (`tests/it/store.rs`) holds both to the same behaviour.

pub mod postgres;

use chrono::{DateTime, Utc};

use ed25519_dalek::VerifyingKey;

use crate::core::approvals::{Approval, ApprovalStore};
use crate::core::artifact::{self, ArtifactStore, Payload, Release, Verified};
use crate::core::audit::{AuditEvent, AuditLog, AuditRecord, Checkpoint, Filter, VerifyReport};
use crate::core::code::Code;
use crate::core::draft::{Draft, DraftStore};
use crate::core::error::{Error, Result};
use crate::core::fsutil;
use crate::core::state::StateDir;
use crate::core::team::Signed;
use std::path::PathBuf;

/// The audit chain: append-only records, each carrying the hash of the one before, under a
/// head signed with the audit key. Appends from any number of processes (or replicas) make
/// one chain; `verify_with` finds any edited, removed, reordered or appended record, a
/// rewritten chain and a missing or older head.
pub trait Ledger: Send + Sync + std::fmt::Debug {
    /// Refuses (`AUDIT_CORRUPT`) when a record could not be appended, so an operation that
    /// would fail to audit itself is refused before it acts.
    ///
    /// # Errors
    /// `AUDIT_CORRUPT`, or the store's own failure.
    fn check_appendable(&self) -> Result<()>;

    /// Appends events in order, each chained to the one before, in one write.
    ///
    /// # Errors
    /// `AUDIT_CORRUPT`, or the store's own failure; nothing is appended then.
    fn append_all(&self, events: Vec<(AuditEvent, DateTime<Utc>)>) -> Result<Vec<AuditRecord>>;

    /// Records matching `filter`, oldest first.
    ///
    /// # Errors
    /// The store's own failure.
    fn read(&self, filter: &Filter) -> Result<Vec<AuditRecord>>;

    /// Checks every record, the links, the signed head and, when given, that the chain still
    /// holds `exported` (a head exported earlier and kept elsewhere).
    ///
    /// # Errors
    /// The store's own failure (what is wrong with the chain is in the report).
    fn verify_with(&self, exported: Option<&Checkpoint>) -> Result<VerifyReport>;

    /// The current signed head, for keeping elsewhere.
    ///
    /// # Errors
    /// `AUDIT_CORRUPT` when the chain has no valid signed head.
    fn export_head(&self) -> Result<Checkpoint>;

    /// For a store that several processes share: up to `limit` records after sequence number
    /// `after`, oldest first (`None` from a store whose events are not numbered by the chain,
    /// the state directory's).
    ///
    /// # Errors
    /// The store's own failure.
    fn records_after(&self, _after: u64, _limit: usize) -> Result<Option<Vec<AuditRecord>>> {
        Ok(None)
    }

    /// For a store that several processes share: calls `deliver` with every record appended
    /// from now on, by any process, in chain order, until `stop`; returns the sequence number
    /// it starts after. `None` from the state directory's store (its appends are watched as
    /// files).
    ///
    /// # Errors
    /// The store's own failure.
    fn follow(
        &self,
        _deliver: Box<dyn Fn(AuditRecord) + Send + Sync>,
        _stop: tokio_util::sync::CancellationToken,
    ) -> Result<Option<u64>> {
        Ok(None)
    }
}

impl Ledger for AuditLog {
    fn check_appendable(&self) -> Result<()> {
        AuditLog::check_appendable(self)
    }

    fn append_all(&self, events: Vec<(AuditEvent, DateTime<Utc>)>) -> Result<Vec<AuditRecord>> {
        AuditLog::append_all(self, events)
    }

    fn read(&self, filter: &Filter) -> Result<Vec<AuditRecord>> {
        AuditLog::read(self, filter)
    }

    fn verify_with(&self, exported: Option<&Checkpoint>) -> Result<VerifyReport> {
        AuditLog::verify_with(self, exported)
    }

    fn export_head(&self) -> Result<Checkpoint> {
        AuditLog::export_head(self)
    }
}

/// Published releases and their payloads: content-addressed payloads stored once, and per
/// (client, profile) channel a history of signed releases whose versions rise by one with
/// every publish, never reused and never rewritten, however many processes (or replicas)
/// publish at once. Publishing is the orchestrator's (it makes the release and its audit
/// record one step, in the way each store allows).
pub trait Releases: Send + Sync + std::fmt::Debug {
    /// Every release of a channel, newest first (not verified).
    ///
    /// # Errors
    /// `INVALID_ID`, a release that does not parse, or the store's own failure.
    fn history(&self, client: &str, profile: &str) -> Result<Vec<Release>>;

    /// The newest release of a channel (not verified).
    ///
    /// # Errors
    /// As [`history`](Self::history).
    fn latest(&self, client: &str, profile: &str) -> Result<Option<Release>>;

    /// Every release whose artifact id starts with `prefix`, by client, profile and newest
    /// version first.
    ///
    /// # Errors
    /// `INVALID_ARTIFACT_ID`, or the store's own failure.
    fn releases_matching(&self, prefix: &str) -> Result<Vec<Release>>;

    /// The full artifact id that `id_or_prefix` names, among payloads and releases.
    ///
    /// # Errors
    /// `ARTIFACT_NOT_FOUND`, `INVALID_ARTIFACT_ID` (also when ambiguous).
    fn resolve(&self, id_or_prefix: &str) -> Result<String>;

    /// Release `version` of a channel (not verified).
    ///
    /// # Errors
    /// As [`history`](Self::history).
    fn release(&self, client: &str, profile: &str, version: u64) -> Result<Option<Release>> {
        Ok(self
            .history(client, profile)?
            .into_iter()
            .find(|r| r.version() == version))
    }

    /// A payload's stored bytes (full id), after checking that they hash to its id.
    ///
    /// # Errors
    /// `ARTIFACT_NOT_FOUND`, `ARTIFACT_TAMPERED`, `INVALID_ARTIFACT_ID`.
    fn payload_bytes(&self, artifact_id: &str) -> Result<Vec<u8>>;

    /// A payload (full id), after checking that it hashes to its id.
    ///
    /// # Errors
    /// `ARTIFACT_NOT_FOUND`, `ARTIFACT_TAMPERED`, `UNSUPPORTED_SCHEMA`.
    fn load_payload(&self, artifact_id: &str) -> Result<Payload> {
        let bytes = self.payload_bytes(artifact_id)?;
        artifact::parse_payload(
            artifact_id,
            &bytes,
            &PathBuf::from(format!("payload {artifact_id}")),
        )
    }

    /// The newest release of every channel, by client and profile.
    ///
    /// # Errors
    /// A release that does not parse, or the store's own failure.
    fn channels(&self) -> Result<Vec<Release>>;

    /// Verifies a release with the trusted keys `key_for` finds, and its payload.
    ///
    /// # Errors
    /// As [`artifact::verify`].
    fn verify(
        &self,
        release: &Release,
        key_for: &dyn Fn(&str) -> Result<VerifyingKey>,
    ) -> Result<Verified> {
        artifact::verify(release, key_for, &|id| self.load_payload(id))
    }
}

impl Releases for ArtifactStore {
    fn history(&self, client: &str, profile: &str) -> Result<Vec<Release>> {
        ArtifactStore::history(self, client, profile)
    }

    fn latest(&self, client: &str, profile: &str) -> Result<Option<Release>> {
        ArtifactStore::latest(self, client, profile)
    }

    fn releases_matching(&self, prefix: &str) -> Result<Vec<Release>> {
        ArtifactStore::releases_matching(self, prefix)
    }

    fn resolve(&self, id_or_prefix: &str) -> Result<String> {
        ArtifactStore::resolve(self, id_or_prefix)
    }

    fn payload_bytes(&self, artifact_id: &str) -> Result<Vec<u8>> {
        ArtifactStore::payload_bytes(self, artifact_id)
    }

    fn load_payload(&self, artifact_id: &str) -> Result<Payload> {
        let bytes = self.payload_bytes(artifact_id)?;
        artifact::parse_payload(artifact_id, &bytes, &self.payload_path(artifact_id)?)
    }

    fn channels(&self) -> Result<Vec<Release>> {
        ArtifactStore::channels(self)
    }
}

/// The approvals of the team's registry (`registry approve`), as one list changed by one
/// writer at a time.
pub trait Approvals: Send + Sync + std::fmt::Debug {
    /// Every approval, in the order they were made.
    ///
    /// # Errors
    /// The store's own failure.
    fn all(&self) -> Result<Vec<Approval>>;

    /// Changes the approvals with `change` (once; nothing is stored when it fails).
    ///
    /// # Errors
    /// What `change` returns, or the store's own failure.
    fn update(&self, change: &mut dyn FnMut(&mut Vec<Approval>) -> Result<()>) -> Result<()>;
}

impl Approvals for ApprovalStore {
    fn all(&self) -> Result<Vec<Approval>> {
        ApprovalStore::all(self)
    }

    fn update(&self, change: &mut dyn FnMut(&mut Vec<Approval>) -> Result<()>) -> Result<()> {
        ApprovalStore::update(self, change)
    }
}

/// The versions of the team's root (docs/TEAM.md), oldest first; a version is added once and
/// never changed.
pub trait TeamRoots: Send + Sync + std::fmt::Debug {
    /// Every root, oldest first.
    ///
    /// # Errors
    /// The store's own failure.
    fn roots(&self) -> Result<Vec<Signed>>;

    /// Adds the root of `version`, which must be the next one.
    ///
    /// # Errors
    /// `TEAM_EXISTS` when that version exists (another `team init` or `team rotate` won), or
    /// the store's own failure.
    fn add_root(&self, version: u64, doc: &Signed) -> Result<()>;
}

/// `<home>/team/roots.json`.
#[derive(Debug, Clone)]
pub struct RootFile {
    path: PathBuf,
    lock: PathBuf,
}

impl RootFile {
    /// The roots of a state directory.
    pub fn for_state(state: &StateDir) -> Self {
        Self {
            path: state.join("team/roots.json"),
            lock: state.locks().join("team-roots.lock"),
        }
    }
}

impl TeamRoots for RootFile {
    fn roots(&self) -> Result<Vec<Signed>> {
        Ok(fsutil::read_json(&self.path)?.unwrap_or_default())
    }

    fn add_root(&self, version: u64, doc: &Signed) -> Result<()> {
        let _lock = fsutil::LockGuard::acquire(&self.lock)?;
        let mut roots = self.roots()?;
        let expected = u64::try_from(roots.len()).unwrap_or(u64::MAX) + 1;
        if version != expected {
            return Err(team_exists(version));
        }
        roots.push(doc.clone());
        fsutil::write_json(&self.path, &roots)
    }
}

/// `TEAM_EXISTS` for a root version that is taken.
pub fn team_exists(version: u64) -> Error {
    Error::invalid(
        Code::TeamExists,
        "version",
        format!("the team already has root version {version}"),
        "see the team's root with `mcp-orch team show`; change it with `mcp-orch team rotate`",
    )
}

/// The drafts, one per (client, profile): read by anyone, changed one writer at a time.
pub trait Drafts: Send + Sync + std::fmt::Debug {
    /// Whether a draft was ever stored for the (client, profile) (possibly emptied since).
    fn exists(&self, client: &str, profile: &str) -> bool;

    /// The draft, or an empty one.
    ///
    /// # Errors
    /// `INVALID_ID`, or the store's own failure.
    fn load(&self, client: &str, profile: &str) -> Result<Draft>;

    /// Applies `change` (once) while no other writer can change the draft, and stores the
    /// result, its revision one higher, only when `change` succeeds.
    ///
    /// # Errors
    /// What `change` returns, `INVALID_ID`, or the store's own failure; nothing is stored
    /// then.
    fn update(
        &self,
        client: &str,
        profile: &str,
        now: DateTime<Utc>,
        change: &mut dyn FnMut(&mut Draft) -> Result<()>,
    ) -> Result<Draft>;

    /// Deletes the draft of a (client, profile).
    ///
    /// # Errors
    /// `INVALID_ID`, or the store's own failure.
    fn delete(&self, client: &str, profile: &str) -> Result<()>;

    /// Every stored draft (one that does not parse is left out).
    ///
    /// # Errors
    /// The store's own failure.
    fn all(&self) -> Result<Vec<Draft>>;
}

/// [`Drafts::update`] with a change that returns something.
///
/// # Errors
/// As [`Drafts::update`].
pub fn update_draft<T>(
    drafts: &dyn Drafts,
    client: &str,
    profile: &str,
    now: DateTime<Utc>,
    change: impl FnOnce(&mut Draft) -> Result<T>,
) -> Result<(T, Draft)> {
    run_once(change, |f| drafts.update(client, profile, now, f))
}

/// [`Approvals::update`] with a change that returns something.
///
/// # Errors
/// As [`Approvals::update`].
pub fn update_approvals<T>(
    approvals: &dyn Approvals,
    change: impl FnOnce(&mut Vec<Approval>) -> Result<T>,
) -> Result<T> {
    run_once(change, |f| approvals.update(f)).map(|(out, ())| out)
}

/// Runs a one-shot `change` through `run`, which takes a change it may call (once), and
/// returns what the change returned with what `run` did.
fn run_once<A, T, R>(
    change: impl FnOnce(&mut A) -> Result<T>,
    run: impl FnOnce(&mut dyn FnMut(&mut A) -> Result<()>) -> Result<R>,
) -> Result<(T, R)> {
    let mut change = Some(change);
    let mut out = None;
    let ran = run(&mut |value| {
        let change = change
            .take()
            .ok_or_else(|| Error::Internal("a change was run twice".into()))?;
        out = Some(change(value)?);
        Ok(())
    })?;
    let out = out.ok_or_else(|| Error::Internal("a change was not run".into()))?;
    Ok((out, ran))
}

impl Drafts for DraftStore {
    fn exists(&self, client: &str, profile: &str) -> bool {
        DraftStore::exists(self, client, profile)
    }

    fn load(&self, client: &str, profile: &str) -> Result<Draft> {
        DraftStore::load(self, client, profile)
    }

    fn update(
        &self,
        client: &str,
        profile: &str,
        now: DateTime<Utc>,
        change: &mut dyn FnMut(&mut Draft) -> Result<()>,
    ) -> Result<Draft> {
        DraftStore::update(self, client, profile, now, change).map(|((), draft)| draft)
    }

    fn delete(&self, client: &str, profile: &str) -> Result<()> {
        DraftStore::delete(self, client, profile)
    }

    fn all(&self) -> Result<Vec<Draft>> {
        Ok(DraftStore::all(self))
    }
}

/// Which store, as the user names it (`--store`, `store` in the server's config file,
/// `MCP_ORCH_STORE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// The local state directory.
    Files,
    /// A PostgreSQL database (`postgres://` or `postgresql://` URL).
    Postgres(String),
}

impl StoreUrl {
    /// Reads a store as typed: `files` (or nothing) for the state directory, or a PostgreSQL
    /// URL.
    ///
    /// # Errors
    /// `INVALID_STORE` naming `store`.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() || text == "files" {
            return Ok(Self::Files);
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Self::Postgres(text.to_owned()));
        }
        Err(Error::invalid(
            Code::InvalidStore,
            "store",
            format!(
                "unknown store `{}`",
                crate::core::error::echo(&postgres::redacted(text))
            ),
            "give `files` (the state directory) or a PostgreSQL URL such as postgres://orch@db.internal/orch",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_are_read_as_typed() {
        assert_eq!(StoreUrl::parse("").unwrap(), StoreUrl::Files);
        assert_eq!(StoreUrl::parse(" files ").unwrap(), StoreUrl::Files);
        assert_eq!(
            StoreUrl::parse("postgresql://u@h/db").unwrap(),
            StoreUrl::Postgres("postgresql://u@h/db".into())
        );
        let e = StoreUrl::parse("mysql://root:hunter2@h/db").unwrap_err();
        assert_eq!(e.code(), "INVALID_STORE");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
