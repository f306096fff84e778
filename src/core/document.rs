//! Format-preserving editors for client config files. Each one changes only the server
//! entries it is told to change; every other key, comment and byte of formatting stays as it
//! was. JSON and JSONC go through the `jsonc-parser` CST, TOML through `toml_edit`, YAML
//! through a line-level editor that re-parses its output to prove nothing else moved (and
//! falls back to a full re-serialisation, which it reports, when it cannot prove that).

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
}

/// Parses `text` (the file's current content; empty for a missing file) with the client's
/// format and layout. `origin` names the file in errors.
pub fn open(
    client: &ClientDef,
    text: &str,
    origin: &std::path::Path,
) -> Result<Box<dyn ConfigDocument>> {
    let layout = Layout {
        container: client.container.clone(),
        entries: client.entries,
        name_field: client.name_field.clone(),
    };
    let parse_error = |message: String| Error::Parse {
        path: origin.to_path_buf(),
        message,
        code: "CONFIG_PARSE_ERROR",
    };
    match client.format {
        Format::Json | Format::Jsonc => Ok(Box::new(
            json::JsonDocument::parse(text, layout).map_err(parse_error)?,
        )),
        Format::Toml => Ok(Box::new(
            toml_doc::TomlDocument::parse(text, layout).map_err(parse_error)?,
        )),
        Format::Yaml => Ok(Box::new(
            yaml::YamlDocument::parse(text, layout).map_err(parse_error)?,
        )),
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
