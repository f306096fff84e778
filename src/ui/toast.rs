//! Notices: the newest at the bottom right of the body, above the status bar.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Span;
use ratatui::widgets::{Clear, Paragraph};

use super::ellipsize;
use super::theme::{Role, Theme};
use crate::app::state::{State, ToastLevel};

/// Draws the notices.
pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let max = usize::from(area.width.saturating_sub(4)).min(100);
    let mut y = area.y + area.height;
    for t in state.toasts.iter().rev() {
        if y <= area.y {
            break;
        }
        y -= 1;
        let (mark, role) = match t.level {
            ToastLevel::Info => ("•", Role::Accent),
            ToastLevel::Ok => ("✓", Role::Ok),
            ToastLevel::Warn => ("!", Role::Warn),
            ToastLevel::Error => ("✗", Role::Error),
        };
        let text = ellipsize(&format!(" {mark} {} ", t.text), max);
        let width = u16::try_from(text.chars().count())
            .unwrap_or(area.width)
            .min(area.width);
        let r = Rect {
            x: area.x + area.width - width,
            y,
            width,
            height: 1,
        };
        frame.render_widget(Clear, r);
        frame.render_widget(
            Paragraph::new(Span::styled(
                text,
                theme.style(role).add_modifier(Modifier::REVERSED),
            )),
            r,
        );
    }
}
