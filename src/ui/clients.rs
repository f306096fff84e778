//! The Clients screen: every known client with its detected state, and the selected one's
//! details (path, profiles, servers in its file, drift).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::theme::{Role, Theme};
use super::{ViewState, ellipsize, window};
use crate::app::state::State;

/// Draws the screen.
pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, view: &mut ViewState, theme: &Theme) {
    let [list, details] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let c = &state.clients;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Muted))
        .title(Span::styled(
            format!(" Clients ({}) ", c.rows.len()),
            theme.style(Role::Title),
        ));
    let inner = block.inner(list);
    frame.render_widget(block, list);
    if !c.loaded {
        frame.render_widget(
            Paragraph::new(Span::styled("loading…", theme.style(Role::Muted))),
            inner,
        );
        return;
    }
    if let Some(e) = &c.error {
        frame.render_widget(
            Paragraph::new(Span::styled(e.as_str(), theme.style(Role::Error))),
            inner,
        );
    }
    let width = usize::from(inner.width);
    let name_w = width.saturating_sub(24).max(8);
    let rows = window(
        c.selected,
        c.rows.len(),
        usize::from(inner.height),
        &mut view.clients,
    );
    let lines: Vec<Line<'_>> = rows
        .map(|i| {
            let r = &c.rows[i];
            let current = state.target.as_ref().is_some_and(|t| t.client == r.id);
            let mark = if current { "▶" } else { " " };
            let detected = if r.detected { "●" } else { "○" };
            let servers = r
                .servers
                .as_ref()
                .map_or_else(|| "-".to_owned(), |s| s.len().to_string());
            let text = format!(
                "{mark}{detected} {:<name_w$} {servers:>3}  {:<14}",
                ellipsize(&r.name, name_w),
                ellipsize(&r.drift, 14)
            );
            let role = if i == c.selected {
                Role::Selection
            } else if r.detected {
                Role::Base
            } else {
                Role::Muted
            };
            Line::from(Span::styled(text, theme.style(role)))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);

    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Muted))
        .title(Span::styled(" Details ", theme.style(Role::Title)));
    let Some(r) = c.rows.get(c.selected) else {
        frame.render_widget(block, details);
        return;
    };
    let label = |l: &'static str| Span::styled(format!("{l:<9}"), theme.style(Role::Muted));
    let mut lines = vec![
        Line::from(vec![
            label("client"),
            Span::styled(format!("{} ({})", r.name, r.id), theme.style(Role::Accent)),
        ]),
        Line::from(vec![
            label("detected"),
            Span::styled(
                if r.detected { "yes" } else { "no" },
                theme.style(if r.detected { Role::Ok } else { Role::Muted }),
            ),
        ]),
        Line::from(vec![label("format"), Span::raw(r.format.clone())]),
        Line::from(vec![
            label("path"),
            Span::raw(r.path.clone().unwrap_or_else(|| "(none on this OS)".into())),
        ]),
        Line::from(vec![label("profiles"), Span::raw(r.profiles.join(", "))]),
        Line::from(vec![
            label("drift"),
            Span::styled(
                r.drift.clone(),
                theme.style(if r.drift == "drifted" {
                    Role::Warn
                } else {
                    Role::Base
                }),
            ),
        ]),
    ];
    if let Some(e) = &r.error {
        lines.push(Line::from(vec![
            label("error"),
            Span::styled(e.clone(), theme.style(Role::Error)),
        ]));
    }
    match &r.servers {
        Some(names) if !names.is_empty() => {
            lines.push(Line::from(Span::styled(
                format!("servers in the file ({})", names.len()),
                theme.style(Role::Title),
            )));
            lines.extend(names.iter().map(|n| Line::from(format!("  {n}"))));
        }
        Some(_) => lines.push(Line::from(Span::styled(
            "no servers in the file",
            theme.style(Role::Muted),
        ))),
        None => {}
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        details,
    );
}
