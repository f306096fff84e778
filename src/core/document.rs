//! Format-preserving editors for client config files. Each one changes only the server
//! entries it is told to change; every other key, comment and byte of formatting stays as it
//! was. JSON and JSONC go through the `jsonc-parser` CST, TOML through `toml_edit`, YAML
//! through a line-level editor that re-parses its output to prove nothing else moved (and
//! falls back to a full re-serialisation, which it reports, when it cannot prove that).

use crate::core::code::Code;
use serde_json::{Map, Value};

use crate::core::clients::{ClientDef, EntriesKind, Format};
use crate::core::error::{Error, Result};

mod json;
mod toml_doc;
mod yaml;

/// An editable client config file.
pub trait ConfigDocument {
    /// The server entries, in file order.
    fn entries(&self) -> Vec<(String, Value)>;
    /// Adds or replaces one entry.
    fn set_entry(&mut self, name: &str, entry: &Value) -> Result<()>;
    /// Removes one entry; returns whether it was there.
    fn remove_entry(&mut self, name: &str) -> Result<bool>;
    /// The file's text as it would be written.
    fn text(&self) -> String;
    /// Things the user should know about this edit (for example, comments that could not be
    /// kept).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
    /// What makes the file unsafe to edit, though it parses: a key on the way to the entries
    /// (or their container) holding something else than expected, or a key given twice, where
    /// an edit would replace data or land where the client does not read.
    fn shape_problem(&self) -> Option<ShapeProblem> {
        None
    }
}

/// Why a parsed file cannot be edited safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeProblem {
    /// `key` holds something else than the `expected` object or list.
    WrongType {
        /// The key.
        key: String,
        /// What the client's layout needs there.
        expected: &'static str,
    },
    /// `key` appears more than once in one object.
    Duplicate {
        /// The key.
        key: String,
    },
}

impl ShapeProblem {
    fn error(&self, origin: &std::path::Path) -> Error {
        match self {
            Self::WrongType { key, expected } => Error::invalid(
                Code::WrongContainerType,
                key.clone(),
                format!(
                    "`{key}` in {} is not {expected}: writing servers there would replace what it holds",
                    origin.display()
                ),
                format!(
                    "fix `{key}` by hand (it must be {expected}); mcp-orch left the file untouched"
                ),
            ),
            Self::Duplicate { key } => Error::invalid(
                Code::DuplicateKey,
                key.clone(),
                format!(
                    "`{key}` appears more than once in {}: parsers disagree on which one counts",
                    origin.display()
                ),
                format!(
                    "merge the `{key}` keys by hand into one; mcp-orch left the file untouched"
                ),
            ),
        }
    }
}

/// Parses `text` (the file's current content; empty for a missing file) with the client's
/// format and layout; a missing or empty file starts as the client's `new_file`. `origin`
/// names the file in errors.
pub fn open(
    client: &ClientDef,
    text: &str,
    origin: &std::path::Path,
) -> Result<Box<dyn ConfigDocument>> {
    let text = if text.trim().is_empty() && !client.new_file.is_empty() {
        client.new_file.as_str()
    } else {
        text
    };
    let layout = Layout {
        container: client.container.clone(),
        entries: client.entries,
        name_field: client.name_field.clone(),
    };
    let parse_error = |message: String| Error::Parse {
        path: origin.to_path_buf(),
        message,
        code: Code::ConfigParseError,
    };
    let doc: Box<dyn ConfigDocument> = match client.format {
        Format::Json | Format::Jsonc => {
            let doc = json::JsonDocument::parse(text, layout).map_err(parse_error)?;
            // A strict-JSON client cannot read comments or trailing commas: a file with them
            // is broken for it, whatever mcp-orch could parse.
            if client.format == Format::Json
                && !text.trim().is_empty()
                && let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text)
            {
                return Err(Error::invalid(
                    Code::JsonNotStrict,
                    "path",
                    format!(
                        "{} is not strict JSON ({e}): {} cannot read it",
                        origin.display(),
                        client.name
                    ),
                    "remove the comments or trailing commas by hand; mcp-orch left the file untouched",
                ));
            }
            Box::new(doc)
        }
        Format::Toml => Box::new(toml_doc::TomlDocument::parse(text, layout).map_err(parse_error)?),
        Format::Yaml => Box::new(yaml::YamlDocument::parse(text, layout).map_err(parse_error)?),
    };
    match doc.shape_problem() {
        Some(problem) => Err(problem.error(origin)),
        None => Ok(doc),
    }
}

