//! Deploying into client files as plan and apply, drift status, backups and restore (façade
//! part). Only the entries mcp-orch owns change; ownership lives in the deploy record, never
//! in the client's file.
//!
//! Every change to a client file (deploy, rollback, restore, undeploy) is first a [plan]: what
//! would be written, pinned by its id to the artifact it takes and the file's current bytes.
//! [Apply] takes the file's lock, plans again from what is there *now* and writes only when
//! that plan is the one confirmed (else `PLAN_STALE`, with the fresh plan); the deploy record,
//! the downgrade check, the merge, the write, the record and the audit log all happen under
//! that one lock, behind an intent record that the next process finishes should this one die.
//!
//! [plan]: Orchestrator::plan
//! [Apply]: Orchestrator::apply

use crate::core::code::Code;
use crate::core::next::{Hint, Op, Step};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::{FileDiff, Orchestrator, merge_entries};
use crate::core::artifact::Release;
use crate::core::audit::AuditEvent;
use crate::core::backup::{BackupInfo, BackupStore, Owner};
use crate::core::document;
use crate::core::draft::Origin;
use crate::core::error::{Error, Result};
use crate::core::fsutil::{self, Replace};
use crate::core::intent::{Evidence, Intent};
use crate::core::render::{self, SecretStyle};
use crate::core::state::DeployRecord;
use crate::core::writer::{self, Target};

/// How often a write is retried when another program changes the file meanwhile.
pub(super) const MAX_ATTEMPTS: u32 = 5;

/// Where a rollback goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackTarget {
    /// A specific artifact (id or unique prefix) of this client and profile.
    Artifact(String),
    /// N published versions before the deployed one.
    Steps(usize),
}

/// What a plan does to a client's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    /// Deploy a published artifact: the one named (id or unique prefix), else the latest.
    Deploy {
        /// The artifact; the latest published when absent.
        artifact: Option<String>,
        /// Write secret values into the file instead of references (only when asked).
        inline_secrets: bool,
    },
    /// Deploy an earlier artifact.
    Rollback {
        /// Which one.
        to: RollbackTarget,
    },
    /// Put a backup's bytes back.
    Restore {
        /// The backup (id or unique prefix).
        backup_id: String,
    },
    /// Remove every entry mcp-orch owns.
    Undeploy,
    /// From the draft to the client in one step: publish the draft when it differs from the
    /// latest release, then deploy that release.
    Apply {
        /// The changelog of the release, when one is published.
        changelog: Option<String>,
    },
}

impl Action {
    /// The action's name in the audit log and in answers.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Deploy { .. } => "deploy",
            Self::Rollback { .. } => "rollback",
            Self::Restore { .. } => "restore",
            Self::Undeploy => "undeploy",
            Self::Apply { .. } => "apply",
        }
    }
}

/// A change to plan for one (client, profile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanRequest {
    /// Client id.
    pub client: String,
    /// Profile id.
    pub profile: String,
    /// What to do.
    #[serde(flatten)]
    pub action: Action,
    /// Take over same-named servers that were added to the file by hand.
    pub adopt: bool,
    /// Replace a hard-linked file with a new file at this name (the other names keep the old
    /// bytes); refused otherwise.
    pub break_hard_link: bool,
}

impl PlanRequest {
    /// A request without adoption or link breaking.
    pub fn new(client: &str, profile: &str, action: Action) -> Self {
        Self {
            client: client.to_owned(),
            profile: profile.to_owned(),
            action,
            adopt: false,
            break_hard_link: false,
        }
    }
}

/// A plan, or what applying one did (every face shows it as an `outcome::DeployOutcome`).
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // independent facts of one report
pub struct DeployReport {
    /// Identifies this exact plan: the request, the artifact it takes and the file's bytes
    /// now. Applying with it writes only this plan.
    pub plan_id: String,
    /// `deploy`, `rollback`, `restore` or `undeploy`.
    pub action: &'static str,
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// The artifact deployed.
    pub artifact_id: Option<String>,
    /// Its version.
    pub version: Option<u64>,
    /// The backup restored.
    pub restored_backup_id: Option<String>,
    /// Whether the draft is published first (an apply whose draft differs from the latest
    /// release).
    pub publishes: bool,
    /// Whether this is only the plan (nothing was written).
    pub dry_run: bool,
    /// Whether the file changed.
    pub changed: bool,
    /// Backup of the file's previous bytes.
    pub backup_id: Option<String>,
    /// Whether a symlink was followed to the real file.
    pub followed_symlink: bool,
    /// The file's sha256 the plan was made against (`None`: it did not exist).
    pub file_sha256: Option<String>,
    /// The plan (redacted).
    pub plan: FileDiff,
}

/// One apply waiting for its file's lock.
pub(super) struct Job {
    request: PlanRequest,
    /// The file as the profile (or the backup) names it, resolved once before queueing.
    path: PathBuf,
    confirmed: Option<String>,
    actor: String,
}

