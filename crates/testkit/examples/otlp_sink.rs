//! An OTLP/gRPC trace receiver that counts spans and keeps none, for
//! measuring what tracing costs (`scripts/bench tracing`).
//!
//!     cargo run --release -p folio-testkit --example otlp_sink -- 127.0.0.1:4317

use std::{net::SocketAddr, time::Duration};

use folio_testkit::otlp::Collector;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4317".to_owned())
        .parse()?;
    let sink = Collector::counting(addr).await;
    println!("receiving traces at {}", sink.endpoint());
    let mut reported = 0;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let count = sink.span_count();
        if count != reported {
            reported = count;
            println!("{count} spans in {} exports", sink.export_count());
        }
    }
    Ok(())
}
