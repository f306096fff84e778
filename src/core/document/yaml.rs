//! YAML with a line-level editor. No maintained Rust YAML library both edits and keeps
//! comments, so entries are edited as blocks of lines inside the top-level container; the
//! result is re-parsed and compared with the intended document. If that proof fails (an
//! unusual layout such as flow style), the whole document is re-serialised instead and a note
//! says that comments could not be kept.

use serde_json::Value;

use super::{ConfigDocument, Layout, LineEnding, ShapeProblem};
use crate::core::clients::EntriesKind;
use crate::core::error::{Error, Result};

pub struct YamlDocument {
    text: String,
    layout: Layout,
    notes: Vec<String>,
    /// The file's line ending, kept on output (the line edits write `\n`).
    line_ending: LineEnding,
}

fn parse_json(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    // Straight into JSON values, not through `serde_yaml_ng::Value`: a key is then the string
    // the file spells (`TRUE`, `1`, `~`), where the YAML value would resolve it to a boolean,
    // a number or null and the JSON conversion would rename or refuse it.
    let json: Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    match json {
        Value::Null => Ok(Value::Object(serde_json::Map::new())),
        Value::Object(_) => Ok(json),
        _ => Err("the top level is not a mapping".into()),
    }
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_trivia(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Line ranges of the container's block.
struct Block {
    /// Index of the `key:` line.
    header: usize,
    /// First line after the block.
    end: usize,
    /// Indentation of the entries (when any).
    indent: Option<usize>,
    /// (start, end) line ranges of each entry, without trailing trivia.
    entries: Vec<(usize, usize)>,
}

impl YamlDocument {
    pub fn parse(text: &str, layout: Layout) -> Result<Self, String> {
        parse_json(text)?;
        Ok(Self {
            text: text.to_owned(),
            layout,
            notes: Vec::new(),
            line_ending: LineEnding::of(text),
        })
    }

    fn value(&self) -> Value {
        parse_json(&self.text).unwrap_or(Value::Null)
    }

    fn key(&self) -> &str {
        self.layout
            .container
            .first()
            .map_or("mcpServers", String::as_str)
    }

    fn find_block(&self, lines: &[&str]) -> Option<Block> {
        if self.layout.container.len() != 1 {
            return None;
        }
        let key = self.key();
        let header = lines.iter().position(|l| {
            l.strip_prefix(key)
                .and_then(|r| r.trim_start().strip_prefix(':'))
                .is_some_and(|rest| {
                    let rest = rest.trim();
                    rest.is_empty() || rest.starts_with('#')
                })
        })?;
        let list = self.layout.entries == EntriesKind::List;
        let mut end = header + 1;
        while end < lines.len() {
            let line = lines[end];
            let continues = is_trivia(line)
                || indent_of(line) > 0
                || (list && (line.starts_with("- ") || line == "-"));
            if !continues || line.starts_with("---") || line.starts_with("...") {
                break;
            }
            end += 1;
        }
        let indent = lines[header + 1..end]
            .iter()
            .find(|l| !is_trivia(l))
            .map(|l| indent_of(l));
        let mut starts: Vec<usize> = Vec::new();
        if let Some(indent) = indent {
            for (i, line) in lines.iter().enumerate().take(end).skip(header + 1) {
                if !is_trivia(line) && indent_of(line) == indent {
                    starts.push(i);
                }
            }
        }
        let entries = starts
            .iter()
            .enumerate()
            .map(|(n, &start)| {
                let mut stop = starts.get(n + 1).copied().unwrap_or(end);
                while stop > start + 1 && is_trivia(lines[stop - 1]) {
                    stop -= 1;
                }
                (start, stop)
            })
            .collect();
        Some(Block {
            header,
            end,
            indent,
            entries,
        })
    }

    fn entry_name(&self, block_text: &str, indent: usize) -> Option<String> {
        let dedented: String = block_text
            .lines()
            .map(|l| l.get(indent.min(indent_of(l))..).unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let value = parse_yaml_value(&dedented)?;
        match self.layout.entries {
            EntriesKind::List => value
                .as_array()?
                .first()
                .and_then(|v| self.layout.list_name(v)),
            EntriesKind::Map => value.as_object()?.keys().next().cloned(),
        }
    }

    fn render_entry(&self, name: &str, entry: &Value, indent: usize) -> Result<Vec<String>> {
        let wrapped = match self.layout.entries {
            EntriesKind::List => Value::Array(vec![entry.clone()]),
            EntriesKind::Map => {
                let mut m = serde_json::Map::new();
                m.insert(name.to_owned(), entry.clone());
                Value::Object(m)
            }
        };
        let text = serde_yaml_ng::to_string(&wrapped)
            .map_err(|e| Error::Internal(format!("rendering YAML: {e}")))?;
        let pad = " ".repeat(indent);
        Ok(text
            .lines()
            .map(|l| {
                if l.is_empty() {
                    String::new()
                } else {
                    format!("{pad}{l}")
                }
            })
            .collect())
    }

    /// Applies a line edit; returns `false` when the edit could not be done surgically.
    fn edit_lines(&mut self, name: &str, entry: Option<&Value>) -> Result<bool> {
        let mut text = self.text.clone();
        let mut lines: Vec<&str> = text.lines().collect();
        let key = self.key().to_owned();
        let mut block = self.find_block(&lines);
        if block.is_none() && entry.is_some() && self.layout.container.len() == 1 {
            // No block container yet: an empty flow value (`key: []`) is replaced, a missing key
            // is appended.
            let flow = lines.iter().position(|l| {
                l.strip_prefix(key.as_str())
                    .and_then(|r| r.trim_start().strip_prefix(':'))
                    .is_some_and(|rest| {
                        matches!(
                            rest.split('#').next().unwrap_or("").trim(),
                            "[]" | "{}" | "~" | "null"
                        )
                    })
            });
            let header = format!("{key}:");
            let mut owned: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
            match flow {
                Some(i) => owned[i] = header,
                None => owned.push(header),
            }
            text = owned.join("\n") + "\n";
            lines = text.lines().collect();
            block = self.find_block(&lines);
        }
        let Some(block) = block else {
            return Ok(entry.is_none());
        };
        let indent = block.indent.unwrap_or(2);
        let existing = block.entries.iter().copied().find(|&(s, e)| {
            self.entry_name(&lines[s..e].join("\n"), indent).as_deref() == Some(name)
        });
        let replacement = match entry {
            Some(v) => self.render_entry(name, v, indent)?,
            None => Vec::new(),
        };
        let (start, stop) = match existing {
            Some(range) => range,
            None if entry.is_none() => return Ok(true),
            None => {
                let at = block.entries.last().map_or(block.header + 1, |&(_, e)| e);
                let at = if block.entries.is_empty() {
                    at.min(block.end)
                } else {
                    at
                };
                (at, at)
            }
        };
        let mut out: Vec<String> = lines[..start].iter().map(|l| (*l).to_owned()).collect();
        if entry.is_none() && block.entries.len() == 1 {
            // An emptied block would read as null: write the empty collection instead.
            let empty = if self.layout.entries == EntriesKind::List {
                "[]"
            } else {
                "{}"
            };
            let comment = lines[block.header]
                .find(" #")
                .map_or("", |i| &lines[block.header][i..]);
            out[block.header] = format!("{key}: {empty}{comment}");
        }
        out.extend(replacement);
        out.extend(lines[stop..].iter().map(|l| (*l).to_owned()));
        let mut new_text = out.join("\n");
        if self.text.is_empty() || self.text.ends_with('\n') || text.ends_with('\n') {
            new_text.push('\n');
        }
        self.text = new_text;
        Ok(true)
    }

    fn expected(&self, before: &Value, name: &str, entry: Option<&Value>) -> Value {
        let mut doc = before.clone();
        let key = self.key().to_owned();
        let Some(root) = doc.as_object_mut() else {
            return doc;
        };
        let slot = root.entry(key).or_insert(Value::Null);
        match self.layout.entries {
            EntriesKind::Map => {
                if !slot.is_object() {
                    *slot = Value::Object(serde_json::Map::new());
                }
                if let Some(map) = slot.as_object_mut() {
                    match entry {
                        Some(v) => {
                            map.insert(name.to_owned(), v.clone());
                        }
                        None => {
                            map.shift_remove(name);
                        }
                    }
                }
            }
            EntriesKind::List => {
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                if let Some(list) = slot.as_array_mut() {
                    let pos = list
                        .iter()
                        .position(|v| self.layout.list_name(v).as_deref() == Some(name));
                    match (pos, entry) {
                        (Some(i), Some(v)) => list[i] = v.clone(),
                        (None, Some(v)) => list.push(v.clone()),
                        (Some(i), None) => {
                            list.remove(i);
                        }
                        (None, None) => {}
                    }
                }
            }
        }
        doc
    }

    fn apply(&mut self, name: &str, entry: Option<&Value>) -> Result<()> {
        let before_text = self.text.clone();
        let before = self.value();
        let expected = self.expected(&before, name, entry);
        let done = self.edit_lines(name, entry)?;
        if done && parse_json(&self.text).ok().as_ref() == Some(&expected) {
            return Ok(());
        }
        // Could not prove a surgical edit: re-serialise the whole document.
        self.text = serde_yaml_ng::to_string(&expected)
            .map_err(|e| Error::Internal(format!("rendering YAML: {e}")))?;
        if !before_text.trim().is_empty() {
            let note = "this YAML file's layout could not be edited in place: it was re-serialised, so comments and formatting were not kept (all keys and values were)".to_owned();
            if !self.notes.contains(&note) {
                self.notes.push(note);
            }
        }
        Ok(())
    }
}

fn parse_yaml_value(text: &str) -> Option<Value> {
    serde_yaml_ng::from_str(text).ok()
}

impl ConfigDocument for YamlDocument {
    fn shape_problem(&self) -> Option<ShapeProblem> {
        super::value_shape_problem(&self.value(), &self.layout)
    }

    fn entries(&self) -> Vec<(String, Value)> {
        let doc = self.value();
        let mut node = Some(&doc);
        for key in &self.layout.container {
            node = node.and_then(|n| n.get(key));
        }
        match (node, self.layout.entries) {
            (Some(Value::Object(map)), EntriesKind::Map) => super::object_entries(map),
            (Some(Value::Array(items)), EntriesKind::List) => items
                .iter()
                .filter_map(|item| self.layout.list_name(item).map(|n| (n, item.clone())))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn set_entry(&mut self, name: &str, entry: &Value) -> Result<()> {
        self.apply(name, Some(entry))
    }

    fn remove_entry(&mut self, name: &str) -> Result<bool> {
        let present = self.entries().iter().any(|(n, _)| n == name);
        if present {
            self.apply(name, None)?;
        }
        Ok(present)
    }

    fn text(&self) -> String {
        // YAML reads every line break in a scalar as `\n`: converting them all is safe.
        self.line_ending.apply(self.text.clone(), |_| Vec::new())
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}
