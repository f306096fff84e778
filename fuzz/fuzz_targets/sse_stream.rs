//! SSE framing of a session's GET stream (`server::http::resume`): any bytes, cut anywhere,
//! come out as whole events, and no message the client already has (id <= `after`) is sent.
#![no_main]

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use libfuzzer_sys::fuzz_target;
use mcp_orch::server::http::resume::Renumber;

fuzz_target!(|data: &[u8]| {
    let Some((&after, rest)) = data.split_first() else {
        return;
    };
    let after = u64::from(after % 8);
    let mut renumber = Renumber::new(after, Arc::new(AtomicU64::new(0)));
    let mut out = Vec::new();
    // 0xFF never occurs in UTF-8: it marks where the stream is cut into pieces.
    for piece in rest.split(|b| *b == 0xFF) {
        out.extend_from_slice(&renumber.feed(piece));
    }
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.is_empty() || text.ends_with("\n\n"),
        "a partial event went out: {text:?}"
    );
    for event in text.split("\n\n").filter(|e| !e.is_empty()) {
        let id = event
            .lines()
            .find_map(|l| l.strip_prefix("id:"))
            .and_then(|v| v.trim().parse::<u64>().ok());
        let message = event.lines().any(|l| {
            l.strip_prefix("data:")
                .is_some_and(|d| !d.trim().is_empty())
        });
        if let (Some(id), true) = (id, message) {
            assert!(
                id > after,
                "message {id} resent to a client that has {after}: {event:?}"
            );
        }
    }
});
