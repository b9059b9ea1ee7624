//! The reference ceiling for the API benchmark: a trivial axum handler on
//! the same machine, answering a small JSON body. `scripts/bench` runs it.
#![allow(clippy::print_stdout)]

use axum::{Json, Router, routing::get};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("{}", listener.local_addr()?);
    let app = Router::new().route(
        "/",
        get(|| async { Json(serde_json::json!({"items": [], "ok": true})) }),
    );
    axum::serve(listener, app).await?;
    Ok(())
}
