//! The team's side of team trust (façade part, docs/TEAM.md): `team init` and `team rotate`
//! on the operator's machine, and what every replica hands out to machines that pull: the
//! roots, a freshly signed snapshot, and releases with their payloads.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::Duration;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;

use super::Orchestrator;
use crate::core::artifact;
use crate::core::audit::AuditEvent;
use crate::core::code::Code;
use crate::core::error::{Error, Result};
use crate::core::keys::{PublicKeyFile, Signer};
use crate::core::team::{
    self, ChannelEntry, PulledRelease, ROOT_SCHEMA, Root, SNAPSHOT_SCHEMA, Signed, Snapshot,
};

/// How a team's root is made (`team init`) or remade (`team rotate`).
#[derive(Debug, Clone)]
pub struct RootPlan {
    /// New root keys to generate (`team rotate` without it keeps the root keys).
    pub new_root_keys: Option<usize>,
    /// How many root keys must sign (the current one when `None`; 1 for a new team).
    pub threshold: Option<usize>,
    /// How long the root is valid.
    pub expires_in: Duration,
    /// How long a snapshot stays fresh.
    pub snapshot_ttl: Duration,
}

/// `team init --json`, `team rotate --json`, `team show --json`: the team's current root.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TeamStatus {
    /// sha256 of the root's signed text: what a developer compares (or gives as `--root`).
    pub fingerprint: String,
    /// The root.
    pub root: Root,
    /// The root keys this machine holds (their private files are under `team/keys/`).
    pub held_root_keys: Vec<String>,
}

impl Orchestrator {
    fn root_key_dir(&self) -> PathBuf {
        self.state.join("team/keys")
    }

    /// The root keys among `ids` whose private files this machine holds.
    fn held_root_keys(&self, ids: &[PublicKeyFile]) -> Result<Vec<Signer>> {
        let mut held = Vec::new();
        for key in ids {
            let path = self.root_key_dir().join(format!("{}.key", key.key_id));
            if let Some(signer) = Signer::read(&path)? {
                held.push(signer);
            }
        }
        Ok(held)
    }

    fn new_root_keys(&self, count: usize) -> Result<Vec<Signer>> {
        if count == 0 || count > 16 {
            return Err(Error::invalid(
                Code::InvalidArgument,
                "root_keys",
                format!("{count} root keys"),
                "give 1 to 16 root keys",
            ));
        }
        crate::core::fsutil::ensure_private_dir(&self.root_key_dir())?;
        (0..count)
            .map(|_| Signer::create_in(&self.root_key_dir(), self.now()))
            .collect()
    }

    /// The team's roots, oldest first.
    pub fn team_roots(&self) -> Result<Vec<Signed>> {
        self.roots.roots()
    }

    /// The team's newest root, checked against itself, and its document.
    fn current_root(&self) -> Result<(Root, Signed)> {
        let doc = self.team_roots()?.pop().ok_or_else(team_not_initialized)?;
        Ok((Root::from_signed(&doc)?, doc))
    }

    /// The team's current root, as this machine sees it.
    ///
    /// # Errors
    /// `TEAM_NOT_INITIALIZED`, or a root that does not verify.
    pub fn team_status(&self) -> Result<TeamStatus> {
        let (root, doc) = self.current_root()?;
        let held = self
            .held_root_keys(&root.root_keys)?
            .iter()
            .map(|s| s.key_id().to_owned())
            .collect();
        Ok(TeamStatus {
            fingerprint: doc.fingerprint(),
            root,
            held_root_keys: held,
        })
    }