/// A plan with what applying it writes.
struct Prepared {
    report: DeployReport,
    new_text: String,
    /// Whether `new_text` differs from the text the plan was made against.
    changes_file: bool,
    record: DeployRecord,
    /// Whether the record differs from the one on disk (besides the time).
    record_changed: bool,
    holds_secrets: bool,
    event: AuditEvent,
}

/// What a plan is made from: the file as it is at one moment.
pub(super) struct FileNow<'a> {
    /// The path the profile names.
    pub path: &'a Path,
    /// The real file behind it.
    pub target: &'a Target,
    /// Its text (`None`: missing).
    pub text: Option<&'a str>,
}

impl TargetStatus {
    /// Whether the user should look at this target: owned entries changed or gone, the file
    /// missing or unreadable (for the client too), or an entry's `mcp-orch` binary gone.
    pub fn needs_attention(&self) -> bool {
        matches!(
            self.drift,
            DriftState::Drifted | DriftState::FileMissing | DriftState::Unreadable
        ) || !self.missing_launcher.is_empty()
    }
}
/// sha256 of an entry's RFC 8785 form.
pub fn entry_hash(value: &Value) -> String {
    fsutil::sha256_hex(&serde_json_canonicalizer::to_vec(value).unwrap_or_default())
}

/// Drift of one deployed target.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DriftState {
    /// Nothing was deployed yet.
    NeverDeployed,
    /// The owned entries are as deployed.
    InSync,
    /// Owned entries were changed or removed outside mcp-orch.
    Drifted,
    /// The file is gone.
    FileMissing,
    /// The file cannot be parsed, or cannot be edited safely (see `problem`).
    Unreadable,
}

/// Status of one (client, profile).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TargetStatus {
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// The file.
    pub path: Option<PathBuf>,
    /// Deployed artifact id.
    pub deployed_artifact_id: Option<String>,
    /// Deployed version.
    pub deployed_version: Option<u64>,
    /// When.
    pub deployed_at: Option<DateTime<Utc>>,
    /// The newest published artifact.
    pub latest_artifact_id: Option<String>,
    /// Its version.
    pub latest_version: Option<u64>,
    /// Drift of the owned entries.
    pub drift: DriftState,
    /// Owned entries that differ from what was deployed.
    pub changed: Vec<String>,
    /// Owned entries no longer in the file.
    pub missing: Vec<String>,
    /// Whether the file's bytes differ from what mcp-orch last wrote (other content included).
    pub file_changed: bool,
    /// Owned entries that start an `mcp-orch` binary (launcher, bridge, `serve`) that is no
    /// longer there: the client cannot start them. Publish and deploy again.
    pub missing_launcher: Vec<String>,
    /// Why the file cannot be read, when it cannot (the client cannot read it either, or
    /// mcp-orch refuses to edit it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<crate::core::error::ErrorBody>,
}

impl Orchestrator {
    pub(super) fn backup_store(&self) -> BackupStore {
        BackupStore::new(self.state.join("backups"), self.state.locks())
    }

    /// Backups of a client's files, newest first.
    pub fn backups(&self, client: &str) -> Result<Vec<BackupInfo>> {
        self.client(client)?;
        self.backup_store().list(client)
    }

    /// The file a request changes: the profile's file, or for a restore the file the backup
    /// was taken from.
    fn file_of(&self, req: &PlanRequest) -> Result<PathBuf> {
        self.profile(&req.client, &req.profile)?;
        match &req.action {
            Action::Restore { backup_id } => {
                Ok(self.backup_store().load(&req.client, backup_id)?.0.path)
            }
            _ => self.target_path(&req.client, &req.profile),
        }
    }

    /// Plans a change without writing anything: what the file would become, the server-level
    /// changes and the unified diff (redacted), and the plan id that pins it.
    pub fn plan(&self, req: &PlanRequest) -> Result<DeployReport> {
        let path = self.file_of(req)?;
        let target = writer::resolve(&path, req.break_hard_link)?;
        let text = writer::read_text(&target.real_path)?;
        let record = self.deploy_record(&req.client, &req.profile)?;
        let now = FileNow {
            path: &path,
            target: &target,
            text: text.as_deref(),
        };
        Ok(self.prepare(req, &now, &record, true)?.report)
    }

    /// Applies a change under the file's lock. With `confirmed` (a plan id the user saw), only
    /// that plan is written: when the artifact it takes or the file changed since, nothing is
    /// written and the error is `PLAN_STALE` with the fresh plan. Without it (`--yes`, a
    /// script), the plan is made under the lock and written at once. The audit log is checked
    /// before anything happens (`AUDIT_CORRUPT`), and every outcome is audited.
    pub fn apply(
        &self,
        req: &PlanRequest,
        confirmed: Option<&str>,
        actor: &str,
    ) -> Result<DeployReport> {
        self.audit_log().check_appendable()?;
        if let Action::Apply { changelog } = &req.action {
            self.publish_if_changed(req, changelog.as_deref(), actor)?;
        }
        let resolved = self.file_of(req).and_then(|path| {
            let target = writer::resolve(&path, req.break_hard_link)?;
            Ok((path, target))
        });
        let (path, target) = match resolved {
            Ok(resolved) => resolved,
            Err(e) => {
                self.record(failed_event(req, actor, &e))?;
                return Err(e);
            }
        };
        let job = Job {
            request: req.clone(),
            path,
            confirmed: confirmed.map(str::to_owned),
            actor: actor.to_owned(),
        };
        self.applies.submit(&target.real_path, job, |jobs| {
            self.apply_batch(&target, &jobs)
        })
    }

