//! Deploying into client files, drift status, backups and restore (façade part). Only the
//! entries mcp-orch owns change; ownership lives in the deploy record, never in the client's
//! file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::{FileDiff, Orchestrator, merge_entries};
use crate::core::artifact::Release;
use crate::core::audit::AuditEvent;
use crate::core::backup::{BackupInfo, BackupStore};
use crate::core::document;
use crate::core::draft::Origin;
use crate::core::error::{Error, Result};
use crate::core::fsutil;
use crate::core::render::{self, SecretStyle};
use crate::core::state::DeployRecord;
use crate::core::writer::{self, Written};

/// What is being written, and why.
#[derive(Debug, Clone)]
pub struct EntriesDeploy {
    /// Client id.
    pub client: String,
    /// Profile id.
    pub profile: String,
    /// The entries wanted in the client's spelling.
    pub entries: BTreeMap<String, Value>,
    /// Entries that may take over a same-named entry the user added by hand (imported ones).
    pub adoptable: BTreeSet<String>,
    /// The artifact and version being deployed, when any.
    pub artifact: Option<(String, u64)>,
    /// `deploy` or `rollback`, for the audit log.
    pub action: &'static str,
    /// What the user must do besides (variables to export into the client's environment).
    pub notes: Vec<String>,
    /// Whether the entries hold secret values (an `--inline-secrets` deploy): the file is then
    /// left readable by its owner only.
    pub holds_secrets: bool,
}

/// Flags of a deploy.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeployFlags {
    /// Plan only; write nothing.
    pub dry_run: bool,
    /// Allow taking over servers that the user added by hand.
    pub adopt: bool,
}

/// What a deploy did (or would do, on a dry run).
#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// The artifact deployed.
    pub artifact_id: Option<String>,
    /// Its version.
    pub version: Option<u64>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Whether the file changed.
    pub changed: bool,
    /// Backup of the file's previous bytes.
    pub backup_id: Option<String>,
    /// Whether a symlink was followed to the real file.
    pub followed_symlink: bool,
    /// The plan (redacted).
    pub plan: FileDiff,
}

/// Drift of one deployed target.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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
    /// The file cannot be parsed.
    Unreadable,
}

/// Status of one (client, profile).
#[derive(Debug, Clone, Serialize)]
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
}

/// sha256 of an entry's RFC 8785 form.
pub fn entry_hash(value: &Value) -> String {
    fsutil::sha256_hex(&serde_json_canonicalizer::to_vec(value).unwrap_or_default())
}

impl Orchestrator {
    fn backup_store(&self) -> BackupStore {
        BackupStore::new(self.state.join("backups"), self.state.locks())
    }

    /// Backups of a client's files, newest first.
    pub fn backups(&self, client: &str) -> Result<Vec<BackupInfo>> {
        self.client(client)?;
        self.backup_store().list(client)
    }

    /// Writes entries into the client's file through the safe write recipe, updates the deploy
    /// record and audits the outcome (failures included).
    pub fn deploy_entries(
        &self,
        spec: &EntriesDeploy,
        flags: DeployFlags,
        actor: &str,
    ) -> Result<DeployReport> {
        let result = self.deploy_entries_inner(spec, flags);
        if !flags.dry_run {
            let mut event = match &result {
                Ok(report) => AuditEvent::ok(spec.action, actor).details(serde_json::json!({
                    "path": report.plan.path,
                    "changed": report.changed,
                    "backup_id": report.backup_id,
                    "added": report.plan.servers.added,
                    "removed": report.plan.servers.removed,
                    "modified": report.plan.servers.modified.iter().map(|m| &m.name).collect::<Vec<_>>(),
                })),
                Err(e) => AuditEvent::failed(spec.action, actor, e.code()).details(serde_json::json!({ "message": e.to_string() })),
            }
            .target(&spec.client, &spec.profile);
            if let Some((id, version)) = &spec.artifact {
                event = event.artifact(id, *version);
            }
            self.record(event)?;
        }
        result
    }

