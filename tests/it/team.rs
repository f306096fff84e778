//! Team mode on a real PostgreSQL: several `serve --http --store postgres://…` replicas (each
//! its own state directory, sharing the audit key) append to one audit chain and accept the
//! same API tokens, and every replica's `/v1/events` carries every replica's audited changes
//! under the chain's sequence numbers, so a subscriber resumes on any replica with
//! `Last-Event-ID`.

use std::time::Duration;

use serde_json::json;

use crate::common::Sandbox;
use crate::http_support::{EventStream, Server};
use crate::pg::TestPg;

const WITHIN: Duration = Duration::from_secs(5);

/// A replica's home on the shared store; the first one's audit key is copied to the others.
pub(crate) fn replica(url: &str, key_from: Option<&Sandbox>) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set_env("MCP_ORCH_STORE", url);
    if let Some(first) = key_from {
        std::fs::create_dir_all(&sb.state).unwrap();
        std::fs::copy(first.state.join("audit.key"), sb.state.join("audit.key")).unwrap();
    }
    sb
}

/// Gives `to` the signing keys (and trust store) of `from`: every replica signs with the
/// team's key (docs/TEAM.md).
pub(crate) fn share_keys(from: &Sandbox, to: &Sandbox) {
    let keys = to.state.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    for entry in std::fs::read_dir(from.state.join("keys")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), keys.join(entry.file_name())).unwrap();
    }
    std::fs::copy(from.state.join("trust.json"), to.state.join("trust.json")).unwrap();
}

