//! Release (envelope) and artifact verification: a real signed release whose file and payload
//! the fuzzer rewrites. Whatever verifies must be exactly what was signed.
#![no_main]

use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use libfuzzer_sys::fuzz_target;
use mcp_orch::core::orchestrator::AddServer;
use mcp_orch::core::{Options, Orchestrator};

struct Fixture {
    _dir: tempfile::TempDir,
    orch: Orchestrator,
    release_file: PathBuf,
    payload_file: PathBuf,
    payload: Vec<u8>,
    signed: String,
}

static FIXTURE: LazyLock<Mutex<Fixture>> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("a temp dir");
    let home = dir.path().join("state");
    let orch = Orchestrator::open(Options::from_process(Some(home.clone()))).expect("open");
    orch.init_keys(false, "fuzz").expect("keys");
    let add = AddServer {
        client: "cursor".into(),
        profile: "default".into(),
        server_id: "memory".into(),
        ..AddServer::default()
    };
    orch.add_server(&add).expect("add");
    let release = orch
        .publish("cursor", "default", None, "fuzz")
        .expect("publish");
    let release_file = home.join("artifacts/releases/cursor/default/00000001.json");
    assert!(release_file.is_file(), "{}", release_file.display());
    let payload_file = home
        .join("artifacts/payloads")
        .join(format!("{}.json", release.envelope.artifact_id));
    Mutex::new(Fixture {
        _dir: dir,
        orch,
        release_file,
        payload: std::fs::read(&payload_file).expect("payload"),
        payload_file,
        signed: release.signed,
    })
});

fuzz_target!(|data: &[u8]| {
    let f = FIXTURE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut parts = data.splitn(2, |b| *b == 0xFF);
    std::fs::write(&f.release_file, parts.next().unwrap_or_default()).expect("write release");
    std::fs::write(&f.payload_file, parts.next().unwrap_or(&f.payload)).expect("write payload");
    if let Ok(releases) = f.orch.history("cursor", "default") {
        if let Ok(results) = f.orch.verify_releases(&releases) {
            for verified in results.into_iter().flatten() {
                assert_eq!(
                    verified.release.signed, f.signed,
                    "a release verified that was not signed"
                );
            }
        }
    }
});
