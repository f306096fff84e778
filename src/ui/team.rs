//! The Team screen: the team servers this machine pulls from (docs/TEAM.md), each with its
//! pinned root, its last pull and what is still pending; `p` pulls the selected one.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

use super::theme::{Role, Theme};
use crate::app::state::State;
use crate::core::orchestrator::{PullStatus, RemoteView};

/// Draws the screen.
pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let [list_area, detail_area] =
        Layout::horizontal([Constraint::Percentage(35), Constraint::Percentage(65)]).areas(area);
    let block = |title: &str| {
        Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Role::Muted))
            .title(Span::styled(format!(" {title} "), theme.style(Role::Title)))
    };
    let remotes = match &state.team.remotes {
        None => {
            frame.render_widget(Paragraph::new("loading…").block(block("Remotes")), area);
            return;
        }
        Some(Err(e)) => {
            frame.render_widget(
                Paragraph::new(Span::styled(e.message.clone(), theme.style(Role::Error)))
                    .wrap(Wrap { trim: false })
                    .block(block("Remotes")),
                area,
            );
            return;
        }
        Some(Ok(list)) => list,
    };
    if remotes.is_empty() {
        frame.render_widget(
            Paragraph::new(vec![
                Line::from("No team server yet."),
                Line::from(""),
                Line::from(Span::styled(
                    "mcp-orch remote add NAME URL --token TOKEN --root FINGERPRINT",
                    theme.style(Role::Accent),
                )),
                Line::from("adds one; its releases are then pulled here with p (docs/TEAM.md)."),
            ])
            .wrap(Wrap { trim: false })
            .block(block("Remotes")),
            area,
        );
        return;
    }
    let items: Vec<ListItem<'_>> = remotes
        .iter()
        .map(|r| {
            let (mark, role) = match r.last_pull.as_ref().map(|p| p.error_code.as_deref()) {
                None => ("·", Role::Muted),
                Some(None) => ("✓", Role::Ok),
                Some(Some(_)) => ("✗", Role::Error),
            };
            ListItem::new(Line::from(vec![
                Span::styled(format!("{mark} "), theme.style(role)),
                Span::raw(r.name.clone()),
            ]))
        })
        .collect();
    let mut list_state = ListState::default().with_selected(Some(state.team.selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(block("Remotes"))
            .highlight_style(theme.style(Role::Selection)),
        list_area,
        &mut list_state,
    );
    if let Some(remote) = remotes.get(state.team.selected) {
        let lines = detail(remote, state, theme);
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(block(&remote.name)),
            detail_area,
        );
    }
}

fn detail<'a>(remote: &'a RemoteView, state: &'a State, theme: &Theme) -> Vec<Line<'a>> {
    let label = |l: &'static str| Span::styled(format!("{l:<12}"), theme.style(Role::Muted));
    let mut lines = vec![
        Line::from(vec![label("url"), Span::raw(remote.url.as_str())]),
        Line::from(vec![
            label("root"),
            Span::raw(format!("v{}  ", remote.root_version)),
            Span::styled(&remote.fingerprint[..16], theme.style(Role::Accent)),
        ]),
        Line::from(vec![
            label("snapshot"),
            Span::raw(format!("v{} seen", remote.snapshot_version)),
        ]),
    ];
    if state.team.pulling.as_deref() == Some(remote.name.as_str()) {
        lines.push(Line::from(vec![label("pull"), Span::raw("pulling…")]));
    }
    match &remote.last_pull {
        None => lines.push(Line::from(vec![
            label("last pull"),
            Span::styled("never (p pulls)", theme.style(Role::Muted)),
        ])),
        Some(pull) => {
            let (text, role) = match &pull.error_code {
                None => ("ok".to_owned(), Role::Ok),
                Some(code) => (format!("refused: {code}"), Role::Error),
            };
            lines.push(Line::from(vec![
                label("last pull"),
                Span::raw(format!("{}  ", pull.at.format("%Y-%m-%d %H:%M:%S"))),
                Span::styled(text, theme.style(role)),
            ]));
            let joined = |items: &[String]| {
                if items.is_empty() {
                    "none".to_owned()
                } else {
                    items.join(", ")
                }
            };
            lines.push(Line::from(vec![
                label("deployed"),
                Span::raw(joined(&pull.deployed)),
            ]));
            let role = if pull.pending.is_empty() {
                Role::Muted
            } else {
                Role::Warn
            };
            lines.push(Line::from(vec![
                label("pending"),
                Span::styled(joined(&pull.pending), theme.style(role)),
            ]));
        }
    }
    if let Some(Ok(report)) = state.team.reports.get(&remote.name) {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            "channels (this session's pull)",
            theme.style(Role::Title),
        )));
        for c in &report.channels {
            let (what, role) = match c.status {
                PullStatus::Deployed => ("deployed", Role::Ok),
                PullStatus::UpToDate => ("up to date", Role::Muted),
                PullStatus::Skipped => ("skipped", Role::Warn),
                PullStatus::Failed => ("failed", Role::Error),
            };
            let why = c
                .error
                .as_ref()
                .map(|e| format!(" ({})", e.code))
                .unwrap_or_default();
            lines.push(Line::from(vec![
                Span::raw(format!(
                    "  {}/{} v{}  ",
                    c.client_id, c.profile_id, c.version
                )),
                Span::styled(format!("{what}{why}"), theme.style(role)),
            ]));
        }
    }
    lines
}
