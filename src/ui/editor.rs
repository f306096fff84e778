//! The Draft screen (the servers of the draft, the selected one's details, diagnostics) and
//! the add form, whose messages sit under the field they concern.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::theme::{Role, Theme};
use super::{ViewState, centered, ellipsize, window};
use crate::app::state::{AddForm, Health, State};
use crate::core::draft::EnvValue;

/// The last lines of a failing server's stderr shown under its health.
const STDERR_LINES_SHOWN: usize = 3;

fn health_line<'a>(health: Option<&Health>, label: Span<'a>, theme: &Theme) -> Line<'a> {
    let value = match health {
        None => Span::styled("not checked (h checks)", theme.style(Role::Muted)),
        Some(Health::Checking) => Span::styled("checking…", theme.style(Role::Muted)),
        Some(Health::Ok { tools, latency_ms }) => Span::styled(
            format!("ok · {tools} tools · {latency_ms} ms"),
            theme.style(Role::Ok),
        ),
        Some(Health::Failed { code, message, .. }) => {
            Span::styled(format!("{code}: {message}"), theme.style(Role::Error))
        }
    };
    Line::from(vec![label, value])
}

/// Draws the Draft screen.
pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, view: &mut ViewState, theme: &Theme) {
    let Some(target) = &state.target else {
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(""),
                Line::from(Span::styled(
                    "  No client chosen: go to the Clients screen (1) and press enter.",
                    theme.style(Role::Muted),
                )),
            ]),
            area,
        );
        return;
    };
    let Some(snap) = &state.draft.snapshot else {
        let text = state
            .draft
            .error
            .clone()
            .unwrap_or_else(|| "loading…".into());
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.style(Role::Muted))),
            area,
        );
        return;
    };
    let draft = &snap.draft;
    let diag_h = u16::try_from(snap.diagnostics.len().min(6)).unwrap_or(6) + 2;
    let [top, diags] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(diag_h)]).areas(area);
    let [list, details] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(top);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Muted))
        .title(Span::styled(
            format!(
                " Draft {}/{} · {} servers · rev {} ",
                target.client,
                target.profile,
                draft.servers.len(),
                draft.revision
            ),
            theme.style(Role::Title),
        ));
    let inner = block.inner(list);
    frame.render_widget(block, list);
    if draft.servers.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "empty: press a to add from the catalog, i to import",
                theme.style(Role::Muted),
            ))
            .wrap(Wrap { trim: false }),
            inner,
        );
    } else {
        let width = usize::from(inner.width);
        let rows = window(
            state.draft.selected,
            draft.servers.len(),
            usize::from(inner.height),
            &mut view.draft,
        );
        let skip = rows.start;
        let lines: Vec<Line<'_>> = draft
            .servers
            .iter()
            .enumerate()
            .skip(skip)
            .take(rows.len())
            .map(|(i, (name, s))| {
                let bad = snap
                    .diagnostics
                    .iter()
                    .any(|d| d.is_error() && d.server.as_deref() == Some(name));
                let text = format!(
                    "{}{:<w$} {:>5} ",
                    if bad { "✗" } else { " " },
                    ellipsize(name, width.saturating_sub(9)),
                    s.transport.as_str(),
                    w = width.saturating_sub(9)
                );
                let role = if i == state.draft.selected {
                    Role::Selection
                } else if bad {
                    Role::Error
                } else {
                    Role::Base
                };
                let (mark, mark_role) = match state.draft.health_of(target, name) {
                    None => (" ", role),
                    Some(Health::Checking) => ("…", Role::Muted),
                    Some(Health::Ok { .. }) => ("✓", Role::Ok),
                    Some(Health::Failed { .. }) => ("✗", Role::Error),
                };
                Line::from(vec![
                    Span::styled(text, theme.style(role)),
                    Span::styled(mark, theme.style(mark_role)),
                ])
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
    }

    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Muted))
        .title(Span::styled(" Server ", theme.style(Role::Title)));
    let selected = draft.servers.iter().nth(state.draft.selected);
    let mut lines = Vec::new();
    if let Some((name, s)) = selected {
        let label = |l: &'static str| Span::styled(format!("{l:<9}"), theme.style(Role::Muted));
        lines.push(Line::from(vec![
            label("name"),
            Span::styled(name.clone(), theme.style(Role::Accent)),
        ]));
        lines.push(Line::from(vec![
            label("from"),
            Span::raw(format!(
                "{} ({:?})",
                s.server_id.as_deref().unwrap_or("-"),
                s.origin
            )),
        ]));
        if let Some(c) = &s.command {
            lines.push(Line::from(vec![
                label("command"),
                Span::raw(format!("{c} {}", s.args.join(" "))),
            ]));
        }
        if let Some(u) = &s.url {
            lines.push(Line::from(vec![label("url"), Span::raw(u.clone())]));
        }
        for (k, v) in &s.params {
            lines.push(Line::from(vec![
                label("param"),
                Span::raw(format!("{k} = {v}")),
            ]));
        }
        for (k, v) in &s.env {
            let value = match v {
                EnvValue::Secret { secret } => {
                    Span::styled(format!("{k} = <secret {secret}>"), theme.style(Role::Warn))
                }
                EnvValue::Plain(p) => Span::raw(format!("{k} = {p}")),
            };
            lines.push(Line::from(vec![label("env"), value]));
        }
        for (k, v) in &s.headers {
            lines.push(Line::from(vec![
                label("header"),
                Span::raw(format!("{k}: {v}")),
            ]));
        }
        lines.push(health_line(
            state.draft.health_of(target, name),
            label("health"),
            theme,
        ));
        if let Some(Health::Failed { stderr_tail, .. }) = state.draft.health_of(target, name) {
            let shown = stderr_tail.len().saturating_sub(STDERR_LINES_SHOWN);
            for l in &stderr_tail[shown..] {
                lines.push(Line::from(vec![
                    label(""),
                    Span::styled(l.clone(), theme.style(Role::Muted)),
                ]));
            }
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        details,
    );

    let errors = snap.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = snap.diagnostics.len() - errors;
    let (title, role) = if errors > 0 {
        (
            format!(" {errors} error(s), {warnings} warning(s) "),
            Role::Error,
        )
    } else if warnings > 0 {
        (format!(" valid · {warnings} warning(s) "), Role::Warn)
    } else {
        (" valid ".to_owned(), Role::Ok)
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Muted))
        .title(Span::styled(title, theme.style(role)));
    let lines: Vec<Line<'_>> = snap
        .diagnostics
        .iter()
        .take(6)
        .map(|d| {
            Line::from(vec![
                Span::styled(
                    if d.is_error() { "✗ " } else { "! " },
                    theme.style(if d.is_error() {
                        Role::Error
                    } else {
                        Role::Warn
                    }),
                ),
                Span::styled(format!("{} ", d.path), theme.style(Role::Muted)),
                Span::raw(d.message.clone()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), diags);
}

/// Draws the add form over the screen.
pub fn form(
    frame: &mut Frame<'_>,
    area: Rect,
    state: &State,
    form: &AddForm,
    view: &mut ViewState,
    theme: &Theme,
) {
    let r = centered(area, 76, area.height.saturating_sub(2).max(10));
    frame.render_widget(Clear, r);
    let target = state
        .target
        .as_ref()
        .map(|t| format!("{}/{}", t.client, t.profile))
        .unwrap_or_default();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Focus))
        .title(Span::styled(
            format!(" Add {} to {target} ", form.title),
            theme.style(Role::Title),
        ));
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let general_h = u16::try_from(form.general.len().min(3)).unwrap_or(3) + 1;
    let [fields_area, general_area] =
        Layout::vertical([Constraint::Min(2), Constraint::Length(general_h)]).areas(inner);
    let per_page = usize::from(fields_area.height / 2).max(1);
    let rows = window(form.focus, form.fields.len(), per_page, &mut view.form);
    let width = usize::from(inner.width);
    let label_w = form
        .fields
        .iter()
        .map(|f| f.label.chars().count() + 1)
        .max()
        .unwrap_or(4)
        .min(width / 2);
    let mut lines = Vec::new();
    for i in rows {
        let f = &form.fields[i];
        let focused = i == form.focus;
        let value = if f.masked() {
            "•".repeat(f.value.chars().count())
        } else {
            f.value.clone()
        };
        let label = format!(
            "{}{:<label_w$}",
            if focused { "▸ " } else { "  " },
            format!("{}{}", f.label, if f.required { "*" } else { "" })
        );
        let mut spans = vec![
            Span::styled(
                label,
                theme.style(if focused { Role::Focus } else { Role::Base }),
            ),
            Span::raw(" "),
            Span::styled(value, theme.style(Role::Accent)),
        ];
        if focused {
            spans.push(Span::styled("▏", theme.style(Role::Focus)));
        }
        lines.push(Line::from(spans));
        let indent = " ".repeat(label_w + 3);
        let (text, role) = match &f.error {
            Some(e) => (format!("{indent}✗ {e}"), Role::Error),
            None => (format!("{indent}{}", f.help), Role::Muted),
        };
        lines.push(Line::from(Span::styled(
            ellipsize(&text, width),
            theme.style(role),
        )));
    }
    frame.render_widget(Paragraph::new(lines), fields_area);
    let mut lines: Vec<Line<'_>> = form
        .general
        .iter()
        .take(3)
        .map(|g| {
            let role = if g.starts_with("warning") {
                Role::Warn
            } else {
                Role::Error
            };
            Line::from(Span::styled(ellipsize(g, width), theme.style(role)))
        })
        .collect();
    let status = if form.submitting {
        Span::styled("adding…", theme.style(Role::Muted))
    } else if form.valid {
        Span::styled("✓ ready to add (enter)", theme.style(Role::Ok))
    } else {
        Span::styled("fill in the marked fields", theme.style(Role::Muted))
    };
    lines.push(Line::from(status));
    frame.render_widget(Paragraph::new(lines), general_area);
}
