//! A developer machine's side of team mode (façade part, docs/TEAM.md): remotes, and pulls
//! that verify the team's releases against the pinned root before deploying them through the
//! safe deploy and the local audit log.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Url;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;

use super::{Action, Orchestrator, PlanRequest};
use crate::core::artifact::{ArtifactStore, Verified};
use crate::core::audit::AuditEvent;
use crate::core::code::Code;
use crate::core::error::{Error, ErrorBody, Result};
use crate::core::probe;
use crate::core::remote::{self, LastPull, Remote, RemoteStore, RootList};
use crate::core::team::{self, ChannelEntry, MIN_FINGERPRINT, PulledRelease, Root, Signed};

/// A remote as shown (never its token).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RemoteView {
    /// Its name.
    pub name: String,
    /// The team server's base URL.
    pub url: String,
    /// The pinned root's fingerprint.
    pub fingerprint: String,
    /// The pinned root's version.
    pub root_version: u64,
    /// The newest snapshot version seen.
    pub snapshot_version: u64,
    /// When it was added.
    pub added_at: DateTime<Utc>,
    /// How the last pull went.
    pub last_pull: Option<LastPull>,
}

impl RemoteView {
    fn of(remote: &Remote) -> Self {
        Self {
            name: remote.name.clone(),
            url: remote.url.clone(),
            fingerprint: remote.root.fingerprint(),
            root_version: Root::from_signed(&remote.root).map_or(0, |r| r.version),
            snapshot_version: remote.seen.snapshot_version,
            added_at: remote.added_at,
            last_pull: remote.last_pull.clone(),
        }
    }
}

/// What a pull did with one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PullStatus {
    /// Verified and deployed.
    Deployed,
    /// That version is already deployed here.
    UpToDate,
    /// Not for this machine (a client or profile it does not have).
    Skipped,
    /// Verified, but the deploy failed (`error`).
    Failed,
}

/// One channel of a pull.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChannelPull {
    /// Client id.
    pub client_id: String,
    /// Profile id.
    pub profile_id: String,
    /// The team's newest version.
    pub version: u64,
    /// Its artifact id.
    pub artifact_id: String,
    /// What happened.
    pub status: PullStatus,
    /// Why it was skipped or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// `pull --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PullReport {
    /// The remote.
    pub remote: String,
    /// The root verified against.
    pub root_version: u64,
    /// The snapshot pulled.
    pub snapshot_version: u64,
    /// Each channel selected.
    pub channels: Vec<ChannelPull>,
}

impl PullReport {
    /// `client/profile vN` of each channel whose status `wanted` accepts.
    fn labels(&self, wanted: impl Fn(PullStatus) -> bool) -> Vec<String> {
        self.channels
            .iter()
            .filter(|c| wanted(c.status))
            .map(|c| format!("{}/{} v{}", c.client_id, c.profile_id, c.version))
            .collect()
    }

    /// Whether a channel failed to deploy.
    pub fn failed(&self) -> bool {
        self.channels.iter().any(|c| c.status == PullStatus::Failed)
    }
}

/// A channel that verified, waiting to be deployed.
struct Ready {
    entry: ChannelEntry,
    verified: Verified,
}

impl Orchestrator {
    fn remote_store(&self) -> RemoteStore {
        RemoteStore::for_state(&self.state)
    }

    /// The team's root as `url` serves it now (every rotation checked from the first root),
    /// for a person to compare before `add_remote`.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` (the URL), `REMOTE_UNREACHABLE`, `UNTRUSTED_KEY`,
    /// `METADATA_EXPIRED`.
    pub fn fetch_team_root(&self, url: &str, token: &str) -> Result<(Root, Signed)> {
        let base = remote::check_url(url)?;
        let http = remote::http_client()?;
        let list: RootList =
            probe::runtime()?.block_on(remote::get(&http, &base, token, "v1/team/roots"))?;
        team::newest_root(None, &list.roots, self.now())
    }

