//! Releases in PostgreSQL: `payloads` and `releases` (`migrations/0003_releases.sql`). A publish
//! is one transaction under the audit chain's lock: the payload (once), the next version of
//! its channel, the signed release and its audit record commit together or not at all, so two
//! replicas that publish at the same moment get two versions and one chain.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{PgLedger, PgStore};
use crate::core::artifact::{self, NewRelease, Payload, Release};
use crate::core::audit::AuditEvent;
use crate::core::draft::check_id;
use crate::core::error::{Error, Result};
use crate::core::keys::Signer;
use crate::core::store::Releases;

/// The releases and payloads of a PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgReleases {
    store: PgStore,
}

/// A release as its row holds it.
type ReleaseRow = (i64, String, String, String);

/// What a publish records besides the release: its audit event, given the release.
pub type RecordPublish = Box<dyn FnOnce(&Release) -> AuditEvent + Send>;

impl PgReleases {
    /// The releases of `store`.
    pub fn new(store: PgStore) -> Self {
        Self { store }
    }

    /// Publishes `payload` as the next version of its channel, signed by `signer`, with the
    /// audit record `record` makes of it appended to `ledger`'s chain in the same transaction.
    ///
    /// # Errors
    /// `AUDIT_CORRUPT` (nothing is published), `ARTIFACT_TAMPERED` when a stored payload of
    /// the same id no longer hashes to it, `DB_UNAVAILABLE`.
    pub fn publish(
        &self,
        payload: &Payload,
        req: &NewRelease<'_>,
        signer: Arc<Signer>,
        ledger: &PgLedger,
        record: RecordPublish,
    ) -> Result<Release> {
        check_id("client", req.client_id)?;
        check_id("profile", req.profile_id)?;
        let bytes = payload.canonical_bytes()?;
        let artifact_id = artifact::sha256_hex(&bytes);
        let (payload, ledger, store) = (payload.clone(), ledger.clone(), self.store.clone());
        let (client, profile) = (req.client_id.to_owned(), req.profile_id.to_owned());
        let (changelog, created_at) = (req.changelog.map(str::to_owned), req.created_at);
        self.store.run(async move {
            let failed = |e: sqlx::Error| store.failed(&e);
            let mut tx = store.pool().begin().await.map_err(failed)?;
            // The chain's lock first: publishes take turns, so the version read next is free.
            sqlx::query("SELECT 1 FROM chain_head WHERE id = 1 FOR UPDATE")
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            sqlx::query(
                "INSERT INTO payloads (artifact_id, body) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(&artifact_id)
            .bind(&bytes)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
            let (stored,): (Vec<u8>,) =
                sqlx::query_as("SELECT body FROM payloads WHERE artifact_id = $1")
                    .bind(&artifact_id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(failed)?;
            artifact::check_payload_hash(&artifact_id, &stored)?;
            let (highest,): (Option<i64>,) = sqlx::query_as(
                "SELECT max(version) FROM releases WHERE client_id = $1 AND profile_id = $2",
            )
            .bind(&client)
            .bind(&profile)
            .fetch_one(&mut *tx)
            .await
            .map_err(failed)?;
            let version = highest
                .map_or(0, |v| u64::try_from(v).unwrap_or(0))
                .checked_add(1)
                .ok_or_else(|| Error::Internal("release version overflow".into()))?;
            let req = NewRelease {
                client_id: &client,
                profile_id: &profile,
                changelog: changelog.as_deref(),
                created_at,
            };
            let release = artifact::sign_release(&payload, &artifact_id, version, &req, &signer)?;
            sqlx::query(
                "INSERT INTO releases (client_id, profile_id, version, artifact_id, envelope, signature, key_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&client)
            .bind(&profile)
            .bind(i64::try_from(version).unwrap_or(i64::MAX))
            .bind(&artifact_id)
            .bind(&release.signed)
            .bind(&release.signature)
            .bind(&release.key_id)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
            let event: (AuditEvent, DateTime<Utc>) = (record(&release), created_at);
            ledger.append_in(&mut tx, vec![event]).await?;
            tx.commit().await.map_err(failed)?;
            Ok(release)
        })
    }

    /// The releases `sql` selects (version, envelope, signature, key id), each with the
    /// version its row is stored under.
    fn query_releases(&self, sql: &'static str, binds: Vec<String>) -> Result<Vec<(i64, Release)>> {
        let store = self.store.clone();
        let rows: Vec<ReleaseRow> = self.store.run(async move {
            let mut query = sqlx::query_as(sql);
            for bind in binds {
                query = query.bind(bind);
            }
            query
                .fetch_all(store.pool())
                .await
                .map_err(|e| store.failed(&e))
        })?;
        rows.into_iter()
            .map(|(version, envelope, signature, key_id)| {
                let what = format!("release row version {version}");
                Ok((
                    version,
                    Release::from_parts(envelope, signature, key_id, &what)?,
                ))
            })
            .collect()
    }
}

impl Releases for PgReleases {
    fn history(&self, client: &str, profile: &str) -> Result<Vec<Release>> {
        check_id("client", client)?;
        check_id("profile", profile)?;
        let mut out: Vec<Release> = self
            .query_releases(
                "SELECT version, envelope, signature, key_id FROM releases \
                 WHERE client_id = $1 AND profile_id = $2 ORDER BY version DESC",
                vec![client.to_owned(), profile.to_owned()],
            )?
            .into_iter()
            .map(|(_, release)| release)
            .collect();
        // The signed version decides the order, not the row's.
        out.sort_by_key(|r| std::cmp::Reverse(r.version()));
        Ok(out)
    }

    fn latest(&self, client: &str, profile: &str) -> Result<Option<Release>> {
        check_id("client", client)?;
        check_id("profile", profile)?;
        let newest = self.query_releases(
            "SELECT version, envelope, signature, key_id FROM releases \
             WHERE client_id = $1 AND profile_id = $2 ORDER BY version DESC LIMIT 1",
            vec![client.to_owned(), profile.to_owned()],
        )?;
        match newest.into_iter().next() {
            Some((row, release)) if i64::try_from(release.version()).ok() == Some(row) => {
                Ok(Some(release))
            }
            // A row whose version column disagrees with its signed one: the history decides.
            Some(_) => Ok(self.history(client, profile)?.into_iter().next()),
            None => Ok(None),
        }
    }

    fn releases_matching(&self, prefix: &str) -> Result<Vec<Release>> {
        artifact::check_artifact_ref(prefix)?;
        // A row whose column was changed still names its signed id in the envelope.
        let mut out: Vec<Release> = self
            .query_releases(
                "SELECT version, envelope, signature, key_id FROM releases \
                 WHERE artifact_id LIKE $1 || '%' OR strpos(envelope, $1) > 0",
                vec![prefix.to_owned()],
            )?
            .into_iter()
            .map(|(_, release)| release)
            .filter(|r| r.artifact_id().starts_with(prefix))
            .collect();
        out.sort_by(|a, b| {
            (
                a.client_id(),
                a.profile_id(),
                std::cmp::Reverse(a.version()),
            )
                .cmp(&(
                    b.client_id(),
                    b.profile_id(),
                    std::cmp::Reverse(b.version()),
                ))
        });
        Ok(out)
    }

    fn resolve(&self, id_or_prefix: &str) -> Result<String> {
        artifact::check_artifact_ref(id_or_prefix)?;
        let store = self.store.clone();
        let prefix = id_or_prefix.to_owned();
        let ids: Vec<(String,)> = self.store.run(async move {
            sqlx::query_as(
                "SELECT artifact_id FROM payloads WHERE artifact_id LIKE $1 || '%' LIMIT 10",
            )
            .bind(prefix)
            .fetch_all(store.pool())
            .await
            .map_err(|e| store.failed(&e))
        })?;
        let mut matches: BTreeSet<String> = ids.into_iter().map(|(id,)| id).collect();
        for release in self.releases_matching(id_or_prefix)? {
            matches.insert(release.envelope.artifact_id);
        }
        match matches.len() {
            0 => Err(artifact::not_found(id_or_prefix)),
            1 => Ok(matches.into_iter().next().unwrap_or_default()),
            _ => Err(artifact::ambiguous(id_or_prefix, &matches)),
        }
    }

    fn channels(&self) -> Result<Vec<Release>> {
        Ok(self
            .query_releases(
                "SELECT DISTINCT ON (client_id, profile_id) version, envelope, signature, key_id \
                 FROM releases ORDER BY client_id, profile_id, version DESC",
                Vec::new(),
            )?
            .into_iter()
            .map(|(_, release)| release)
            .collect())
    }

    fn release(&self, client: &str, profile: &str, version: u64) -> Result<Option<Release>> {
        check_id("client", client)?;
        check_id("profile", profile)?;
        let found = self.query_releases(
            "SELECT version, envelope, signature, key_id FROM releases \
             WHERE client_id = $1 AND profile_id = $2 AND version = $3::text::bigint",
            vec![client.to_owned(), profile.to_owned(), version.to_string()],
        )?;
        Ok(found
            .into_iter()
            .map(|(_, release)| release)
            // The signed version decides, as in the history.
            .find(|r| r.version() == version))
    }

    fn payload_bytes(&self, artifact_id: &str) -> Result<Vec<u8>> {
        artifact::check_artifact_id(artifact_id)?;
        let store = self.store.clone();
        let id = artifact_id.to_owned();
        let body: Option<(Vec<u8>,)> = self.store.run(async move {
            sqlx::query_as("SELECT body FROM payloads WHERE artifact_id = $1")
                .bind(id)
                .fetch_optional(store.pool())
                .await
                .map_err(|e| store.failed(&e))
        })?;
        let (bytes,) = body.ok_or_else(|| artifact::not_found(artifact_id))?;
        artifact::check_payload_hash(artifact_id, &bytes)?;
        Ok(bytes)
    }
}
