//! One smoke test of the real loop: a `TestBackend`, keys from a channel, the real core. It
//! waits for a state (the search result drawn), never for time.

use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use mcp_orch::app::runtime;
use mcp_orch::app::state::Screen;
use mcp_orch::ui::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::harness::{Harness, buffer_text, fixed_root};

#[tokio::test(flavor = "current_thread")]
async fn the_loop_searches_and_draws_the_result() {
    let root = fixed_root("runtime");
    let h = Harness::new(&root);
    let mut state = h.state.clone();
    state.screen = Screen::Catalog;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<std::io::Result<Event>>();
    for c in ['/', 'm', 'e', 'm', 'o'] {
        tx.send(Ok(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        ))))
        .unwrap();
    }
    let events = tokio_stream_of(rx);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let theme = Theme::monochrome();
    let run = runtime::run_until(&mut terminal, events, state, h.svc.clone(), &theme, |s| {
        s.catalog.query == "memo" && s.catalog.hits.len() < s.catalog.entries.len()
    });
    let (state, timings) = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the search result was drawn in time")
        .unwrap();
    assert_eq!(
        state.catalog.selected_entry().map(|e| e.id.as_str()),
        Some("memory")
    );
    assert!(timings.first_frame.is_some());
    let text = buffer_text(terminal.backend().buffer());
    assert!(text.contains("/ memo"), "{text}");
    assert!(text.contains("Memory (memory)"), "{text}");
    drop(tx);
}

fn tokio_stream_of(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<std::io::Result<Event>>,
) -> impl futures_util::Stream<Item = std::io::Result<Event>> + Unpin {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
