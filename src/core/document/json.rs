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
    /// Set when only the container's part of a large file is parsed.
    focus: Option<Focus>,
}

/// Files above this size are edited around their server container only: the syntax tree of a
/// whole file costs about fifteen times its size, and `~/.claude.json` grows to tens of MB of
/// project history around a few servers.
const FOCUS_ABOVE: usize = 1024 * 1024;

/// A large file as the text before the container's line, a small document holding only the
/// container (`{` + its lines + `}`), and the text after it.
struct Focus {
    before: String,
    after: String,
    /// The small document's first and last lines, around the container's lines.
    open: &'static str,
    close: &'static str,
}

impl JsonDocument {
    pub fn parse(text: &str, layout: Layout) -> Result<Self, String> {
        if text.len() > FOCUS_ABOVE
            && let Some(doc) = Self::focused(text, &layout)
        {
            return Ok(doc);
        }
        Self::whole(text, layout)
    }

    /// The document of the whole file.
    fn whole(text: &str, layout: Layout) -> Result<Self, String> {
        let source = if text.trim().is_empty() { "{}\n" } else { text };
        let root =
            CstRootNode::parse(source, &ParseOptions::default()).map_err(|e| e.to_string())?;
        if root.value().is_some() && root.object_value().is_none() {
            return Err("the top level is not an object".into());
        }
        Ok(Self {
            root,
            layout,
            focus: None,
        })
    }