/// `text` (a JSON or JSONC object; empty for a missing file) with each key path set to its
/// value, or removed for `None`, every other byte kept: for files that are not server lists
/// (managed policy files).
///
/// # Errors
/// The parser's message when `text` is not a JSON object.
pub fn set_json_values(
    text: &str,
    changes: &[(&[&str], Option<Value>)],
) -> std::result::Result<String, String> {
    json::set_values(text, changes)
}

/// The shape problem of a JSON-like value tree (YAML), walking the container path.
fn value_shape_problem(root: &Value, layout: &Layout) -> Option<ShapeProblem> {
    let mut node = root;
    for (i, key) in layout.container.iter().enumerate() {
        let value = node.get(key)?;
        let last = i + 1 == layout.container.len();
        let fits = if !last || layout.entries == EntriesKind::Map {
            value.is_object() || value.is_null()
        } else {
            value.is_array() || value.is_null()
        };
        if !fits {
            return Some(ShapeProblem::WrongType {
                key: key.clone(),
                expected: layout.expected(last),
            });
        }
        node = value;
    }
    None
}

/// The line ending of a file, kept on output: the editors' libraries write `\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineEnding {
    Lf,
    Crlf,
}

impl LineEnding {
    /// The ending most of the file's lines use.
    fn of(text: &str) -> Self {
        let crlf = text.matches("\r\n").count();
        if crlf > text.matches('\n').count() - crlf {
            Self::Crlf
        } else {
            Self::Lf
        }
    }

    /// `text` (an editor's output) with each `\n` that is not already `\r\n` written in the
    /// file's ending, except inside the byte ranges `verbatim` finds in it (sorted): there a
    /// line break is data (a TOML multi-line string), which converting would change (found by
    /// `edit_toml`). `verbatim` runs only for a CRLF file.
    fn apply(
        self,
        text: String,
        verbatim: impl FnOnce(&str) -> Vec<std::ops::Range<usize>>,
    ) -> String {
        if self == Self::Lf {
            return text;
        }
        let verbatim = verbatim(&text);
        let mut out = String::with_capacity(text.len() + text.len() / 16);
        let mut ranges = verbatim.iter().peekable();
        let mut previous = '\0';
        for (at, c) in text.char_indices() {
            while ranges.next_if(|r| r.end <= at).is_some() {}
            let inside = ranges.peek().is_some_and(|r| r.contains(&at));
            if c == '\n' && previous != '\r' && !inside {
                out.push('\r');
            }
            out.push(c);
            previous = c;
        }
        out
    }
}

/// Where the entries live inside a document.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Key path to the collection.
    pub container: Vec<String>,
    /// Map or list.
    pub entries: EntriesKind,
    /// Name field inside list entries.
    pub name_field: String,
}

impl Layout {
    /// What the key at a position of the container path must hold.
    fn expected(&self, last: bool) -> &'static str {
        if last && self.entries == EntriesKind::List {
            "a list"
        } else {
            "an object"
        }
    }

    /// The name of a list entry.
    fn list_name(&self, entry: &Value) -> Option<String> {
        entry
            .get(&self.name_field)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

/// Reads a JSON object's entries as `(name, value)` pairs.
fn object_entries(map: &Map<String, Value>) -> Vec<(String, Value)> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
