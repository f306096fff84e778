//! The audit log: records and the check of its hash chain.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::core::audit::{AuditRecord, Filter, VerifyReport};
use crate::core::{Orchestrator, Result};

/// Which records to list.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only this client.
    pub client: Option<String>,
    /// Only this profile.
    pub profile: Option<String>,
    /// Only this action (`publish`, `deploy`, `token.create`, ...).
    pub action: Option<String>,
    /// Only records at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only the newest this many.
    pub limit: Option<usize>,
    /// Also check the hash chain.
    pub verify: bool,
}

/// `audit --json`, `get_audit_log`, `GET /v1/audit`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AuditPage {
    /// Records, oldest first.
    pub records: Vec<AuditRecord>,
    /// How many are listed.
    pub count: usize,
    /// How many matched (more than `count` when the limit cut older ones).
    pub total: usize,
    /// The check of the whole chain (when asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerifyReport>,
}

/// The records `query` selects.
pub fn read(orch: &Orchestrator, query: &AuditQuery) -> Result<AuditPage> {
    if let Some(client) = &query.client {
        orch.client(client)?;
    }
    let records = orch.audit_records(&Filter {
        client: query.client.clone(),
        profile: query.profile.clone(),
        since: query.since,
        action: query.action.clone(),
    })?;
    let total = records.len();
    let skip = query.limit.map_or(0, |n| total.saturating_sub(n));
    let records: Vec<AuditRecord> = records.into_iter().skip(skip).collect();
    Ok(AuditPage {
        count: records.len(),
        total,
        records,
        verification: if query.verify {
            Some(orch.verify_audit(None)?)
        } else {
            None
        },
    })
}

/// `audit --verify --json`, `GET /v1/audit/verify`: the check of the hash chain.
pub fn verify(
    orch: &Orchestrator,
    exported: Option<&crate::core::audit::Checkpoint>,
) -> Result<VerifyReport> {
    orch.verify_audit(exported)
}
