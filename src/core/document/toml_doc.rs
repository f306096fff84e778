//! TOML through `toml_edit`: comments, ordering and formatting of everything else survive.
//! Entries are written as explicit `[mcp_servers.<name>]` tables (with an implicit parent, as
//! Codex itself does) whose nested maps (`env`, headers) are inline tables.

use crate::core::code::Code;
use serde_json::{Map, Number, Value};
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, TableLike};

use super::{ConfigDocument, Layout, LineEnding, ShapeProblem};
use crate::core::error::{Error, Result};

pub struct TomlDocument {
    doc: DocumentMut,
    layout: Layout,
    line_ending: LineEnding,
}

impl TomlDocument {
    pub fn parse(text: &str, layout: Layout) -> Result<Self, String> {
        let doc: DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| e.to_string())?;
        Ok(Self {
            doc,
            layout,
            line_ending: LineEnding::of(text),
        })
    }

    /// A key on the container path holding something else than a table (arrays of tables
    /// included: entries written there would replace them). TOML itself refuses duplicates.
    fn wrong_type(&self) -> Option<ShapeProblem> {
        let mut table: &dyn TableLike = self.doc.as_table();
        for key in &self.layout.container {
            let item = table.get(key)?;
            match item.as_table_like() {
                Some(inner) => table = inner,
                None => {
                    return Some(ShapeProblem::WrongType {
                        key: key.clone(),
                        expected: "a table",
                    });
                }
            }
        }
        None
    }

    /// The container for reading: a `[table]` or an inline `{ ... }` table.
    fn container(&self) -> Option<&dyn TableLike> {
        let mut table: &dyn TableLike = self.doc.as_table();
        for key in &self.layout.container {
            table = table.get(key)?.as_table_like()?;
        }
        Some(table)
    }

    fn container_mut(&mut self, create: bool) -> Result<Option<&mut Table>> {
        let mut table = self.doc.as_table_mut();
        for key in &self.layout.container {
            if !table.contains_key(key) {
                if !create {
                    return Ok(None);
                }
                let mut fresh = Table::new();
                fresh.set_implicit(true);
                table.insert(key, Item::Table(fresh));
            }
            table = table
                .get_mut(key)
                .and_then(Item::as_table_mut)
                .ok_or_else(|| {
                    Error::invalid(
                        Code::ConfigShapeError,
                        key.clone(),
                        format!("`{key}` is not a table in this TOML file"),
                        "fix the file by hand; mcp-orch leaves it untouched",
                    )
                })?;
        }
        Ok(Some(table))
    }
}

/// The byte ranges of every string value in `text` (a document `toml_edit` wrote), sorted.
fn string_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    fn in_value(value: &toml_edit::Value, spans: &mut Vec<std::ops::Range<usize>>) {
        match value {
            toml_edit::Value::String(s) => spans.extend(s.span()),
            toml_edit::Value::Array(items) => items.iter().for_each(|v| in_value(v, spans)),
            toml_edit::Value::InlineTable(t) => t.iter().for_each(|(_, v)| in_value(v, spans)),
            _ => {}
        }
    }
    fn in_table(table: &Table, spans: &mut Vec<std::ops::Range<usize>>) {
        for (_, item) in table {
            match item {
                Item::Value(v) => in_value(v, spans),
                Item::Table(t) => in_table(t, spans),
                Item::ArrayOfTables(a) => a.iter().for_each(|t| in_table(t, spans)),
                Item::None => {}
            }
        }
    }
    let mut spans = Vec::new();
    if let Ok(doc) = toml_edit::Document::parse(text) {
        in_table(doc.as_table(), &mut spans);
    }
    spans.sort_by_key(|r| r.start);
    spans
}

