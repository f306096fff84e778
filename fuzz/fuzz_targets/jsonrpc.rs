//! JSON-RPC framing as the HTTP server reads it (`POST /mcp`, `/mcp/message`): any bytes are
//! refused for a key given twice (`core::unique_keys`, which this target's first crash led
//! to: such a message parsed as another result type than its de-duplicated form), fail to
//! parse, or parse into a message whose serialisation parses back to the same serialisation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmcp::model::ClientJsonRpcMessage;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|b| *b == b'\n') {
        if mcp_orch::core::unique_keys::duplicate_key(line).is_some() {
            continue;
        }
        let Ok(message) = serde_json::from_slice::<ClientJsonRpcMessage>(line) else {
            continue;
        };
        let once = serde_json::to_vec(&message).expect("a parsed message serialises");
        let again: ClientJsonRpcMessage =
            serde_json::from_slice(&once).expect("a serialised message parses");
        assert_eq!(serde_json::to_vec(&again).expect("serialises"), once);
    }
});
