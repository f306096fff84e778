//! Drafts in PostgreSQL (`migrations/0004_drafts.sql`). A change holds the draft's row lock
//! from its read to its write, so changes through any number of replicas take turns and none
//! is lost; the change itself runs on the caller's thread, between the two. Each change is
//! also a `draft.change` record on the audit chain, in the same transaction: that is how the
//! other replicas' event streams learn of it (`draft_changed`, resumable like every event).

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{Postgres, Transaction};

use super::{PgLedger, PgStore};
use crate::core::audit::AuditEvent;
use crate::core::draft::{Draft, check_id};
use crate::core::error::Result;
use crate::core::store::Drafts;

/// The drafts of a PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgDrafts {
    store: PgStore,
    ledger: PgLedger,
    /// Who changes drafts through this handle, as the audit records it.
    actor: String,
}

impl PgDrafts {
    /// The drafts of `ledger`'s store, each change recorded on its chain as `actor`'s.
    pub fn new(ledger: PgLedger, actor: String) -> Self {
        Self {
            store: ledger.store().clone(),
            ledger,
            actor,
        }
    }

    fn stored(&self, client: &str, profile: &str) -> Result<Option<Draft>> {
        check_id("client", client)?;
        check_id("profile", profile)?;
        let store = self.store.clone();
        let (c, p) = (client.to_owned(), profile.to_owned());
        let row: Option<(Json<Draft>,)> = self.store.run(async move {
            sqlx::query_as("SELECT body FROM drafts WHERE client_id = $1 AND profile_id = $2")
                .bind(c)
                .bind(p)
                .fetch_optional(store.pool())
                .await
                .map_err(|e| store.failed(&e))
        })?;
        Ok(row.map(|(Json(draft),)| draft))
    }
}

impl Drafts for PgDrafts {
    fn exists(&self, client: &str, profile: &str) -> bool {
        matches!(self.stored(client, profile), Ok(Some(_)))
    }

    fn load(&self, client: &str, profile: &str) -> Result<Draft> {
        Ok(self
            .stored(client, profile)?
            .unwrap_or_else(|| Draft::empty(client, profile)))
    }

    fn update(
        &self,
        client: &str,
        profile: &str,
        now: DateTime<Utc>,
        change: &mut dyn FnMut(&mut Draft) -> Result<()>,
    ) -> Result<Draft> {
        check_id("client", client)?;
        check_id("profile", profile)?;
        let store = self.store.clone();
        let (c, p) = (client.to_owned(), profile.to_owned());
        let (tx, stored): (Transaction<'static, Postgres>, Option<Draft>) =
            self.store.run(async move {
                let failed = |e: sqlx::Error| store.failed(&e);
                let mut tx = store.pool().begin().await.map_err(failed)?;
                // An empty row to lock when there is no draft yet (gone again on rollback).
                sqlx::query(
                    "INSERT INTO drafts (client_id, profile_id, body) VALUES ($1, $2, 'null') \
                     ON CONFLICT DO NOTHING",
                )
                .bind(&c)
                .bind(&p)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
                let (Json(body),): (Json<Option<Draft>>,) = sqlx::query_as(
                    "SELECT body FROM drafts WHERE client_id = $1 AND profile_id = $2 FOR UPDATE",
                )
                .bind(&c)
                .bind(&p)
                .fetch_one(&mut *tx)
                .await
                .map_err(failed)?;
                Ok((tx, body))
            })?;
        let mut draft = stored.unwrap_or_else(|| Draft::empty(client, profile));
        let changed = change(&mut draft).map(|()| {
            draft.revision += 1;
            draft.updated_at = Some(now);
            draft
        });
        let store = self.store.clone();
        let ledger = self.ledger.clone();
        let (c, p) = (client.to_owned(), profile.to_owned());
        let event = AuditEvent::ok("draft.change", &self.actor).target(client, profile);
        // The transaction ends on the store's runtime, committed or rolled back.
        self.store.run(async move {
            let failed = |e: sqlx::Error| store.failed(&e);
            let mut tx = tx;
            match changed {
                Ok(draft) => {
                    sqlx::query(
                        "UPDATE drafts SET body = $3 WHERE client_id = $1 AND profile_id = $2",
                    )
                    .bind(&c)
                    .bind(&p)
                    .bind(Json(&draft))
                    .execute(&mut *tx)
                    .await
                    .map_err(failed)?;
                    let event = event.details(serde_json::json!({
                        "revision": draft.revision,
                        "server_count": draft.servers.len(),
                    }));
                    ledger.append_in(&mut tx, vec![(event, now)]).await?;
                    tx.commit().await.map_err(failed)?;
                    Ok(draft)
                }
                Err(e) => {
                    tx.rollback().await.map_err(failed)?;
                    Err(e)
                }
            }
        })
    }

    fn all(&self) -> Result<Vec<Draft>> {
        let store = self.store.clone();
        let rows: Vec<(Json<Option<Draft>>,)> = self.store.run(async move {
            sqlx::query_as("SELECT body FROM drafts ORDER BY client_id, profile_id")
                .fetch_all(store.pool())
                .await
                .map_err(|e| store.failed(&e))
        })?;
        Ok(rows.into_iter().filter_map(|(Json(d),)| d).collect())
    }

    fn delete(&self, client: &str, profile: &str) -> Result<()> {
        check_id("client", client)?;
        check_id("profile", profile)?;
        let store = self.store.clone();
        let (c, p) = (client.to_owned(), profile.to_owned());
        self.store.run(async move {
            sqlx::query("DELETE FROM drafts WHERE client_id = $1 AND profile_id = $2")
                .bind(c)
                .bind(p)
                .execute(store.pool())
                .await
                .map_err(|e| store.failed(&e))?;
            Ok(())
        })
    }
}
