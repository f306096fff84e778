//! The wire form of plans and of what applying them did: every face shows a plan as a
//! [`FilePlan`] and a deploy answer as a [`DeployOutcome`] (re-exported by `crate::api`), and
//! so does the fresh plan a `PLAN_STALE` error carries.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

use super::{DeployReport, FileDiff};
use crate::core::diff::{FieldChange, ServerDiff};

/// Whether the client's file already holds what would be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PlanStatus {
    /// Nothing would change.
    UpToDate,
    /// Servers would only be added.
    Outdated,
    /// Servers would be removed or changed.
    Diverged,
}

/// A server that would change.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ModifiedServer {
    /// Its name.
    pub server_id: String,
    /// Field-level changes (secret-looking values redacted).
    pub changes: Vec<FieldChange>,
    /// Whether the entry was added by hand and would now be owned by mcp-orch (`--adopt`).
    pub takes_over_unmanaged: bool,
}

/// Server-level changes.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlanDiff {
    /// Servers added.
    pub servers_added: Vec<String>,
    /// Servers removed.
    pub servers_removed: Vec<String>,
    /// Servers changed.
    pub servers_modified: Vec<ModifiedServer>,
    /// Servers left as they are.
    pub servers_unchanged: Vec<String>,
}

/// How many servers change.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlanSummary {
    /// Added, removed and changed together.
    pub total_changes: usize,
    /// Added.
    pub added_count: usize,
    /// Removed.
    pub removed_count: usize,
    /// Changed.
    pub modified_count: usize,
}

/// What writing would change in one client file (`diff --json`, `diff_config`,
/// `GET …/diff`, and the `plan` of every deploy answer).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FilePlan {
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// What is compared with the file: `draft`, `artifact` or `local_payload`.
    pub source: String,
    /// The file.
    pub path: PathBuf,
    /// Whether it exists now.
    pub exists: bool,
    /// In one word.
    pub status: PlanStatus,
    /// Server-level changes.
    pub diff: PlanDiff,
    /// Counts.
    pub summary: PlanSummary,
    /// Unified diff of the file (secret-looking values redacted); empty when nothing changes.
    pub unified_diff: String,
    /// Things to know (comments not kept, restart needed, ...).
    pub notes: Vec<String>,
    /// What to do next.
    pub recommendation: String,
}

impl FilePlan {
    /// The wire form of a file plan; `source` says what it compares with the file.
    pub fn of(plan: &FileDiff, source: &str) -> Self {
        let s: &ServerDiff = &plan.servers;
        let status = if s.is_empty() {
            PlanStatus::UpToDate
        } else if s.removed.is_empty() && s.modified.is_empty() {
            PlanStatus::Outdated
        } else {
            PlanStatus::Diverged
        };
        let recommendation = if status == PlanStatus::UpToDate {
            "nothing to deploy: the file already holds these servers".to_owned()
        } else {
            format!(
                "{} server(s) would change in {}; validate, publish and deploy to apply",
                s.total_changes(),
                plan.path.display()
            )
        };
        Self {
            client_id: plan.client_id.clone(),
            profile_id: plan.profile_id.clone(),
            source: source.to_owned(),
            path: plan.path.clone(),
            exists: plan.exists,
            status,
            diff: PlanDiff {
                servers_added: s.added.clone(),
                servers_removed: s.removed.clone(),
                servers_modified: s
                    .modified
                    .iter()
                    .map(|m| ModifiedServer {
                        server_id: m.name.clone(),
                        changes: m.changes.clone(),
                        takes_over_unmanaged: m.takes_over_unmanaged,
                    })
                    .collect(),
                servers_unchanged: s.unchanged.clone(),
            },
            summary: PlanSummary {
                total_changes: s.total_changes(),
                added_count: s.added.len(),
                removed_count: s.removed.len(),
                modified_count: s.modified.len(),
            },
            unified_diff: plan.unified_diff.clone(),
            notes: plan.notes.clone(),
            recommendation,
        }
    }
}

/// A plan, or what applying one did (`deploy`, `rollback`, `restore`, `undeploy`, `apply`
/// with `--json`; `deploy_config`, `rollback_config`, `apply_config`, `undeploy_config`;
/// `POST …/deploy|rollback|apply|undeploy`).
#[allow(clippy::struct_excessive_bools)] // independent facts of one answer
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DeployOutcome {
    /// `dry_run` for a plan; else what was done: `deployed`, `rolled_back`, `restored`,
    /// `undeployed` or `applied`.
    pub status: String,
    /// The plan's id: send it back to apply exactly this plan.
    pub plan_id: String,
    /// `deploy`, `rollback`, `restore`, `undeploy` or `apply`.
    pub action: String,
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// The artifact deployed.
    pub artifact_id: Option<String>,
    /// Its version.
    pub version: Option<u64>,
    /// The backup restored (restore only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored_backup_id: Option<String>,
    /// Whether the draft is published first (apply).
    pub publishes: bool,
    /// Whether this is only the plan (nothing was written).
    pub dry_run: bool,
    /// Whether the file changed.
    pub changed: bool,
    /// Backup of the file's previous bytes.
    pub backup_id: Option<String>,
    /// Whether a symlink was followed to the real file.
    pub followed_symlink: bool,
    /// The file's sha256 the plan was made against (`null`: it did not exist).
    pub file_sha256: Option<String>,
    /// The file.
    pub config_path: PathBuf,
    /// What changes in it.
    pub plan: FilePlan,
}

impl DeployOutcome {
    /// The wire form of a plan or of what applying it did.
    pub fn of(r: &DeployReport) -> Self {
        let status = if r.dry_run {
            "dry_run"
        } else {
            match r.action {
                "deploy" => "deployed",
                "rollback" => "rolled_back",
                "restore" => "restored",
                "undeploy" => "undeployed",
                _ => "applied",
            }
        };
        Self {
            status: status.to_owned(),
            plan_id: r.plan_id.clone(),
            action: r.action.to_owned(),
            client_id: r.client_id.clone(),
            profile_id: r.profile_id.clone(),
            artifact_id: r.artifact_id.clone(),
            version: r.version,
            restored_backup_id: r.restored_backup_id.clone(),
            publishes: r.publishes,
            dry_run: r.dry_run,
            changed: r.changed,
            backup_id: r.backup_id.clone(),
            followed_symlink: r.followed_symlink,
            file_sha256: r.file_sha256.clone(),
            config_path: r.plan.path.clone(),
            plan: FilePlan::of(&r.plan, "artifact"),
        }
    }
}
