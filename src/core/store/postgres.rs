//! The PostgreSQL store (team mode, docs/TEAM.md): a small pool per process, the schema
//! migrated at connect (`migrations/`, under sqlx's advisory lock, so replicas that start
//! together apply each migration once), and the [`Ledger`] on its tables.
//!
//! The core is synchronous (its file stores are), so the store runs its queries on a runtime
//! of its own (one worker thread) and the calling thread waits for the answer: callable from
//! the CLI, from blocking tasks and from async handlers alike, and the pool's sockets always
//! live on the runtime that drives them.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::types::Json;
use sqlx::{Postgres, Transaction};

mod drafts;
mod releases;
mod roots;

/// The approvals of the team's registry in PostgreSQL (`migrations/0006_approvals.sql`): one
/// document, changed under its row lock.
#[derive(Debug, Clone)]
pub struct PgApprovals {
    store: PgStore,
}

impl PgApprovals {
    /// The approvals of `store`.
    pub fn new(store: PgStore) -> Self {
        Self { store }
    }
}

impl super::Approvals for PgApprovals {
    fn all(&self) -> Result<Vec<crate::core::approvals::Approval>> {
        self.store
            .read_document("SELECT body FROM approval_file WHERE id = 1")
    }

    fn update(
        &self,
        change: &mut dyn FnMut(&mut Vec<crate::core::approvals::Approval>) -> Result<()>,
    ) -> Result<()> {
        self.store.update_document(
            "SELECT body FROM approval_file WHERE id = 1 FOR UPDATE",
            "UPDATE approval_file SET body = $1 WHERE id = 1",
            change,
        )
    }
}

pub use drafts::PgDrafts;
pub use releases::PgReleases;
pub use roots::PgRoots;

use super::Ledger;
use crate::core::audit::{
    self, AuditEvent, AuditRecord, ChainWalk, Checkpoint, Filter, GENESIS, VerifyReport,
};
use crate::core::code::Code;
use crate::core::error::{Error, Result};
use crate::core::keys::Signer;
use crate::core::next::{Hint, Op};
use crate::core::tokens::{Stamp, TokenBackend, TokenFile};

/// Connections per process: a 2-core database peaks near `2 × cores + 1` active connections,
/// and appends take turns on one row anyway (docs/TEAM.md §2.5).
const MAX_CONNECTIONS: u32 = 4;
/// How long a caller waits for a connection before `DB_UNAVAILABLE`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// The channel that wakes every replica's event listener.
pub const EVENTS_CHANNEL: &str = "orch_events";

/// A URL with its password replaced by `***`, for messages and logs.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// The store's own runtime, shut down without waiting when the store goes (it may be
/// dropped inside an async task, where a blocking shutdown is not allowed).
#[derive(Debug)]
struct DbRuntime(Option<tokio::runtime::Runtime>);

impl Drop for DbRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// A connection pool to one database, and the runtime its queries run on.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    runtime: Arc<DbRuntime>,
    /// The URL without its password.
    shown: String,
}

impl PgStore {
    /// Connects and applies the migrations the database lacks.
    ///
    /// # Errors
    /// `INVALID_STORE` for a URL that does not parse, `DB_UNAVAILABLE` when the database
    /// cannot be reached in time or refuses the migrations.
    pub fn connect(url: &str) -> Result<Self> {
        let shown = redacted(url);
        let options: PgConnectOptions = url.parse().map_err(|e| {
            Error::invalid(
                Code::InvalidStore,
                "store",
                format!("the PostgreSQL URL {shown} does not parse: {e}"),
                "write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE",
            )
        })?;
        // A replica killed inside a transaction must not hold the chain's lock for long.
        let options = options.application_name("mcp-orch").options([
            ("statement_timeout", "10s"),
            ("idle_in_transaction_session_timeout", "5s"),
        ]);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("orch-db")
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting the database runtime", e))?;
        // The pool's upkeep tasks start on the runtime that will drive its sockets.
        let entered = runtime.enter();
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        drop(entered);
        let store = Self {
            pool,
            runtime: Arc::new(DbRuntime(Some(runtime))),
            shown,
        };
        let (pool, shown) = (store.pool.clone(), store.shown.clone());
        store.run(async move {
            sqlx::migrate!("./migrations")
                .run(&pool)
                .await
                .map_err(|e| unavailable(&shown, &e.to_string()))
        })?;
        Ok(store)
    }

