//! Plans and deploys, status and drift, health checks.

use schemars::JsonSchema;
use serde::Serialize;

pub use crate::core::orchestrator::outcome::{
    DeployOutcome, FilePlan, ModifiedServer, PlanDiff, PlanStatus, PlanSummary,
};
use crate::core::orchestrator::{PlanRequest, TargetStatus};
use crate::core::probe::ProbeReport;
use crate::core::{Orchestrator, Result};

/// What deploying the draft would change in the client's file.
pub fn diff_draft(orch: &Orchestrator, client: &str, profile: &str) -> Result<FilePlan> {
    Ok(FilePlan::of(&orch.diff(client, profile)?, "draft"))
}

/// Plans `req` (`confirm: false`) or applies it: exactly the plan `plan_id` names when given,
/// else a plan made under the file's lock.
pub fn plan_or_apply(
    orch: &Orchestrator,
    req: &PlanRequest,
    confirm: bool,
    plan_id: Option<&str>,
    actor: &str,
) -> Result<DeployOutcome> {
    let report = if confirm {
        orch.apply(req, plan_id, actor)?
    } else {
        orch.plan(req)?
    };
    Ok(DeployOutcome::of(&report))
}

/// A target that needs attention.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TargetRef {
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
}

/// `status --json`, `config_status`, `GET /v1/status`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StatusReport {
    /// Every target deployed or published.
    pub targets: Vec<TargetStatus>,
    /// How many.
    pub count: usize,
    /// Whether any needs attention (drifted, file missing or unreadable, launcher gone;
    /// `status --check` exits 1).
    pub drift_detected: bool,
    /// Those that need attention.
    pub drifted: Vec<TargetRef>,
}

impl StatusReport {
    /// The report of `targets`.
    pub fn of(targets: Vec<TargetStatus>) -> Self {
        let drifted: Vec<TargetRef> = targets
            .iter()
            .filter(|t| t.needs_attention())
            .map(|t| TargetRef {
                client_id: t.client_id.clone(),
                profile_id: t.profile_id.clone(),
            })
            .collect();
        Self {
            count: targets.len(),
            drift_detected: !drifted.is_empty(),
            drifted,
            targets,
        }
    }
}

/// The status of one target, of one client's targets, or of every target.
pub fn status(
    orch: &Orchestrator,
    client: Option<&str>,
    profile: Option<&str>,
) -> Result<StatusReport> {
    let targets = match (client, profile) {
        (Some(c), Some(p)) => {
            orch.profile(c, p)?;
            vec![orch.target_status(c, p)?]
        }
        (None, Some(_)) => {
            return Err(crate::core::Error::invalid(
                crate::core::code::Code::InvalidArguments,
                "profile_id",
                "a profile needs its client",
                "give the client too, or neither for every target",
            ));
        }
        (client, None) => orch.status(client)?,
    };
    Ok(StatusReport::of(targets))
}

/// `probe --json`, `check_server_health`: what starting each server found.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HealthReport {
    /// Client id.
    pub client_id: Option<String>,
    /// Profile id.
    pub profile_id: Option<String>,
    /// Whether every server answered.
    pub ok: bool,
    /// How many answered.
    pub healthy: usize,
    /// How many did not.
    pub unhealthy: usize,
    /// One report per server.
    pub probes: Vec<ProbeReport>,
}

impl HealthReport {
    /// The report of `probes`.
    pub fn of(client: Option<String>, profile: Option<String>, probes: Vec<ProbeReport>) -> Self {
        let healthy = probes.iter().filter(|p| p.ok).count();
        Self {
            client_id: client,
            profile_id: profile,
            ok: healthy == probes.len(),
            healthy,
            unhealthy: probes.len() - healthy,
            probes,
        }
    }
}
