//! One suite of store behaviour, run against both stores: the state directory's files and a
//! real PostgreSQL (team mode). Each test opens several handles on one store, as several
//! processes or replicas would, and tampers with the store the way someone with write access
//! to it could (editing the files; SQL as the database owner, past the append-only trigger).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, Utc};
use ed25519_dalek::SigningKey;
use mcp_orch::core::artifact::Release;
use mcp_orch::core::audit::{AuditEvent, AuditLog, AuditRecord, Checkpoint, Filter, GENESIS};
use mcp_orch::core::env::{Environment, Os};
use mcp_orch::core::keys::Signer;
use mcp_orch::core::orchestrator::{AddServer, Options, Orchestrator, RootPlan, SystemClock};
use mcp_orch::core::store::Ledger;
use mcp_orch::core::store::postgres::{PgLedger, PgStore};
use mcp_orch::core::team;
use sha2::{Digest, Sha256};

use crate::pg::TestPg;

/// One store, whichever kind.
trait Harness {
    /// A new handle on the store (another process, another replica).
    fn ledger(&self) -> Arc<dyn Ledger>;
    /// Removes every record after `keep`, and the signed head with them.
    fn cut_and_drop_head(&self, keep: u64);
    /// Replaces the records with `records`, leaving the head as it is.
    fn replace_records(&self, records: &[AuditRecord]);
    /// Puts `head` back as the signed head.
    fn put_head(&self, head: &Checkpoint);
    /// `n` orchestrators on the store (processes, replicas), sharing one signing key, each
    /// with memory in the draft of cursor/default.
    fn orchestrators(&self, n: usize) -> Vec<Orchestrator>;
    /// Overwrites the stored bytes of a payload.
    fn tamper_payload(&self, artifact_id: &str, bytes: &[u8]);
    /// Whether its orchestrators have homes of their own (replicas on other machines).
    fn separate_homes(&self) -> bool;
}

/// A prepared state directory: a signing key and a draft to publish.
fn prepared_home(root: &Path, store: Option<&str>) -> Orchestrator {
    let orch = open_at(root, store);
    orch.init_keys(false, "test").unwrap();
    orch.add_server(&AddServer {
        client: "cursor".into(),
        profile: "default".into(),
        server_id: "memory".into(),
        ..AddServer::default()
    })
    .unwrap();
    orch
}

fn open_at(root: &Path, store: Option<&str>) -> Orchestrator {
    Orchestrator::open(Options {
        home: root.join("state"),
        env: Environment::synthetic(root.join("home"), Os::Linux, &[]),
        launcher: "/usr/local/bin/mcp-orch".into(),
        clock: Arc::new(SystemClock),
        store: store.map(str::to_owned),
    })
    .unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn log(&self) -> AuditLog {
        AuditLog::new(
            self.dir.path().join("audit.jsonl"),
            self.dir.path().join("locks/audit.lock"),
        )
    }
}

impl Harness for Files {
    fn separate_homes(&self) -> bool {
        false
    }

    fn orchestrators(&self, n: usize) -> Vec<Orchestrator> {
        let mut out = vec![prepared_home(self.dir.path(), None)];
        out.extend((1..n).map(|_| open_at(self.dir.path(), None)));
        out
    }

    fn tamper_payload(&self, artifact_id: &str, bytes: &[u8]) {
        let path = self
            .dir
            .path()
            .join(format!("state/artifacts/payloads/{artifact_id}.json"));
        std::fs::write(path, bytes).unwrap();
    }

    fn ledger(&self) -> Arc<dyn Ledger> {
        Arc::new(self.log())
    }

