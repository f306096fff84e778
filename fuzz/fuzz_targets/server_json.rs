//! `server.json` (official MCP Registry) to catalog entry: any JSON either is refused with a
//! reason or becomes an entry whose id is well-formed and that survives a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_orch::core::catalog::ServerEntry;
use mcp_orch::core::registry::convert;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let id = value
        .get("name")
        .and_then(serde_json::Value::as_str)
        .map_or_else(|| "fuzz".to_owned(), convert::registry_id);
    let Ok(entry) = convert::convert(&id, &value) else {
        return;
    };
    assert!(
        !entry.id.is_empty() && entry.id.len() <= 64,
        "id {:?}",
        entry.id
    );
    let text = serde_json::to_string(&entry).expect("an entry serialises");
    let back: ServerEntry = serde_json::from_str(&text).expect("an entry parses back");
    assert_eq!(serde_json::to_string(&back).expect("serialises"), text);
});
