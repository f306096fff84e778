//! Dialogs: confirmation (with the plan it confirms), one-line prompts and pickers.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::{Role, Theme};
use super::{ViewState, centered, diff, ellipsize, window};
use crate::app::state::{Confirm, Picker, Prompt};

fn frame_block<'a>(title: &str, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Focus))
        .title(Span::styled(format!(" {title} "), theme.style(Role::Title)))
}

/// Draws a confirmation.
pub fn confirm(frame: &mut Frame<'_>, area: Rect, c: &Confirm, theme: &Theme) {
    let wanted = u16::try_from(c.body.len() + 4).unwrap_or(u16::MAX);
    let r = centered(area, area.width.saturating_sub(4).min(100), wanted.max(6));
    frame.render_widget(Clear, r);
    let block = frame_block(&c.title, theme);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let [body, foot] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    frame.render_widget(
        Paragraph::new(diff::visible(
            &c.body,
            c.scroll,
            usize::from(body.height),
            theme,
        )),
        body,
    );
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("y", theme.style(Role::Accent)),
            Span::raw(" yes   "),
            Span::styled("n", theme.style(Role::Accent)),
            Span::raw(" no"),
        ])),
        foot,
    );
}

/// Draws a prompt.
pub fn prompt(frame: &mut Frame<'_>, area: Rect, p: &Prompt, theme: &Theme) {
    let r = centered(area, 60, 5);
    frame.render_widget(Clear, r);
    let block = frame_block(&p.title, theme);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{}: ", p.label), theme.style(Role::Muted)),
        Span::styled(p.value.clone(), theme.style(Role::Accent)),
        Span::styled("▏", theme.style(Role::Focus)),
    ])];
    if let Some(e) = &p.error {
        lines.push(Line::from(Span::styled(
            ellipsize(&format!("✗ {e}"), usize::from(inner.width)),
            theme.style(Role::Error),
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Draws a picker.
pub fn picker(frame: &mut Frame<'_>, area: Rect, p: &Picker, view: &mut ViewState, theme: &Theme) {
    let wanted = u16::try_from(p.items.len() + 2).unwrap_or(u16::MAX);
    let r = centered(
        area,
        50,
        wanted.clamp(3, area.height.saturating_sub(2).max(3)),
    );
    frame.render_widget(Clear, r);
    let block = frame_block(&p.title, theme);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let rows = window(
        p.selected,
        p.items.len(),
        usize::from(inner.height),
        &mut view.picker,
    );
    let lines: Vec<Line<'_>> = rows
        .map(|i| {
            let item = &p.items[i];
            let mark = match (p.multi, item.checked) {
                (true, true) => "[x] ",
                (true, false) => "[ ] ",
                (false, _) => "",
            };
            let role = if i == p.selected {
                Role::Selection
            } else {
                Role::Base
            };
            Line::from(Span::styled(
                ellipsize(&format!("{mark}{}", item.label), usize::from(inner.width)),
                theme.style(role),
            ))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