    /// Applies the jobs queued for one file, in order, with one read, one backup, one write
    /// and one audit append; each job is planned against what the ones before it left.
    fn apply_batch(&self, target: &Target, jobs: &[Job]) -> Vec<Result<DeployReport>> {
        match self.apply_locked(target, jobs) {
            Ok(results) => results,
            Err(e) => {
                let events = jobs
                    .iter()
                    .map(|job| failed_event(&job.request, &job.actor, &e))
                    .collect();
                let _ = self.record_all(events);
                jobs.iter().map(|_| Err(e.replicate())).collect()
            }
        }
    }

    fn apply_locked(&self, target: &Target, jobs: &[Job]) -> Result<Vec<Result<DeployReport>>> {
        let real = &target.real_path;
        let (lock, _guard) = self.lock_file(real)?;
        for _ in 0..MAX_ATTEMPTS {
            let old = writer::read(real)?;
            let old_text = super::rewrite::utf8_text(real, old.as_deref())?;
            let mut new_text: Option<String> = None;
            let mut originals: BTreeMap<(String, String), DeployRecord> = BTreeMap::new();
            let mut records: BTreeMap<(String, String), DeployRecord> = BTreeMap::new();
            let mut outcomes = Vec::with_capacity(jobs.len());
            let (mut done, mut failed) = (Vec::new(), Vec::new());
            for job in jobs {
                let req = &job.request;
                let key = (req.client.clone(), req.profile.clone());
                if !records.contains_key(&key) {
                    let record = self.deploy_record(&req.client, &req.profile)?;
                    originals.insert(key.clone(), record.clone());
                    records.insert(key.clone(), record);
                }
                let text = new_text.as_deref().or(old_text);
                let now = FileNow {
                    path: &job.path,
                    target,
                    text,
                };
                let planned =
                    self.prepare(req, &now, &records[&key], false)
                        .and_then(|p| match &job.confirmed {
                            Some(id) if *id != p.report.plan_id => {
                                Err(self.stale(req, id, &now, &records[&key]))
                            }
                            _ => Ok(p),
                        });
                match planned {
                    Ok(mut p) => {
                        if p.changes_file {
                            new_text = Some(std::mem::take(&mut p.new_text));
                        }
                        if p.record_changed {
                            records.insert(key, p.record.clone());
                        }
                        let mut event = p.event.clone();
                        event.actor.clone_from(&job.actor);
                        done.push(event);
                        outcomes.push(Ok(p));
                    }
                    Err(e) => {
                        failed.push(failed_event(req, &job.actor, &e));
                        outcomes.push(Err(e));
                    }
                }
            }
            let changed_records: Vec<(PathBuf, DeployRecord)> = records
                .iter()
                .filter(|(key, record)| originals.get(*key) != Some(*record))
                .map(|((c, p), record)| (self.state.deploy_record(c, p), record.clone()))
                .collect();
            if new_text.is_none() && changed_records.is_empty() {
                self.record_all(done.into_iter().chain(failed).collect())?;
                return Ok(applied(outcomes, None, false));
            }
            let old_sha = old.as_deref().map(fsutil::sha256_hex);
            let after = new_text
                .as_deref()
                .map(|t| fsutil::sha256_hex(t.as_bytes()))
                .or_else(|| old_sha.clone())
                .unwrap_or_default();
            let intent = Intent::new(
                lock.clone(),
                Evidence::File {
                    path: real.clone(),
                    before: old_sha,
                    after,
                },
                changed_records,
                done,
                self.now(),
            );
            self.intents().begin(&intent)?;
            let mut backup_id = None;
            if let Some(text) = &new_text {
                if let (Some(bytes), Some(first)) = (&old, jobs.first()) {
                    let req = &first.request;
                    let owned_by = originals
                        .get(&(req.client.clone(), req.profile.clone()))
                        .filter(|r| r.deployed_at.is_some())
                        .map(|record| Owner {
                            profile: req.profile.clone(),
                            record: record.clone(),
                        });
                    backup_id = Some(self.backup_store().save(
                        &req.client,
                        real,
                        bytes,
                        self.now(),
                        owned_by,
                    )?);
                }
                let private = outcomes
                    .iter()
                    .any(|o| o.as_ref().is_ok_and(|p| p.holds_secrets));
                match fsutil::replace_if_unchanged(
                    real,
                    text.as_bytes(),
                    old.as_deref(),
                    0o644,
                    private,
                )? {
                    Replace::Done => {}
                    Replace::Conflict => {
                        self.intents().finish(&intent.id)?;
                        continue;
                    }
                }
            }
            intent.write_records()?;
            self.record_all(intent.events.iter().cloned().chain(failed).collect())?;
            self.intents().finish(&intent.id)?;
            return Ok(applied(outcomes, backup_id.as_deref(), new_text.is_some()));
        }
        Err(Error::invalid(
            Code::ConcurrentModification,
            "path",
            format!(
                "{} kept changing while it was being written",
                real.display()
            ),
            "another program is rewriting this file; close it and deploy again",
        ))
    }

