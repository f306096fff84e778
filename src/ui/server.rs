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
        ServerStatus::Unavailable(why) => {
            lines.push(Line::from(vec![
                label("status"),
                Span::styled(why.clone(), theme.style(Role::Warn)),
            ]));
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                "This build has no background MCP HTTP server. When it does, this panel starts \
                 and stops it (the same core and options as `serve --http`), shows its address, \
                 a token to copy, open sessions and recent requests.",
                theme.style(Role::Muted),
            )));
        }
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
                label("token"),
                Span::raw(info.token.clone()),
            ]));
            lines.push(Line::from(vec![
                label("sessions"),
                Span::raw(info.sessions.to_string()),
            ]));
            lines.push(Line::from(Span::styled(
                "recent requests",
                theme.style(Role::Title),
            )));
            for r in &info.recent {
                lines.push(Line::from(format!("  {} {} {}", r.at, r.what, r.outcome)));
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
