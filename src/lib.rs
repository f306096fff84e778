//! mcp-orch: one place to manage the MCP server configuration of every AI client.
//!
//! The [`core`] is the domain and its façade; [`cli`] is the one-shot command line built on it;
//! [`server`] serves it over MCP (stdio and HTTP) and as a REST API.
//! [`app`] and [`ui`] are the interactive TUI.

pub mod api;
pub mod app;
pub mod cli;
pub mod core;
pub mod server;
pub mod ui;