pub(crate) fn token(sb: &Sandbox, scope: &str, name: &str) -> String {
    sb.json_ok(&["token", "create", "--scope", scope, "--name", name])["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn stream(server: &Server, token: &str, last_id: Option<u64>) -> EventStream {
    let mut req = server.req().path("/v1/events").bearer(token);
    if let Some(id) = last_id {
        req = req.header("Last-Event-ID", &id.to_string());
    }
    let s = req.open_stream();
    assert_eq!(s.status, 200);
    s
}

/// The next event that is not a comment, as `(id, type, action)`.
fn next(s: &mut EventStream) -> (u64, String, String) {
    let e = s.next(WITHIN).expect("an event within 5 s");
    let data = e.json();
    (
        e.id.unwrap().parse().unwrap(),
        e.event,
        data["action"].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn replicas_share_one_chain_and_every_subscriber_sees_every_change() {
    let pg = TestPg::start();
    let url = pg.database("team");
    let a = replica(&url, None);
    let read_a = token(&a, "read", "a"); // seq 1: audited into the shared chain
    let b = replica(&url, Some(&a));
    let c = replica(&url, Some(&a));
    let read_b = token(&b, "read", "b"); // seq 2
    let read_c = token(&c, "read", "c"); // seq 3
    let admin_a = token(&a, "admin", "admin"); // seq 4
    let (server_a, server_b, server_c) = (
        Server::start(&a, &[]),
        Server::start(&b, &[]),
        Server::start(&c, &[]),
    );
    let mut on_b = stream(&server_b, &read_b, None);
    let mut on_c = stream(&server_c, &read_c, None);

    // A change made through replica A reaches the subscribers of B and C, numbered by the chain.
    let init = server_a.post_empty("/v1/keys/initialize", &admin_a);
    assert_eq!(init.status, 201, "{}", init.text());
    for s in [&mut on_b, &mut on_c] {
        assert_eq!(next(s), (5, "keys_changed".into(), "key.init".into()));
    }
    // One made on the command line of another machine's home, too.
    c.json_ok(&["token", "create", "--scope", "read", "--name", "ci"]);
    assert_eq!(
        next(&mut on_b),
        (6, "tokens_changed".into(), "token.create".into())
    );
    drop(on_b);
    c.json_ok(&["token", "revoke", "ci"]);
    a.json_ok(&["keys", "rotate"]);

    // B's subscriber comes back on replica A after missing two changes: nothing is lost.
    let mut resumed = stream(&server_a, &read_a, Some(6));
    assert_eq!(
        next(&mut resumed),
        (7, "tokens_changed".into(), "token.revoke".into())
    );
    assert_eq!(
        next(&mut resumed),
        (8, "keys_changed".into(), "key.rotate".into())
    );
    assert_eq!(next(&mut on_c).0, 6);

    // A replica started after those changes replays them from the store's table.
    let d = replica(&url, Some(&a));
    let read_d = token(&d, "read", "d"); // seq 9
    let server_d = Server::start(&d, &[]);
    let mut late = stream(&server_d, &read_d, Some(4));
    let ids: Vec<u64> = (0..5).map(|_| next(&mut late).0).collect();
    assert_eq!(ids, [5, 6, 7, 8, 9]);

    // One chain, verified from any replica's home.
    let report = b.json_ok(&["audit", "--verify"]);
    assert_eq!(report["ok"], json!(true), "{report}");
    assert_eq!(report["records"], json!(9));
    assert_eq!(
        pg.sql(
            "team",
            "SELECT string_agg(action, ',' ORDER BY seq) FROM audit"
        ),
        "token.create,token.create,token.create,token.create,key.init,token.create,token.revoke,key.rotate,token.create"
    );
    // The state directories hold no audit log of their own.
    for home in [&a, &b, &c, &d] {
        assert!(!home.state.join("audit.jsonl").exists());
    }
}

/// A token made on one machine works on every replica; revoked through one, it is refused by
/// the others within a second, and the streams it opened end.
#[test]
fn tokens_are_shared_and_a_revocation_holds_on_every_replica_within_a_second() {
    let pg = TestPg::start();
    let url = pg.database("team");
    let a = replica(&url, None);
    let admin = token(&a, "admin", "ops");
    let b = replica(&url, Some(&a));
    let (server_a, server_b) = (Server::start(&a, &[]), Server::start(&b, &[]));
    let dev = token(&b, "read", "dev");
    assert_eq!(server_a.get("/v1/clients", &dev).status, 200);
    let mut stream_on_a = stream(&server_a, &dev, None);
    let listed = server_b.get("/v1/audit?action=token.create", &admin);
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json()["count"], json!(2));
    assert_eq!(b.json_ok(&["token", "list"])["count"], json!(2));
    let revoked = std::time::Instant::now();
    b.json_ok(&["token", "revoke", "dev"]);
    // Replica A ends the token's stream, then refuses it.
    assert!(stream_on_a.ends_within(Duration::from_secs(2)));
    let ended = revoked.elapsed();
    assert!(ended < Duration::from_secs(1), "{ended:?}");
    assert_eq!(server_a.get("/v1/clients", &dev).status, 401);
    assert_eq!(server_b.get("/v1/clients", &dev).status, 401);
    assert_eq!(server_a.get("/v1/clients", &admin).status, 200);
    assert!(!a.state.join("tokens.json").exists() && !b.state.join("tokens.json").exists());
}

#[test]
fn a_store_that_cannot_be_reached_or_read_is_a_clear_error() {
    let sb = Sandbox::new();
    let refused = sb.json_err(
        &[
            "--store",
            "postgres://orch:hunter2@127.0.0.1:1/orch",
            "audit",
        ],
        2,
    );
    assert_eq!(refused["code"], json!("DB_UNAVAILABLE"));
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("postgres://orch:***@127.0.0.1:1/orch"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    let invalid = sb.json_err(&["--store", "mysql://h/db", "audit"], 1);
    assert_eq!(invalid["code"], json!("INVALID_STORE"));
    assert_eq!(invalid["field"], json!("store"));
}

/// Three replicas publish as fast as they can; one is killed with SIGKILL in the middle (maybe
/// inside its append, holding the chain's lock). The others' requests keep succeeding, and
/// the chain holds every publish any replica answered, intact.
#[test]
fn a_replica_killed_under_load_leaves_the_others_serving_and_the_chain_intact() {
    let pg = TestPg::start();
    let url = pg.database("team");
    let first = replica(&url, None);
    first.json_ok(&["keys", "init"]);
    first.json_ok(&["draft", "add", "memory", "--client", "cursor"]);
    let (second, third) = (replica(&url, Some(&first)), replica(&url, Some(&first)));
    share_keys(&first, &second);
    share_keys(&first, &third);
    let homes = [first, second, third];
    let mut servers = Vec::new();
    let mut tokens = Vec::new();
    for home in &homes {
        tokens.push(token(home, "write", &format!("w{}", tokens.len())));
        servers.push(Server::start(home, &["--rate-limit", "0"]));
    }
    // Each thread reports every answer; the test kills B after its 20th and stops once A and
    // C have each answered 20 more.
    let (tx, rx) = std::sync::mpsc::channel::<(usize, u16)>();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut answered = vec![Vec::new(); 3];
    std::thread::scope(|scope| {
        for (i, (server, token)) in servers.iter().zip(&tokens).enumerate() {
            let (tx, stop) = (tx.clone(), &stop);
            scope.spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        server
                            .req()
                            .method("POST")
                            .path("/v1/config/cursor/default/publish")
                            .bearer(token)
                            .send()
                            .status
                    }));
                    match sent {
                        // The killed replica: its request in flight, or refused.
                        Ok(0) | Err(_) if i == 1 => break,
                        Ok(status) => {
                            let _ = tx.send((i, status));
                        }
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                }
            });
        }
        let mut killed_at: Option<[usize; 3]> = None;
        while let Ok((i, status)) = rx.recv_timeout(Duration::from_secs(30)) {
            answered[i].push(status);
            match killed_at {
                None if answered[1].len() >= 20 => {
                    nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(i32::try_from(servers[1].pid()).unwrap()),
                        nix::sys::signal::Signal::SIGKILL,
                    )
                    .unwrap();
                    killed_at = Some([answered[0].len(), 0, answered[2].len()]);
                }
                Some(at) if answered[0].len() >= at[0] + 20 && answered[2].len() >= at[2] + 20 => {
                    break;
                }
                _ => {}
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    // The answers that came while the threads were stopping.
    drop(tx);
    for (i, status) in rx.try_iter() {
        answered[i].push(status);
    }
    for i in [0, 2] {
        assert!(answered[i].len() >= 20, "replica {i}: {:?}", answered[i]);
        assert!(
            answered[i].iter().all(|s| *s == 201),
            "replica {i}: {:?}",
            answered[i]
        );
    }
    // Every publish a replica answered is in the one chain (the killed one's last may be too).
    let report = homes[0].json_ok(&["audit", "--verify"]);
    assert_eq!(report["ok"], json!(true), "{report}");
    let recorded: usize = pg
        .sql(
            "team",
            "SELECT count(*) FROM audit WHERE action = 'publish'",
        )
        .parse()
        .unwrap();
    let ok: usize = answered.iter().flatten().filter(|s| **s == 201).count();
    assert!(
        recorded >= ok,
        "{recorded} records for {ok} answered publishes"
    );
    assert!(
        recorded <= ok + 1,
        "{recorded} records for {ok} answered publishes"
    );
    // No lock is left: another append goes through at once.
    homes[2].json_ok(&["token", "create", "--scope", "read", "--name", "after"]);
}

/// Fifty publishes at once through two replicas, of a draft made through one of them: fifty
/// versions, none reused, each release visible and verifying through the other replica, and
/// one verifying chain holding every publish.
#[test]
fn concurrent_publishes_through_two_replicas_get_distinct_versions() {
    let pg = TestPg::start();
    let url = pg.database("team");
    let a = replica(&url, None);
    a.json_ok(&["keys", "init"]);
    let b = replica(&url, Some(&a));
    share_keys(&a, &b);
    let tokens = [token(&a, "write", "a"), token(&b, "write", "b")];
    let servers = [
        Server::start(&a, &["--rate-limit", "0"]),
        Server::start(&b, &["--rate-limit", "0"]),
    ];
    // The draft is made through A's command line; B's subscribers hear of it.
    let mut on_b = stream(&servers[1], &tokens[1], None);
    a.json_ok(&["draft", "add", "memory", "--client", "cursor"]);
    let (_, kind, action) = next(&mut on_b);
    assert_eq!(
        (kind.as_str(), action.as_str()),
        ("draft_changed", "draft.change")
    );
    drop(on_b);
    let mut versions: Vec<u64> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..10)
            .map(|t| {
                let (server, token) = (&servers[t % 2], &tokens[t % 2]);
                scope.spawn(move || {
                    (0..5)
                        .map(|_| {
                            let r = server.post_empty("/v1/config/cursor/default/publish", token);
                            assert_eq!(r.status, 201, "{}", r.text());
                            r.json()["version"].as_u64().unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    versions.sort_unstable();
    assert_eq!(versions, (1..=50).collect::<Vec<_>>());
    // Every release is visible, and verifies, through either replica.
    for (server, token) in servers.iter().zip(&tokens) {
        let history = server.get("/v1/config/cursor/default/history", token);
        assert_eq!(history.status, 200, "{}", history.text());
        let releases = history.json()["releases"].as_array().unwrap().clone();
        assert_eq!(releases.len(), 50);
        assert!(
            releases.iter().all(|r| r["verified"] == json!(true)),
            "{releases:?}"
        );
    }
    let report = b.json_ok(&["audit", "--verify"]);
    assert_eq!(report["ok"], json!(true), "{report}");
    assert_eq!(
        pg.sql(
            "team",
            "SELECT count(*) || ',' || count(DISTINCT record::jsonb ->> 'version') FROM audit WHERE action = 'publish'"
        ),
        "50,50"
    );
    // Nothing of it is in the replicas' own directories.
    for home in [&a, &b] {
        assert!(!home.state.join("artifacts").exists());
        assert!(!home.state.join("drafts").exists());
    }
}
