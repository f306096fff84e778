//! Protocol front-ends over the core: the stdio-to-remote bridge (`connect`), the MCP handler (transport-agnostic, so stdio and the
//! HTTP transport share it), the stdio transport, the HTTP server (MCP over Streamable HTTP and
//! HTTP+SSE, the REST API and the event feed), and the state watcher that turns changes in the
//! state directory, made by any process, into notifications.

pub mod activity;
pub mod bridge;
pub mod http;
pub mod mcp;
pub mod stdio;
pub mod watch;
