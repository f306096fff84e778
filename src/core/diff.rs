//! Diffs: a structured, deterministic, redacted comparison of the entries that would be
//! written against what the client's file holds now, and a unified text diff of the file.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::core::secret_shape;
use crate::core::validate::{is_reference, looks_secret};

/// The mask shown instead of a secret value.
pub const REDACTED: &str = "********";

/// One changed field inside a server entry.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FieldChange {
    /// Dotted path inside the entry, e.g. `args[2]` or `env.API_KEY`.
    pub path: String,
    /// Value now (absent when added).
    pub old_value: Option<Value>,
    /// Value to be written (absent when removed).
    pub new_value: Option<Value>,
}

/// A server whose entry changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerChange {
    /// Server name.
    pub name: String,
    /// Field changes, in path order.
    pub changes: Vec<FieldChange>,
    /// Whether the entry in the file was added by hand and would be taken over.
    pub takes_over_unmanaged: bool,
}

/// The server-level summary of a diff.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServerDiff {
    /// Names to add.
    pub added: Vec<String>,
    /// Names to remove (only entries mcp-orch owns).
    pub removed: Vec<String>,
    /// Entries to change.
    pub modified: Vec<ServerChange>,
    /// Entries already as wanted.
    pub unchanged: Vec<String>,
}

impl ServerDiff {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.modified.is_empty()
    }

    /// Number of servers that change.
    pub fn total_changes(&self) -> usize {
        self.added.len() + self.removed.len() + self.modified.len()
    }
}

/// Compares `desired` entries with the `current` ones in the file. Entries in `current` that
/// are not desired are removed only when `owned` lists them; others belong to the user.
pub fn diff_entries(
    current: &BTreeMap<String, Value>,
    desired: &BTreeMap<String, Value>,
    owned: &BTreeSet<String>,
    adoptable: &BTreeSet<String>,
) -> ServerDiff {
    let mut out = ServerDiff::default();
    for (name, want) in desired {
        match current.get(name) {
            None => out.added.push(name.clone()),
            Some(have) if have == want => out.unchanged.push(name.clone()),
            Some(have) => {
                let mut changes = Vec::new();
                field_changes("", have, want, &mut changes);
                out.modified.push(ServerChange {
                    name: name.clone(),
                    changes,
                    takes_over_unmanaged: !owned.contains(name) && !adoptable.contains(name),
                });
            }
        }
    }
    out.removed = owned
        .iter()
        .filter(|n| !desired.contains_key(*n) && current.contains_key(*n))
        .cloned()
        .collect();
    out
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn field_changes(path: &str, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Value::Object(old_map), Value::Object(new_map)) => {
            let keys: BTreeSet<&String> = old_map.keys().chain(new_map.keys()).collect();
            for key in keys {
                let field = join(path, key);
                match (old_map.get(key), new_map.get(key)) {
                    (Some(before), Some(after)) if before == after => {}
                    (Some(before), Some(after)) => field_changes(&field, before, after, out),
                    (before, after) => out.push(FieldChange {
                        path: field,
                        old_value: before.cloned(),
                        new_value: after.cloned(),
                    }),
                }
            }
        }
        (Value::Array(old_items), Value::Array(new_items))
            if old_items.len() == new_items.len() =>
        {
            for (i, (before, after)) in old_items.iter().zip(new_items).enumerate() {
                if before != after {
                    field_changes(&format!("{path}[{i}]"), before, after, out);
                }
            }
        }
        _ if old != new => {
            out.push(FieldChange {
                path: path.to_owned(),
                old_value: Some(old.clone()),
                new_value: Some(new.clone()),
            });
        }
        _ => {}
    }
}

/// Field names under which entries keep env values and headers, in every client's spelling.
const SECRET_CONTAINERS: &[&str] = &["env", "envs", "environment", "headers", "http_headers"];

/// Masks secret values: values of known secrets anywhere, and literal values of
/// secret-looking env vars and headers.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    values: Vec<String>,
}

impl Redactor {
    /// A redactor that masks these known secret values.
    pub fn new(known: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> = known.into_iter().filter(|v| v.len() >= 4).collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Self { values }
    }