    fn cut_and_drop_head(&self, keep: u64) {
        let path = self.dir.path().join("audit.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut kept = String::new();
        for line in text.lines().take(usize::try_from(keep).unwrap()) {
            kept.push_str(line);
            kept.push('\n');
        }
        std::fs::write(&path, kept).unwrap();
        std::fs::remove_file(self.dir.path().join("audit.head")).unwrap();
    }

    fn replace_records(&self, records: &[AuditRecord]) {
        let mut text = String::new();
        for record in records {
            text.push_str(&serde_json::to_string(record).unwrap());
            text.push('\n');
        }
        std::fs::write(self.dir.path().join("audit.jsonl"), text).unwrap();
    }

    fn put_head(&self, head: &Checkpoint) {
        std::fs::write(
            self.dir.path().join("audit.head"),
            serde_json::to_vec(head).unwrap(),
        )
        .unwrap();
    }
}

struct Postgres {
    pg: TestPg,
    url: String,
    seed: [u8; 32],
    /// The homes of the orchestrators opened on it.
    homes: std::sync::Mutex<Vec<tempfile::TempDir>>,
}

impl Postgres {
    fn new() -> Self {
        let pg = TestPg::start();
        let url = pg.database("orch");
        Self {
            pg,
            url,
            seed: SigningKey::generate(&mut rand_core::OsRng).to_bytes(),
            homes: std::sync::Mutex::default(),
        }
    }

