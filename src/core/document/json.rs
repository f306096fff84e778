//! JSON and JSONC through the `jsonc-parser` concrete syntax tree: comments, trailing-comma
//! style, key order and whitespace outside the edited entries survive byte for byte.

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstArray, CstInputValue, CstObject, CstRootNode};
use serde_json::Value;

use super::{ConfigDocument, Layout, ShapeProblem, object_entries};
use crate::core::clients::EntriesKind;
use crate::core::error::Result;

pub struct JsonDocument {
    root: CstRootNode,
    layout: Layout,
}

impl JsonDocument {
    pub fn parse(text: &str, layout: Layout) -> Result<Self, String> {
        let source = if text.trim().is_empty() { "{}\n" } else { text };
        let root =
            CstRootNode::parse(source, &ParseOptions::default()).map_err(|e| e.to_string())?;
        if root.value().is_some() && root.object_value().is_none() {
            return Err("the top level is not an object".into());
        }
        Ok(Self { root, layout })
    }

    /// The object holding the container, walking the path without creating anything.
    fn parent_object(&self) -> Option<CstObject> {
        let (_, parents) = self.layout.container.split_last()?;
        let mut obj = self.root.object_value()?;
        for key in parents {
            obj = obj.object_value(key)?;
        }
        Some(obj)
    }

    fn parent_object_or_create(&self) -> CstObject {
        let mut obj = self.root.object_value_or_set();
        if let Some((_, parents)) = self.layout.container.split_last() {
            for key in parents {
                obj = obj.object_value_or_set(key);
            }
        }
        obj
    }

    fn last_key(&self) -> &str {
        self.layout
            .container
            .last()
            .map_or("mcpServers", String::as_str)
    }

    fn map(&self) -> Option<CstObject> {
        self.parent_object()?.object_value(self.last_key())
    }

    fn list(&self) -> Option<CstArray> {
        self.parent_object()?.array_value(self.last_key())
    }
}

fn to_input(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(a) => CstInputValue::Array(a.iter().map(to_input).collect()),
        Value::Object(o) => {
            CstInputValue::Object(o.iter().map(|(k, v)| (k.clone(), to_input(v))).collect())
        }
    }
}

impl ConfigDocument for JsonDocument {
    fn entries(&self) -> Vec<(String, Value)> {
        match self.layout.entries {
            EntriesKind::Map => match self.map().and_then(|m| m.to_serde_value()) {
                Some(Value::Object(map)) => object_entries(&map),
                _ => Vec::new(),
            },
            EntriesKind::List => match self.list().and_then(|a| a.to_serde_value()) {
                Some(Value::Array(items)) => items
                    .into_iter()
                    .filter_map(|item| self.layout.list_name(&item).map(|n| (n, item)))
                    .collect(),
                _ => Vec::new(),
            },
        }
    }

    fn set_entry(&mut self, name: &str, entry: &Value) -> Result<()> {
        let parent = self.parent_object_or_create();
        match self.layout.entries {
            EntriesKind::Map => {
                let map = parent.object_value_or_set(self.last_key());
                match map.get(name) {
                    Some(prop) => prop.set_value(to_input(entry)),
                    None => {
                        map.append(name, to_input(entry));
                    }
                }
            }
            EntriesKind::List => {
                let list = parent.array_value_or_set(self.last_key());
                let existing = list.elements().into_iter().enumerate().find(|(_, el)| {
                    el.to_serde_value()
                        .is_some_and(|v| self.layout.list_name(&v).as_deref() == Some(name))
                });
                match existing {
                    Some((index, el)) => {
                        list.insert(index, to_input(entry));
                        el.remove();
                    }
                    None => {
                        list.append(to_input(entry));
                    }
                }
            }
        }
        Ok(())
    }

    fn remove_entry(&mut self, name: &str) -> Result<bool> {
        match self.layout.entries {
            EntriesKind::Map => match self.map().and_then(|m| m.get(name)) {
                Some(prop) => {
                    prop.remove();
                    Ok(true)
                }
                None => Ok(false),
            },
            EntriesKind::List => {
                let Some(list) = self.list() else {
                    return Ok(false);
                };
                let found = list.elements().into_iter().find(|el| {
                    el.to_serde_value()
                        .is_some_and(|v| self.layout.list_name(&v).as_deref() == Some(name))
                });
                Ok(found.map(jsonc_parser::cst::CstNode::remove).is_some())
            }
        }
    }

    fn text(&self) -> String {
        self.root.to_string()
    }

    fn shape_problem(&self) -> Option<ShapeProblem> {
        let mut obj = self.root.object_value()?;
        for (i, key) in self.layout.container.iter().enumerate() {
            let last = i + 1 == self.layout.container.len();
            let mut props = obj
                .properties()
                .into_iter()
                .filter(|p| prop_name(p).as_deref() == Some(key));
            let prop = props.next()?;
            if props.next().is_some() {
                return Some(ShapeProblem::Duplicate { key: key.clone() });
            }
            let value = prop.value()?;
            if value.as_null_keyword().is_some() {
                return None;
            }
            let wrong = || ShapeProblem::WrongType {
                key: key.clone(),
                expected: self.layout.expected(last),
            };
            if last && self.layout.entries == EntriesKind::List {
                return value.as_array().is_none().then(wrong);
            }
            match value.as_object() {
                Some(inner) => obj = inner,
                None => return Some(wrong()),
            }
            if last {
                let mut seen = std::collections::HashSet::new();
                return obj
                    .properties()
                    .iter()
                    .filter_map(prop_name)
                    .find(|name| !seen.insert(name.clone()))
                    .map(|name| ShapeProblem::Duplicate {
                        key: format!("{key}.{name}"),
                    });
            }
        }
        None
    }
}

fn prop_name(prop: &jsonc_parser::cst::CstObjectProp) -> Option<String> {
    prop.name().and_then(|n| n.decoded_value().ok())
}