    /// The first half of an apply, before the file's lock: the draft must be valid, and is
    /// published when it differs from the latest release.
    fn publish_if_changed(
        &self,
        req: &PlanRequest,
        changelog: Option<&str>,
        actor: &str,
    ) -> Result<()> {
        let (client, profile) = (req.client.as_str(), req.profile.as_str());
        let checked = self.draft_payload(client, profile).and_then(|payload| {
            let report = self.validate(client, profile)?;
            if !report.valid {
                return Err(Error::ValidationFailed {
                    client: client.to_owned(),
                    profile: profile.to_owned(),
                    diagnostics: report.errors,
                });
            }
            payload.artifact_id()
        });
        let id = match checked {
            Ok(id) => id,
            Err(e) => {
                self.record(failed_event(req, actor, &e))?;
                return Err(e);
            }
        };
        let latest = self.latest_release(client, profile)?;
        if latest.is_none_or(|r| r.artifact_id() != id) {
            self.publish(client, profile, changelog, actor)?;
        }
        Ok(())
    }

    /// `PLAN_STALE`: the plan confirmed is not what applying would do now; the fresh plan is in
    /// the details, to show and confirm instead.
    fn stale(
        &self,
        req: &PlanRequest,
        confirmed: &str,
        now: &FileNow<'_>,
        record: &DeployRecord,
    ) -> Error {
        let fresh = self.prepare(req, now, record, true).map(|p| p.report);
        Error::PlanStale {
            client: req.client.clone(),
            profile: req.profile.clone(),
            confirmed: confirmed.to_owned(),
            fresh: Box::new(fresh.map_or(Value::Null, |plan| {
                serde_json::to_value(super::outcome::DeployOutcome::of(&plan))
                    .unwrap_or(Value::Null)
            })),
        }
    }

    /// Makes the plan of `req` against the file's text `now` and the target's `record`: the
    /// new text, the new record, the audit event, and (with `with_diff`) the redacted diff to
    /// show. Pure apart from reading the artifact, backup and secret stores.
    fn prepare(
        &self,
        req: &PlanRequest,
        now: &FileNow<'_>,
        record: &DeployRecord,
        with_diff: bool,
    ) -> Result<Prepared> {
        let def = self.profile_client(&req.client, &req.profile)?;
        let def = &*def;
        let Made {
            text: new_text,
            servers,
            record: mut new_record,
            notes,
            seen,
            artifact,
            restored_backup_id,
            holds_secrets,
            publishes,
        } = match &req.action {
            Action::Restore { backup_id } => self.restored(req, backup_id, now, record)?,
            _ => self.merged(req, now, record)?,
        };
        new_record.path.clone_from(&now.target.real_path);
        new_record.file_sha256 = Some(fsutil::sha256_hex(new_text.as_bytes()));
        new_record.deployed_at = record.deployed_at;
        let changes_file = now.text != Some(new_text.as_str());
        // Written when it says something new; the time only moves with a change.
        let record_changed = changes_file || new_record != *record;
        if record_changed {
            new_record.deployed_at = Some(self.now());
        }
        let file_sha256 = now.text.map(|t| fsutil::sha256_hex(t.as_bytes()));
        let plan_id = fsutil::sha256_hex(
            &serde_json_canonicalizer::to_vec(&json!({
                // What the plan does, not how it was asked for: "latest" and the id it
                // resolves to are the same plan.
                "client": req.client,
                "profile": req.profile,
                "action": req.action.name(),
                "adopt": req.adopt,
                "break_hard_link": req.break_hard_link,
                "inline_secrets": holds_secrets,
                "backup": restored_backup_id,
                // An apply publishes the artifact it deploys: its pin is the result.
                "artifact": artifact.as_ref().filter(|_| !matches!(req.action, Action::Apply { .. })),
                "file": file_sha256,
                "result": new_record.file_sha256,
            }))
            .map_err(|e| Error::Internal(e.to_string()))?,
        )[..16]
            .to_owned();
        let plan = self.file_diff(
            def,
            (&req.client, &req.profile),
            now,
            &new_text,
            servers,
            notes,
            &seen,
            with_diff,
        )?;
        let mut event = AuditEvent::ok(req.action.name(), "")
            .target(&req.client, &req.profile)
            .details(json!({
                "path": now.target.real_path,
                "changed": changes_file,
                "file_sha256": new_record.file_sha256,
                "plan_id": plan_id,
                "added": plan.servers.added,
                "removed": plan.servers.removed,
                "modified": plan.servers.modified.iter().map(|m| &m.name).collect::<Vec<_>>(),
                "restored_backup_id": restored_backup_id,
            }));
        if let Some((id, version)) = &artifact {
            event = event.artifact(id, *version);
        }
        Ok(Prepared {
            report: DeployReport {
                plan_id,
                action: req.action.name(),
                client_id: req.client.clone(),
                profile_id: req.profile.clone(),
                artifact_id: artifact.as_ref().map(|a| a.0.clone()),
                version: artifact.as_ref().map(|a| a.1),
                restored_backup_id,
                publishes,
                dry_run: true,
                changed: false,
                backup_id: None,
                followed_symlink: now.target.followed_symlink,
                file_sha256,
                plan,
            },
            new_text,
            changes_file,
            record: new_record,
            record_changed,
            holds_secrets,
            event,
        })
    }