    /// SQL as the owner, with the append-only trigger out of the way.
    fn owner_sql(&self, sql: &str) {
        self.pg.sql(
            "orch",
            &format!("BEGIN; ALTER TABLE audit DISABLE TRIGGER USER; {sql}; ALTER TABLE audit ENABLE TRIGGER USER; COMMIT"),
        );
    }
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl Harness for Postgres {
    fn separate_homes(&self) -> bool {
        true
    }

    /// Replicas each have their own home; the first one's (keys, draft) is copied to the
    /// others, as an operator does (docs/TEAM.md).
    fn orchestrators(&self, n: usize) -> Vec<Orchestrator> {
        let mut homes = self.homes.lock().unwrap();
        let first = tempfile::tempdir().unwrap();
        let mut out = vec![prepared_home(first.path(), Some(&self.url))];
        for _ in 1..n {
            let home = tempfile::tempdir().unwrap();
            copy_dir(&first.path().join("state"), &home.path().join("state"));
            out.push(open_at(home.path(), Some(&self.url)));
            homes.push(home);
        }
        homes.push(first);
        out
    }

    fn tamper_payload(&self, artifact_id: &str, bytes: &[u8]) {
        let hex = hex::encode(bytes);
        self.pg.sql(
            "orch",
            &format!(
                "BEGIN; ALTER TABLE payloads DISABLE TRIGGER USER; UPDATE payloads SET body = '\\x{hex}' WHERE artifact_id = {}; ALTER TABLE payloads ENABLE TRIGGER USER; COMMIT",
                quote(artifact_id)
            ),
        );
    }

    fn ledger(&self) -> Arc<dyn Ledger> {
        let store = PgStore::connect(&self.url).unwrap();
        Arc::new(PgLedger::new(
            store,
            Signer::from_key(SigningKey::from_bytes(&self.seed)),
        ))
    }

    fn cut_and_drop_head(&self, keep: u64) {
        self.owner_sql(&format!(
            "DELETE FROM events WHERE id > {keep}; DELETE FROM audit WHERE seq > {keep}; UPDATE chain_head SET checkpoint = NULL"
        ));
    }

    fn replace_records(&self, records: &[AuditRecord]) {
        let mut sql = String::from("DELETE FROM events; DELETE FROM audit");
        for r in records {
            write!(
                sql,
                "; INSERT INTO audit (seq, prev_hash, hash, at, action, actor, record) VALUES ({}, {}, {}, now(), {}, {}, {})",
                r.seq,
                quote(&r.prev_hash),
                quote(&r.hash),
                quote(&r.event.action),
                quote(&r.event.actor),
                quote(&serde_json::to_string(r).unwrap()),
            )
            .unwrap();
        }
        self.owner_sql(&sql);
    }

    fn put_head(&self, head: &Checkpoint) {
        self.owner_sql(&format!(
            "UPDATE chain_head SET checkpoint = {}::jsonb",
            quote(&serde_json::to_string(head).unwrap())
        ));
    }
}

fn event(action: &str, client: &str) -> AuditEvent {
    AuditEvent::ok(action, "cli:test").target(client, "default")
}

fn append(ledger: &dyn Ledger, events: &[(&str, &str)]) -> Vec<AuditRecord> {
    ledger
        .append_all(
            events
                .iter()
                .map(|(action, client)| (event(action, client), Utc::now()))
                .collect(),
        )
        .unwrap()
}

/// The hash a forger would compute: what the store computes, without the audit key.
fn rehash(records: &mut [AuditRecord]) {
    let mut prev = GENESIS.to_owned();
    for r in records {
        r.prev_hash.clone_from(&prev);
        let mut value = serde_json::to_value(&*r).unwrap();
        value.as_object_mut().unwrap().remove("hash");
        let mut hasher = Sha256::new();
        hasher.update(r.prev_hash.as_bytes());
        hasher.update(serde_json_canonicalizer::to_vec(&value).unwrap());
        r.hash = hex::encode(hasher.finalize());
        prev.clone_from(&r.hash);
    }
}

fn problem_kinds(ledger: &dyn Ledger, exported: Option<&Checkpoint>) -> Vec<&'static str> {
    let report = ledger.verify_with(exported).unwrap();
    assert_eq!(report.ok, report.problems.is_empty());
    report.problems.iter().map(|p| p.kind).collect()
}

fn appends_chain_and_filters(store: &impl Harness) {
    let ledger = store.ledger();
    let first = append(&*ledger, &[("publish", "cursor")]);
    let more = append(&*ledger, &[("deploy", "cursor"), ("deploy", "vscode")]);
    assert_eq!(first[0].seq, 1);
    assert_eq!(first[0].prev_hash, GENESIS);
    assert_eq!(more.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(more[0].prev_hash, first[0].hash);
    assert_eq!(more[1].prev_hash, more[0].hash);

    // Another handle reads what this one wrote, exactly.
    let other = store.ledger();
    let all = other.read(&Filter::default()).unwrap();
    assert_eq!(all, [first, more.clone()].concat());
    let cursor_deploys = other
        .read(&Filter {
            client: Some("cursor".into()),
            action: Some("deploy".into()),
            ..Filter::default()
        })
        .unwrap();
    assert_eq!(cursor_deploys, [more[0].clone()]);
    let later = other
        .read(&Filter {
            since: Some(Utc::now() + Duration::hours(1)),
            ..Filter::default()
        })
        .unwrap();
    assert!(later.is_empty());

    let report = other.verify_with(None).unwrap();
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.records, 3);
    let head = other.export_head().unwrap();
    assert_eq!((head.seq, head.hash.as_str()), (3, more[1].hash.as_str()));
    assert!(other.append_all(Vec::new()).unwrap().is_empty());
}

fn a_cut_tail_without_its_head_is_caught(store: &impl Harness) {
    let ledger = store.ledger();
    append(&*ledger, &[("publish", "cursor"); 5]);
    store.cut_and_drop_head(3);
    assert_eq!(problem_kinds(&*ledger, None), ["head_missing"]);
    assert_eq!(
        ledger.check_appendable().unwrap_err().code(),
        "AUDIT_CORRUPT"
    );
    let refused = ledger
        .append_all(vec![(event("deploy", "cursor"), Utc::now())])
        .unwrap_err();
    assert_eq!(refused.code(), "AUDIT_CORRUPT");
    assert_eq!(ledger.read(&Filter::default()).unwrap().len(), 3);
}

fn a_rewritten_chain_with_recomputed_hashes_is_caught(store: &impl Harness) {
    let ledger = store.ledger();
    append(&*ledger, &[("publish", "cursor"), ("deploy", "cursor")]);
    let exported = ledger.export_head().unwrap();
    append(&*ledger, &[("deploy", "vscode"), ("rollback", "vscode")]);
    let mut records = ledger.read(&Filter::default()).unwrap();
    records[1].event.actor = "cli:mallory".into();
    rehash(&mut records);
    store.replace_records(&records);
    // The chain holds together, but the signed head names the record that was there.
    assert_eq!(problem_kinds(&*ledger, None), ["head_mismatch"]);
    assert_eq!(
        problem_kinds(&*ledger, Some(&exported)),
        ["head_mismatch", "export_mismatch"]
    );
    assert_eq!(
        ledger.check_appendable().unwrap_err().code(),
        "AUDIT_CORRUPT"
    );
}

fn an_older_head_put_back_is_caught(store: &impl Harness) {
    let ledger = store.ledger();
    append(&*ledger, &[("publish", "cursor"), ("deploy", "cursor")]);
    let old = ledger.export_head().unwrap();
    append(&*ledger, &[("deploy", "vscode")]);
    store.put_head(&old);
    assert_eq!(problem_kinds(&*ledger, None), ["head_behind"]);
    let mut forged = old;
    forged.seq = 3;
    store.put_head(&forged);
    assert_eq!(problem_kinds(&*ledger, None), ["head_forged"]);
}

/// Ten threads on two handles (two processes, two replicas) append 50 records at once, each
/// checking the chain before and exporting its head after, as operations do.
fn concurrent_appends_make_one_chain(store: &impl Harness) {
    let handles = [store.ledger(), store.ledger()];
    std::thread::scope(|scope| {
        for t in 0..10 {
            let ledger = Arc::clone(&handles[t % 2]);
            scope.spawn(move || {
                for _ in 0..5 {
                    // As every audited operation does, while the others append.
                    ledger.check_appendable().unwrap();
                    append(&*ledger, &[("publish", &format!("client{t}"))]);
                    ledger.export_head().unwrap();
                }
            });
        }
    });
    let records = handles[0].read(&Filter::default()).unwrap();
    assert_eq!(
        records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=50).collect::<Vec<_>>()
    );
    for t in 0..10 {
        let theirs = records
            .iter()
            .filter(|r| r.event.client_id.as_deref() == Some(&format!("client{t}")))
            .count();
        assert_eq!(theirs, 5, "client{t}");
    }
    let report = handles[1].verify_with(None).unwrap();
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.records, 50);
}

