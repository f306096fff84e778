//! The stdio transport: newline-delimited JSON-RPC on stdin/stdout. stdout carries only the
//! protocol (logs go to stderr or a file, set up by the caller); the server ends when stdin
//! reaches end of file.

use std::sync::Arc;

use rmcp::ServiceExt;

use super::mcp::OrchServer;
use super::watch::{POLL_INTERVAL, SharedCore, Watcher};

/// Serves one MCP session over this process's stdin and stdout until stdin closes.
pub async fn serve(core: Arc<SharedCore>) -> anyhow::Result<()> {
    let watcher = Watcher::spawn(core.clone(), POLL_INTERVAL);
    let server = OrchServer::new(core, watcher);
    let running = server.serve(rmcp::transport::stdio()).await?;
    let reason = running.waiting().await?;
    tracing::debug!(?reason, "stdio session ended");
    Ok(())
}
