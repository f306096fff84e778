//! Theme roles: widgets ask for a [`Role`], never a colour. The default theme is
//! `assets/themes/default.toml`; a user theme patches it role by role, and `NO_COLOR` keeps only
//! the modifiers (selection stays visible as reversed text).

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

const DEFAULT: &str = include_str!("../../assets/themes/default.toml");

/// What a piece of text means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Normal text.
    Base,
    /// Secondary text.
    Muted,
    /// Highlights (keys, ids).
    Accent,
    /// Titles.
    Title,
    /// The focused element.
    Focus,
    /// The selected row.
    Selection,
    /// Success.
    Ok,
    /// Warnings.
    Warn,
    /// Errors.
    Error,
    /// Added lines.
    DiffAdd,
    /// Removed lines.
    DiffDel,
    /// Hunk headers.
    DiffHunk,
}

impl Role {
    /// Every role.
    pub const ALL: [Self; 12] = [
        Self::Base,
        Self::Muted,
        Self::Accent,
        Self::Title,
        Self::Focus,
        Self::Selection,
        Self::Ok,
        Self::Warn,
        Self::Error,
        Self::DiffAdd,
        Self::DiffDel,
        Self::DiffHunk,
    ];

    fn key(self) -> &'static str {
        match self {
            Self::Base => "base",
            Self::Muted => "muted",
            Self::Accent => "accent",
            Self::Title => "title",
            Self::Focus => "focus",
            Self::Selection => "selection",
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Error => "error",
            Self::DiffAdd => "diff_add",
            Self::DiffDel => "diff_del",
            Self::DiffHunk => "diff_hunk",
        }
    }

    /// What a colourless terminal gets.
    fn monochrome(self) -> Modifier {
        match self {
            Self::Base | Self::DiffAdd | Self::DiffDel => Modifier::empty(),
            Self::Muted => Modifier::DIM,
            Self::Accent | Self::Warn => Modifier::UNDERLINED,
            Self::Title | Self::Focus | Self::Ok | Self::Error | Self::DiffHunk => Modifier::BOLD,
            Self::Selection => Modifier::REVERSED,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStyle {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    mods: Vec<String>,
}

/// Resolved styles per role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    styles: BTreeMap<Role, Style>,
}

fn parse_color(s: &str) -> Result<Color, String> {
    s.parse::<Color>()
        .map_err(|_| format!("unknown colour `{s}`"))
}

fn parse_modifier(s: &str) -> Result<Modifier, String> {
    Ok(match s {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" => Modifier::UNDERLINED,
        "reversed" => Modifier::REVERSED,
        "crossed_out" => Modifier::CROSSED_OUT,
        other => return Err(format!("unknown modifier `{other}`")),
    })
}

fn to_style(raw: &RawStyle) -> Result<Style, String> {
    let mut style = Style::default();
    if let Some(fg) = &raw.fg {
        style = style.fg(parse_color(fg)?);
    }
    if let Some(bg) = &raw.bg {
        style = style.bg(parse_color(bg)?);
    }
    for m in &raw.mods {
        style = style.add_modifier(parse_modifier(m)?);
    }
    Ok(style)
}

impl Default for Theme {
    fn default() -> Self {
        Self::default_theme()
    }
}

impl Theme {
    /// The built-in theme.
    pub fn default_theme() -> Self {
        let mut theme = Self {
            styles: BTreeMap::new(),
        };
        // The embedded theme is checked by a unit test.
        let _ = theme.patch(DEFAULT);
        theme
    }

    /// A theme without colours, for `NO_COLOR` and tests.
    pub fn monochrome() -> Self {
        Self {
            styles: Role::ALL
                .into_iter()
                .map(|r| (r, Style::default().add_modifier(r.monochrome())))
                .collect(),
        }
    }

    /// Patches roles from TOML text.
    pub fn patch(&mut self, text: &str) -> Result<(), String> {
        let raw: BTreeMap<String, RawStyle> = toml::from_str(text).map_err(|e| e.to_string())?;
        for (key, style) in raw {
            let role = Role::ALL
                .into_iter()
                .find(|r| r.key() == key)
                .ok_or_else(|| format!("unknown role `{key}`"))?;
            self.styles.insert(role, to_style(&style)?);
        }
        Ok(())
    }

    /// The theme for this terminal: monochrome under `NO_COLOR`, else the default patched by
    /// the user's file. A broken user file is reported and ignored.
    pub fn load(no_color: bool, user_file: Option<&Path>) -> (Self, Option<String>) {
        if no_color {
            return (Self::monochrome(), None);
        }
        let mut theme = Self::default_theme();
        let Some(path) = user_file else {
            return (theme, None);
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut patched = theme.clone();
                match patched.patch(&text) {
                    Ok(()) => theme = patched,
                    Err(e) => return (theme, Some(format!("{}: {e}", path.display()))),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return (theme, Some(format!("{}: {e}", path.display()))),
        }
        (theme, None)
    }

    /// The style of a role (falls back to `Base`, then to the terminal default).
    pub fn style(&self, role: Role) -> Style {
        self.styles
            .get(&role)
            .or_else(|| self.styles.get(&Role::Base))
            .copied()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_theme_parses_and_covers_every_role() {
        let mut theme = Theme {
            styles: BTreeMap::new(),
        };
        theme.patch(DEFAULT).unwrap();
        for role in Role::ALL {
            assert!(theme.styles.contains_key(&role), "{role:?} missing");
        }
    }

    #[test]
    fn no_color_keeps_only_modifiers() {
        let (theme, err) = Theme::load(true, None);
        assert!(err.is_none());
        for role in Role::ALL {
            let s = theme.style(role);
            assert_eq!((s.fg, s.bg), (None, None), "{role:?} has a colour");
        }
        assert!(
            theme
                .style(Role::Selection)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
    }

    #[test]
    fn a_user_theme_patches_roles_and_bad_ones_are_reported() {
        let mut theme = Theme::default_theme();
        theme
            .patch("[error]\nfg = \"#ff0000\"\nmods = [\"underlined\"]")
            .unwrap();
        assert_eq!(theme.style(Role::Error).fg, Some(Color::Rgb(255, 0, 0)));
        assert_eq!(
            theme.style(Role::Ok),
            Theme::default_theme().style(Role::Ok)
        );
        assert!(
            theme
                .patch("[nope]\nfg = \"red\"")
                .unwrap_err()
                .contains("nope")
        );
        assert!(
            theme
                .patch("[ok]\nfg = \"blurple\"")
                .unwrap_err()
                .contains("blurple")
        );
        assert!(
            theme
                .patch("[ok]\nmods = [\"wobbly\"]")
                .unwrap_err()
                .contains("wobbly")
        );
    }
}