/// Two handles publish 50 releases of one channel at once: 50 versions, none reused, each
/// with its audit record on one verifying chain; every handle reads and verifies them all.
fn concurrent_publishes_get_distinct_versions(store: &impl Harness) {
    let handles = store.orchestrators(2);
    std::thread::scope(|scope| {
        for t in 0..10 {
            let orch = &handles[t % 2];
            scope.spawn(move || {
                for _ in 0..5 {
                    orch.publish("cursor", "default", Some(&format!("t{t}")), "test")
                        .unwrap();
                }
            });
        }
    });
    for orch in &handles {
        let history = orch.history("cursor", "default").unwrap();
        assert_eq!(
            history.iter().map(Release::version).collect::<Vec<_>>(),
            (1..=50).rev().collect::<Vec<_>>()
        );
        assert_eq!(
            orch.latest_release("cursor", "default")
                .unwrap()
                .unwrap()
                .version(),
            50
        );
        for verdict in orch.verify_releases(&history).unwrap() {
            verdict.unwrap();
        }
        let id = history[0].artifact_id();
        assert_eq!(orch.resolve_artifact(&id[..8]).unwrap(), id);
        assert_eq!(
            orch.releases_of(id).unwrap().len(),
            50,
            "one payload, 50 releases"
        );
    }
    let records = handles[1].audit_records(&Filter::default()).unwrap();
    let mut versions: Vec<u64> = records
        .iter()
        .filter(|r| r.event.action == "publish")
        .map(|r| r.event.version.unwrap())
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=50).collect::<Vec<_>>());
    let report = handles[0].verify_audit(None).unwrap();
    assert!(report.ok, "{:?}", report.problems);
}

