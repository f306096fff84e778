//! The raw axum ceiling for `bench/http-throughput.sh`: `POST /mcp` answered with a fixed body
//! from memory (the bytes of a real `tools/call list_available_servers` answer, read from the
//! file named by the first argument), with no authentication, session or MCP work. Whatever
//! the server does beyond this costs throughput below this figure on the same machine.
//!
//! `cargo run --release --example axum_ceiling -- ANSWER_FILE`; prints
//! `listening on 127.0.0.1:PORT` on stderr.

use axum::Router;
use axum::http::header;
use axum::routing::post;

fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .expect("usage: axum_ceiling ANSWER_FILE");
    let answer = axum::body::Bytes::from(std::fs::read(path)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let app = Router::new().route(
            "/mcp",
            post(move || {
                let answer = answer.clone();
                async move { ([(header::CONTENT_TYPE, "text/event-stream")], answer) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        eprintln!("listening on {}", listener.local_addr()?);
        axum::serve(listener, app).await
    })
}
