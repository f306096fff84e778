//! Audit lines: any log and head bytes verify without panicking; an append is refused or
//! adds exactly one record and no new problem.
#![no_main]

use std::sync::{LazyLock, Mutex};

use libfuzzer_sys::fuzz_target;
use mcp_orch::core::audit::{AuditEvent, AuditLog};

struct Fixture {
    dir: tempfile::TempDir,
    head: Vec<u8>,
}

static FIXTURE: LazyLock<Mutex<Fixture>> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("a temp dir");
    let log = AuditLog::new(
        dir.path().join("audit.jsonl"),
        dir.path().join("audit.lock"),
    );
    for i in 0..3 {
        log.append(
            AuditEvent::ok("deploy", "fuzz").artifact("x", i),
            chrono::Utc::now(),
        )
        .expect("append");
    }
    let head = std::fs::read(dir.path().join("audit.head")).expect("head");
    Mutex::new(Fixture { dir, head })
});

fuzz_target!(|data: &[u8]| {
    let f = FIXTURE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let path = f.dir.path().join("audit.jsonl");
    let mut parts = data.splitn(2, |b| *b == 0xFF);
    std::fs::write(&path, parts.next().unwrap_or_default()).expect("write log");
    std::fs::write(
        f.dir.path().join("audit.head"),
        parts.next().unwrap_or(&f.head),
    )
    .expect("write head");
    let log = AuditLog::new(path, f.dir.path().join("audit.lock"));
    let Ok(before) = log.verify() else {
        return;
    };
    if log.check_appendable().is_err() {
        return;
    }
    if log
        .append(AuditEvent::ok("deploy", "fuzz"), chrono::Utc::now())
        .is_ok()
    {
        let after = log.verify().expect("verify after an append");
        assert!(
            after.records >= before.records + 1,
            "{before:?} -> {after:?}"
        );
        for p in &after.problems {
            assert!(
                before.problems.iter().any(|b| b.kind == p.kind),
                "the append made a new problem {p:?}; before: {before:?}"
            );
        }
    }
});