/// A release is bound to its channel and its payload to its id, in either store.
fn releases_are_bound_and_payloads_checked(store: &impl Harness) {
    let handles = store.orchestrators(2);
    let release = handles[0]
        .publish("cursor", "default", None, "test")
        .unwrap();
    let id = release.artifact_id().to_owned();
    let other = &handles[1];
    assert_eq!(
        other.find_release("cursor", "default", &id[..8]).unwrap(),
        release
    );
    assert_eq!(
        other
            .find_release("cursor", "work", &id)
            .unwrap_err()
            .code(),
        "ARTIFACT_CLIENT_MISMATCH"
    );
    assert_eq!(
        other
            .find_release("cursor", "default", &"0".repeat(64))
            .unwrap_err()
            .code(),
        "ARTIFACT_NOT_FOUND"
    );
    assert_eq!(
        other.history("cursor", "../x").unwrap_err().code(),
        "INVALID_ID"
    );
    let payload = other.load_payload(&id).unwrap();
    assert_eq!(payload.client_id, "cursor");
    let mut altered = payload.canonical_bytes().unwrap();
    let at = altered.len() / 2;
    altered[at] ^= 1;
    store.tamper_payload(&id, &altered);
    assert_eq!(
        other.load_payload(&id).unwrap_err().code(),
        "ARTIFACT_TAMPERED"
    );
    assert_eq!(
        other.verify_release(&release).unwrap_err().code(),
        "ARTIFACT_TAMPERED"
    );
    // A publish of the same payload refuses to build on the altered bytes.
    assert_eq!(
        handles[0]
            .publish("cursor", "default", None, "test")
            .unwrap_err()
            .code(),
        "ARTIFACT_TAMPERED"
    );
}

/// Ten writers on two handles change one draft at once: no change is lost, the revision
/// counts every change, and a refused change stores nothing.
fn concurrent_draft_changes_are_all_kept(store: &impl Harness) {
    let handles = store.orchestrators(2);
    let before = handles[0].draft("cursor", "default").unwrap();
    assert_eq!(before.servers.keys().collect::<Vec<_>>(), ["memory"]);
    std::thread::scope(|scope| {
        for t in 0..10 {
            let orch = &handles[t % 2];
            scope.spawn(move || {
                for i in 0..3 {
                    orch.add_server(&AddServer {
                        client: "cursor".into(),
                        profile: "default".into(),
                        server_id: "memory".into(),
                        name: Some(format!("memory-{t}-{i}")),
                        ..AddServer::default()
                    })
                    .unwrap();
                }
            });
        }
    });
    let after = handles[1].draft("cursor", "default").unwrap();
    assert_eq!(after.servers.len(), 31);
    assert_eq!(after.revision, before.revision + 30);
    assert_eq!(
        handles[1]
            .remove_server("cursor", "default", "absent")
            .unwrap_err()
            .code(),
        "SERVER_NOT_IN_DRAFT"
    );
    assert_eq!(handles[0].draft("cursor", "default").unwrap(), after);
    assert_eq!(handles[0].clear_draft("cursor", "default").unwrap(), 31);
    assert!(
        handles[1]
            .draft("cursor", "default")
            .unwrap()
            .servers
            .is_empty()
    );
    // Another client's draft was never stored.
    assert!(
        handles[1]
            .draft("vscode", "default")
            .unwrap()
            .servers
            .is_empty()
    );
}