fn item_to_json(item: &Item) -> Value {
    match item {
        Item::Value(v) => value_to_json(v),
        Item::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_owned(), item_to_json(v)))
                .collect(),
        ),
        Item::ArrayOfTables(a) => Value::Array(
            a.iter()
                .map(|t| {
                    Value::Object(
                        t.iter()
                            .map(|(k, v)| (k.to_owned(), item_to_json(v)))
                            .collect(),
                    )
                })
                .collect(),
        ),
        Item::None => Value::Null,
    }
}

fn value_to_json(value: &toml_edit::Value) -> Value {
    match value {
        toml_edit::Value::String(s) => Value::String(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::Number((*i.value()).into()),
        toml_edit::Value::Float(f) => {
            Number::from_f64(*f.value()).map_or(Value::Null, Value::Number)
        }
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::String(d.value().to_string()),
        toml_edit::Value::Array(a) => Value::Array(a.iter().map(value_to_json).collect()),
        toml_edit::Value::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_owned(), value_to_json(v)))
                .collect(),
        ),
    }
}

fn json_to_value(value: &Value) -> toml_edit::Value {
    match value {
        Value::Null => toml_edit::Value::from(""),
        Value::Bool(b) => toml_edit::Value::from(*b),
        Value::Number(n) => n
            .as_i64()
            .map(toml_edit::Value::from)
            .or_else(|| n.as_f64().map(toml_edit::Value::from))
            .unwrap_or_else(|| toml_edit::Value::from(n.to_string())),
        // Line breaks are escaped on one line (no `"""` block), so the file's own line ending,
        // kept by `text()`, never reaches inside a value.
        Value::String(s) if s.contains(['\n', '\r']) => serde_json::to_string(s)
            .ok()
            .and_then(|quoted| quoted.parse::<toml_edit::Value>().ok())
            .map_or_else(
                || toml_edit::Value::from(s.as_str()),
                |mut v| {
                    v.decor_mut().clear();
                    v
                },
            ),
        Value::String(s) => toml_edit::Value::from(s.as_str()),
        Value::Array(a) => {
            let mut arr = Array::new();
            for v in a {
                arr.push(json_to_value(v));
            }
            toml_edit::Value::Array(arr)
        }
        Value::Object(o) => {
            let mut t = InlineTable::new();
            for (k, v) in o {
                t.insert(k, json_to_value(v));
            }
            toml_edit::Value::InlineTable(t)
        }
    }
}

fn fill_table(table: &mut Table, entry: &Map<String, Value>) {
    let stale: Vec<String> = table
        .iter()
        .map(|(k, _)| k.to_owned())
        .filter(|k| !entry.contains_key(k))
        .collect();
    for key in stale {
        table.remove(&key);
    }
    for (key, value) in entry {
        let unchanged = table
            .get(key)
            .is_some_and(|old| item_to_json(old) == *value);
        if !unchanged {
            table.insert(key, Item::Value(json_to_value(value)));
        }
    }
}

impl ConfigDocument for TomlDocument {
    fn shape_problem(&self) -> Option<ShapeProblem> {
        self.wrong_type()
    }

    fn entries(&self) -> Vec<(String, Value)> {
        self.container()
            .map(|t| {
                t.iter()
                    .map(|(k, v)| (k.to_owned(), item_to_json(v)))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn set_entry(&mut self, name: &str, entry: &Value) -> Result<()> {
        let Value::Object(fields) = entry else {
            return Err(Error::Internal(format!("entry `{name}` is not an object")));
        };
        let Some(container) = self.container_mut(true)? else {
            return Err(Error::Internal("container was not created".into()));
        };
        if let Some(existing) = container.get_mut(name).and_then(Item::as_table_mut) {
            fill_table(existing, fields);
        } else {
            let mut table = Table::new();
            fill_table(&mut table, fields);
            container.insert(name, Item::Table(table));
        }
        Ok(())
    }

    fn remove_entry(&mut self, name: &str) -> Result<bool> {
        Ok(self
            .container_mut(false)?
            .is_some_and(|c| c.remove(name).is_some()))
    }

    fn text(&self) -> String {
        self.line_ending.apply(self.doc.to_string(), string_spans)
    }
}
