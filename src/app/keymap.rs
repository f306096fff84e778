//! The keymap as data: `assets/default-keymap.toml` (embedded) with the user's `keymap.toml`
//! patched over it key by key. The router, the help overlay, the status-bar hints and
//! docs/keymap.md all come from this one table, so they cannot drift apart.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use super::command::Command;

const DEFAULT: &str = include_str!("../../assets/default-keymap.toml");

/// A routing layer. Higher layers see a key first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// The help overlay.
    Help,
    /// A yes/no confirmation.
    Confirm,
    /// A one-line text prompt.
    Prompt,
    /// The add-server form.
    Form,
    /// A list picker.
    Picker,
    /// The focused catalog filter.
    Filter,
    /// The Clients screen.
    Clients,
    /// The Catalog screen.
    Catalog,
    /// The Draft screen.
    Draft,
    /// The Diff screen.
    Diff,
    /// The History screen.
    History,
    /// The Server panel.
    Server,
    /// The Team screen.
    Team,
    /// Everywhere, unless a dialog or input is open.
    Global,
}

impl Layer {
    /// Every layer, top first.
    pub const ALL: [Self; 14] = [
        Self::Help,
        Self::Confirm,
        Self::Prompt,
        Self::Form,
        Self::Picker,
        Self::Filter,
        Self::Clients,
        Self::Catalog,
        Self::Draft,
        Self::Diff,
        Self::History,
        Self::Server,
        Self::Team,
        Self::Global,
    ];

    /// Its name in the keymap file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Help => "help",
            Self::Confirm => "confirm",
            Self::Prompt => "prompt",
            Self::Form => "form",
            Self::Picker => "picker",
            Self::Filter => "filter",
            Self::Clients => "clients",
            Self::Catalog => "catalog",
            Self::Draft => "draft",
            Self::Diff => "diff",
            Self::History => "history",
            Self::Server => "server",
            Self::Team => "team",
            Self::Global => "global",
        }
    }

    /// Whether unbound printable keys are typed into an input in this layer.
    pub fn takes_text(self) -> bool {
        matches!(self, Self::Prompt | Self::Form | Self::Filter)
    }
}

/// One key with its modifiers (shift is folded into the character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyChord {
    /// The key.
    pub code: KeyCode,
    /// Ctrl and Alt.
    pub mods: KeyModifiers,
}

impl KeyChord {
    /// The chord of a terminal key event.
    pub fn from_event(ev: &KeyEvent) -> Self {
        let mut mods = ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match ev.code {
            KeyCode::BackTab => KeyCode::BackTab,
            KeyCode::Tab if ev.modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        if code == KeyCode::Null {
            mods = KeyModifiers::NONE;
        }
        Self { code, mods }
    }

    /// Parses `ctrl-c`, `G`, `enter`, `f5`, `space`, ...
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                mods |= KeyModifiers::CONTROL;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                mods |= KeyModifiers::ALT;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" | "shift-tab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" => KeyCode::Delete,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" => KeyCode::PageUp,
            "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                let n: u8 = f[1..]
                    .parse()
                    .map_err(|_| format!("invalid key `{text}`"))?;
                if !(1..=12).contains(&n) {
                    return Err(format!("invalid key `{text}`: function keys are f1 to f12"));
                }
                KeyCode::F(n)
            }
            c if c.chars().count() == 1 => {
                let ch = c.chars().next().unwrap_or(' ');
                if mods.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(ch.to_ascii_lowercase())
                } else {
                    KeyCode::Char(ch)
                }
            }
            _ => return Err(format!("invalid key `{text}`")),
        };
        Ok(Self { code, mods })
    }

    /// The printable character of an unmodified key, for text input.
    pub fn text(self) -> Option<char> {
        match self.code {
            KeyCode::Char(c) if !self.mods.contains(KeyModifiers::CONTROL) => Some(c),
            _ => None,
        }
    }
}

impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The key sequence.
    pub keys: Vec<KeyChord>,
    /// What it runs.
    pub run: Command,
    /// What it does, for help.
    pub desc: String,
    /// Whether the status bar shows it.
    pub hint: bool,
}

impl Binding {
    /// The keys as written in help (`g g`).
    pub fn keys_label(&self) -> String {
        self.keys
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    keys: Vec<String>,
    run: Command,
    #[serde(default)]
    desc: String,
    #[serde(default)]
    hint: bool,
}

/// How a key resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Run a command.
    Run(Command),
    /// The key starts a longer sequence; wait for the next one.
    Pending,
    /// Type this character into the layer's input.
    Text(char),
    /// Nothing is bound.
    Unbound,
}

/// The bindings of every layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keymap {
    layers: BTreeMap<Layer, Vec<Binding>>,
}

