//! The Diff screen: the server-level summary and the coloured unified diff of the client file
//! that a deploy would change. Only the visible lines are built.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::theme::{Role, Theme};
use crate::app::state::{DiffLine, DiffLineKind, State};

/// The style role of a diff line.
pub fn line_role(kind: DiffLineKind) -> Role {
    match kind {
        DiffLineKind::Header => Role::Title,
        DiffLineKind::Hunk => Role::DiffHunk,
        DiffLineKind::Add => Role::DiffAdd,
        DiffLineKind::Del => Role::DiffDel,
        DiffLineKind::Context => Role::Base,
    }
}

/// Lines `scroll..scroll + height` of a diff, styled.
pub fn visible<'a>(
    lines: &'a [DiffLine],
    scroll: usize,
    height: usize,
    theme: &Theme,
) -> Vec<Line<'a>> {
    lines
        .iter()
        .skip(scroll)
        .take(height)
        .map(|l| {
            Line::from(Span::styled(
                l.text.as_str(),
                theme.style(line_role(l.kind)),
            ))
        })
        .collect()
}

/// Draws the screen.
pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    if state.target.is_none() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "  No client chosen: go to the Clients screen (1) and press enter.",
                theme.style(Role::Muted),
            )),
            area,
        );
        return;
    }
    let Some(view) = &state.diff.view else {
        let (text, role) = match &state.diff.error {
            Some(e) => (e.clone(), Role::Error),
            None => ("computing the diff…".to_owned(), Role::Muted),
        };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.style(role))), area);
        return;
    };
    let notes_h = u16::try_from(view.notes.len().min(3)).unwrap_or(3);
    let [head, body] =
        Layout::vertical([Constraint::Length(2 + notes_h), Constraint::Min(0)]).areas(area);
    let names = |v: &[String]| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(", ")
        }
    };
    let mut head_lines = vec![
        Line::from(vec![
            Span::styled(
                if view.exists { "file " } else { "new file " },
                theme.style(Role::Muted),
            ),
            Span::styled(view.path.clone(), theme.style(Role::Accent)),
            Span::styled(
                "  (nothing is written from this screen)",
                theme.style(Role::Muted),
            ),
        ]),
        Line::from(vec![
            Span::styled(
                format!("+ {}  ", names(&view.added)),
                theme.style(Role::DiffAdd),
            ),
            Span::styled(
                format!("− {}  ", names(&view.removed)),
                theme.style(Role::DiffDel),
            ),
            Span::styled(
                format!("~ {}  ", names(&view.modified)),
                theme.style(Role::Warn),
            ),
            Span::styled(
                format!("= {} unchanged", view.unchanged),
                theme.style(Role::Muted),
            ),
        ]),
    ];
    head_lines.extend(
        view.notes
            .iter()
            .take(3)
            .map(|n| Line::from(Span::styled(format!("note: {n}"), theme.style(Role::Warn)))),
    );
    frame.render_widget(Paragraph::new(head_lines), head);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Muted))
        .title(Span::styled(
            format!(" Diff ({} lines) ", view.lines.len()),
            theme.style(Role::Title),
        ));
    let inner = block.inner(body);
    frame.render_widget(block, body);
    if view.lines.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "no changes: the file already matches the draft",
                theme.style(Role::Ok),
            )),
            inner,
        );
        return;
    }
    frame.render_widget(
        Paragraph::new(visible(
            &view.lines,
            state.diff.scroll,
            usize::from(inner.height),
            theme,
        )),
        inner,
    );
}
