//! Every integration test, in one binary: the crate is linked once instead of once per file.
//! Each module is one area (its doc says what it covers); `common`, `http_support` and
//! `fake_registry` are the shared support.

// Tests and their helpers fail loudly on any unexpected error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fake_registry;
mod http_support;
mod pg;

mod attack;
mod cli;
mod codes;
mod crash;
mod deploy;
mod formats;
mod http;
mod mcp_http;
mod mcp_stdio;
mod migrate;
mod n8n;
mod policy;
mod probe;
mod props;
mod publish;
mod pull;
mod real_clients;
mod registry;
mod schemathesis;
mod store;
mod sweep;
mod team;
mod team_registry;

/// TUI tests through the public API: whole-screen snapshots of every screen at 80x24 and
/// 160x48 (ratatui `TestBackend` + insta), a runtime smoke test, and an end-to-end test that
/// drives the real binary in tmux.
mod tui {
    pub mod e2e;
    pub mod harness;
    pub mod runtime;
    pub mod snapshots;
}
