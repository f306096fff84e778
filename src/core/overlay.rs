//! Loading our data files (client registry, catalog): the embedded defaults plus an optional
//! user file whose entries add to or override the defaults by id, field by field.

use std::collections::HashMap;
use std::path::Path;

use crate::core::error::{Error, Result};

/// Parses `embedded` and merges the array of tables `key` from the user file at `user_path`
/// (when it exists) into it, matching entries by their `id` field. Tables merge recursively;
/// other values replace. Returns the merged array and which ids came from the user file.
pub fn load_with_overlay(
    embedded: &str,
    user_path: &Path,
    key: &str,
) -> Result<(Vec<toml::Value>, Vec<String>)> {
    let base: toml::Table = embedded
        .parse()
        .map_err(|e| Error::Internal(format!("embedded {key} data is broken: {e}")))?;
    let mut entries = take_array(base, key);
    // Position of each id, so merging n user entries costs O(n), not O(n²) (10k entries).
    let mut index: HashMap<String, usize> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((e.get("id")?.as_str()?.to_owned(), i)))
        .collect();
    let mut user_ids = Vec::new();
    if let Some(bytes) = crate::core::fsutil::read_optional(user_path)? {
        let text = String::from_utf8_lossy(&bytes);
        let user: toml::Table = text.parse().map_err(|e: toml::de::Error| Error::Parse {
            path: user_path.to_path_buf(),
            message: e.to_string(),
            code: "DATA_FILE_ERROR",
        })?;
        for entry in take_array(user, key) {
            let Some(id) = entry
                .get("id")
                .and_then(toml::Value::as_str)
                .map(str::to_owned)
            else {
                return Err(Error::Parse {
                    path: user_path.to_path_buf(),
                    message: format!("an entry of [[{key}]] has no `id`"),
                    code: "DATA_FILE_ERROR",
                });
            };
            if let Some(&i) = index.get(&id) {
                merge(&mut entries[i], entry);
            } else {
                index.insert(id.clone(), entries.len());
                entries.push(entry);
            }
            user_ids.push(id);
        }
    }
    Ok((entries, user_ids))
}

fn take_array(mut table: toml::Table, key: &str) -> Vec<toml::Value> {
    match table.remove(key) {
        Some(toml::Value::Array(a)) => a,
        _ => Vec::new(),
    }
}

fn merge(base: &mut toml::Value, patch: toml::Value) {
    match (base, patch) {
        (toml::Value::Table(b), toml::Value::Table(p)) => {
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

/// Deserialises one merged entry, naming the file and id on failure.
pub fn decode<T: serde::de::DeserializeOwned>(value: toml::Value, origin: &Path) -> Result<T> {
    let id = value
        .get("id")
        .and_then(toml::Value::as_str)
        .unwrap_or("?")
        .to_owned();
    value.try_into().map_err(|e: toml::de::Error| Error::Parse {
        path: origin.to_path_buf(),
        message: format!("entry `{id}`: {e}"),
        code: "DATA_FILE_ERROR",
    })
}