    fn deploy_entries_inner(
        &self,
        spec: &EntriesDeploy,
        flags: DeployFlags,
    ) -> Result<DeployReport> {
        let mut plan = self.plan_file(
            &spec.client,
            &spec.profile,
            spec.entries.clone(),
            &spec.adoptable,
        )?;
        plan.notes.extend(spec.notes.iter().cloned());
        let clashes: Vec<&str> = plan
            .servers
            .modified
            .iter()
            .filter(|m| m.takes_over_unmanaged)
            .map(|m| m.name.as_str())
            .collect();
        if !clashes.is_empty() && !flags.adopt {
            return Err(Error::invalid(
                "NAME_CLASH",
                "servers",
                format!(
                    "{} already has server(s) added by hand named {}",
                    plan.path.display(),
                    clashes.join(", ")
                ),
                "rename them in the draft with --name, or take them over with --adopt",
            ));
        }
        let report = |plan: FileDiff, written: Option<&Written>| DeployReport {
            client_id: spec.client.clone(),
            profile_id: spec.profile.clone(),
            artifact_id: spec.artifact.as_ref().map(|a| a.0.clone()),
            version: spec.artifact.as_ref().map(|a| a.1),
            dry_run: flags.dry_run,
            changed: written.is_some_and(|w| w.changed),
            backup_id: written.and_then(|w| w.backup_id.clone()),
            followed_symlink: written.is_some_and(|w| w.followed_symlink),
            plan,
        };
        if flags.dry_run {
            return Ok(report(plan, None));
        }
        let def = self.client(&spec.client)?;
        let record_path = self.state.deploy_record(&spec.client, &spec.profile);
        let mut record = DeployRecord::load(&record_path)?;
        let owned = record.owned.clone();
        let mut adoptable = spec.adoptable.clone();
        if flags.adopt {
            adoptable.extend(spec.entries.keys().cloned());
        }
        let change: writer::Change = {
            let (def, path, entries) = (def.clone(), plan.path.clone(), spec.entries.clone());
            Box::new(move |old| {
                Ok(merge_entries(&def, &path, old, &entries, &owned, &adoptable)?.text)
            })
        };
        let written = self.writes.write(
            &plan.path,
            &self.state.locks(),
            &self.backup_store(),
            &spec.client,
            self.now(),
            change,
            spec.holds_secrets,
        )?;
        let back = document::open(def, &written.text, &plan.path)?;
        let in_file: BTreeMap<String, Value> = back.entries().into_iter().collect();
        record.path.clone_from(&plan.path);
        record.owned = spec.entries.keys().cloned().collect();
        record.entry_hashes = record
            .owned
            .iter()
            .filter_map(|n| in_file.get(n).map(|v| (n.clone(), entry_hash(v))))
            .collect();
        record.file_sha256 = Some(written.new_sha256.clone());
        record.deployed_at = Some(self.now());
        if let Some((id, version)) = &spec.artifact {
            record.artifact_id = Some(id.clone());
            record.version = Some(*version);
            record.highest_version =
                Some(record.highest_version.map_or(*version, |h| h.max(*version)));
        }
        fsutil::write_json(&record_path, &record)?;
        Ok(report(plan, Some(&written)))
    }

