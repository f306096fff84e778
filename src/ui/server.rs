//! The Server panel: the background MCP HTTP server's state, address, token, sessions and
//! recent requests, or why it is not available.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::theme::{Role, Theme};
use crate::app::state::{ServerStatus, State};

/// Draws the panel.
pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Muted))
        .title(Span::styled(" MCP HTTP server ", theme.style(Role::Title)));
    let label = |l: &'static str| Span::styled(format!("{l:<10}"), theme.style(Role::Muted));
    let mut lines = Vec::new();
    match &state.server {
        ServerStatus::Stopped => lines.push(Line::from(vec![
            label("status"),
            Span::styled("stopped (s starts it)", theme.style(Role::Muted)),
        ])),
        ServerStatus::Starting => {
            lines.push(Line::from(vec![label("status"), Span::raw("starting…")]));
        }
        ServerStatus::Stopping => {
            lines.push(Line::from(vec![label("status"), Span::raw("stopping…")]));
        }
        ServerStatus::Failed(e) => lines.push(Line::from(vec![
            label("status"),
            Span::styled(format!("failed: {e}"), theme.style(Role::Error)),
        ])),
        ServerStatus::Running(info) => {
            lines.push(Line::from(vec![
                label("status"),
                Span::styled("running", theme.style(Role::Ok)),
            ]));
            lines.push(Line::from(vec![
                label("address"),
                Span::styled(info.addr.clone(), theme.style(Role::Accent)),
            ]));
            lines.push(Line::from(vec![
                label("endpoints"),
                Span::raw("MCP /mcp · REST /v1 · events /v1/events"),
            ]));
            lines.push(Line::from(match &info.token {
                Some(token) => vec![label("token"), Span::raw(token.clone())],
                None => vec![
                    label("token"),
                    Span::styled("none: authentication is off", theme.style(Role::Warn)),
                ],
            }));
            if info.token.is_some() {
                lines.push(Line::from(vec![
                    label(""),
                    Span::styled(
                        "write scope · y copies it · revoked when the server stops",
                        theme.style(Role::Muted),
                    ),
                ]));
            }
            lines.push(Line::from(vec![
                label("sessions"),
                Span::raw(info.sessions.to_string()),
            ]));
            for w in &info.warnings {
                lines.push(Line::from(vec![
                    label("warning"),
                    Span::styled(w.clone(), theme.style(Role::Warn)),
                ]));
            }
            lines.push(Line::from(Span::styled(
                "recent requests",
                theme.style(Role::Title),
            )));
            if info.recent.is_empty() {
                lines.push(Line::from(Span::styled(
                    "  none yet",
                    theme.style(Role::Muted),
                )));
            }
            for r in &info.recent {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {} ", r.at), theme.style(Role::Muted)),
                    Span::raw(format!("{} ", r.what)),
                    Span::styled(
                        r.outcome.clone(),
                        theme.style(
                            if r.outcome.starts_with("ok") || r.outcome.starts_with('2') {
                                Role::Ok
                            } else {
                                Role::Error
                            },
                        ),
                    ),
                ]));
            }
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
