//! TUI tests through the public API: whole-screen snapshots of every screen at 80x24 and
//! 160x48 (ratatui `TestBackend` + insta), a runtime smoke test, and an end-to-end test that
//! drives the real binary in tmux.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod tui {
    pub mod e2e;
    pub mod harness;
    pub mod runtime;
    pub mod snapshots;
}