    /// The store for `url` this process already has, or a new one: the HTTP server reopens
    /// its core when the catalog changes, and the pool (with its runtime) outlives that.
    ///
    /// # Errors
    /// As [`PgStore::connect`].
    pub fn shared(url: &str) -> Result<Self> {
        static OPEN: std::sync::Mutex<Vec<(String, PgStore)>> = std::sync::Mutex::new(Vec::new());
        let mut open = OPEN
            .lock()
            .map_err(|_| Error::Internal("the store registry is poisoned".into()))?;
        if let Some((_, store)) = open.iter().find(|(u, _)| u == url) {
            return Ok(store.clone());
        }
        let store = Self::connect(url)?;
        open.push((url.to_owned(), store.clone()));
        Ok(store)
    }

    /// The URL, without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The pool (for the store's own modules and tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs `work` on the store's runtime and waits for its answer.
    ///
    /// # Errors
    /// What `work` returns.
    pub fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        let Some(rt) = &self.runtime.0 else {
            return Err(Error::Internal("the database runtime is gone".into()));
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv()
            .map_err(|_| Error::Internal("a database task ended without an answer".into()))?
    }

    /// Changes the one JSON document `select` reads (`... FOR UPDATE`) with `change`, on the
    /// caller's thread while the open transaction holds the row, and stores it with `update`
    /// (`$1` the document); nothing is stored when `change` fails.
    ///
    /// # Errors
    /// What `change` returns, or `DB_UNAVAILABLE`.
    pub(crate) fn update_document<T>(
        &self,
        select: &'static str,
        update: &'static str,
        change: &mut dyn FnMut(&mut T) -> Result<()>,
    ) -> Result<()>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + Unpin + 'static,
    {
        let store = self.clone();
        let (tx, mut document): (Transaction<'static, Postgres>, T) = self.run(async move {
            let mut tx = store.pool.begin().await.map_err(|e| store.failed(&e))?;
            let (Json(document),): (Json<T>,) = sqlx::query_as(select)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| store.failed(&e))?;
            Ok((tx, document))
        })?;
        let changed = change(&mut document);
        let store = self.clone();
        // Back on the runtime whatever happened: the transaction (and its connection) must be
        // rolled back or committed where its socket lives.
        self.run(async move {
            let mut tx = tx;
            if let Err(e) = changed {
                tx.rollback().await.map_err(|e| store.failed(&e))?;
                return Err(e);
            }
            sqlx::query(update)
                .bind(Json(&document))
                .execute(&mut *tx)
                .await
                .map_err(|e| store.failed(&e))?;
            tx.commit().await.map_err(|e| store.failed(&e))
        })
    }

    /// Reads the one JSON document `select` reads.
    ///
    /// # Errors
    /// `DB_UNAVAILABLE`.
    pub(crate) fn read_document<T>(&self, select: &'static str) -> Result<T>
    where
        T: serde::de::DeserializeOwned + Send + Unpin + 'static,
    {
        let store = self.clone();
        self.run(async move {
            let (Json(document),): (Json<T>,) = sqlx::query_as(select)
                .fetch_one(&store.pool)
                .await
                .map_err(|e| store.failed(&e))?;
            Ok(document)
        })
    }

    /// `DB_UNAVAILABLE` for a failed query, naming the database but not its password.
    pub(crate) fn failed(&self, e: &sqlx::Error) -> Error {
        unavailable(&self.shown, &e.to_string())
    }
}

fn unavailable(shown: &str, what: &str) -> Error {
    Error::invalid(
        Code::DbUnavailable,
        "store",
        format!("the PostgreSQL store {shown} failed: {what}"),
        "check that PostgreSQL is running and reachable at that address, then retry",
    )
}

/// The audit chain in PostgreSQL: `audit` rows under the signed checkpoint in `chain_head`,
/// written in one transaction with each record's row in `events`.
#[derive(Debug, Clone)]
pub struct PgLedger {
    store: PgStore,
    signer: Arc<Signer>,
}

/// What `chain_head` holds.
enum HeadRow {
    /// The row itself is gone.
    Gone,
    /// No checkpoint yet (nothing appended).
    Empty,
    /// The signed checkpoint of the last append.
    Signed(Checkpoint),
}

/// The head row and the last record, as read under the lock (or in one snapshot).
struct Head {
    row: HeadRow,
    /// The last record's sequence number and hash.
    last: (u64, String),
}

impl PgLedger {
    /// The ledger of `store`, its head signed with `signer` (the audit key every replica
    /// shares).
    pub fn new(store: PgStore, signer: Signer) -> Self {
        Self {
            store,
            signer: Arc::new(signer),
        }
    }