/// Two handles create the team's root at once: one wins, the other is told the team exists;
/// a rotation adds the next version, signed by the first, which every handle reads.
fn team_roots_are_added_once_in_order(store: &impl Harness) {
    let handles = store.orchestrators(2);
    let plan = RootPlan {
        new_root_keys: Some(1),
        threshold: Some(1),
        expires_in: chrono::Duration::days(30),
        snapshot_ttl: chrono::Duration::hours(1),
    };
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let runs: Vec<_> = handles
            .iter()
            .map(|orch| scope.spawn(|| orch.team_init(&plan, "test")))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let won: Vec<_> = outcomes.iter().filter(|o| o.is_ok()).collect();
    assert_eq!(won.len(), 1, "{outcomes:?}");
    let lost = outcomes.iter().find_map(|o| o.as_ref().err()).unwrap();
    assert_eq!(lost.code(), "TEAM_EXISTS");
    let winner = outcomes.iter().position(Result::is_ok).unwrap();
    let rotated = handles[winner]
        .team_rotate(
            &RootPlan {
                new_root_keys: None,
                threshold: None,
                ..plan.clone()
            },
            "test",
        )
        .unwrap();
    assert_eq!(rotated.root.version, 2);
    let other = &handles[1 - winner];
    let roots = other.team_roots().unwrap();
    assert_eq!(roots.len(), 2);
    let (newest, _) = team::newest_root(Some(&roots[0]), &roots, Utc::now()).unwrap();
    assert_eq!(newest, rotated.root);
    // Without the root keys, the other handle (another machine) cannot rotate.
    if store.separate_homes() {
        assert_eq!(
            other.team_rotate(&plan, "test").unwrap_err().code(),
            "KEY_NOT_FOUND"
        );
    }
}

/// Approvals made through two handles at once are all kept.
fn concurrent_approvals_are_all_kept(store: &impl Harness) {
    let handles = store.orchestrators(2);
    let ids = ["github", "git", "memory", "filesystem", "postgres", "fetch"];
    std::thread::scope(|scope| {
        for (i, id) in ids.iter().enumerate() {
            let orch = &handles[i % 2];
            scope.spawn(move || orch.approve_server(id, None, "test").unwrap());
        }
    });
    let mut names: Vec<String> = handles[1]
        .approvals()
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    names.sort();
    let mut expected: Vec<String> = ids.iter().map(|id| format!("local/{id}")).collect();
    expected.sort();
    assert_eq!(names, expected);
}

macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod files {
            $(#[test] fn $name() { super::$name(&super::Files::new()); })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(&super::Postgres::new()); })*
        }
    };
}

both_stores!(
    appends_chain_and_filters,
    a_cut_tail_without_its_head_is_caught,
    a_rewritten_chain_with_recomputed_hashes_is_caught,
    an_older_head_put_back_is_caught,
    concurrent_appends_make_one_chain,
    concurrent_publishes_get_distinct_versions,
    releases_are_bound_and_payloads_checked,
    concurrent_draft_changes_are_all_kept,
    team_roots_are_added_once_in_order,
    concurrent_approvals_are_all_kept,
);

/// PostgreSQL only: the application cannot edit the log, and every record has its event row
/// under the same number, gap-free.
#[test]
fn postgres_log_is_append_only_and_events_follow_it() {
    let store = Postgres::new();
    let ledger = store.ledger();
    append(&*ledger, &[("publish", "cursor"), ("deploy", "cursor")]);
    append(&*ledger, &[("deploy", "vscode")]);
    for sql in [
        "UPDATE audit SET actor = 'x'",
        "DELETE FROM audit",
        "TRUNCATE audit CASCADE",
    ] {
        let e = store.pg.try_sql("orch", sql).unwrap_err();
        assert!(e.contains("table audit is append-only"), "{sql}: {e}");
    }
    assert_eq!(
        store.pg.sql(
            "orch",
            "SELECT string_agg(id::text || ':' || kind, ',' ORDER BY id) FROM events"
        ),
        "1:publish,2:deploy,3:deploy"
    );
    assert_eq!(
        store.pg.sql(
            "orch",
            "SELECT count(*) FROM events e JOIN audit a ON a.seq = e.id WHERE e.data->>'hash' = a.hash"
        ),
        "3"
    );
}
