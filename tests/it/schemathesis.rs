//! schemathesis (`PyPI`, installed into .tools/ by scripts/install-tools.sh) fuzzes every
//! operation of /openapi.json against the real server: no server errors, every response
//! conforms to the document (status codes, content types, headers, bodies), schema-violating
//! requests are rejected, and authentication is required where declared. The one check left
//! out is "positive data acceptance": business rules (an invalid draft cannot be published, a
//! catalog server needs its parameters) reject some schema-valid requests by design. The
//! endless `/v1/events` stream is tested in tests/it/http.rs instead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::http_support as support;

use std::path::Path;

use common::Sandbox;
use support::Server;

#[test]
fn schemathesis_finds_no_server_errors_and_no_schema_violations() {
    let st = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/schemathesis/bin/schemathesis");
    assert!(
        st.exists(),
        "{} is missing: run scripts/install-tools.sh",
        st.display()
    );
    let sb = Sandbox::new();
    let token = sb.json_ok(&["token", "create", "--scope", "admin", "--name", "st"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Its invalid-credential probes of every operation would trip the failed-auth backoff
    // (60 a minute by default), which answers 429 where the check wants 401.
    let config = sb.root.join("server.toml");
    std::fs::write(&config, "[rate_limit]\nauth_failures_per_minute = 100000\n").unwrap();
    let s = Server::start(
        &sb,
        &["--rate-limit", "0", "--config", config.to_str().unwrap()],
    );
    let out = std::process::Command::new(&st)
        .current_dir(&sb.root)
        .env("HOME", &sb.home)
        .args([
            "run",
            &format!("{}/openapi.json", s.base()),
            "-H",
            &format!("Authorization: Bearer {token}"),
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--exclude-path",
            "/v1/events",
            "--max-examples",
            "12",
            "--seed",
            "20261122",
            "--no-color",
        ])
        .output()
        .expect("running schemathesis");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Selected: 30/31"), "{text}");
}
