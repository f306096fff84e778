//! Team mode end to end (docs/TEAM.md): a team server on PostgreSQL, a developer HOME that
//! pins its root, pulls, verifies and deploys for three clients; every attack on the way
//! refused with its own code by a machine-in-the-middle (a proxy that answers chosen paths
//! with forged or replayed bodies); a root rotation accepted; `pull --watch` applying a
//! publish within a second.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use mcp_orch::core::keys::Signer;
use mcp_orch::core::team::{PulledRelease, Signed, Snapshot};
use serde_json::{Value, json};

use crate::common::Sandbox;
use crate::http_support::Server;
use crate::pg::TestPg;
use crate::team::{replica, token};

const CLIENTS: [&str; 3] = ["cursor", "vscode", "claude-code"];

/// A machine in the middle: forwards every request to the team server, except the paths it
/// was told to answer itself.
struct Proxy {
    port: u16,
    forged: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Proxy {
    fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let forged: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
        let answers = forged.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let answers = answers.clone();
                std::thread::spawn(move || relay(conn, upstream, &answers));
            }
        });
        Self { port, forged }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Answers `path` with `body` (200, JSON) from now on.
    fn forge(&self, path: &str, body: &impl serde::Serialize) {
        self.forged
            .lock()
            .unwrap()
            .insert(path.to_owned(), serde_json::to_string(body).unwrap());
    }

    fn honest(&self) {
        self.forged.lock().unwrap().clear();
    }
}

fn relay(mut conn: TcpStream, upstream: u16, forged: &Mutex<BTreeMap<String, String>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if !line.to_ascii_lowercase().starts_with("connection:") {
            head.push(line);
        }
    }
    let path = head[0].split_whitespace().nth(1).unwrap_or("/").to_owned();
    let canned = forged.lock().unwrap().get(&path).cloned();
    if let Some(body) = canned {
        let _ = write!(
            conn,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        return;
    }
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
    let mut request = head.concat();
    request.push_str("connection: close\r\n\r\n");
    up.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = up.read_to_end(&mut answer);
    let _ = conn.write_all(&answer);
}

/// The team: one replica on PostgreSQL with a root, and a release of memory for each client.
struct Team {
    _pg: TestPg,
    home: Sandbox,
    server: Server,
    token: String,
    fingerprint: String,
}

impl Team {
    fn start() -> Self {
        let pg = TestPg::start();
        let home = replica(&pg.database("team"), None);
        home.json_ok(&["keys", "init"]);
        let root = home.json_ok(&["team", "init"]);
        for client in CLIENTS {
            home.json_ok(&["draft", "add", "memory", "--client", client]);
            home.json_ok(&["publish", "--client", client]);
        }
        let token = token(&home, "read", "developers");
        let server = Server::start(&home, &[]);
        Self {
            _pg: pg,
            home,
            server,
            token,
            fingerprint: root["fingerprint"].as_str().unwrap().to_owned(),
        }
    }

    fn publish(&self, client: &str, server: &str) {
        self.home
            .json_ok(&["draft", "add", server, "--client", client]);
        self.home.json_ok(&["publish", "--client", client]);
    }

    /// `remote add team URL --token … --root ROOT`.
    fn add_remote<'a>(&'a self, url: &'a str, root: &'a str) -> [&'a str; 8] {
        [
            "remote",
            "add",
            "team",
            url,
            "--token",
            &self.token,
            "--root",
            root,
        ]
    }

    fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let r = self.server.get(path, &self.token);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        serde_json::from_str(&r.text()).unwrap()
    }

    /// The release key, as an attacker who stole it (or the operator) holds it.
    fn release_key(&self) -> Signer {
        let keys = self.home.state.join("keys");
        let id = std::fs::read_to_string(keys.join("current")).unwrap();
        Signer::read(&keys.join(format!("{}.key", id.trim())))
            .unwrap()
            .unwrap()
    }
}

