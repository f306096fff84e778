//! Views: functions of the state. They take `&State`, a `&mut ViewState` (scroll offsets
//! only) and the `&Theme`, do no I/O and change no domain state. Long lists build only the
//! rows that are visible, so a frame costs the same at 10 or 10,000 rows.

pub mod catalog;
pub mod clients;
pub mod dialog;
pub mod diff;
pub mod editor;
pub mod help;
pub mod history;
pub mod root;
pub mod server;
pub mod team;
pub mod theme;
pub mod toast;

pub use root::root;
pub use theme::{Role, Theme};

use ratatui::layout::Rect;

/// Scroll offsets of the lists; the only thing views may change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewState {
    /// Clients list.
    pub clients: usize,
    /// Catalog list.
    pub catalog: usize,
    /// Draft list.
    pub draft: usize,
    /// Releases list.
    pub releases: usize,
    /// Audit list.
    pub audit: usize,
    /// Backups list.
    pub backups: usize,
    /// Picker list.
    pub picker: usize,
    /// Form fields.
    pub form: usize,
}

/// The rows of a list to draw so that `selected` is visible, keeping `offset` when it can.
pub fn window(
    selected: usize,
    len: usize,
    height: usize,
    offset: &mut usize,
) -> std::ops::Range<usize> {
    if height == 0 || len == 0 {
        *offset = 0;
        return 0..0;
    }
    if selected < *offset {
        *offset = selected;
    } else if selected >= *offset + height {
        *offset = selected + 1 - height;
    }
    *offset = (*offset).min(len.saturating_sub(height));
    *offset..(*offset + height).min(len)
}

/// A rectangle of at most `w` x `h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Cuts `text` to `max` characters, with an ellipsis when cut.
pub fn ellipsize(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}