    /// What restoring a backup makes of the file: its bytes, and the entries mcp-orch owned
    /// in them then (known from the record kept with the backup), limited to what they hold.
    fn restored(
        &self,
        req: &PlanRequest,
        backup_id: &str,
        now: &FileNow<'_>,
        record: &DeployRecord,
    ) -> Result<Made> {
        let def = self.profile_client(&req.client, &req.profile)?;
        let def = &*def;
        let old_text = now.text.unwrap_or_default();
        let (info, bytes) = self.backup_store().load(&req.client, backup_id)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::Internal(format!("backup {} is not UTF-8", info.id)))?;
        let doc = document::open(def, &text, now.path)?;
        let after: BTreeMap<String, Value> = doc.entries().into_iter().collect();
        let before: BTreeMap<String, Value> = document::open(def, old_text, now.path)?
            .entries()
            .into_iter()
            .collect();
        // The bytes are what they were then: so is what mcp-orch owned in them (known
        // from the record kept with the backup), limited to what they hold.
        let then = info
            .owned_by
            .filter(|o| o.profile == req.profile)
            .map_or_else(|| record.clone(), |o| o.record);
        let owned: BTreeSet<String> = then
            .owned
            .iter()
            .filter(|n| after.contains_key(*n))
            .cloned()
            .collect();
        let mut new_record = DeployRecord {
            owned: owned.clone(),
            entry_hashes: owned
                .iter()
                .map(|n| (n.clone(), entry_hash(&after[n])))
                .collect(),
            artifact_id: then.artifact_id.filter(|_| !owned.is_empty()),
            version: then.version.filter(|_| !owned.is_empty()),
            highest_version: record.highest_version,
            ..DeployRecord::default()
        };
        if new_record.artifact_id.is_none() {
            new_record.version = None;
        }
        let artifact = new_record.artifact_id.clone().zip(new_record.version);
        let everything: BTreeSet<String> = before.keys().chain(after.keys()).cloned().collect();
        let servers =
            crate::core::diff::diff_entries(&before, &after, &everything, &BTreeSet::new());
        Ok(Made {
            notes: doc.notes(),
            text,
            servers,
            record: new_record,
            seen: [before, after],
            artifact,
            restored_backup_id: Some(info.id),
            holds_secrets: false,
            publishes: false,
        })
    }

    /// What merging the wanted entries makes of the file: mcp-orch's entries added, changed
    /// or removed, everything else as it was.
    fn merged(&self, req: &PlanRequest, now: &FileNow<'_>, record: &DeployRecord) -> Result<Made> {
        let def = self.profile_client(&req.client, &req.profile)?;
        let def = &*def;
        let old_text = now.text.unwrap_or_default();
        let Wanted {
            entries,
            mut adoptable,
            mut notes,
            artifact,
            holds_secrets,
            publishes,
        } = self.wanted_entries(req, record)?;
        if req.adopt {
            adoptable.extend(entries.keys().cloned());
        }
        let merged = merge_entries(def, now.path, old_text, &entries, &record.owned, &adoptable)?;
        let clashes: Vec<&str> = merged
            .servers
            .modified
            .iter()
            .filter(|m| m.takes_over_unmanaged)
            .map(|m| m.name.as_str())
            .collect();
        if !clashes.is_empty() && !req.adopt {
            return Err(Error::invalid(
                Code::NameClash,
                "servers",
                format!(
                    "{} already has server(s) added by hand named {}",
                    now.path.display(),
                    clashes.join(", ")
                ),
                "rename them in the draft with --name, or take them over with --adopt",
            ));
        }
        let new_record = DeployRecord {
            owned: entries.keys().cloned().collect(),
            entry_hashes: entries
                .keys()
                .filter_map(|n| merged.after.get(n).map(|v| (n.clone(), entry_hash(v))))
                .collect(),
            artifact_id: artifact.as_ref().map(|a| a.0.clone()),
            version: artifact.as_ref().map(|a| a.1),
            highest_version: match &artifact {
                Some((_, v)) => Some(record.highest_version.map_or(*v, |h| h.max(*v))),
                None => record.highest_version,
            },
            ..DeployRecord::default()
        };
        notes.extend(merged.notes);
        Ok(Made {
            text: merged.text,
            servers: merged.servers,
            record: new_record,
            notes,
            seen: [merged.current, entries],
            artifact,
            restored_backup_id: None,
            holds_secrets,
            publishes,
        })
    }

    /// The plan as shown: server-level changes and (`with_diff`) the unified diff, both with
    /// secret values redacted (those in the store, and secret-looking values of the entries
    /// `seen`), and the notes.
    #[allow(clippy::too_many_arguments)] // one plan's parts, assembled in one place
    pub(super) fn file_diff(
        &self,
        def: &crate::core::clients::ClientDef,
        (client, profile): (&str, &str),
        now: &FileNow<'_>,
        new_text: &str,
        mut servers: crate::core::diff::ServerDiff,
        mut notes: Vec<String>,
        seen: &[BTreeMap<String, Value>; 2],
        with_diff: bool,
    ) -> Result<FileDiff> {
        let mut redactor = crate::core::diff::Redactor::new(self.secrets.all()?.into_values());
        redactor.learn_from_entries(seen.iter().flat_map(BTreeMap::values));
        redactor.server_diff(&mut servers);
        let unified_diff = if with_diff {
            let label = now.path.display().to_string();
            redactor.text(&crate::core::diff::unified(
                now.text.unwrap_or_default(),
                new_text,
                label.trim_start_matches('/'),
            ))
        } else {
            String::new()
        };
        if !servers.is_empty() && !def.restart_hint.is_empty() {
            notes.push(def.restart_hint.clone());
        }
        Ok(FileDiff {
            client_id: client.to_owned(),
            profile_id: profile.to_owned(),
            path: now.path.to_path_buf(),
            exists: now.text.is_some(),
            servers,
            unified_diff,
            notes,
            new_text: if with_diff {
                new_text.to_owned()
            } else {
                String::new()
            },
            old_text: if with_diff {
                now.text.unwrap_or_default().to_owned()
            } else {
                String::new()
            },
            entries: if with_diff {
                seen[1].clone()
            } else {
                BTreeMap::new()
            },
        })
    }

    /// The entries a deploy, rollback, undeploy or apply wants in the file, and where they
    /// come from.
    fn wanted_entries(&self, req: &PlanRequest, record: &DeployRecord) -> Result<Wanted> {
        let def = self.client(&req.client)?;
        let from_release = |release: &Release, inline: bool| -> Result<Wanted> {
            let found = self.release_entries(release, req, inline)?;
            Ok(Wanted {
                entries: found.entries,
                adoptable: found.adoptable,
                notes: found.notes,
                artifact: Some((release.artifact_id().to_owned(), release.version())),
                holds_secrets: inline,
                publishes: false,
            })
        };
        match &req.action {
            Action::Undeploy => Ok(Wanted::default()),
            Action::Apply { .. } => {
                let payload = self.draft_payload(&req.client, &req.profile)?;
                let id = payload.artifact_id()?;
                let latest = self.latest_release(&req.client, &req.profile)?;
                if let Some(release) = latest.filter(|r| r.artifact_id() == id) {
                    return from_release(&release, false);
                }
                // Not published yet: the apply publishes exactly these entries.
                Ok(Wanted {
                    entries: payload
                        .entries
                        .iter()
                        .map(|(name, entry)| (name.clone(), render::client_field_order(def, entry)))
                        .collect(),
                    adoptable: imported(&payload.servers),
                    notes: render::client_env_notes(def, &payload.servers),
                    publishes: true,
                    ..Wanted::default()
                })
            }
            action => {
                let inline = matches!(
                    action,
                    Action::Deploy {
                        inline_secrets: true,
                        ..
                    }
                );
                from_release(&self.release_for(req, record)?, inline)
            }
        }
    }

    /// The release a deploy or rollback takes, checked against the deployed one.
    fn release_for(&self, req: &PlanRequest, record: &DeployRecord) -> Result<Release> {
        let (client, profile) = (req.client.as_str(), req.profile.as_str());
        match &req.action {
            Action::Deploy {
                artifact: Some(id), ..
            }
            | Action::Rollback {
                to: RollbackTarget::Artifact(id),
            } => {
                let release = self.find_release(client, profile, id)?;
                if matches!(req.action, Action::Deploy { .. })
                    && let Some(deployed) = record.version
                    && release.version() < deployed
                {
                    return Err(Error::invalid(
                        Code::DowngradeRefused,
                        "artifact_id",
                        format!(
                            "v{} is older than the deployed v{deployed} of {client}/{profile}",
                            release.version()
                        ),
                        Hint::step(
                            "going back is rollback's job",
                            Op::Rollback,
                            &[
                                ("client_id", client),
                                ("profile_id", profile),
                                ("artifact_id", release.artifact_id()),
                            ],
                        ),
                    ));
                }
                Ok(release)
            }
            Action::Deploy { artifact: None, .. } => self
                .latest_release(client, profile)?
                .ok_or_else(|| super::release::nothing_published(client, profile)),
            Action::Rollback {
                to: RollbackTarget::Steps(steps),
            } => {
                let Some(current) = record.version else {
                    return Err(Error::invalid(
                        Code::NothingDeployed,
                        "client_id",
                        format!("no artifact is deployed for {client}/{profile}"),
                        Hint::new(
                            "deploy one first, or restore a backup",
                            [
                                Step::new(
                                    Op::Deploy,
                                    &[("client_id", client), ("profile_id", profile)],
                                ),
                                Step::new(Op::ListBackups, &[("client_id", client)]),
                            ],
                        ),
                    ));
                };
                self.history(client, profile)?
                    .into_iter()
                    .filter(|r| r.version() < current)
                    .nth(steps.saturating_sub(1))
                    .ok_or_else(|| {
                        Error::invalid(
                            Code::NoEarlierArtifact,
                            "steps",
                            format!("there is no published version {steps} step(s) before v{current} for {client}/{profile}"),
                            Hint::step(
                                "see the versions",
                                Op::History,
                                &[("client_id", client), ("profile_id", profile)],
                            ),
                        )
                    })
            }
            Action::Restore { .. } | Action::Undeploy | Action::Apply { .. } => Err(
                Error::Internal(format!("{} takes no release", req.action.name())),
            ),
        }
    }

    /// A verified release's entries in the client's spelling, the ones that may take over
    /// hand-added entries (imported), and the variables the user must export.
    fn release_entries(
        &self,
        release: &Release,
        req: &PlanRequest,
        inline_secrets: bool,
    ) -> Result<ReleaseEntries> {
        let mismatch = |what: &str| {
            Error::invalid(
                Code::ArtifactClientMismatch,
                "artifact_id",
                format!(
                    "artifact {} is for {what}, not {}/{}",
                    release.artifact_id(),
                    req.client,
                    req.profile
                ),
                Hint::step(
                    format!(
                        "deploy an artifact published for {}/{}",
                        req.client, req.profile
                    ),
                    Op::History,
                    &[("client_id", &req.client), ("profile_id", &req.profile)],
                ),
            )
        };
        if release.client_id() != req.client || release.profile_id() != req.profile {
            return Err(mismatch(&format!(
                "{}/{}",
                release.client_id(),
                release.profile_id()
            )));
        }
        let verified = self.verify_release(release)?;
        if verified.payload.client_id != req.client {
            return Err(mismatch(&verified.payload.client_id));
        }
        let def = self.client(&req.client)?;
        let entries = if inline_secrets {
            self.render_entries(def, &verified.payload.servers, SecretStyle::Inline)?
        } else {
            verified
                .payload
                .entries
                .iter()
                .map(|(name, entry)| (name.clone(), render::client_field_order(def, entry)))
                .collect()
        };
        let adoptable = imported(&verified.payload.servers);
        let notes = if inline_secrets {
            Vec::new()
        } else {
            render::client_env_notes(def, &verified.payload.servers)
        };
        Ok(ReleaseEntries {
            entries,
            adoptable,
            notes,
        })
    }
}

