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
    let (releases, audit, backups): (&[ReleaseRow], &[AuditRecord], &[BackupInfo]) = match &h.data {
        Some(d) => (&d.releases, &d.audit, &d.backups),
        None => (&[], &[], &[]),
    };
    let pane = |p: HistoryPane, selected: usize, i: usize| h.pane == p && i == selected;
    list_pane(
        frame,
        theme,
        Pane {
            area: releases_area,
            title: format!(" Releases ({}) ", releases.len()),
            focused: h.pane == HistoryPane::Releases,
            selected: h.release_selected,
            len: releases.len(),
            empty: "nothing published yet (P publishes the draft)",
        },
        &mut view.releases,
        |i| {
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
            let role = if pane(HistoryPane::Releases, h.release_selected, i) {
                Role::Selection
            } else if r.deployed {
                Role::Ok
            } else {
                Role::Base
            };
            (text, role)
        },
    );
    list_pane(
        frame,
        theme,
        Pane {
            area: audit_area,
            title: format!(" Audit log ({}) ", audit.len()),
            focused: h.pane == HistoryPane::Audit,
            selected: h.audit_selected,
            len: audit.len(),
            empty: "nothing recorded yet",
        },
        &mut view.audit,
        |i| {
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
            let role = if pane(HistoryPane::Audit, h.audit_selected, i) {
                Role::Selection
            } else if r.event.outcome == Outcome::Error {
                Role::Error
            } else {
                Role::Base
            };
            (text, role)
        },
    );
    list_pane(
        frame,
        theme,
        Pane {
            area: backups_area,
            title: format!(" Backups ({}) ", backups.len()),
            focused: h.pane == HistoryPane::Backups,
            selected: h.backup_selected,
            len: backups.len(),
            empty: "no backups yet",
        },
        &mut view.backups,
        |i| {
            let b = &backups[i];
            let text = format!(
                "{} {} {:>6}B",
                b.id,
                b.created_at.format("%m-%d %H:%M"),
                b.size
            );
            let role = if pane(HistoryPane::Backups, h.backup_selected, i) {
                Role::Selection
            } else {
                Role::Base
            };
            (text, role)
        },
    );
}

/// One bordered list of the screen.
struct Pane {
    area: Rect,
    title: String,
    focused: bool,
    selected: usize,
    len: usize,
    /// What an empty list says.
    empty: &'static str,
}

/// Draws a pane: its border (focused or not), the rows in view (`row` gives each row's text
/// and role), or what an empty list says.
fn list_pane(
    frame: &mut Frame<'_>,
    theme: &Theme,
    pane: Pane,
    offset: &mut usize,
    row: impl Fn(usize) -> (String, Role),
) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(if pane.focused {
            Role::Focus
        } else {
            Role::Muted
        }))
        .title(Span::styled(pane.title, theme.style(Role::Title)));
    let inner = block.inner(pane.area);
    frame.render_widget(block, pane.area);
    let width = usize::from(inner.width);
    let lines: Vec<Line<'_>> = window(pane.selected, pane.len, usize::from(inner.height), offset)
        .map(|i| {
            let (text, role) = row(i);
            Line::from(Span::styled(ellipsize(&text, width), theme.style(role)))
        })
        .collect();
    if lines.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(pane.empty, theme.style(Role::Muted))),
            inner,
        );
    } else {
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