    /// Status of every (client, profile) that has been deployed or published, optionally only
    /// for one client.
    pub fn status(&self, client: Option<&str>) -> Result<Vec<TargetStatus>> {
        let clients: Vec<String> = match client {
            Some(c) => vec![self.client(c)?.id.clone()],
            None => self.clients.ids(),
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
        let def = self.client(client)?;
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
        };
        if record.deployed_at.is_none() {
            return Ok(status);
        }
        let path = if record.path.as_os_str().is_empty() {
            path.unwrap_or_default()
        } else {
            record.path.clone()
        };
        let Some(bytes) = fsutil::read_optional(&path)? else {
            status.drift = DriftState::FileMissing;
            status.missing = record.owned.iter().cloned().collect();
            return Ok(status);
        };
        status.file_changed =
            record.file_sha256.as_deref() != Some(fsutil::sha256_hex(&bytes).as_str());
        let text = String::from_utf8_lossy(&bytes);
        let Ok(doc) = document::open(def, &text, &path) else {
            status.drift = DriftState::Unreadable;
            return Ok(status);
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

    /// Writes a backup's bytes back into the client's file (through the same recipe, so the
    /// current bytes are backed up first) and audits it.
    pub fn restore(
        &self,
        client: &str,
        profile: &str,
        backup_id: &str,
        actor: &str,
    ) -> Result<(BackupInfo, Written)> {
        let result = self.restore_inner(client, profile, backup_id);
        let event = match &result {
            Ok((info, written)) => AuditEvent::ok("restore", actor).details(serde_json::json!({
                "backup_id": info.id, "path": written.real_path, "previous_backup_id": written.backup_id,
            })),
            Err(e) => AuditEvent::failed("restore", actor, e.code()).details(serde_json::json!({ "backup_id": backup_id })),
        }
        .target(client, profile);
        self.record(event)?;
        result
    }

    fn restore_inner(
        &self,
        client: &str,
        profile: &str,
        backup_id: &str,
    ) -> Result<(BackupInfo, Written)> {
        let def = self.client(client)?;
        self.profile(client, profile)?;
        let (info, bytes) = self.backup_store().load(client, backup_id)?;
        let text =
            String::from_utf8(bytes).map_err(|_| Error::Internal("backup is not UTF-8".into()))?;
        let written = writer::write_client_file(
            &info.path,
            &self.state.locks(),
            &self.backup_store(),
            client,
            self.now(),
            |_| Ok(text.clone()),
        )?;
        // The file is now what it was then: keep ownership only of entries that are there, and
        // forget the deployed artifact (status shows it as not deployed from an artifact).
        let record_path = self.state.deploy_record(client, profile);
        let mut record = DeployRecord::load(&record_path)?;
        if record.deployed_at.is_some() {
            let doc = document::open(def, &written.text, &info.path)?;
            let in_file: BTreeMap<String, Value> = doc.entries().into_iter().collect();
            record.owned.retain(|n| in_file.contains_key(n));
            record.entry_hashes = record
                .owned
                .iter()
                .filter_map(|n| in_file.get(n).map(|v| (n.clone(), entry_hash(v))))
                .collect();
            record.file_sha256 = Some(written.new_sha256.clone());
            record.artifact_id = None;
            record.version = None;
            fsutil::write_json(&record_path, &record)?;
        }
        Ok((info, written))
    }
}

/// Which artifact a deploy takes, and how.
#[derive(Debug, Clone, Default)]
pub struct DeployRequest {
    /// Client id.
    pub client: String,
    /// Profile id.
    pub profile: String,
    /// The artifact (id or unique prefix); the latest published one when absent.
    pub artifact: Option<String>,
    /// Dry run and adoption.
    pub flags: DeployFlags,
    /// Write secret values into the file instead of references (only when the user asks).
    pub inline_secrets: bool,
}

/// Where a rollback goes.
#[derive(Debug, Clone)]
pub enum RollbackTarget {
    /// A specific artifact (id or unique prefix) of this client and profile.
    Artifact(String),
    /// N published versions before the deployed one.
    Steps(usize),
}

impl Orchestrator {
    /// Deploys a published artifact (the latest by default) into the client's file after
    /// verifying its signature against the trust store, its binding to this client and profile,
    /// and that it is not older than the deployed one.
    pub fn deploy(&self, req: &DeployRequest, actor: &str) -> Result<DeployReport> {
        let release = match &req.artifact {
            Some(id) => self.find_release(&req.client, &req.profile, id),
            None => self.latest_release(&req.client, &req.profile).and_then(|r| {
                r.ok_or_else(|| {
                    Error::invalid(
                        "ARTIFACT_NOT_FOUND",
                        "artifact",
                        format!("nothing has been published for {}/{}", req.client, req.profile),
                        format!("publish the draft first: `mcp-orch publish --client {} --profile {}`", req.client, req.profile),
                    )
                })
            }),
        };
        match release {
            Ok(release) => self.deploy_release(&release, req, false, actor),
            Err(e) => {
                if !req.flags.dry_run {
                    self.record(
                        AuditEvent::failed("deploy", actor, e.code())
                            .target(&req.client, &req.profile),
                    )?;
                }
                Err(e)
            }
        }
    }

    /// Deploys an earlier artifact, recorded as a rollback.
    pub fn rollback(
        &self,
        client: &str,
        profile: &str,
        target: &RollbackTarget,
        flags: DeployFlags,
        actor: &str,
    ) -> Result<DeployReport> {
        let req = DeployRequest {
            client: client.to_owned(),
            profile: profile.to_owned(),
            artifact: None,
            flags,
            inline_secrets: false,
        };
        let release = match target {
            RollbackTarget::Artifact(id) => self.find_release(client, profile, id),
            RollbackTarget::Steps(n) => self.rollback_by_steps(client, profile, *n),
        };
        match release {
            Ok(release) => self.deploy_release(&release, &req, true, actor),
            Err(e) => {
                if !flags.dry_run {
                    self.record(
                        AuditEvent::failed("rollback", actor, e.code()).target(client, profile),
                    )?;
                }
                Err(e)
            }
        }
    }

    fn rollback_by_steps(&self, client: &str, profile: &str, steps: usize) -> Result<Release> {
        let record = self.deploy_record(client, profile)?;
        let Some(current) = record.version else {
            return Err(Error::invalid(
                "NOTHING_DEPLOYED",
                "client",
                format!("no artifact is deployed for {client}/{profile}"),
                "deploy one first, or restore a backup with `mcp-orch restore`",
            ));
        };
        self.history(client, profile)?
            .into_iter()
            .filter(|r| r.version() < current)
            .nth(steps.saturating_sub(1))
            .ok_or_else(|| {
                Error::invalid(
                    "NO_EARLIER_ARTIFACT",
                    "steps",
                    format!("there is no published version {steps} step(s) before v{current} for {client}/{profile}"),
                    format!("see the versions with `mcp-orch history --client {client} --profile {profile}`"),
                )
            })
    }

    fn deploy_release(
        &self,
        release: &Release,
        req: &DeployRequest,
        rollback: bool,
        actor: &str,
    ) -> Result<DeployReport> {
        let action = if rollback { "rollback" } else { "deploy" };
        match self.prepare_release(release, req, rollback, action) {
            Ok(spec) => self.deploy_entries(&spec, req.flags, actor),
            Err(e) => {
                if !req.flags.dry_run {
                    self.record(
                        AuditEvent::failed(action, actor, e.code())
                            .target(&req.client, &req.profile)
                            .artifact(release.artifact_id(), release.version()),
                    )?;
                }
                Err(e)
            }
        }
    }

    fn prepare_release(
        &self,
        release: &Release,
        req: &DeployRequest,
        allow_older: bool,
        action: &'static str,
    ) -> Result<EntriesDeploy> {
        let mismatch = |what: &str| {
            Error::invalid(
                "ARTIFACT_CLIENT_MISMATCH",
                "artifact",
                format!(
                    "artifact {} is for {what}, not {}/{}",
                    release.artifact_id(),
                    req.client,
                    req.profile
                ),
                format!(
                    "deploy an artifact published for {}/{}; see `mcp-orch history`",
                    req.client, req.profile
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
        let record = self.deploy_record(&req.client, &req.profile)?;
        if let Some(deployed) = record.version
            && !allow_older
            && release.version() < deployed
        {
            return Err(Error::invalid(
                "DOWNGRADE_REFUSED",
                "artifact",
                format!(
                    "v{} is older than the deployed v{deployed} of {}/{}",
                    release.version(),
                    req.client,
                    req.profile
                ),
                format!(
                    "going back is rollback's job: `mcp-orch rollback --client {} --profile {} --to {}`",
                    req.client,
                    req.profile,
                    release.artifact_id()
                ),
            ));
        }
        let def = self.client(&req.client)?;
        let entries = if req.inline_secrets {
            self.render_entries(def, &verified.payload.servers, SecretStyle::Inline)?
        } else {
            verified
                .payload
                .entries
                .iter()
                .map(|(name, entry)| (name.clone(), render::client_field_order(def, entry)))
                .collect()
        };
        let adoptable = verified
            .payload
            .servers
            .iter()
            .filter(|(_, s)| s.origin == Origin::Imported)
            .map(|(n, _)| n.clone())
            .collect();
        let notes = if req.inline_secrets {
            Vec::new()
        } else {
            render::client_env_notes(def, &verified.payload.servers)
        };
        Ok(EntriesDeploy {
            client: req.client.clone(),
            profile: req.profile.clone(),
            entries,
            adoptable,
            artifact: Some((release.artifact_id().to_owned(), release.version())),
            action,
            notes,
            holds_secrets: req.inline_secrets,
        })
    }
}