    /// Adds a remote, pinning the team root whose fingerprint starts with `fingerprint` (at
    /// least 16 hex digits, as the team's operator gave it or the person confirmed).
    /// Audited as `remote.add`.
    ///
    /// # Errors
    /// `REMOTE_EXISTS`, `INVALID_ARGUMENT`, `REMOTE_UNREACHABLE`, `UNTRUSTED_KEY` (another
    /// root), `METADATA_EXPIRED`.
    pub fn add_remote(
        &self,
        name: &str,
        url: &str,
        token: &str,
        fingerprint: &str,
        actor: &str,
    ) -> Result<RemoteView> {
        self.audited(
            |code| {
                AuditEvent::failed("remote.add", actor, code)
                    .details(json!({ "remote": name, "url": url }))
            },
            || {
                let store = self.remote_store();
                let _lock = store.lock(name)?;
                if store.exists(name) {
                    return Err(Error::invalid(
                        Code::RemoteExists,
                        "name",
                        format!("a remote named `{name}` exists"),
                        "remove it first (`mcp-orch remote remove NAME`), or pick another name",
                    ));
                }
                let wanted = fingerprint.trim().to_ascii_lowercase();
                if wanted.len() < MIN_FINGERPRINT || !wanted.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(Error::invalid(
                        Code::InvalidArgument,
                        "root",
                        "a root fingerprint is at least 16 hex digits",
                        "copy it from `mcp-orch team show` on the team's server",
                    ));
                }
                let (_, doc) = self.fetch_team_root(url, token)?;
                let actual = doc.fingerprint();
                if !actual.starts_with(&wanted) {
                    return Err(Error::invalid(
                        Code::UntrustedKey,
                        "root",
                        format!(
                            "the server's team root is {actual}, not the {wanted} you were given"
                        ),
                        "do not add this server; check the URL and the fingerprint with the team's operator",
                    ));
                }
                let remote = Remote {
                    name: name.to_owned(),
                    url: remote::check_url(url)?.to_string(),
                    token: token.to_owned(),
                    root: doc,
                    seen: team::Seen::default(),
                    added_at: self.now(),
                    last_pull: None,
                };
                store.save(&remote)?;
                Ok(RemoteView::of(&remote))
            },
            |view| {
                AuditEvent::ok("remote.add", actor).details(json!({
                    "remote": view.name,
                    "url": view.url,
                    "fingerprint": view.fingerprint,
                }))
            },
        )
    }

    /// Every remote.
    ///
    /// # Errors
    /// A remote file that does not parse.
    pub fn remotes(&self) -> Result<Vec<RemoteView>> {
        Ok(self
            .remote_store()
            .list()?
            .iter()
            .map(RemoteView::of)
            .collect())
    }

    /// Removes a remote (what it deployed stays). Audited as `remote.remove`.
    ///
    /// # Errors
    /// `UNKNOWN_REMOTE`.
    pub fn remove_remote(&self, name: &str, actor: &str) -> Result<()> {
        self.audited(
            |code| {
                AuditEvent::failed("remote.remove", actor, code).details(json!({ "remote": name }))
            },
            || {
                let store = self.remote_store();
                let _lock = store.lock(name)?;
                store.remove(name)
            },
            |()| AuditEvent::ok("remote.remove", actor).details(json!({ "remote": name })),
        )
    }

    /// The remote `name` names, or the only one.
    fn remote_name(&self, name: Option<&str>) -> Result<String> {
        if let Some(name) = name {
            return Ok(name.to_owned());
        }
        let all = self.remote_store().list()?;
        match all.as_slice() {
            [only] => Ok(only.name.clone()),
            [] => Err(remote::unknown_remote("(none)")),
            _ => Err(Error::invalid(
                Code::InvalidArgument,
                "remote",
                format!("{} remotes are set up", all.len()),
                "name the one to pull from with --remote",
            )),
        }
    }

    /// Pulls the team's releases from a remote (the only one when `name` is `None`) for
    /// `client` (every client when `None`): the roots, then the snapshot, then each newer
    /// release, every one verified against the pinned root before anything is deployed;
    /// then each is deployed through the safe deploy. Audited as `remote.pull`.
    ///
    /// # Errors
    /// `UNKNOWN_REMOTE`, `REMOTE_UNREACHABLE`, and each attack's code (`UNTRUSTED_KEY`,
    /// `SIGNATURE_INVALID`, `ARTIFACT_CLIENT_MISMATCH`, `ARTIFACT_TAMPERED`,
    /// `DOWNGRADE_REFUSED`, `METADATA_EXPIRED`, `SNAPSHOT_MISMATCH`): nothing is deployed then.
    pub fn pull(
        &self,
        name: Option<&str>,
        client: Option<&str>,
        actor: &str,
    ) -> Result<PullReport> {
        if self.shared.is_some() {
            return Err(Error::invalid(
                Code::InvalidArgument,
                "store",
                "pull deploys into this machine's clients, from its own state directory",
                "run it without --store (and without MCP_ORCH_STORE)",
            ));
        }
        let name = self.remote_name(name)?;
        let store = self.remote_store();
        let _lock = store.lock(&name)?;
        let mut remote = store.load(&name)?;
        let client = client.filter(|c| *c != "all");
        if let Some(c) = client {
            self.client(c)?;
        }
        let result = self.pull_locked(&mut remote, client, actor);
        let now = self.now();
        remote.last_pull = Some(match &result {
            Ok(report) => LastPull {
                at: now,
                error_code: report
                    .channels
                    .iter()
                    .find_map(|c| c.error.as_ref().filter(|_| c.status == PullStatus::Failed))
                    .map(|e| e.code.to_owned()),
                deployed: report.labels(|s| s == PullStatus::Deployed),
                pending: report.labels(|s| matches!(s, PullStatus::Failed | PullStatus::Skipped)),
            },
            Err(e) => LastPull {
                at: now,
                error_code: Some(e.code().to_owned()),
                deployed: Vec::new(),
                pending: remote
                    .last_pull
                    .as_ref()
                    .map(|l| l.pending.clone())
                    .unwrap_or_default(),
            },
        });
        store.save(&remote)?;
        match &result {
            Ok(report) => {
                self.record(AuditEvent::ok("remote.pull", actor).details(json!({
                    "remote": name,
                    "snapshot_version": report.snapshot_version,
                    "deployed": remote.last_pull.as_ref().map(|l| &l.deployed),
                })))?;
            }
            Err(e) => {
                let _ = self.record(
                    AuditEvent::failed("remote.pull", actor, e.code())
                        .details(json!({ "remote": name })),
                );
            }
        }
        result
    }

    fn pull_locked(
        &self,
        remote: &mut Remote,
        client: Option<&str>,
        actor: &str,
    ) -> Result<PullReport> {
        self.audit_log().check_appendable()?;
        let base: Url = remote::check_url(&remote.url)?;
        let http = remote::http_client()?;
        let rt = probe::runtime()?;
        let now = self.now();
        let list: RootList =
            rt.block_on(remote::get(&http, &base, &remote.token, "v1/team/roots"))?;
        let (root, root_doc) = team::newest_root(Some(&remote.root), &list.roots, now)?;
        let snapshot_doc: Signed =
            rt.block_on(remote::get(&http, &base, &remote.token, "v1/team/snapshot"))?;
        let snapshot = team::verify_snapshot(&root, &snapshot_doc, &remote.seen, now)?;

        let mut channels = Vec::new();
        let mut ready: Vec<Ready> = Vec::new();
        for (key, entry) in &snapshot.channels {
            let Some((c, p)) = key.split_once('/') else {
                continue;
            };
            if client.is_some_and(|wanted| wanted != c) {
                continue;
            }
            let outcome = |status, error: Option<Error>| ChannelPull {
                client_id: c.to_owned(),
                profile_id: p.to_owned(),
                version: entry.version,
                artifact_id: entry.artifact_id.clone(),
                status,
                error: error.map(|e| e.body()),
            };
            if let Err(e) = self.profile(c, p) {
                channels.push(outcome(PullStatus::Skipped, Some(e)));
                continue;
            }
            let record = self.deploy_record(c, p)?;
            if record.version == Some(entry.version)
                && record.artifact_id.as_deref() == Some(entry.artifact_id.as_str())
            {
                channels.push(outcome(PullStatus::UpToDate, None));
                continue;
            }
            let path = format!("v1/team/releases/{c}/{p}/{}", entry.version);
            let pulled: PulledRelease =
                rt.block_on(remote::get(&http, &base, &remote.token, &path))?;
            let verified = team::verify_pulled(&root, entry, c, p, &pulled)?;
            ready.push(Ready {
                entry: entry.clone(),
                verified,
            });
        }
        // Everything verified: from now on nothing older is accepted.
        remote.root = root_doc;
        remote.seen.snapshot_version = snapshot.version;
        for (key, entry) in &snapshot.channels {
            let seen = remote.seen.channels.entry(key.clone()).or_default();
            *seen = (*seen).max(entry.version);
        }
        for Ready { entry, verified } in ready {
            let (c, p) = (
                verified.release.client_id().to_owned(),
                verified.release.profile_id().to_owned(),
            );
            let deployed = self.deploy_pulled(&root, &verified, &remote.name, actor);
            channels.push(ChannelPull {
                client_id: c,
                profile_id: p,
                version: entry.version,
                artifact_id: entry.artifact_id,
                status: if deployed.is_ok() {
                    PullStatus::Deployed
                } else {
                    PullStatus::Failed
                },
                error: deployed.err().map(|e| e.body()),
            });
        }
        channels.sort_by(|a, b| (&a.client_id, &a.profile_id).cmp(&(&b.client_id, &b.profile_id)));
        Ok(PullReport {
            remote: remote.name.clone(),
            root_version: root.version,
            snapshot_version: snapshot.version,
            channels,
        })
    }

    /// Stores a verified team release here, trusts the key that signed it (the root names
    /// it), and deploys it.
    fn deploy_pulled(
        &self,
        root: &Root,
        verified: &Verified,
        remote: &str,
        actor: &str,
    ) -> Result<()> {
        let release = &verified.release;
        if let Some(key) = root
            .release_keys
            .iter()
            .find(|k| k.key_id == release.key_id)
        {
            let (trusted, added) = self.key_store().trust(key, self.now())?;
            if added {
                self.record(AuditEvent::ok("key.trust", actor).details(json!({
                    "key_id": trusted.key_id,
                    "added": true,
                    "remote": remote,
                })))?;
            }
        }
        ArtifactStore::for_state(&self.state).import(verified)?;
        self.apply(
            &PlanRequest::new(
                release.client_id(),
                release.profile_id(),
                Action::Deploy {
                    artifact: Some(release.artifact_id().to_owned()),
                    inline_secrets: false,
                },
            ),
            None,
            actor,
        )
        .map(|_| ())
    }

    /// Opens the team server's event stream, pulls, then pulls again on every publish or root
    /// change the stream announces (and after each reconnect), giving each report to
    /// `on_report` until it returns `false`.
    ///
    /// # Errors
    /// `UNKNOWN_REMOTE`, or what the first pull's setup refuses.
    pub fn watch_remote(
        &self,
        name: Option<&str>,
        client: Option<&str>,
        actor: &str,
        mut on_report: impl FnMut(Result<PullReport>) -> bool,
    ) -> Result<()> {
        let name = self.remote_name(name)?;
        let remote = self.remote_store().load(&name)?;
        let base = remote::check_url(&remote.url)?;
        let rt = probe::runtime()?;
        let http = remote::stream_client()?;
        let mut backoff = Duration::from_millis(250);
        loop {
            // The stream opens before the pull that catches up, so no publish falls between.
            let opened = rt.block_on(remote::open_events(&http, &base, &remote.token));
            if !on_report(self.pull(Some(&name), client, actor)) {
                return Ok(());
            }
            let mut stream = match opened {
                Ok(stream) => {
                    backoff = Duration::from_millis(250);
                    stream
                }
                Err(e) => {
                    if !on_report(Err(e)) {
                        return Ok(());
                    }
                    rt.block_on(tokio::time::sleep(backoff));
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    continue;
                }
            };
            // Until the stream ends: then reconnect and catch up with a pull.
            while let Some(action) = rt.block_on(stream.next_action()) {
                if (action == "publish" || action.starts_with("team."))
                    && !on_report(self.pull(Some(&name), client, actor))
                {
                    return Ok(());
                }
            }
        }
    }
}