    /// Appends `events` inside `tx` (the caller commits): a publish commits its release and
    /// its audit record together.
    pub(crate) async fn append_in(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        events: Vec<(AuditEvent, DateTime<Utc>)>,
    ) -> Result<Vec<AuditRecord>> {
        let store = &self.store;
        // The one lock every append takes: the next appender reads this one's tip.
        let head = read_head(tx, true).await.map_err(|e| store.failed(&e))?;
        if let Some((_, problem)) = self.head_problem(&head) {
            return Err(self.corrupt(&problem));
        }
        let records = audit::chain(events, head.last.0, head.last.1)?;
        for record in &records {
            let text = serde_json::to_string(record).map_err(|e| Error::Internal(e.to_string()))?;
            sqlx::query(
                "INSERT INTO audit (seq, prev_hash, hash, at, action, actor, client_id, profile_id, record) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(seq_column(record.seq))
            .bind(&record.prev_hash)
            .bind(&record.hash)
            .bind(record.ts)
            .bind(&record.event.action)
            .bind(&record.event.actor)
            .bind(&record.event.client_id)
            .bind(&record.event.profile_id)
            .bind(&text)
            .execute(&mut **tx)
            .await
            .map_err(|e| store.failed(&e))?;
            sqlx::query("INSERT INTO events (id, at, kind, data) VALUES ($1, $2, $3, $4::jsonb)")
                .bind(seq_column(record.seq))
                .bind(record.ts)
                .bind(&record.event.action)
                .bind(&text)
                .execute(&mut **tx)
                .await
                .map_err(|e| store.failed(&e))?;
        }
        let last = records
            .last()
            .ok_or_else(|| Error::Internal("an append made no record".into()))?;
        let mut checkpoint = Checkpoint {
            seq: last.seq,
            hash: last.hash.clone(),
            // Records and head commit together: there is no append in progress to name.
            prev_seq: last.seq,
            prev_hash: last.hash.clone(),
            ts: last.ts,
            key_id: String::new(),
            public_key: String::new(),
            signature: String::new(),
        };
        checkpoint.sign(&self.signer)?;
        sqlx::query("UPDATE chain_head SET checkpoint = $1 WHERE id = 1")
            .bind(Json(&checkpoint))
            .execute(&mut **tx)
            .await
            .map_err(|e| store.failed(&e))?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(EVENTS_CHANNEL)
            .bind(format!("{{\"id\":{}}}", last.seq))
            .execute(&mut **tx)
            .await
            .map_err(|e| store.failed(&e))?;
        Ok(records)
    }

    /// The store it appends to.
    pub fn store(&self) -> &PgStore {
        &self.store
    }

    fn corrupt(&self, what: &str) -> Error {
        Error::invalid(
            Code::AuditCorrupt,
            "audit",
            format!(
                "the audit chain in {} is damaged: {what}; nothing was done",
                self.store.shown
            ),
            Hint::step(
                "see where the chain breaks with `mcp-orch audit --verify`; restore the database from a backup",
                Op::VerifyAudit,
                &[],
            ),
        )
    }

    /// The head and the last record, as of one moment.
    fn current_head(&self) -> Result<Head> {
        let store = self.store.clone();
        self.store.run(async move {
            let mut tx = snapshot(&store.pool).await.map_err(|e| store.failed(&e))?;
            read_head(&mut tx, false)
                .await
                .map_err(|e| store.failed(&e))
        })
    }

    fn head_problem(&self, head: &Head) -> Option<(&'static str, String)> {
        let (seq, hash) = (head.last.0, head.last.1.as_str());
        match &head.row {
            HeadRow::Gone => Some((
                "head_missing",
                "the chain's head row is gone from chain_head".into(),
            )),
            HeadRow::Empty if seq == 0 => None,
            HeadRow::Empty => Some((
                "head_missing",
                format!("the chain has {seq} records but its signed head is gone"),
            )),
            HeadRow::Signed(checkpoint) => {
                audit::signed_head_problem(checkpoint, Some(self.signer.key_id()), seq, hash)
            }
        }
    }
}

/// A read-only transaction that sees one snapshot: the head and the records as of the same
/// moment, whatever other replicas commit meanwhile.
async fn snapshot(pool: &PgPool) -> sqlx::Result<Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

async fn read_head(tx: &mut Transaction<'_, Postgres>, lock: bool) -> sqlx::Result<Head> {
    let query = if lock {
        "SELECT checkpoint FROM chain_head WHERE id = 1 FOR UPDATE"
    } else {
        "SELECT checkpoint FROM chain_head WHERE id = 1"
    };
    let row: Option<(Option<Json<Checkpoint>>,)> =
        sqlx::query_as(query).fetch_optional(&mut **tx).await?;
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?;
    Ok(Head {
        row: match row {
            None => HeadRow::Gone,
            Some((None,)) => HeadRow::Empty,
            Some((Some(Json(checkpoint)),)) => HeadRow::Signed(checkpoint),
        },
        last: last.map_or_else(
            || (0, GENESIS.to_owned()),
            |(seq, hash)| (u64::try_from(seq).unwrap_or(0), hash),
        ),
    })
}

fn seq_column(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// How often a follower looks for new records without a notification (a lost one, or a
/// listener reconnecting).
const FOLLOW_TICK: Duration = Duration::from_secs(5);
/// Records a follower reads per query.
const FOLLOW_BATCH: i64 = 500;

async fn records_after(pool: &PgPool, after: u64, limit: i64) -> sqlx::Result<Vec<AuditRecord>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT record FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(seq_column(after))
            .bind(limit)
            .fetch_all(pool)
            .await?;
    Ok(parsed(&rows))
}

/// The records of `record` rows; as the file store does, one that does not parse is left to
/// `verify`.
fn parsed(rows: &[(String,)]) -> Vec<AuditRecord> {
    rows.iter()
        .filter_map(|(text,)| serde_json::from_str(text).ok())
        .collect()
}

impl Ledger for PgLedger {
    fn records_after(&self, after: u64, limit: usize) -> Result<Option<Vec<AuditRecord>>> {
        let store = self.store.clone();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.store
            .run(async move {
                records_after(&store.pool, after, limit)
                    .await
                    .map_err(|e| store.failed(&e))
            })
            .map(Some)
    }