/// A developer machine, each client's file pinned in its sandbox.
fn developer() -> (Sandbox, BTreeMap<&'static str, PathBuf>) {
    let mut dev = Sandbox::new();
    let mut files = BTreeMap::new();
    for client in CLIENTS {
        let file = dev.root.join(format!("{client}.json"));
        dev.pin_client(client, &file);
        files.insert(client, file);
    }
    (dev, files)
}

fn deployed_versions(dev: &Sandbox) -> BTreeMap<String, Value> {
    let status = dev.json_ok(&["status"]);
    status["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["client_id"].as_str().unwrap().to_owned(),
                t["deployed_version"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_developer_pulls_verifies_and_deploys_and_every_attack_is_refused() {
    let team = Team::start();
    let proxy = Proxy::start(team.server.port);
    let (dev, files) = developer();

    // Pinning: a wrong fingerprint is refused, the right one (a prefix) accepted.
    let wrong = dev.user_error(
        &team.add_remote(&proxy.url(), &"0".repeat(16)),
        "UNTRUSTED_KEY",
    );
    assert!(
        wrong["message"]
            .as_str()
            .unwrap()
            .contains(&team.fingerprint),
        "{wrong}"
    );
    let added = dev.json_ok(&team.add_remote(&proxy.url(), &team.fingerprint[..16]));
    assert_eq!(added["fingerprint"], json!(team.fingerprint));
    assert!(
        !dev.run(&["remote", "list", "--json"])
            .stdout
            .contains(&team.token)
    );

    // The first pull deploys all three; the second finds them up to date.
    let report = dev.json_ok(&["pull"]);
    let statuses: Vec<(&str, &str)> = report["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["client_id"].as_str().unwrap(),
                c["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("claude-code", "deployed"),
            ("cursor", "deployed"),
            ("vscode", "deployed")
        ]
    );
    for (client, file) in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(text.contains("memory"), "{client}: {text}");
    }
    let again = dev.json_ok(&["pull", "--client", "cursor"]);
    assert_eq!(again["channels"][0]["status"], json!("up_to_date"));
    let before = deployed_versions(&dev);
    let snapshot_v1: Signed = team.get("/v1/team/snapshot");
    let cursor_v1: PulledRelease = team.get("/v1/team/releases/cursor/default/1");

    // The team publishes cursor v2; its honest answers, kept for forging.
    team.publish("cursor", "sequential-thinking");
    let snapshot_v2: Signed = team.get("/v1/team/snapshot");
    let cursor_v2: PulledRelease = team.get("/v1/team/releases/cursor/default/2");
    // Refused with `code`, and nothing deployed.
    let refused = |code: &str, deployed: &BTreeMap<String, Value>| {
        let err = dev.json_err(&["pull"], 1);
        assert_eq!(err["code"], json!(code), "{err:#}");
        assert_eq!(
            &deployed_versions(&dev),
            deployed,
            "{code}: nothing deployed"
        );
        proxy.honest();
    };

    // Tampered artifact: the payload's bytes changed on the way.
    let mut tampered = cursor_v2.clone();
    tampered.payload = tampered.payload.replace("memory", "memorx");
    proxy.forge("/v1/team/releases/cursor/default/2", &tampered);
    refused("ARTIFACT_TAMPERED", &before);

    // Another channel's (validly signed) release in the answer for cursor.
    let vscode_v1: PulledRelease = team.get("/v1/team/releases/vscode/default/1");
    proxy.forge("/v1/team/releases/cursor/default/2", &vscode_v1);
    refused("ARTIFACT_CLIENT_MISMATCH", &before);

    // Mix-and-match: cursor's older release where the snapshot lists v2.
    proxy.forge("/v1/team/releases/cursor/default/2", &cursor_v1);
    refused("SNAPSHOT_MISMATCH", &before);

    // A snapshot signed by a key the root does not name.
    let rogue = Signer::from_key(ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng));
    let snapshot: Snapshot = serde_json::from_str(&snapshot_v2.signed).unwrap();
    proxy.forge(
        "/v1/team/snapshot",
        &Signed::sign(&snapshot, &[&rogue]).unwrap(),
    );
    refused("UNTRUSTED_KEY", &before);

    // A frozen server: a snapshot past its expiry (signed with the real key, long ago).
    let mut stale = snapshot.clone();
    stale.expires = Utc::now() - chrono::Duration::hours(1);
    proxy.forge(
        "/v1/team/snapshot",
        &Signed::sign(&stale, &[&team.release_key()]).unwrap(),
    );
    refused("METADATA_EXPIRED", &before);
    let cursor = std::fs::read_to_string(&files["cursor"]).unwrap();
    assert!(!cursor.contains("sequential-thinking"), "{cursor}");

    // The honest pull takes v2; afterwards, a replay of the older snapshot is a rollback.
    let pulled = dev.json_ok(&["pull", "--client", "cursor"]);
    assert_eq!(pulled["channels"][0]["status"], json!("deployed"));
    assert_eq!(pulled["channels"][0]["version"], json!(2));
    assert!(
        std::fs::read_to_string(&files["cursor"])
            .unwrap()
            .contains("sequential-thinking")
    );
    let before = deployed_versions(&dev);
    proxy.forge("/v1/team/snapshot", &snapshot_v1);
    refused("DOWNGRADE_REFUSED", &before);

    // Root rotation: new root keys signed by the old root are accepted; a root signed only
    // by keys of the attacker's choosing is not.
    let rotated =
        team.home
            .json_ok(&["team", "rotate", "--new-root-keys", "2", "--threshold", "2"]);
    assert_eq!(rotated["root"]["version"], json!(2));
    assert_eq!(dev.run(&["pull"]).code, 0);
    let list = dev.json_ok(&["remote", "list"]);
    assert_eq!(list["remotes"][0]["root_version"], json!(2));
    let mut roots: serde_json::Map<String, Value> = team.get("/v1/team/roots");
    let forged_root = {
        let mut root: Value =
            serde_json::from_str(roots["roots"][1]["signed"].as_str().unwrap()).unwrap();
        root["version"] = json!(3);
        root["threshold"] = json!(1);
        root["root_keys"] = json!([mcp_orch::core::keys::PublicKeyFile::of(
            &rogue.verifying_key()
        )]);
        Signed::sign(&root, &[&rogue]).unwrap()
    };
    roots["roots"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::to_value(forged_root).unwrap());
    proxy.forge("/v1/team/roots", &roots);
    refused("UNTRUSTED_KEY", &before);

    // Every pull is in the developer's audit log, failures with their codes, on one chain.
    let audit = dev.json_ok(&["audit", "--action", "remote.pull"]);
    let codes: Vec<Value> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error_code"].clone())
        .collect();
    assert_eq!(
        codes,
        [
            Value::Null,
            Value::Null,
            json!("ARTIFACT_TAMPERED"),
            json!("ARTIFACT_CLIENT_MISMATCH"),
            json!("SNAPSHOT_MISMATCH"),
            json!("UNTRUSTED_KEY"),
            json!("METADATA_EXPIRED"),
            Value::Null,
            json!("DOWNGRADE_REFUSED"),
            Value::Null,
            json!("UNTRUSTED_KEY"),
        ]
    );
    assert_eq!(dev.json_ok(&["audit", "--verify"])["ok"], json!(true));
}

#[test]
fn pull_watch_applies_a_publish_within_a_second() {
    let team = Team::start();
    let (dev, files) = developer();
    dev.json_ok(&team.add_remote(&team.server.base(), &team.fingerprint));
    let mut watch = dev
        .std_cmd(&["pull", "--watch", "--json", "--client", "cursor"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the first pull");
    assert_eq!(first["channels"][0]["status"], json!("deployed"));
    // The watcher's event stream is open: it opens before the first pull.
    team.publish("cursor", "sequential-thinking");
    let published = Instant::now();
    let applied = loop {
        let report = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a pull after the publish");
        if report["channels"][0]["version"] == json!(2) {
            break published.elapsed();
        }
    };
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(
        std::fs::read_to_string(&files["cursor"])
            .unwrap()
            .contains("sequential-thinking")
    );
    assert!(
        applied <= Duration::from_secs(1),
        "applied {applied:?} after the publish"
    );
}
