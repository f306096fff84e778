//! Releases (façade part): publishing signed artifacts, history, lookups and verification.
//!
//! Every publish, failed ones included, is appended to the audit log.

use crate::core::code::Code;
use crate::core::next::{Hint, Op, Step};
use std::collections::BTreeSet;

use serde_json::json;

use super::Orchestrator;
use crate::core::artifact::{self, ArtifactStore, NewRelease, Payload, Release, Verified};
use crate::core::audit::AuditEvent;
use crate::core::error::{Error, Result};
use crate::core::intent::{Evidence, Intent};
use crate::core::render::SecretStyle;
use crate::core::store::postgres::PgReleases;
use crate::core::validate::Diagnostic;

impl Orchestrator {
    // ---- publish --------------------------------------------------------------------------

    /// Publishes the draft of a (client, profile) as a signed, immutable artifact: refuses an
    /// invalid draft, renders the client's entries (secrets as references), stores the
    /// payload once and a new release with the next version, and audits the outcome. The
    /// release and its audit record are one step: an intent is recorded before the release
    /// file is created, so a publish killed in between is audited by the next process.
    pub fn publish(
        &self,
        client: &str,
        profile: &str,
        changelog: Option<&str>,
        actor: &str,
    ) -> Result<Release> {
        let changelog = changelog.map(str::trim).filter(|c| !c.is_empty());
        self.audit_log().check_appendable()?;
        let result = self.publish_inner(client, profile, changelog, actor);
        if let Err(e) = &result {
            let _ =
                self.record(AuditEvent::failed("publish", actor, e.code()).target(client, profile));
        }
        result
    }

    /// What publishing the draft of a (client, profile) would store: its servers and their
    /// entries in the client's spelling, secrets as references.
    pub(super) fn draft_payload(&self, client: &str, profile: &str) -> Result<Payload> {
        let draft = self.draft(client, profile)?;
        let def = self.client(client)?;
        let entries = self.render_entries(def, &draft.servers, SecretStyle::AsConfigured)?;
        Ok(Payload::new(client, draft.servers, entries))
    }

