//! Releases: publish, history, one release with its payload, the signing key.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::core::artifact::Release;
use crate::core::draft::DraftServer;
use crate::core::keys::KeyInfo;
use crate::core::{Orchestrator, Result};

/// One release, without its payload.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReleaseSummary {
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// Content address of the payload.
    pub artifact_id: String,
    /// Version within the (client, profile).
    pub version: u64,
    /// When it was published.
    pub created_at: DateTime<Utc>,
    /// The signing key.
    pub key_id: String,
    /// What changed.
    pub changelog: Option<String>,
    /// How many servers.
    pub server_count: usize,
    /// Their names.
    pub servers: Vec<String>,
    /// Whether its signature and payload hash verify against the trust store.
    pub verified: bool,
    /// Why not (`SIGNATURE_INVALID`, `UNTRUSTED_KEY`, `ARTIFACT_TAMPERED`, ...).
    pub error_code: Option<String>,
}

impl ReleaseSummary {
    fn with_verdict(release: &Release, error_code: Option<String>) -> Self {
        let e = &release.envelope;
        Self {
            client_id: e.client_id.clone(),
            profile_id: e.profile_id.clone(),
            artifact_id: e.artifact_id.clone(),
            version: e.version,
            created_at: e.created_at,
            key_id: e.key_id.clone(),
            changelog: e.changelog.clone(),
            server_count: e.metadata.server_count,
            servers: e.metadata.servers.clone(),
            verified: error_code.is_none(),
            error_code,
        }
    }
}

/// `history --json`, `get_config_history`, `GET …/history`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReleaseList {
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// Releases, newest first, each verified.
    pub releases: Vec<ReleaseSummary>,
    /// How many are listed.
    pub count: usize,
    /// How many there are.
    pub total: usize,
}

/// The releases of a (client, profile), newest first, at most `limit`.
pub fn history(
    orch: &Orchestrator,
    client: &str,
    profile: &str,
    limit: Option<usize>,
) -> Result<ReleaseList> {
    orch.profile(client, profile)?;
    let all = orch.history(client, profile)?;
    let shown = &all[..all.len().min(limit.unwrap_or(usize::MAX))];
    // A trust store that cannot be read fails every verdict with its code.
    let verdicts: Vec<Option<String>> = match orch.verify_releases(shown) {
        Ok(verdicts) => verdicts
            .into_iter()
            .map(|v| v.err().map(|e| e.code().to_owned()))
            .collect(),
        Err(e) => vec![Some(e.code().to_owned()); shown.len()],
    };
    let releases: Vec<ReleaseSummary> = shown
        .iter()
        .zip(verdicts)
        .map(|(r, verdict)| ReleaseSummary::with_verdict(r, verdict))
        .collect();
    Ok(ReleaseList {
        client_id: client.to_owned(),
        profile_id: profile.to_owned(),
        count: releases.len(),
        total: all.len(),
        releases,
    })
}

/// What a release holds: the servers and the entries as rendered (secrets referenced, never
/// their values).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReleasePayload {
    /// The servers.
    pub servers: BTreeMap<String, DraftServer>,
    /// The entries in the client's spelling.
    pub entries: BTreeMap<String, Value>,
}

/// `get_config`, `GET /v1/config/{client_id}/{profile}`, the `config://…/latest` resource:
/// a release that verified, with its payload. One that does not verify is an error with its
/// code on every face.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReleaseDetail {
    /// The release.
    #[serde(flatten)]
    pub release: ReleaseSummary,
    /// Its Ed25519 signature, base64.
    pub signature: String,
    /// Its payload.
    pub payload: ReleasePayload,
}

/// The release of a (client, profile) (the latest, or the one `artifact_id` names), verified.
pub fn get_release(
    orch: &Orchestrator,
    client: &str,
    profile: &str,
    artifact_id: Option<&str>,
) -> Result<ReleaseDetail> {
    orch.profile(client, profile)?;
    let release = match artifact_id {
        Some(id) => orch.find_release(client, profile, id)?,
        None => orch
            .latest_release(client, profile)?
            .ok_or_else(|| crate::core::orchestrator::nothing_published(client, profile))?,
    };
    detail(orch, &release)
}

/// A release in full, verified.
pub fn detail(orch: &Orchestrator, release: &Release) -> Result<ReleaseDetail> {
    let verified = orch.verify_release(release)?;
    Ok(ReleaseDetail {
        release: ReleaseSummary::with_verdict(&verified.release, None),
        signature: verified.release.signature,
        payload: ReleasePayload {
            servers: verified.payload.servers,
            entries: verified.payload.entries,
        },
    })
}

/// `publish --json`, `publish_config`, `POST …/publish`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Published {
    /// `published`.
    pub status: String,
    /// The new release.
    #[serde(flatten)]
    pub release: ReleaseSummary,
}

/// Publishes the draft as a signed release.
pub fn publish(
    orch: &Orchestrator,
    client: &str,
    profile: &str,
    changelog: Option<&str>,
    actor: &str,
) -> Result<Published> {
    let release = orch.publish(client, profile, changelog, actor)?;
    Ok(Published {
        status: "published".into(),
        release: ReleaseSummary::with_verdict(&release, None),
    })
}

/// `keys init --json`, `initialize_keys`, `POST /v1/keys/initialize`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct KeyInitialized {
    /// `initialized`, or `regenerated` when an existing key was rotated.
    pub status: String,
    /// The public half of the signing key.
    pub key: KeyInfo,
}

/// Creates the signing key, or with `regenerate` rotates it.
pub fn init_keys(orch: &Orchestrator, regenerate: bool, actor: &str) -> Result<KeyInitialized> {
    let key = orch.init_keys(regenerate, actor)?;
    Ok(KeyInitialized {
        status: if key.rotated_from.is_some() {
            "regenerated"
        } else {
            "initialized"
        }
        .into(),
        key,
    })
}
