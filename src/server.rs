//! Protocol front-ends over the core: the HTTP server (REST API, event feed, and the MCP
//! endpoints).

pub mod http;