/// What a plan makes of the file, before it is shown or written.
struct Made {
    /// The new text.
    text: String,
    servers: crate::core::diff::ServerDiff,
    /// The deploy record after (path, hash and time are set by the caller).
    record: DeployRecord,
    notes: Vec<String>,
    /// The entries before and after, for redaction.
    seen: [BTreeMap<String, Value>; 2],
    artifact: Option<(String, u64)>,
    restored_backup_id: Option<String>,
    holds_secrets: bool,
    publishes: bool,
}

/// The entries a plan wants in the file, and where they come from.
#[derive(Default)]
struct Wanted {
    entries: BTreeMap<String, Value>,
    adoptable: BTreeSet<String>,
    notes: Vec<String>,
    /// The artifact deployed (none for an undeploy, or an apply that publishes first).
    artifact: Option<(String, u64)>,
    holds_secrets: bool,
    publishes: bool,
}

/// What a release writes into a client's file.
struct ReleaseEntries {
    /// The entries, in the client's spelling.
    entries: BTreeMap<String, Value>,
    /// Those that may take over same-named entries added by hand (imported ones).
    adoptable: BTreeSet<String>,
    /// The variables the user must export (env delivery).
    notes: Vec<String>,
}

/// The servers that were imported from the client's file: they may take over the same-named
/// entries there.
fn imported(servers: &BTreeMap<String, crate::core::draft::DraftServer>) -> BTreeSet<String> {
    servers
        .iter()
        .filter(|(_, s)| s.origin == Origin::Imported)
        .map(|(n, _)| n.clone())
        .collect()
}

