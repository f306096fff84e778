//! The History screen: published releases (roll back to one), the audit log of the client
//! (with chain verification) and the backups of its file (restore one).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::theme::{Role, Theme};
use super::{ViewState, ellipsize, window};
use crate::app::effect::short_id;
use crate::app::state::{HistoryPane, ReleaseRow, State};
use crate::core::audit::{AuditRecord, Outcome};
use crate::core::backup::BackupInfo;

/// Draws the screen.
pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, view: &mut ViewState, theme: &Theme) {
    let h = &state.history;
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let verify = match &h.verify {
        None => Span::styled(
            "audit chain: not verified (press v)",
            theme.style(Role::Muted),
        ),
        Some(r) if r.ok => Span::styled(
            format!("audit chain: intact, {} records", r.records),
            theme.style(Role::Ok),
        ),
        Some(r) => Span::styled(
            format!(
                "audit chain: BROKEN, {} problem(s): {}",
                r.problems.len(),
                r.problems
                    .first()
                    .map(|p| format!("line {} {}", p.line, p.kind))
                    .unwrap_or_default()
            ),
            theme.style(Role::Error),
        ),
    };
    frame.render_widget(Paragraph::new(Line::from(verify)), head);
    if state.target.is_none() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "  No client chosen: go to the Clients screen (1) and press enter.",
                theme.style(Role::Muted),
            )),
            body,
        );
        return;
    }
    let [releases_area, lower] =
        Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(body);
    let [audit_area, backups_area] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(lower);
    let focus = |p: HistoryPane| {
        theme.style(if h.pane == p {
            Role::Focus
        } else {
            Role::Muted
        })
    };
    let (releases, audit, backups): (&[ReleaseRow], &[AuditRecord], &[BackupInfo]) = match &h.data {
        Some(d) => (&d.releases, &d.audit, &d.backups),
        None => (&[], &[], &[]),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(focus(HistoryPane::Releases))
        .title(Span::styled(
            format!(" Releases ({}) ", releases.len()),
            theme.style(Role::Title),
        ));
    let inner = block.inner(releases_area);
    frame.render_widget(block, releases_area);
    let width = usize::from(inner.width);
    let rows = window(
        h.release_selected,
        releases.len(),
        usize::from(inner.height),
        &mut view.releases,
    );
    let lines: Vec<Line<'_>> = rows
        .map(|i| {
            let r = &releases[i];
            let text = format!(
                "{} v{:<3} {} {} {:>2} servers  {}",
                if r.deployed { "▶" } else { " " },
                r.version,
                r.created_at.format("%Y-%m-%d %H:%M"),
                short_id(&r.artifact_id),
                r.servers.len(),
                r.changelog.as_deref().unwrap_or("")
            );
            let role = if i == h.release_selected && h.pane == HistoryPane::Releases {
                Role::Selection
            } else if r.deployed {
                Role::Ok
            } else {
                Role::Base
            };
            Line::from(Span::styled(ellipsize(&text, width), theme.style(role)))
        })
        .collect();
    if lines.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "nothing published yet (P publishes the draft)",
                theme.style(Role::Muted),
            )),
            inner,
        );
    } else {
        frame.render_widget(Paragraph::new(lines), inner);
    }

    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(focus(HistoryPane::Audit))
        .title(Span::styled(
            format!(" Audit log ({}) ", audit.len()),
            theme.style(Role::Title),
        ));
    let inner = block.inner(audit_area);
    frame.render_widget(block, audit_area);
    let width = usize::from(inner.width);
    let rows = window(
        h.audit_selected,
        audit.len(),
        usize::from(inner.height),
        &mut view.audit,
    );
    let lines: Vec<Line<'_>> = rows
        .map(|i| {
            let r = &audit[i];
            let outcome = match r.event.outcome {
                Outcome::Ok => "ok".to_owned(),
                Outcome::Error => r.event.error_code.clone().unwrap_or_else(|| "error".into()),
            };
            let text = format!(
                "{:>4} {} {:<8} {:<6} {}",
                r.seq,
                r.ts.format("%m-%d %H:%M"),
                ellipsize(&r.event.action, 8),
                ellipsize(&r.event.actor, 6),
                outcome
            );
            let role = if i == h.audit_selected && h.pane == HistoryPane::Audit {
                Role::Selection
            } else if r.event.outcome == Outcome::Error {
                Role::Error
            } else {
                Role::Base
            };
            Line::from(Span::styled(ellipsize(&text, width), theme.style(role)))
        })
        .collect();
    if lines.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "nothing recorded yet",
                theme.style(Role::Muted),
            )),
            inner,
        );
    } else {
        frame.render_widget(Paragraph::new(lines), inner);
    }

    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(focus(HistoryPane::Backups))
        .title(Span::styled(
            format!(" Backups ({}) ", backups.len()),
            theme.style(Role::Title),
        ));
    let inner = block.inner(backups_area);
    frame.render_widget(block, backups_area);
    let width = usize::from(inner.width);
    let rows = window(
        h.backup_selected,
        backups.len(),
        usize::from(inner.height),
        &mut view.backups,
    );
    let lines: Vec<Line<'_>> = rows
        .map(|i| {
            let b = &backups[i];
            let text = format!(
                "{} {} {:>6}B",
                b.id,
                b.created_at.format("%m-%d %H:%M"),
                b.size
            );
            let role = if i == h.backup_selected && h.pane == HistoryPane::Backups {
                Role::Selection
            } else {
                Role::Base
            };
            Line::from(Span::styled(ellipsize(&text, width), theme.style(role)))
        })
        .collect();
    if lines.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no backups yet", theme.style(Role::Muted))),
            inner,
        );
    } else {
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
