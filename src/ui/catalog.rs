//! The Catalog screen: the fuzzy filter line, the matching servers (only the visible rows are
//! built), and the selected server's details.

use std::fmt::Write as _;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::theme::{Role, Theme};
use super::{ViewState, ellipsize, window};
use crate::app::state::State;
use crate::core::catalog::ServerEntry;

/// Draws the screen.
pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, view: &mut ViewState, theme: &Theme) {
    let cat = &state.catalog;
    let [filter, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let focused = cat.filter_focused;
    let mut spans = vec![
        Span::styled(
            " / ",
            theme.style(if focused { Role::Focus } else { Role::Accent }),
        ),
        Span::styled(
            cat.query.clone(),
            theme.style(if focused { Role::Focus } else { Role::Base }),
        ),
    ];
    if focused {
        spans.push(Span::styled("▏", theme.style(Role::Focus)));
    } else if cat.query.is_empty() {
        spans.push(Span::styled("filter", theme.style(Role::Muted)));
    }
    spans.push(Span::styled(
        format!(
            "   transport: {}  tag: {}  {}/{}",
            cat.transport.map_or("any", |t| t.as_str()),
            cat.tag.as_deref().unwrap_or("any"),
            cat.hits.len(),
            cat.entries.len()
        ),
        theme.style(Role::Muted),
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), filter);

    let [list, details] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(rest);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Muted))
        .title(Span::styled(" Servers ", theme.style(Role::Title)));
    let inner = block.inner(list);
    frame.render_widget(block, list);
    let width = usize::from(inner.width);
    let id_w = width.saturating_sub(7).max(4);
    let rows = window(
        cat.selected,
        cat.hits.len(),
        usize::from(inner.height),
        &mut view.catalog,
    );
    let lines: Vec<Line<'_>> = rows
        .map(|i| {
            let e = &cat.entries[cat.hits[i]];
            let text = format!(
                "{:<id_w$} {:>5}",
                ellipsize(&e.id, id_w),
                e.transport.as_str()
            );
            let role = if i == cat.selected {
                Role::Selection
            } else {
                Role::Base
            };
            Line::from(Span::styled(text, theme.style(role)))
        })
        .collect();
    if lines.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no server matches", theme.style(Role::Muted))),
            inner,
        );
    } else {
        frame.render_widget(Paragraph::new(lines), inner);
    }

    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Muted))
        .title(Span::styled(" Details ", theme.style(Role::Title)));
    let Some(entry) = cat.selected_entry() else {
        frame.render_widget(block, details);
        return;
    };
    frame.render_widget(
        Paragraph::new(details_lines(entry, theme))
            .block(block)
            .wrap(Wrap { trim: false }),
        details,
    );
}

/// The details of a catalog entry.
pub fn details_lines<'a>(e: &'a ServerEntry, theme: &Theme) -> Vec<Line<'a>> {
    let label = |l: &'static str| Span::styled(format!("{l:<10}"), theme.style(Role::Muted));
    let mut lines = vec![
        Line::from(Span::styled(
            format!("{} ({})", e.name, e.id),
            theme.style(Role::Title),
        )),
        Line::from(e.description.as_str()),
        Line::from(""),
        Line::from(vec![label("transport"), Span::raw(e.transport.as_str())]),
    ];
    if let Some(cmd) = &e.command {
        lines.push(Line::from(vec![
            label("command"),
            Span::styled(
                format!("{cmd} {}", e.args.join(" ")),
                theme.style(Role::Accent),
            ),
        ]));
    }
    if let Some(url) = &e.url {
        lines.push(Line::from(vec![
            label("url"),
            Span::styled(url.as_str(), theme.style(Role::Accent)),
        ]));
    }
    if !e.tags.is_empty() {
        lines.push(Line::from(vec![
            label("tags"),
            Span::raw(e.tags.join(", ")),
        ]));
    }
    if let Some(docs) = &e.docs_url {
        lines.push(Line::from(vec![label("docs"), Span::raw(docs.as_str())]));
    }
    if !e.params.is_empty() {
        lines.push(Line::from(Span::styled(
            "parameters",
            theme.style(Role::Title),
        )));
        for p in &e.params {
            let mut text = format!("  {} ({}", p.name, p.kind.as_str());
            if p.required && p.default.is_none() {
                text.push_str(", required");
            }
            if let Some(d) = &p.default {
                let _ = write!(text, ", default {d}");
            }
            let _ = write!(text, ") {}", p.description);
            lines.push(Line::from(text));
        }
    }
    if !e.env.is_empty() {
        lines.push(Line::from(Span::styled(
            "env vars",
            theme.style(Role::Title),
        )));
        for v in &e.env {
            let mut flags = Vec::new();
            if v.required {
                flags.push("required");
            }
            if v.secret {
                flags.push("secret");
            }
            let flags = if flags.is_empty() {
                String::new()
            } else {
                format!(" ({})", flags.join(", "))
            };
            lines.push(Line::from(format!("  {}{flags} {}", v.name, v.description)));
        }
    }
    lines
}