    fn publish_inner(
        &self,
        client: &str,
        profile: &str,
        changelog: Option<&str>,
        actor: &str,
    ) -> Result<Release> {
        let draft = self.draft(client, profile)?;
        let diagnostics = self.validate_draft(&draft);
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Err(Error::ValidationFailed {
                client: client.to_owned(),
                profile: profile.to_owned(),
                diagnostics,
            });
        }
        let signer = self.key_store().signer()?;
        let payload = self.draft_payload(client, profile)?;
        let now = self.now();
        let req = NewRelease {
            client_id: client,
            profile_id: profile,
            changelog,
            created_at: now,
        };
        let (owned_actor, owned_changelog) = (actor.to_owned(), changelog.map(str::to_owned));
        let event = move |release: &Release| {
            AuditEvent::ok("publish", &owned_actor)
                .target(release.client_id(), release.profile_id())
                .artifact(release.artifact_id(), release.version())
                .details(json!({
                    "key_id": release.key_id,
                    "server_count": release.envelope.metadata.server_count,
                    "changelog": owned_changelog,
                }))
        };
        if let Some(ledger) = &self.shared {
            // One transaction holds the release and its record.
            return PgReleases::new(ledger.store().clone()).publish(
                &payload,
                &req,
                std::sync::Arc::new(signer),
                ledger,
                Box::new(event),
            );
        }
        ArtifactStore::for_state(self.state()).publish_with(
            &payload,
            &req,
            &signer,
            |release, path, lock| {
                self.recover_held(lock)?;
                let intent = Intent::new(
                    lock.to_path_buf(),
                    Evidence::Release {
                        path: path.to_path_buf(),
                    },
                    Vec::new(),
                    vec![event(release)],
                    now,
                );
                self.intents().begin(&intent)?;
                Ok(intent)
            },
            |intent| {
                self.record_all(intent.events.clone())?;
                self.intents().finish(&intent.id)
            },
        )
    }

    // ---- history and lookups --------------------------------------------------------------

    /// Every release of a (client, profile), newest first (not verified).
    pub fn history(&self, client: &str, profile: &str) -> Result<Vec<Release>> {
        self.client(client)?;
        self.releases.history(client, profile)
    }

    /// The newest release of a (client, profile), if any (not verified).
    pub fn latest_release(&self, client: &str, profile: &str) -> Result<Option<Release>> {
        self.client(client)?;
        match self.releases.latest(client, profile)? {
            Some(release) => {
                check_binding(&release, client, profile)?;
                Ok(Some(release))
            }
            None => Ok(None),
        }
    }

    /// The newest release of a (client, profile) whose artifact id is or starts with
    /// `artifact_id_or_prefix` (not verified): `ARTIFACT_CLIENT_MISMATCH` when the artifact
    /// was published only for another client or profile, `ARTIFACT_NOT_FOUND` when never.
    pub fn find_release(
        &self,
        client: &str,
        profile: &str,
        artifact_id_or_prefix: &str,
    ) -> Result<Release> {
        artifact::check_artifact_ref(artifact_id_or_prefix)?;
        let history = self.history(client, profile)?;
        let matching: Vec<&Release> = history
            .iter()
            .filter(|r| r.artifact_id().starts_with(artifact_id_or_prefix))
            .collect();
        let ids: BTreeSet<String> = matching
            .iter()
            .map(|r| r.artifact_id().to_owned())
            .collect();
        if ids.len() > 1 {
            return Err(artifact::ambiguous(artifact_id_or_prefix, &ids));
        }
        if let Some(release) = matching.first() {
            check_binding(release, client, profile)?;
            return Ok((*release).clone());
        }
        let elsewhere = self.releases.releases_matching(artifact_id_or_prefix)?;
        match elsewhere.first() {
            Some(other) => Err(mismatch(other, client, profile)),
            None => Err(artifact::not_found(artifact_id_or_prefix)),
        }
    }

    /// The full id of an artifact given by id or unique prefix.
    pub fn resolve_artifact(&self, artifact_id_or_prefix: &str) -> Result<String> {
        self.releases.resolve(artifact_id_or_prefix)
    }

    /// Every release of one artifact (by id or unique prefix), for any client and profile.
    pub fn releases_of(&self, artifact_id_or_prefix: &str) -> Result<Vec<Release>> {
        let id = self.releases.resolve(artifact_id_or_prefix)?;
        self.releases.releases_matching(&id)
    }

    /// Verifies a release: its signature with the trusted key it names, and its payload's
    /// hash.
    pub fn verify_release(&self, release: &Release) -> Result<Verified> {
        self.verify_releases([release])?
            .pop()
            .ok_or_else(|| Error::Internal("no verdict for the release".into()))?
    }

    /// Verifies each release against one read of the trust store (a history of many releases
    /// reads it once). The outer error is the trust store's own.
    pub fn verify_releases<'a>(
        &self,
        releases: impl IntoIterator<Item = &'a Release>,
    ) -> Result<Vec<Result<Verified>>> {
        let trust = self.key_store().trust_store()?;
        Ok(releases
            .into_iter()
            .map(|r| self.releases.verify(r, &|id| trust.verifying_key(id)))
            .collect())
    }

    /// The payload of an artifact (full id), after checking its hash.
    pub fn load_payload(&self, artifact_id: &str) -> Result<Payload> {
        self.releases.load_payload(artifact_id)
    }
}

fn mismatch(release: &Release, client: &str, profile: &str) -> Error {
    Error::invalid(
        Code::ArtifactClientMismatch,
        "artifact_id",
        format!(
            "artifact {} was published for {}/{}, not for {client}/{profile}",
            artifact::short_id(release.artifact_id()),
            release.client_id(),
            release.profile_id()
        ),
        Hint::new(
            format!("publish the draft of {client}/{profile}, or pick one of its artifacts"),
            [
                Step::new(
                    Op::Publish,
                    &[("client_id", client), ("profile_id", profile)],
                ),
                Step::new(
                    Op::History,
                    &[("client_id", client), ("profile_id", profile)],
                ),
            ],
        ),
    )
}

/// The release must say it is for the (client, profile) it was asked for.
fn check_binding(release: &Release, client: &str, profile: &str) -> Result<()> {
    if release.client_id() == client && release.profile_id() == profile {
        Ok(())
    } else {
        Err(mismatch(release, client, profile))
    }
}