/// The reports of applied plans: whether each changed the file, and the backup of a write.
fn applied(
    outcomes: Vec<Result<Prepared>>,
    backup_id: Option<&str>,
    wrote: bool,
) -> Vec<Result<DeployReport>> {
    outcomes
        .into_iter()
        .map(|outcome| {
            outcome.map(|p| DeployReport {
                dry_run: false,
                changed: wrote && p.changes_file,
                backup_id: backup_id.filter(|_| wrote).map(str::to_owned),
                ..p.report
            })
        })
        .collect()
}

/// The audit record of a request that failed.
fn failed_event(req: &PlanRequest, actor: &str, e: &Error) -> AuditEvent {
    AuditEvent::failed(req.action.name(), actor, e.code())
        .target(&req.client, &req.profile)
        .details(json!({ "message": e.to_string() }))
}

impl Orchestrator {
    /// Status of every (client, profile) that has been deployed or published, optionally only
    /// for some clients (one id, a comma-separated list, or `all`).
    pub fn status(&self, client: Option<&str>) -> Result<Vec<TargetStatus>> {
        let clients: Vec<String> = match client.map(str::trim) {
            None | Some("all") => self.clients.ids(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(|id| Ok(self.client(id)?.id.clone()))
                .collect::<Result<_>>()?,
        };
        let mut out = Vec::new();
        for c in clients {
            for profile in self.profiles.list(&c)? {
                let status = self.target_status(&c, &profile.id)?;
                if status.drift != DriftState::NeverDeployed || status.latest_version.is_some() {
                    out.push(status);
                }
            }
        }
        Ok(out)
    }

    /// Drift status of one (client, profile).
    pub fn target_status(&self, client: &str, profile: &str) -> Result<TargetStatus> {
        let def = self.profile_client(client, profile)?;
        let def = &*def;
        let record = self.deploy_record(client, profile)?;
        let path = self.target(client, profile)?.path;
        let latest = self.latest_release(client, profile)?;
        let mut status = TargetStatus {
            client_id: client.to_owned(),
            profile_id: profile.to_owned(),
            path: path.clone(),
            deployed_artifact_id: record.artifact_id.clone(),
            deployed_version: record.version,
            deployed_at: record.deployed_at,
            latest_artifact_id: latest.as_ref().map(|r| r.artifact_id().to_owned()),
            latest_version: latest.as_ref().map(Release::version),
            drift: DriftState::NeverDeployed,
            changed: Vec::new(),
            missing: Vec::new(),
            file_changed: false,
            missing_launcher: Vec::new(),
            problem: None,
        };
        if record.deployed_at.is_none() {
            return Ok(status);
        }
        let path = if record.path.as_os_str().is_empty() {
            path.unwrap_or_default()
        } else {
            record.path.clone()
        };
        let bytes = match writer::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                status.drift = DriftState::Unreadable;
                status.problem = Some(e.body());
                return Ok(status);
            }
        };
        let Some(bytes) = bytes else {
            status.drift = DriftState::FileMissing;
            status.missing = record.owned.iter().cloned().collect();
            return Ok(status);
        };
        status.file_changed =
            record.file_sha256.as_deref() != Some(fsutil::sha256_hex(&bytes).as_str());
        let text = String::from_utf8_lossy(&bytes);
        let doc = match document::open(def, &text, &path) {
            Ok(doc) => doc,
            Err(e) => {
                status.drift = DriftState::Unreadable;
                status.problem = Some(e.body());
                return Ok(status);
            }
        };
        let in_file: BTreeMap<String, Value> = doc.entries().into_iter().collect();
        status.missing_launcher = record
            .owned
            .iter()
            .filter(|name| {
                in_file
                    .get(*name)
                    .and_then(|entry| crate::core::import::raw_entry(def, entry).ok())
                    .and_then(|raw| raw.command)
                    .is_some_and(|command| {
                        let path = Path::new(&command);
                        path.is_absolute()
                            && path.file_name().is_some_and(|n| n == "mcp-orch")
                            && !path.exists()
                    })
            })
            .cloned()
            .collect();
        for name in &record.owned {
            match (in_file.get(name), record.entry_hashes.get(name)) {
                (None, _) => status.missing.push(name.clone()),
                (Some(v), Some(h)) if entry_hash(v) == *h => {}
                (Some(_), _) => status.changed.push(name.clone()),
            }
        }
        status.drift = if status.changed.is_empty() && status.missing.is_empty() {
            DriftState::InSync
        } else {
            DriftState::Drifted
        };
        Ok(status)
    }
}

impl Orchestrator {
    /// The deploy record of a (client, profile).
    pub fn deploy_record(&self, client: &str, profile: &str) -> Result<DeployRecord> {
        DeployRecord::load(&self.state.deploy_record(client, profile))
    }
}