    fn follow(
        &self,
        deliver: Box<dyn Fn(AuditRecord) + Send + Sync>,
        stop: tokio_util::sync::CancellationToken,
    ) -> Result<Option<u64>> {
        let store = self.store.clone();
        let start = self.store.run(async move {
            let (max,): (Option<i64>,) = sqlx::query_as("SELECT max(seq) FROM audit")
                .fetch_one(&store.pool)
                .await
                .map_err(|e| store.failed(&e))?;
            Ok(max.map_or(0, |m| u64::try_from(m).unwrap_or(0)))
        })?;
        let Some(rt) = &self.store.runtime.0 else {
            return Err(Error::Internal("the database runtime is gone".into()));
        };
        let pool = self.store.pool.clone();
        rt.spawn(async move {
            let mut last = start;
            let mut listener: Option<sqlx::postgres::PgListener> = None;
            loop {
                if listener.is_none() {
                    // Listening before catching up: nothing committed in between is missed.
                    if let Ok(mut l) = sqlx::postgres::PgListener::connect_with(&pool).await
                        && l.listen(EVENTS_CHANNEL).await.is_ok()
                    {
                        listener = Some(l);
                    }
                }
                let batch = records_after(&pool, last, FOLLOW_BATCH)
                    .await
                    .unwrap_or_default();
                let full = batch.len() == usize::try_from(FOLLOW_BATCH).unwrap_or(usize::MAX);
                for record in batch {
                    last = record.seq;
                    deliver(record);
                }
                if full {
                    continue;
                }
                let woken = async {
                    // `Ok(None)`: the connection was lost (what was sent meanwhile is caught
                    // up above, after reconnecting).
                    if let Some(l) = listener.as_mut() {
                        matches!(l.try_recv().await, Ok(Some(_)))
                    } else {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        false
                    }
                };
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(FOLLOW_TICK) => {}
                    notified = woken => {
                        if !notified {
                            listener = None;
                        }
                    }
                }
            }
        });
        Ok(Some(start))
    }

    fn check_appendable(&self) -> Result<()> {
        let head = self.current_head()?;
        match self.head_problem(&head) {
            Some((_, problem)) => Err(self.corrupt(&problem)),
            None => Ok(()),
        }
    }