    /// Creates the team's root: `plan.new_root_keys` root keys (one by default) whose
    /// private files stay on this machine, a threshold, and this machine's signing key as
    /// the release key. Audited as `team.init`.
    ///
    /// # Errors
    /// `TEAM_EXISTS`, `KEY_NOT_FOUND` (no signing key yet), `INVALID_ARGUMENT`.
    pub fn team_init(&self, plan: &RootPlan, actor: &str) -> Result<TeamStatus> {
        self.audited(
            |code| AuditEvent::failed("team.init", actor, code),
            || {
                if !self.team_roots()?.is_empty() {
                    return Err(crate::core::store::team_exists(1));
                }
                let release = self.key_store().signer()?;
                let keys = self.new_root_keys(plan.new_root_keys.unwrap_or(1))?;
                let root = Root {
                    schema: ROOT_SCHEMA.to_owned(),
                    version: 1,
                    expires: self.now() + plan.expires_in,
                    threshold: check_threshold(plan.threshold.unwrap_or(1), keys.len())?,
                    root_keys: keys
                        .iter()
                        .map(|k| PublicKeyFile::of(&k.verifying_key()))
                        .collect(),
                    release_keys: vec![PublicKeyFile::of(&release.verifying_key())],
                    snapshot_ttl_secs: ttl_secs(plan.snapshot_ttl)?,
                };
                let doc = Signed::sign(&root, &keys.iter().collect::<Vec<_>>())?;
                self.roots.add_root(1, &doc)?;
                self.team_status()
            },
            |status| root_event("team.init", actor, status),
        )
    }

    /// The next root: new root keys when asked (signed by a threshold of the current root's
    /// keys and by the new ones), this machine's signing key added to the release keys, a new
    /// expiry. Audited as `team.rotate`.
    ///
    /// # Errors
    /// `TEAM_NOT_INITIALIZED`, `KEY_NOT_FOUND` (fewer root keys here than the threshold),
    /// `TEAM_EXISTS` (a concurrent rotation won), `INVALID_ARGUMENT`.
    pub fn team_rotate(&self, plan: &RootPlan, actor: &str) -> Result<TeamStatus> {
        self.audited(
            |code| AuditEvent::failed("team.rotate", actor, code),
            || {
                let (current, _) = self.current_root()?;
                let held = self.held_root_keys(&current.root_keys)?;
                if held.len() < current.threshold {
                    return Err(Error::invalid(
                        Code::KeyNotFound,
                        "root_keys",
                        format!(
                            "this machine holds {} of the root keys, {} must sign the next root",
                            held.len(),
                            current.threshold
                        ),
                        "run `team rotate` where the root keys are (their files are under team/keys/)",
                    ));
                }
                let fresh = match plan.new_root_keys {
                    Some(n) => Some(self.new_root_keys(n)?),
                    None => None,
                };
                let new_keys: Vec<&Signer> = fresh.as_ref().map_or_else(
                    || held.iter().collect(),
                    |keys| keys.iter().collect(),
                );
                let release = self.key_store().signer()?;
                let mut release_keys = current.release_keys.clone();
                let ours = PublicKeyFile::of(&release.verifying_key());
                if !release_keys.contains(&ours) {
                    release_keys.push(ours);
                }
                let next = Root {
                    schema: ROOT_SCHEMA.to_owned(),
                    version: current.version + 1,
                    expires: self.now() + plan.expires_in,
                    threshold: check_threshold(
                        plan.threshold.unwrap_or(current.threshold),
                        new_keys.len(),
                    )?,
                    root_keys: new_keys
                        .iter()
                        .map(|k| PublicKeyFile::of(&k.verifying_key()))
                        .collect(),
                    release_keys,
                    snapshot_ttl_secs: ttl_secs(plan.snapshot_ttl)?,
                };
                let mut signers: Vec<&Signer> = held.iter().take(current.threshold).collect();
                if let Some(keys) = &fresh {
                    signers.extend(keys.iter());
                }
                let signed = Signed::sign(&next, &signers)?;
                self.roots.add_root(next.version, &signed)?;
                self.team_status()
            },
            |status| root_event("team.rotate", actor, status),
        )
    }

