//! Crash recovery (façade part): operations that a killed process left half done are finished
//! or recorded as not done, judged by their effect, and temp files of dead writers are removed.

use std::path::Path;

use serde_json::json;

use super::Orchestrator;
use crate::core::audit::{AuditEvent, Filter};
use crate::core::error::Result;
use crate::core::fsutil::{self, LockGuard};
use crate::core::intent::{self, Evidence, Intent};

/// The actor of recovery records.
const ACTOR: &str = "mcp-orch:recovery";

impl Orchestrator {
    /// Resolves every intent left behind (taking each one's lock, so an operation still
    /// running elsewhere is waited for, never mistaken for a dead one) and removes the temp
    /// files of dead writers in the state directory. Returns how many intents were resolved.
    ///
    /// # Errors
    /// The first intent that cannot be resolved (for example, because the audit log is
    /// damaged); it stays for the next run.
    pub fn recover(&self) -> Result<usize> {
        let mut resolved = 0;
        for intent in self.intents().pending(None)? {
            let _guard = LockGuard::acquire(&intent.lock)?;
            if self.intents().is_pending(&intent.id) {
                self.resolve(&intent)?;
                resolved += 1;
            }
        }
        fsutil::sweep_temp_files(self.state.root());
        Ok(resolved)
    }

    /// Resolves the intents left under `lock`, which the caller holds: their owner is gone.
    pub(super) fn recover_held(&self, lock: &Path) -> Result<()> {
        self.intents()
            .pending(Some(lock))?
            .iter()
            .try_for_each(|intent| self.resolve(intent))
    }

    /// Rolls one intent forward (its effect happened: write its records and the audit
    /// records it did not get to append) or back (nothing happened), records which, and
    /// removes it.
    fn resolve(&self, intent: &Intent) -> Result<()> {
        let logged: Vec<AuditEvent> = self
            .audit_log()
            .read(&Filter::default())?
            .into_iter()
            .map(|r| r.event)
            .filter(|e| intent::intent_of(e) == Some(intent.id.as_str()))
            .collect();
        if logged.iter().any(|e| e.action == "recover") {
            return self.intents().finish(&intent.id);
        }
        let happened = intent.happened()?;
        // Killed between its temp file and the rename: the temp file is the one leftover in the
        // client's directory, and the lock held here means no live writer owns it.
        if let Evidence::File { path, .. } = &intent.evidence {
            fsutil::remove_temp_files_of(path);
        }
        let mut events = Vec::new();
        if happened {
            intent.write_records()?;
            if logged.is_empty() {
                events.extend(intent.events.iter().cloned().map(|mut event| {
                    event.details["recovered"] = json!(true);
                    event
                }));
            }
        }
        let mut recovered = AuditEvent::ok("recover", ACTOR);
        if let Some(first) = intent.events.first() {
            recovered.client_id.clone_from(&first.client_id);
            recovered.profile_id.clone_from(&first.profile_id);
        }
        events.push(recovered.details(json!({
            "intent": intent.id,
            "outcome": if happened { "rolled_forward" } else { "rolled_back" },
            "actions": intent.events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            "actors": intent.events.iter().map(|e| e.actor.as_str()).collect::<Vec<_>>(),
            "started_at": intent.started_at,
        })));
        self.record_all(events)?;
        self.intents().finish(&intent.id)
    }
}
