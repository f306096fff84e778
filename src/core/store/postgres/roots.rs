//! The team's roots in PostgreSQL (`migrations/0005_team.sql`).

use sqlx::types::Json;

use super::PgStore;
use crate::core::error::Result;
use crate::core::store::{TeamRoots, team_exists};
use crate::core::team::Signed;

/// The team roots of a PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgRoots {
    store: PgStore,
}

impl PgRoots {
    /// The roots of `store`.
    pub fn new(store: PgStore) -> Self {
        Self { store }
    }
}

impl TeamRoots for PgRoots {
    fn roots(&self) -> Result<Vec<Signed>> {
        let store = self.store.clone();
        let rows: Vec<(Json<Signed>,)> = self.store.run(async move {
            sqlx::query_as("SELECT doc FROM team_roots ORDER BY version")
                .fetch_all(store.pool())
                .await
                .map_err(|e| store.failed(&e))
        })?;
        Ok(rows.into_iter().map(|(Json(doc),)| doc).collect())
    }

    fn add_root(&self, version: u64, doc: &Signed) -> Result<()> {
        let store = self.store.clone();
        let doc = doc.clone();
        let added = self.store.run(async move {
            // The next version only: `version - 1` must exist (or none, for the first).
            let result = sqlx::query(
                "INSERT INTO team_roots (version, doc) \
                 SELECT $1, $2 WHERE (SELECT count(*) FROM team_roots) = $1 - 1",
            )
            .bind(i64::try_from(version).unwrap_or(i64::MAX))
            .bind(Json(&doc))
            .execute(store.pool())
            .await;
            match result {
                Ok(done) => Ok(done.rows_affected() == 1),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
                Err(e) => Err(store.failed(&e)),
            }
        })?;
        if added {
            Ok(())
        } else {
            Err(team_exists(version))
        }
    }
}
