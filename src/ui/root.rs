//! The root view: tab bar, the current screen, the status bar with hints from the keymap,
//! then overlays in z-order (notices, dialogs, help).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::theme::{Role, Theme};
use super::{
    ViewState, catalog, clients, dialog, diff, editor, help, history, server, team, toast,
};
use crate::app::state::{Modal, Screen, State};

/// Draws the whole frame.
pub fn root(frame: &mut Frame<'_>, state: &State, view: &mut ViewState, theme: &Theme) {
    let area = frame.area();
    frame.render_widget(Clear, area);
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_tabs(frame, tabs, state, theme);
    match state.screen {
        Screen::Clients => clients::draw(frame, body, state, view, theme),
        Screen::Catalog => catalog::draw(frame, body, state, view, theme),
        Screen::Draft => editor::draw(frame, body, state, view, theme),
        Screen::Diff => diff::draw(frame, body, state, theme),
        Screen::History => history::draw(frame, body, state, view, theme),
        Screen::Server => server::draw(frame, body, state, theme),
        Screen::Team => team::draw(frame, body, state, theme),
    }
    draw_status(frame, status, state, theme);
    toast::draw(frame, body, state, theme);
    match &state.modal {
        None => {}
        Some(Modal::Help { scroll }) => help::draw(frame, body, state, *scroll, theme),
        Some(Modal::Confirm(c)) => dialog::confirm(frame, body, c, theme),
        Some(Modal::Prompt(p)) => dialog::prompt(frame, body, p, theme),
        Some(Modal::Picker(p)) => dialog::picker(frame, body, p, view, theme),
        Some(Modal::Form(f)) => editor::form(frame, body, state, f, view, theme),
    }
}

fn draw_tabs(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let target = state.target.as_ref().map_or_else(
        || "no client chosen".to_owned(),
        |t| format!("{}/{}", t.client, t.profile),
    );
    let width = u16::try_from(target.chars().count() + 1).unwrap_or(u16::MAX);
    // ` 1 Clients ` per tab; on a narrow terminal ` 1 Clients` keeps room for the target.
    let used = |pad: usize| -> u16 {
        Screen::ALL
            .iter()
            .map(|s| u16::try_from(s.title().len() + 3 + pad).unwrap_or(0))
            .sum()
    };
    let pad = usize::from(area.width > used(1) + width);
    let mut spans = Vec::new();
    for (i, s) in Screen::ALL.iter().enumerate() {
        let role = if *s == state.screen {
            Role::Selection
        } else {
            Role::Muted
        };
        spans.push(Span::styled(
            format!(" {} {}{}", i + 1, s.title(), " ".repeat(pad)),
            theme.style(role),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    if area.width > used(pad) + width {
        let r = Rect {
            x: area.x + area.width - width,
            width,
            ..area
        };
        frame.render_widget(
            Paragraph::new(Span::styled(target, theme.style(Role::Accent))),
            r,
        );
    }
}

fn draw_status(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let hints = state.keymap.hints(&state.layers());
    let mut spans = Vec::new();
    let mut width = 0usize;
    for (keys, desc) in hints {
        let len = keys.chars().count() + desc.chars().count() + 3;
        if width + len > usize::from(area.width) {
            break;
        }
        width += len;
        spans.push(Span::styled(keys, theme.style(Role::Accent)));
        spans.push(Span::styled(format!(" {desc}  "), theme.style(Role::Muted)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