    /// A snapshot of every channel's newest release, signed now by this replica's signing
    /// key, fresh for the root's snapshot lifetime.
    ///
    /// # Errors
    /// `TEAM_NOT_INITIALIZED`, `KEY_NOT_FOUND`, `UNTRUSTED_KEY` (the signing key is not one
    /// of the root's release keys: `team rotate` after `keys rotate`).
    pub fn team_snapshot(&self) -> Result<Signed> {
        let (root, _) = self.current_root()?;
        let signer = self.key_store().signer()?;
        if !root
            .release_keys
            .iter()
            .any(|k| k.key_id == signer.key_id())
        {
            return Err(Error::invalid(
                Code::UntrustedKey,
                "key_id",
                format!(
                    "this replica signs with key {}, which the team's root does not list",
                    signer.key_id()
                ),
                "run `mcp-orch team rotate` where the root keys are, after `keys rotate`",
            ));
        }
        // Read before the channels: a publish in between only makes the content newer than
        // the version says, never older.
        let version = self.audit_log().export_head()?.seq;
        let mut channels = BTreeMap::new();
        for release in self.releases.channels()? {
            channels.insert(
                team::channel_key(release.client_id(), release.profile_id()),
                ChannelEntry {
                    version: release.version(),
                    artifact_id: release.artifact_id().to_owned(),
                    release_sha256: artifact::sha256_hex(release.signed.as_bytes()),
                },
            );
        }
        let snapshot = Snapshot {
            schema: SNAPSHOT_SCHEMA.to_owned(),
            version,
            root_version: root.version,
            expires: self.now()
                + Duration::seconds(i64::try_from(root.snapshot_ttl_secs).unwrap_or(i64::MAX)),
            channels,
        };
        Signed::sign(&snapshot, &[&signer])
    }

    /// Release `version` of a channel with its payload's exact bytes, as machines pull it.
    ///
    /// # Errors
    /// `ARTIFACT_NOT_FOUND`, `UNKNOWN_CLIENT`, `INVALID_ID`.
    pub fn team_release(&self, client: &str, profile: &str, version: u64) -> Result<PulledRelease> {
        self.client(client)?;
        let release = self
            .releases
            .release(client, profile, version)?
            .ok_or_else(|| {
                Error::invalid(
                    Code::ArtifactNotFound,
                    "version",
                    format!("{client}/{profile} has no release v{version}"),
                    "pull again: the snapshot lists the versions that exist",
                )
            })?;
        let payload = self.releases.payload_bytes(release.artifact_id())?;
        Ok(PulledRelease::of(&release, &payload))
    }
}

fn team_not_initialized() -> Error {
    Error::invalid(
        Code::TeamNotInitialized,
        "team",
        "this server has no team root yet",
        "create one on the operator's machine: `mcp-orch team init` (docs/TEAM.md)",
    )
}

fn check_threshold(threshold: usize, keys: usize) -> Result<usize> {
    if threshold == 0 || threshold > keys {
        return Err(Error::invalid(
            Code::InvalidArgument,
            "threshold",
            format!("a threshold of {threshold} with {keys} root keys"),
            "give a threshold from 1 to the number of root keys",
        ));
    }
    Ok(threshold)
}

fn ttl_secs(ttl: Duration) -> Result<u64> {
    u64::try_from(ttl.num_seconds())
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            Error::invalid(
                Code::InvalidDuration,
                "snapshot_ttl",
                format!("a snapshot lifetime of {}s", ttl.num_seconds()),
                "give a positive duration such as 24h",
            )
        })
}

fn root_event(action: &str, actor: &str, status: &TeamStatus) -> AuditEvent {
    AuditEvent::ok(action, actor).details(json!({
        "version": status.root.version,
        "fingerprint": status.fingerprint,
        "threshold": status.root.threshold,
        "root_keys": status.root.root_keys.iter().map(|k| &k.key_id).collect::<Vec<_>>(),
        "release_keys": status.root.release_keys.iter().map(|k| &k.key_id).collect::<Vec<_>>(),
    }))
}