    fn append_all(&self, events: Vec<(AuditEvent, DateTime<Utc>)>) -> Result<Vec<AuditRecord>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let this = self.clone();
        self.store.run(async move {
            let store = &this.store;
            let mut tx = store.pool.begin().await.map_err(|e| store.failed(&e))?;
            let records = this.append_in(&mut tx, events).await?;
            tx.commit().await.map_err(|e| store.failed(&e))?;
            Ok(records)
        })
    }

    fn read(&self, filter: &Filter) -> Result<Vec<AuditRecord>> {
        let (store, filter) = (self.store.clone(), filter.clone());
        self.store.run(async move {
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT record FROM audit \
                 WHERE ($1::text IS NULL OR client_id = $1) AND ($2::text IS NULL OR profile_id = $2) \
                 AND ($3::text IS NULL OR action = $3) AND ($4::timestamptz IS NULL OR at >= $4) \
                 ORDER BY seq",
            )
            .bind(&filter.client)
            .bind(&filter.profile)
            .bind(&filter.action)
            .bind(filter.since)
            .fetch_all(&store.pool)
            .await
            .map_err(|e| store.failed(&e))?;
            Ok(parsed(&rows))
        })
    }

    fn verify_with(&self, exported: Option<&Checkpoint>) -> Result<VerifyReport> {
        let this = self.clone();
        let exported = exported.cloned();
        self.store.run(async move {
            let store = &this.store;
            // One snapshot: the records and the head as of the same moment.
            let mut tx = snapshot(&store.pool).await.map_err(|e| store.failed(&e))?;
            let mut walk = ChainWalk::default();
            let mut holds_export = false;
            let mut n = 0;
            {
                let mut rows =
                    sqlx::query_as::<_, (String,)>("SELECT record FROM audit ORDER BY seq")
                        .fetch(&mut *tx);
                while let Some((text,)) = rows.try_next().await.map_err(|e| store.failed(&e))? {
                    n += 1;
                    let record =
                        serde_json::from_str::<AuditRecord>(&text).map_err(|e| e.to_string());
                    if let (Ok(r), Some(head)) = (&record, &exported) {
                        holds_export |= r.seq == head.seq && r.hash == head.hash;
                    }
                    walk.step(n, record)?;
                }
            }
            let head = read_head(&mut tx, false)
                .await
                .map_err(|e| store.failed(&e))?;
            let tip = Head {
                row: head.row,
                last: (walk.tip_seq(), walk.tip_hash.clone()),
            };
            walk.head(n, this.head_problem(&tip));
            if let Some(problem) = exported
                .as_ref()
                .and_then(|h| audit::export_problem(h, holds_export))
            {
                walk.problems.push(problem);
            }
            Ok(walk.report())
        })
    }

    fn export_head(&self) -> Result<Checkpoint> {
        let head = self.current_head()?;
        if let Some((_, problem)) = self.head_problem(&head) {
            return Err(self.corrupt(&problem));
        }
        match head.row {
            HeadRow::Signed(checkpoint) => Ok(checkpoint),
            _ => Err(Error::invalid(
                Code::AuditCorrupt,
                "audit",
                "the audit chain has no signed head yet",
                "run any command that records something, then export",
            )),
        }
    }
}

/// How long a replica trusts the tokens' revision before reading it again: a token revoked
/// through one replica is refused by the others within this.
const TOKEN_CHECK: Duration = Duration::from_millis(250);

/// The API tokens in PostgreSQL: the token file as one row (`token_file`), changed under its
/// row lock, with a revision that rises with every change.
#[derive(Debug, Clone)]
pub struct PgTokens {
    store: PgStore,
}

impl PgTokens {
    /// The tokens of `store`.
    pub fn new(store: PgStore) -> Self {
        Self { store }
    }
}

impl TokenBackend for PgTokens {
    fn load(&self) -> Result<TokenFile> {
        self.store
            .read_document("SELECT body FROM token_file WHERE id = 1")
    }

    fn update(&self, change: &mut dyn FnMut(&mut TokenFile) -> Result<()>) -> Result<()> {
        self.store.update_document(
            "SELECT body FROM token_file WHERE id = 1 FOR UPDATE",
            "UPDATE token_file SET body = $1, revision = revision + 1 WHERE id = 1",
            change,
        )
    }

    fn stamp(&self) -> Option<Stamp> {
        let store = self.store.clone();
        self.store
            .run(async move {
                let (revision,): (i64,) =
                    sqlx::query_as("SELECT revision FROM token_file WHERE id = 1")
                        .fetch_one(&store.pool)
                        .await
                        .map_err(|e| store.failed(&e))?;
                Ok((u128::try_from(revision).unwrap_or(0), 0, 0))
            })
            .ok()
    }

    fn stamp_ttl(&self) -> Duration {
        TOKEN_CHECK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redacted("postgres://orch:s3cret@db:5432/orch"),
            "postgres://orch:***@db:5432/orch"
        );
        assert_eq!(
            redacted("postgres://orch@db/orch"),
            "postgres://orch@db/orch"
        );
        assert_eq!(redacted("postgres://db/orch"), "postgres://db/orch");
        assert_eq!(
            redacted("postgres://u:p@ss@db/x?sslmode=require"),
            "postgres://u:***@db/x?sslmode=require"
        );
    }
}
