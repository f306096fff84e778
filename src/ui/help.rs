//! The help overlay, generated from the keymap: the bindings of the current screen, then the
//! global ones.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::centered;
use super::theme::{Role, Theme};
use crate::app::keymap::Layer;
use crate::app::state::State;

/// The help lines for the current screen.
pub fn lines<'a>(state: &'a State, theme: &Theme) -> Vec<Line<'a>> {
    let mut layers = vec![state.screen.layer()];
    if state.screen == crate::app::state::Screen::Catalog {
        layers.push(Layer::Filter);
    }
    layers.push(Layer::Global);
    let mut out = Vec::new();
    for layer in layers {
        let bindings = state.keymap.bindings(layer);
        if bindings.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(Line::from(""));
        }
        out.push(Line::from(Span::styled(
            format!("{} keys", layer.name()),
            theme.style(Role::Title),
        )));
        for b in bindings {
            out.push(Line::from(vec![
                Span::styled(
                    format!("  {:<12}", b.keys_label()),
                    theme.style(Role::Accent),
                ),
                Span::raw(b.desc.clone()),
            ]));
        }
    }
    out
}

/// Draws the overlay.
pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, scroll: usize, theme: &Theme) {
    let r = centered(area, 60, area.height.saturating_sub(2));
    frame.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Focus))
        .title(Span::styled(" Help ", theme.style(Role::Title)));
    let all = lines(state, theme);
    let height = usize::from(r.height.saturating_sub(2));
    let scroll = scroll.min(all.len().saturating_sub(height));
    let visible: Vec<Line<'_>> = all.into_iter().skip(scroll).take(height).collect();
    frame.render_widget(Paragraph::new(visible).block(block), r);
}
