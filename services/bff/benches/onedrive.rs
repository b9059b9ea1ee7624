//! How soon a change in OneDrive shows in the portal: a file changed in the
//! (fake) OneDrive folder, then `GET /api/v1/documents/{id}/versions` through
//! the bff polled until the new version is listed; median and p99 over
//! FOLIO_BENCH_CHANGES changes (default 100), one after another.
//!
//! Everything in one process over real mTLS on SQLite: users, documents,
//! the integration (production timing) and the bff, with the fake Graph
//! posting notifications to the integration's webhook.
//!
//! Reference, measured in the same run: the same new version uploaded
//! through the bff's API by the client itself, until it is listed.
//!
//! Run: `RUST_LOG=warn cargo bench -p folio-bff --bench onedrive` (or `scripts/bench onedrive`).
#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    unreachable_pub,
    dead_code
)]

#[path = "../tests/api/contract.rs"]
mod contract;
#[path = "../tests/api/helpers.rs"]
mod helpers;

use std::time::{Duration, Instant};

use folio_platform::db::Backend;
use helpers::{Browser, OneDrive, Options, TestSystem};
use reqwest::StatusCode;

fn changes() -> usize {
    std::env::var("FOLIO_BENCH_CHANGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn version_count(browser: &Browser, id: &str) -> usize {
    let reply = browser
        .get(&format!("/api/v1/documents/{id}/versions"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.json()["items"].as_array().map_or(0, Vec::len)
}

/// Polls the bff until document `id` lists `versions` versions.
async fn until_listed(browser: &Browser, id: &str, versions: usize) -> Duration {
    let started = Instant::now();
    while version_count(browser, id).await < versions {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "version {versions} not visible after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    started.elapsed()
}

fn summary(what: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    println!(
        "{what:<44} median {:>7.1} ms   p99 {:>7.1} ms   max {:>7.1} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() {
    let changes = changes();
    println!(
        "OneDrive change -> version visible through the bff ({changes} changes, SQLite, mTLS)"
    );
    let system = TestSystem::spawn_with(
        Backend::Sqlite,
        Options {
            onedrive: true,
            onedrive_timing: Some(folio_integration::Timing::default()),
            ..Options::default()
        },
    )
    .await;
    let onedrive = system.onedrive.as_ref().expect("OneDrive runs");
    let graph = &onedrive.graph;
    let admin = system.signed_in("admin@acme.example").await;
    admin.connect_onedrive().await;

    let file = graph.add_file(
        OneDrive::DRIVE,
        &onedrive.folder,
        "latency.txt",
        b"version 1".to_vec(),
    );
    let id = loop {
        let list = admin.get("/api/v1/documents?q=latency").await.json();
        if let Some(id) = list["items"][0]["id"].as_str() {
            break id.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    let mut mirrored = Vec::with_capacity(changes);
    for i in 0..changes {
        graph.set_content(
            OneDrive::DRIVE,
            &file,
            format!("version {} from OneDrive", i + 2).into_bytes(),
        );
        mirrored.push(until_listed(&admin, &id, i + 2).await);
    }

    // Reference: the client uploads the next version itself.
    let made = admin
        .add_document("Reference", "reference.txt", b"version 1")
        .await;
    let reference_id = made["document"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/documents/{reference_id}/versions");
    let mut uploaded = Vec::with_capacity(changes);
    for i in 0..changes {
        let started = Instant::now();
        let reply = admin
            .multipart(
                &path,
                vec![(
                    "file",
                    Some("reference.txt"),
                    format!("version {} uploaded", i + 2).into_bytes(),
                )],
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        until_listed(&admin, &reference_id, i + 2).await;
        uploaded.push(started.elapsed());
    }

    summary("change in OneDrive -> listed by the bff", mirrored);
    summary("reference: upload through the bff -> listed", uploaded);
    println!(
        "Graph: {} delta requests, {} notifications delivered",
        graph.delta_requests(),
        graph.deliveries().len()
    );
}
