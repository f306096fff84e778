//! The audit log (façade part): reading and checking it, recording what every operation did,
//! and the actor names the faces record.

use super::{AuditEvent, AuditRecord, Ledger, Orchestrator, PathBuf, Result};

impl Orchestrator {
    /// The audit records `filter` selects, oldest first.
    pub fn audit_records(&self, filter: &crate::core::audit::Filter) -> Result<Vec<AuditRecord>> {
        self.audit_log().read(filter)
    }

    /// Checks the audit log's hash chain and signed head, and that it still holds `exported`
    /// (a head exported earlier), when given.
    pub fn verify_audit(
        &self,
        exported: Option<&crate::core::audit::Checkpoint>,
    ) -> Result<crate::core::audit::VerifyReport> {
        self.audit_log().verify_with(exported)
    }

    /// The audit log's current signed head, for keeping elsewhere.
    pub fn export_audit_head(&self) -> Result<crate::core::audit::Checkpoint> {
        self.audit_log().export_head()
    }

    /// Up to `limit` records after sequence number `after`, from a store several processes
    /// share (`None` from the state directory, whose appends are watched as a file).
    ///
    /// # Errors
    /// The store's own failure.
    pub fn audit_records_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Option<Vec<AuditRecord>>> {
        self.audit_log().records_after(after, limit)
    }

    /// Calls `deliver` with every record any process appends from now on, until `stop`, when
    /// the store is shared; returns the sequence number it starts after (`None` from the
    /// state directory).
    ///
    /// # Errors
    /// The store's own failure.
    pub fn follow_audit(
        &self,
        deliver: Box<dyn Fn(AuditRecord) + Send + Sync>,
        stop: tokio_util::sync::CancellationToken,
    ) -> Result<Option<u64>> {
        self.audit_log().follow(deliver, stop)
    }

    /// The audit log's file in the state directory (for tailing it).
    pub fn audit_path(&self) -> PathBuf {
        self.state.join("audit.jsonl")
    }

    /// The audit chain.
    pub(crate) fn audit_log(&self) -> &dyn Ledger {
        &*self.ledger
    }

    /// Appends an event to the audit log.
    pub fn record(&self, event: AuditEvent) -> Result<AuditRecord> {
        // Records of concurrent operations of this process share one append and one fsync.
        self.audit_appends.submit((event, self.now()), |events| {
            let count = events.len();
            match self.audit_log().append_all(events) {
                Ok(records) => records.into_iter().map(Ok).collect(),
                Err(e) => (0..count).map(|_| Err(e.replicate())).collect(),
            }
        })
    }

    /// The actor a local front-end records: `face:user` (`cli:alice`, `tui:alice`), the user
    /// from `USER` or `LOGNAME`.
    pub fn local_actor(&self, face: &str) -> String {
        actor_of(&self.env, face)
    }

    /// Runs `op` and appends its audit record: `ok` builds the success event from the result;
    /// a failure is recorded with its error code (and the original error is returned even if
    /// recording it fails). The log is checked first, so an operation whose record could not
    /// be appended is refused before it acts (`AUDIT_CORRUPT`), never after.
    pub(crate) fn audited<T>(
        &self,
        failed: impl FnOnce(&str) -> AuditEvent,
        op: impl FnOnce() -> Result<T>,
        ok: impl FnOnce(&T) -> AuditEvent,
    ) -> Result<T> {
        self.audit_log().check_appendable()?;
        match op() {
            Ok(value) => {
                self.record(ok(&value))?;
                Ok(value)
            }
            Err(e) => {
                let _ = self.record(failed(e.code()));
                Err(e)
            }
        }
    }

    /// Appends the events of one operation to the audit log, in order, with one write.
    pub fn record_all(&self, events: Vec<AuditEvent>) -> Result<Vec<AuditRecord>> {
        let now = self.now();
        self.audit_log()
            .append_all(events.into_iter().map(|e| (e, now)).collect())
    }
}

/// `face:user`, the user from `USER` or `LOGNAME`.
pub(super) fn actor_of(env: &crate::core::env::Environment, face: &str) -> String {
    let user = env
        .var("USER")
        .or_else(|| env.var("LOGNAME"))
        .filter(|u| !u.is_empty())
        .unwrap_or("unknown");
    format!("{face}:{user}")
}