fn parse_layers(text: &str, origin: &str) -> Result<BTreeMap<Layer, Vec<Binding>>, String> {
    let raw: BTreeMap<String, Vec<RawBinding>> =
        toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
    let mut out = BTreeMap::new();
    for (name, bindings) in raw {
        let layer = Layer::ALL
            .into_iter()
            .find(|l| l.name() == name)
            .ok_or_else(|| format!("{origin}: unknown layer `{name}`"))?;
        let mut parsed = Vec::new();
        for b in bindings {
            if b.keys.is_empty() {
                return Err(format!("{origin}: a binding in `{name}` has no keys"));
            }
            let keys = b
                .keys
                .iter()
                .map(|k| KeyChord::parse(k).map_err(|e| format!("{origin}: [{name}] {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            parsed.push(Binding {
                keys,
                run: b.run,
                desc: b.desc,
                hint: b.hint,
            });
        }
        out.insert(layer, parsed);
    }
    Ok(out)
}

impl Keymap {
    /// The built-in keymap.
    pub fn default_keymap() -> Self {
        // The embedded file is checked by a unit test, so this cannot fail at run time.
        Self::from_toml(DEFAULT).unwrap_or_default()
    }

    /// A keymap from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        Ok(Self {
            layers: parse_layers(text, "keymap")?,
        })
    }

    /// Patches `text` (a user keymap) over this one: a binding with the same keys in the same
    /// layer is replaced, a new one is added, and `run = "noop"` removes the key.
    pub fn patch(&mut self, text: &str, origin: &str) -> Result<(), String> {
        for (layer, bindings) in parse_layers(text, origin)? {
            let existing = self.layers.entry(layer).or_default();
            for b in bindings {
                existing.retain(|e| e.keys != b.keys);
                if b.run != Command::Noop {
                    existing.push(b);
                }
            }
        }
        Ok(())
    }

    /// The default keymap patched with the user's file, when there is one. A broken user file
    /// is reported and the defaults are used.
    pub fn load(user_file: Option<&Path>) -> (Self, Option<String>) {
        let mut map = Self::default_keymap();
        let Some(path) = user_file else {
            return (map, None);
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut patched = map.clone();
                match patched.patch(&text, &path.display().to_string()) {
                    Ok(()) => map = patched,
                    Err(e) => return (map, Some(e)),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return (map, Some(format!("{}: {e}", path.display()))),
        }
        (map, None)
    }

    /// The bindings of a layer.
    pub fn bindings(&self, layer: Layer) -> &[Binding] {
        self.layers.get(&layer).map_or(&[], Vec::as_slice)
    }

    /// Resolves `key` after the `pending` keys of a sequence, trying `layers` top first.
    /// Text layers take unbound printable keys.
    pub fn resolve(&self, layers: &[Layer], pending: &[KeyChord], key: KeyChord) -> Resolved {
        let mut seq: Vec<KeyChord> = pending.to_vec();
        seq.push(key);
        for &layer in layers {
            let bindings = self.bindings(layer);
            if let Some(b) = bindings.iter().find(|b| b.keys == seq) {
                return Resolved::Run(b.run);
            }
            if bindings
                .iter()
                .any(|b| b.keys.len() > seq.len() && b.keys[..seq.len()] == seq[..])
            {
                return Resolved::Pending;
            }
            if layer.takes_text()
                && pending.is_empty()
                && let Some(c) = key.text()
            {
                return Resolved::Text(c);
            }
        }
        Resolved::Unbound
    }

    /// The status-bar hints of the given layers, first binding per command.
    pub fn hints(&self, layers: &[Layer]) -> Vec<(String, String)> {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for &layer in layers {
            for b in self.bindings(layer).iter().filter(|b| b.hint) {
                if !seen.contains(&b.run) {
                    seen.push(b.run);
                    out.push((b.keys_label(), b.desc.clone()));
                }
            }
        }
        out
    }

    /// docs/keymap.md, generated from the table.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "# Keymap\n\nGenerated from `assets/default-keymap.toml` (the test `keymap_doc_is_current` \
             fails when this file is stale; regenerate it with `UPDATE_KEYMAP_DOC=1 cargo test keymap_doc`).\n\n\
             Override any key in `keymap.toml` in the config directory (`$MCP_ORCH_CONFIG`, else the \
             platform config directory, e.g. `~/.config/mcp-orch/`), in the same format: a binding with \
             the same keys in the same layer replaces the default, and `run = \"noop\"` unbinds it.\n\n\
             The first layer that binds a key wins: help > confirm > prompt > form > picker > filter > \
             the current screen > global.\n",
        );
        for layer in Layer::ALL {
            let bindings = self.bindings(layer);
            if bindings.is_empty() {
                continue;
            }
            let _ = write!(
                out,
                "\n## {}\n\n| Keys | Command | Does |\n|---|---|---|\n",
                layer.name()
            );
            for b in bindings {
                let _ = writeln!(
                    out,
                    "| `{}` | `{}` | {} |",
                    b.keys_label(),
                    b.run.name(),
                    b.desc
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