/// The error for a target with no release yet.
pub fn nothing_published(client: &str, profile: &str) -> Error {
    Error::invalid(
        Code::ArtifactNotFound,
        "artifact_id",
        format!("nothing has been published for {client}/{profile}"),
        Hint::step(
            "publish the draft first",
            Op::Publish,
            &[("client_id", client), ("profile_id", profile)],
        ),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{DateTime, Utc};

    use super::*;
    use crate::core::env::{Environment, Os};
    use crate::core::orchestrator::{AddServer, Clock, Options};
    use crate::core::profiles::Profile;

    struct Fixed;

    impl Clock for Fixed {
        fn now(&self) -> DateTime<Utc> {
            DateTime::from_timestamp(1_700_000_000, 0).unwrap()
        }
    }

    fn orchestrator() -> (tempfile::TempDir, Orchestrator) {
        let dir = tempfile::tempdir().unwrap();
        let orch = Orchestrator::open(Options {
            home: dir.path().join("state"),
            env: Environment::synthetic(dir.path().join("home"), Os::Linux, &[]),
            launcher: "/usr/local/bin/mcp-orch".into(),
            clock: Arc::new(Fixed),
            store: None,
        })
        .unwrap();
        for profile in ["default", "work"] {
            if profile != "default" {
                orch.create_profile(
                    "cursor",
                    Profile {
                        id: profile.into(),
                        ..Profile::default_profile()
                    },
                )
                .unwrap();
            }
            orch.add_server(&AddServer {
                client: "cursor".into(),
                profile: profile.into(),
                server_id: "memory".into(),
                ..AddServer::default()
            })
            .unwrap();
        }
        orch.init_keys(false, "test").unwrap();
        (dir, orch)
    }

    #[test]
    fn releases_are_bound_to_their_client_and_profile() {
        let (_dir, orch) = orchestrator();
        assert_eq!(orch.latest_release("cursor", "default").unwrap(), None);
        let release = orch
            .publish("cursor", "default", Some("  "), "test")
            .unwrap();
        assert_eq!(
            release.envelope.changelog, None,
            "a blank changelog is none"
        );
        let id = release.artifact_id().to_owned();
        assert_eq!(
            orch.find_release("cursor", "default", &id[..8]).unwrap(),
            release
        );
        assert_eq!(
            orch.latest_release("cursor", "default").unwrap(),
            Some(release.clone())
        );
        let verified = orch.verify_release(&release).unwrap();
        assert_eq!(verified.payload, orch.load_payload(&id).unwrap());
        assert_eq!(orch.releases_of(&id[..8]).unwrap(), vec![release.clone()]);

        for (client, profile) in [("claude-code", "default"), ("cursor", "work")] {
            assert_eq!(
                orch.find_release(client, profile, &id).unwrap_err().code(),
                "ARTIFACT_CLIENT_MISMATCH",
                "{client}/{profile}"
            );
        }
        assert_eq!(
            orch.find_release("cursor", "default", &"0".repeat(64))
                .unwrap_err()
                .code(),
            "ARTIFACT_NOT_FOUND"
        );
        assert_eq!(
            orch.find_release("cursor", "default", "../../x")
                .unwrap_err()
                .code(),
            "INVALID_ARTIFACT_ID"
        );

        // A validly signed release copied into another profile's history is refused there.
        let from = orch
            .state()
            .join("artifacts/releases/cursor/default/00000001.json");
        let to_dir = orch.state().join("artifacts/releases/cursor/work");
        std::fs::create_dir_all(&to_dir).unwrap();
        std::fs::copy(&from, to_dir.join("00000001.json")).unwrap();
        assert_eq!(
            orch.latest_release("cursor", "work").unwrap_err().code(),
            "ARTIFACT_CLIENT_MISMATCH"
        );
        assert_eq!(
            orch.find_release("cursor", "work", &id).unwrap_err().code(),
            "ARTIFACT_CLIENT_MISMATCH"
        );
        // Its signature is fine: only the binding is wrong.
        let copied = orch.history("cursor", "work").unwrap();
        assert!(orch.verify_release(&copied[0]).is_ok());
    }

    #[test]
    fn failed_publishes_are_audited_with_their_code() {
        let (_dir, orch) = orchestrator();
        std::fs::remove_file(orch.state().join("keys/current")).unwrap();
        let err = orch.publish("cursor", "default", None, "test").unwrap_err();
        assert_eq!(err.code(), "KEY_NOT_FOUND");
        let last = orch
            .audit_log()
            .read(&crate::core::audit::Filter::default())
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(last.event.action, "publish");
        assert_eq!(last.event.error_code.as_deref(), Some("KEY_NOT_FOUND"));
        assert_eq!(last.event.client_id.as_deref(), Some("cursor"));
        assert!(orch.audit_log().verify_with(None).unwrap().ok);
    }
}