    /// Also masks the literal secret-looking values found in these entries: values of
    /// secret-named env vars and of headers, and anywhere a value shaped like a credential
    /// (a token, a JWT, a password or key in a URL, a credential argument).
    pub fn learn_from_entries<'a>(&mut self, entries: impl IntoIterator<Item = &'a Value>) {
        for entry in entries {
            self.learn_shapes(entry);
            let Some(obj) = entry.as_object() else {
                continue;
            };
            for field in SECRET_CONTAINERS {
                let Some(map) = obj.get(*field).and_then(Value::as_object) else {
                    continue;
                };
                for (key, value) in map {
                    if let Some(v) = value.as_str()
                        && (looks_secret(key)
                            || *field != "env" && *field != "envs" && *field != "environment")
                        && !is_templated(v)
                        && v.len() >= 4
                        && !self.values.iter().any(|x| x == v)
                    {
                        self.values.push(v.to_owned());
                    }
                }
            }
        }
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    fn learn(&mut self, secret: &str) {
        if secret.len() >= 4 && !self.values.iter().any(|x| x == secret) {
            self.values.push(secret.to_owned());
        }
    }

    /// Secrets recognised by their shape anywhere in `value`.
    fn learn_shapes(&mut self, value: &Value) {
        match value {
            Value::String(text) => {
                for found in secret_shape::find(text) {
                    self.learn(found.secret);
                }
            }
            Value::Array(items) => {
                let args: Vec<String> = items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
                let found: Vec<String> = secret_shape::in_args(&args)
                    .into_iter()
                    .map(|f| f.secret.to_owned())
                    .collect();
                for secret in found {
                    self.learn(&secret);
                }
                for item in items {
                    self.learn_shapes(item);
                }
            }
            Value::Object(map) => {
                for item in map.values() {
                    self.learn_shapes(item);
                }
            }
            _ => {}
        }
    }

    /// Masks every known secret inside `text`.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.values {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
            let escaped = serde_json::to_string(secret).unwrap_or_default();
            let escaped = escaped.trim_matches('"');
            if escaped != secret && out.contains(escaped) {
                out = out.replace(escaped, REDACTED);
            }
        }
        out
    }

    /// Masks secrets inside a JSON value.
    pub fn value(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(a) => Value::Array(a.iter().map(|v| self.value(v)).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), self.value(v))).collect())
            }
            other => other.clone(),
        }
    }

    /// Masks secrets inside a server diff.
    pub fn server_diff(&self, diff: &mut ServerDiff) {
        for change in &mut diff.modified {
            for field in &mut change.changes {
                field.old_value = field.old_value.as_ref().map(|v| self.value(v));
                field.new_value = field.new_value.as_ref().map(|v| self.value(v));
            }
        }
    }
}

/// A reference, possibly after an auth scheme (`Bearer ${env:TOKEN}`): it names a secret
/// without holding one, so it is shown as written.
fn is_templated(value: &str) -> bool {
    is_reference(value)
        || value.trim().split_once(' ').is_some_and(|(scheme, rest)| {
            scheme.chars().all(|c| c.is_ascii_alphabetic()) && is_reference(rest)
        })
}

/// A unified diff of two texts, labelled with the file's path.
pub fn unified(old: &str, new: &str, label: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{label}"), &format!("b/{label}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_owned_entries_are_removed() {
        let current: BTreeMap<String, Value> = [
            ("mine".to_owned(), json!({"command": "a"})),
            ("theirs".to_owned(), json!({"command": "b"})),
        ]
        .into();
        let owned: BTreeSet<String> = ["mine".to_owned()].into();
        let diff = diff_entries(&current, &BTreeMap::new(), &owned, &BTreeSet::new());
        assert_eq!(diff.removed, vec!["mine"]);
    }

    #[test]
    fn field_paths_are_reported() {
        let current: BTreeMap<String, Value> = [(
            "s".to_owned(),
            json!({"args": ["x", "y"], "env": {"A": "1"}}),
        )]
        .into();
        let desired: BTreeMap<String, Value> = [(
            "s".to_owned(),
            json!({"args": ["x", "z"], "env": {"B": "2"}}),
        )]
        .into();
        let diff = diff_entries(&current, &desired, &BTreeSet::new(), &BTreeSet::new());
        let paths: Vec<&str> = diff.modified[0]
            .changes
            .iter()
            .map(|c| c.path.as_str())
            .collect();
        assert_eq!(paths, vec!["args[1]", "env.A", "env.B"]);
        assert!(diff.modified[0].takes_over_unmanaged);
    }

    #[test]
    fn redacts_known_and_literal_secrets() {
        let mut r = Redactor::new(["hunter22".to_owned()]);
        r.learn_from_entries([&json!({"env": {"API_TOKEN": "abcd1234", "MODE": "fast"}})]);
        assert_eq!(
            r.text("x hunter22 abcd1234 fast"),
            format!("x {REDACTED} {REDACTED} fast")
        );
    }

    #[test]
    fn redacts_secrets_by_their_shape_wherever_they_stand() {
        let token = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
        let mut r = Redactor::default();
        r.learn_from_entries([&json!({
            "command": "npx",
            "args": ["-y", "server", "--api-key", "k3y-v4lue-1", token],
            "url": "https://mcp.example.com/sse?access_token=qwerty123&limit=5",
            "env": {"NOT_NAMED_LIKE_ONE": "xoxb-1234567890-abcdefghij", "MODE": "fast"},
        })]);
        let shown = r.text(&format!(
            "--api-key k3y-v4lue-1 {token} ?access_token=qwerty123&limit=5 xoxb-1234567890-abcdefghij fast server"
        ));
        assert_eq!(
            shown,
            format!(
                "--api-key {REDACTED} {REDACTED} ?access_token={REDACTED}&limit=5 {REDACTED} fast server"
            )
        );
    }
}
