//! What the client-file editor targets share: a client per format, our entry, and the
//! property every edit must keep (the file read as data is the same outside our entry).

use std::path::Path;
use std::sync::LazyLock;

use mcp_orch::core::clients::{ClientDef, ClientRegistry, EntriesKind};
use mcp_orch::core::document;
use serde_json::{Value, json};

static REGISTRY: LazyLock<ClientRegistry> = LazyLock::new(|| {
    ClientRegistry::load(Path::new("/nonexistent/mcp-orch/clients.toml"))
        .expect("the built-in clients")
});

/// The name of the entry the targets write.
pub const OURS: &str = "mcp-orch-fuzz";

/// Reads `text` as data, in the client's format.
pub type Reader = fn(&str) -> Option<Value>;

/// Opens `text` as `client_id`'s file; when it opens, sets our entry, checks what reads back,
/// removes it, and checks the file as data is what it was outside our entry.
pub fn edit(client_id: &str, data: &[u8], read: Reader) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let client = REGISTRY.get(client_id).expect("a built-in client").clone();
    let origin = Path::new("/fuzz/file");
    let Ok(mut doc) = document::open(&client, text, origin) else {
        return;
    };
    let before = doc.entries();
    let entry = json!({"command": "fuzz-server", "args": ["--stdio", "a b"], "env": {"K": "v"}});
    doc.set_entry(OURS, &entry)
        .expect("setting an entry in a file that opened");
    let written = doc.text();
    let reopened = document::open(&client, &written, origin)
        .unwrap_or_else(|e| panic!("the edited file does not open again: {e}\n{written}"));
    let mut expected = before.clone();
    let entry_as_read = reopened
        .entries()
        .into_iter()
        .find(|(n, _)| n == OURS)
        .map(|(_, e)| e)
        .unwrap_or_else(|| panic!("our entry is not read back\n{written}"));
    match expected.iter_mut().find(|(n, _)| n == OURS) {
        Some(slot) => slot.1 = entry_as_read,
        None => expected.push((OURS.to_owned(), entry_as_read)),
    }
    assert_eq!(
        in_order(&client, reopened.entries()),
        in_order(&client, expected),
        "entries after set\n{written}"
    );
    // Outside our entry, the file as data is unchanged.
    if let (Some(mut original), Some(mut edited)) = (read(text), read(&written)) {
        let had_container = remove_ours(&mut original, &client);
        remove_ours(&mut edited, &client);
        if had_container {
            assert_eq!(
                edited, original,
                "the edit changed data outside our entry\n--- before\n{text}\n--- after\n{written}"
            );
        }
    }
    let had_ours = before.iter().any(|(n, _)| n == OURS);
    assert!(doc.remove_entry(OURS).expect("removing our entry"));
    let removed = doc.text();
    let after = document::open(&client, &removed, origin)
        .unwrap_or_else(|e| panic!("the file without our entry does not open: {e}\n{removed}"));
    let without: Vec<_> = before.into_iter().filter(|(n, _)| n != OURS).collect();
    if !had_ours {
        assert_eq!(
            in_order(&client, after.entries()),
            in_order(&client, without),
            "entries after remove\n{removed}"
        );
    }
}

/// Entries as the client reads them: a map's keys have no order (an editor may place a new
/// table before a plain key that comes later in the file, found by `edit_toml` and
/// `edit_yaml`), a list's items do.
fn in_order(client: &ClientDef, mut entries: Vec<(String, Value)>) -> Vec<(String, Value)> {
    if client.entries == EntriesKind::Map {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
    }
    entries
}

/// Removes our entry from the client's container in `value`; whether the container existed.
fn remove_ours(value: &mut Value, client: &ClientDef) -> bool {
    let mut node = value;
    for key in &client.container {
        match node.get_mut(key) {
            Some(next) => node = next,
            None => return false,
        }
    }
    match (client.entries, node) {
        (EntriesKind::Map, Value::Object(map)) => {
            map.shift_remove(OURS);
            true
        }
        (EntriesKind::List, Value::Array(items)) => {
            items.retain(|item| item.get(&client.name_field).and_then(Value::as_str) != Some(OURS));
            true
        }
        _ => false,
    }
}