    /// The document of a large file, parsed only around its top-level container. `None`
    /// (parse the whole file) when the container is missing, nested, given twice, not an
    /// object or list, or shares its first line with other keys: the cases where the whole
    /// tree is needed to edit or to report the problem.
    fn focused(text: &str, layout: &Layout) -> Option<Self> {
        let [key] = layout.container.as_slice() else {
            return None;
        };
        let (key_start, value_end) = top_level_span(text, key)?;
        let line_start = text[..key_start].rfind('\n').map_or(0, |i| i + 1);
        if !text[line_start..key_start]
            .bytes()
            .all(|b| b == b' ' || b == b'\t')
        {
            return None;
        }
        let (open, close) = if text.contains("\r\n") {
            ("{\r\n", "\r\n}\r\n")
        } else {
            ("{\n", "\n}\n")
        };
        let small = format!("{open}{}{close}", &text[line_start..value_end]);
        let root = CstRootNode::parse(&small, &ParseOptions::default()).ok()?;
        root.object_value()?;
        Some(Self {
            root,
            layout: layout.clone(),
            focus: Some(Focus {
                before: text[..line_start].to_owned(),
                after: text[value_end..].to_owned(),
                open,
                close,
            }),
        })
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
        let small = self.root.to_string();
        let Some(focus) = &self.focus else {
            return small;
        };
        // Edits stay inside the container, so the small document's first and last lines are
        // as they were made.
        let inner = small
            .strip_prefix(focus.open)
            .and_then(|s| s.strip_suffix(focus.close))
            .unwrap_or(&small);
        let mut out = String::with_capacity(focus.before.len() + inner.len() + focus.after.len());
        out.push_str(&focus.before);
        out.push_str(inner);
        out.push_str(&focus.after);
        out
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

/// Where the top-level `key`'s value is: the byte offset of the key and the end of its value,
/// found with the scanner alone (no tree). `None` when the key is missing or given twice, or
/// its value is not an object or a list.
fn top_level_span(text: &str, key: &str) -> Option<(usize, usize)> {
    use jsonc_parser::tokens::Token;
    let mut scanner = jsonc_parser::Scanner::new(text, &jsonc_parser::ScannerOptions::default());
    let (mut depth, mut expect_key) = (0usize, false);
    let mut key_at: Option<usize> = None;
    let mut value_from: Option<usize> = None;
    let mut found: Option<(usize, usize)> = None;
    while let Some(token) = scanner.scan().ok()? {
        match token {
            Token::OpenBrace | Token::OpenBracket => {
                if depth == 1 && key_at.is_some() && value_from.is_none() {
                    value_from = Some(depth);
                }
                depth += 1;
                expect_key = depth == 1 && token == Token::OpenBrace;
            }
            Token::CloseBrace | Token::CloseBracket => {
                depth = depth.checked_sub(1)?;
                if depth == 1
                    && value_from.take().is_some()
                    && let Some(at) = key_at.take()
                {
                    if found.is_some() {
                        return None;
                    }
                    found = Some((at, scanner.token_end()));
                }
            }
            Token::Comma if depth == 1 => expect_key = true,
            Token::Colon if depth == 1 => expect_key = false,
            Token::String(name) if depth == 1 && expect_key => {
                key_at = (name == key).then(|| scanner.token_start());
            }
            Token::CommentLine(_) | Token::CommentBlock(_) | Token::Comma | Token::Colon => {}
            // A scalar: the container's value (wrong type) or anything else.
            _ if depth == 1 && key_at.is_some() && value_from.is_none() => return None,
            _ => {}
        }
    }
    found
}

/// `text` (a JSON or JSONC object, or nothing) with each key path set to its value, or
/// removed for `None`; every other byte as it was. A path's parents are made as objects when
/// missing.
pub fn set_values(text: &str, changes: &[(&[&str], Option<Value>)]) -> Result<String, String> {
    let source = if text.trim().is_empty() { "{}\n" } else { text };
    let root = CstRootNode::parse(source, &ParseOptions::default()).map_err(|e| e.to_string())?;
    if root.value().is_some() && root.object_value().is_none() {
        return Err("the top level is not an object".into());
    }
    for (path, value) in changes {
        let Some((key, parents)) = path.split_last() else {
            continue;
        };
        if let Some(value) = value {
            let mut obj = root.object_value_or_set();
            for parent in parents {
                obj = obj.object_value_or_set(parent);
            }
            match obj.get(key) {
                Some(prop) => prop.set_value(to_input(value)),
                None => {
                    obj.append(key, to_input(value));
                }
            }
        } else {
            let mut obj = root.object_value();
            for parent in parents {
                obj = obj.and_then(|o| o.object_value(parent));
            }
            if let Some(prop) = obj.and_then(|o| o.get(key)) {
                prop.remove();
            }
        }
    }
    Ok(root.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            container: vec!["mcpServers".into()],
            entries: EntriesKind::Map,
            name_field: "name".into(),
        }
    }

    /// A large file edited around its container gives exactly the bytes of the whole-tree
    /// edit, in both line-ending styles.
    #[test]
    fn a_large_file_is_edited_around_its_container_with_the_same_result() {
        for newline in ["\n", "\r\n"] {
            let history =
                format!("      {{\"display\": \"{}\"}},{newline}", "x".repeat(100)).repeat(12_000);
            let text = format!(
                "{{{newline}  \"numStartups\": 3,{newline}  \"projects\": {{{newline}    \"/src\": [{newline}{history}      {{}}{newline}    ]{newline}  }},{newline}  \"mcpServers\": {{{newline}    \"hand\": {{ \"command\": \"x\" }}{newline}  }},{newline}  \"theme\": \"dark\"{newline}}}{newline}"
            );
            assert!(text.len() > FOCUS_ABOVE);
            let mut focused = JsonDocument::parse(&text, layout()).unwrap();
            assert!(focused.focus.is_some());
            let mut whole = JsonDocument::whole(&text, layout()).unwrap();
            assert_eq!(focused.entries(), whole.entries());
            let entry =
                serde_json::json!({"command": "npx", "args": ["-y", "pkg"], "env": {"A": "1"}});
            for doc in [&mut focused, &mut whole] {
                doc.set_entry("memory", &entry).unwrap();
                doc.remove_entry("hand").unwrap();
            }
            assert_eq!(focused.text(), whole.text());
            assert!(focused.text().starts_with(&text[..200]));
            // Missing, duplicated or mistyped containers need the whole tree.
            let dup = text.replacen("\"theme\"", "\"mcpServers\"", 1);
            assert!(JsonDocument::focused(&dup, &layout()).is_none());
            let scalar = text.replacen("\"mcpServers\": {", "\"mcpServers\": 1, \"x\": {", 1);
            assert!(JsonDocument::focused(&scalar, &layout()).is_none());
        }
    }
}
