//! Loading our data files (client registry, catalog): the defaults embedded at build time (as
//! JSON converted from `assets/*.toml` by build.rs) plus an optional user TOML file whose
//! entries add to or override the defaults by id, field by field.

use crate::core::code::Code;
use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::core::error::{Error, Result};

/// The merged entries, and the ids that the user file added or changed.
pub struct Loaded<T> {
    /// Every entry.
    pub entries: Vec<T>,
    /// Ids touched by the user file.
    pub user_ids: Vec<String>,
}

fn data_error(path: &Path, message: String) -> Error {
    Error::Parse {
        path: path.to_path_buf(),
        message,
        code: Code::DataFileError,
    }
}

/// Decodes `embedded` (a JSON array) and merges the array of tables `key` from the user file at
/// `user_path` (when it exists) into it, matching entries by their `id` field. Tables merge
/// recursively; other values replace.
pub fn load_with_overlay<T: DeserializeOwned>(
    embedded: &str,
    user_path: &Path,
    key: &str,
) -> Result<Loaded<T>> {
    let Some(bytes) = crate::core::fsutil::read_optional(user_path)? else {
        // The common case: no user file, so decode straight into the typed entries.
        let entries = serde_json::from_str(embedded)
            .map_err(|e| Error::Internal(format!("embedded {key} data is broken: {e}")))?;
        return Ok(Loaded {
            entries,
            user_ids: Vec::new(),
        });
    };
    let mut entries: Vec<Value> = serde_json::from_str(embedded)
        .map_err(|e| Error::Internal(format!("embedded {key} data is broken: {e}")))?;
    let text = String::from_utf8_lossy(&bytes);
    let user: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| data_error(user_path, e.to_string()))?;
    let user = serde_json::to_value(user).map_err(|e| data_error(user_path, e.to_string()))?;
    // Position of each id, so merging n user entries costs O(n), not O(n²) (a 10,000-entry
    // user catalog took 2.5 s to load with a linear search per entry).
    let mut index: HashMap<String, usize> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((e.get("id")?.as_str()?.to_owned(), i)))
        .collect();
    let mut user_ids = Vec::new();
    for entry in user
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        let Some(id) = entry.get("id").and_then(Value::as_str).map(str::to_owned) else {
            return Err(data_error(
                user_path,
                format!("an entry of [[{key}]] has no `id`"),
            ));
        };
        if let Some(&i) = index.get(&id) {
            merge(&mut entries[i], entry);
        } else {
            index.insert(id.clone(), entries.len());
            entries.push(entry);
        }
        user_ids.push(id);
    }
    let entries = entries
        .into_iter()
        .map(|value| {
            let id = value
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            serde_json::from_value(value)
                .map_err(|e| data_error(user_path, format!("entry `{id}`: {e}")))
        })
        .collect::<Result<_>>()?;
    Ok(Loaded { entries, user_ids })
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, p) => *b = p,
    }
}
