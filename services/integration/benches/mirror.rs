//! The OneDrive mirror under load, all in one process over real mTLS: the
//! users, documents and integration services and the fake Graph, on SQLite.
//!
//! 1. Initial mirror of 1,000 small files (FOLIO_BENCH_SMALL_FILES) and of
//!    10 files of 50 MiB (FOLIO_BENCH_LARGE_FILES, FOLIO_BENCH_LARGE_MIB):
//!    total time from connecting until every file is a document.
//! 2. Change → version visible through the documents gRPC API, over 100
//!    changes one after another (FOLIO_BENCH_CHANGES): median and p99.
//!
//! 3. A large library (FOLIO_BENCH_LIBRARY, default 10,000 files of 1 KiB)
//!    from an OneDrive for Business profile: first sync time and the
//!    process's peak RSS growth (goal ≤ 64 MiB: the drive is streamed page
//!    by page, never held in memory); then renaming 1,000 mirrored files
//!    (goal: 0 downloads, 0 new versions).
//!
//! Reference, measured in the same run: the same small and large files
//! uploaded straight into documents by one client (no Graph, no webhook);
//! for the library, the same number of files uploaded straight into
//! documents, with its RSS growth.
//!
//! Run: `cargo bench -p folio-integration --bench mirror`
#![allow(clippy::print_stdout, clippy::cast_precision_loss, unreachable_pub)]

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use folio_fake_graph::FakeGraph;
use folio_integration::{Application, ClientSecretsConfig, Settings, Timing};
use folio_platform::{
    actor::{Actor, ActorRole},
    db::Backend,
};
use folio_proto::{
    documents::v1::{self as docs, documents_service_client::DocumentsServiceClient},
    integration::v1::{self as pb, integration_service_client::IntegrationServiceClient},
    users::v1::{self as users_pb, users_service_client::UsersServiceClient},
};
use folio_testkit::{Pki, TestDatabase, any_port};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

const TENANT: &str = "bench.onmicrosoft.com";
const APP_ID: &str = "5a0e6c3e-1d5b-4a6e-8f0e-2b7c9d1e3f40";
const SECRET: &str = "bench-secret";
const DRIVE: &str = "b!bench";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Deterministic, incompressible-looking content.
fn content(seed: u64, len: usize) -> Bytes {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

struct System {
    graph: FakeGraph,
    pki: Pki,
    admin: Actor,
    documents_port: u16,
    integration_port: u16,
    folder: String,
    stops: Vec<CancellationToken>,
    _dbs: Vec<TestDatabase>,
    _dirs: Vec<tempfile::TempDir>,
}

impl Drop for System {
    fn drop(&mut self) {
        for stop in &self.stops {
            stop.cancel();
        }
    }
}

impl System {
    async fn start() -> Result<Self> {
        let pki = Pki::new();
        let users_db = TestDatabase::create(Backend::Sqlite).await;
        let users = folio_users::Application::build(folio_users::Settings {
            platform: pki.platform("users"),
            database: users_db.settings(),
            grpc_addr: any_port(),
            bootstrap: None,
            secrets_key: None,
        })
        .await?;
        let users_port = users.port();
        let mut stops = vec![users.stop_token()];
        tokio::spawn(users.run_until_stopped());

        let documents_db = TestDatabase::create(Backend::Sqlite).await;
        let blobs = tempfile::tempdir()?;
        let documents = folio_documents::Application::build(folio_documents::Settings {
            platform: pki.platform("documents"),
            database: folio_platform::db::DatabaseSettings {
                max_connections: 10,
                ..documents_db.settings()
            },
            grpc_addr: any_port(),
            blobs: folio_documents::settings::BlobLocation::Directory(blobs.path().to_owned()),
            max_upload_bytes: 1 << 30,
            users_url: format!("https://127.0.0.1:{users_port}"),
            retention_interval: std::time::Duration::from_secs(3600),
        })
        .await?;
        let documents_port = documents.port();
        stops.push(documents.stop_token());
        tokio::spawn(documents.run_until_stopped());

        let created = UsersServiceClient::new(pki.channel("operator", users_port))
            .create_organisation(users_pb::CreateOrganisationRequest {
                name: "bench".into(),
                admin_email: "admin@bench.example".into(),
                admin_display_name: "Admin".into(),
                admin_password: "correct horse battery staple".into(),
            })
            .await?
            .into_inner();
        let user = created.admin.context("admin")?;
        let admin = Actor {
            user_id: user.id.parse()?,
            org_id: user.organisation_id.parse()?,
            role: ActorRole::Admin,
        };

        let graph = FakeGraph::start().await?;
        graph.add_app(TENANT, APP_ID, SECRET);
        let root = graph.add_drive(TENANT, DRIVE);
        let folder = graph.add_folder(DRIVE, &root, "Bench");

        let integration_db = TestDatabase::create(Backend::Sqlite).await;
        let integration = Application::build(Settings {
            platform: pki.platform("integration"),
            database: integration_db.settings(),
            grpc_addr: any_port(),
            documents_url: format!("https://127.0.0.1:{documents_port}"),
            public_url: None,
            graph_url: Some(graph.graph_url().parse()?),
            token_url: graph.token_url(),
            graph_scope: None,
            client_secrets: ClientSecretsConfig::sealed_with(&"ab".repeat(32)),
            timing: Timing::default(),
        })
        .await?;
        let integration_port = integration.port();
        stops.push(integration.stop_token());
        tokio::spawn(integration.run_until_stopped());
        Ok(Self {
            graph,
            pki,
            admin,
            documents_port,
            integration_port,
            folder,
            stops,
            _dbs: vec![users_db, documents_db, integration_db],
            _dirs: vec![blobs],
        })
    }

    fn documents(&self) -> DocumentsServiceClient<Channel> {
        DocumentsServiceClient::new(self.pki.channel("bff", self.documents_port))
            .max_decoding_message_size(folio_proto::MAX_MESSAGE)
    }

    fn integration(&self) -> IntegrationServiceClient<Channel> {
        IntegrationServiceClient::new(self.pki.channel("bff", self.integration_port))
    }

    async fn connect(&self) -> Result<()> {
        self.integration()
            .connect_one_drive(self.admin.request(pb::ConnectRequest {
                tenant_id: TENANT.into(),
                app_id: APP_ID.into(),
                client_secret: SECRET.into(),
                drive_id: DRIVE.into(),
                folder: self.folder.clone(),
            }))
            .await?;
        Ok(())
    }

    async fn connection(&self) -> Result<pb::Connection> {
        Ok(self
            .integration()
            .get_connection(self.admin.request(pb::GetConnectionRequest {}))
            .await?
            .into_inner())
    }

    /// Versions of every document of the organisation.
    async fn total_versions(&self) -> Result<(u64, u64)> {
        let (mut documents, mut versions) = (0, 0);
        let mut cursor = String::new();
        loop {
            let page = self
                .documents()
                .list_documents(self.admin.request(docs::ListDocumentsRequest {
                    cursor: cursor.clone(),
                    limit: 100,
                    ..Default::default()
                }))
                .await?
                .into_inner();
            for doc in &page.documents {
                documents += 1;
                versions += u64::from(doc.current_version);
            }
            if page.next_cursor.is_empty() {
                return Ok((documents, versions));
            }
            cursor = page.next_cursor;
        }
    }

    async fn mirrored(&self) -> Result<u64> {
        Ok(self
            .integration()
            .get_connection(self.admin.request(pb::GetConnectionRequest {}))
            .await?
            .into_inner()
            .documents_mirrored)
    }

    async fn wait_mirrored(&self, count: u64, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while self.mirrored().await? < count {
            if Instant::now() > deadline {
                bail!("only {} of {count} files mirrored", self.mirrored().await?);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    async fn upload_direct(&self, name: &str, bytes: Bytes) -> Result<()> {
        let header = docs::UploadHeader {
            target: Some(docs::upload_header::Target::NewDocument(
                docs::NewDocument::default(),
            )),
            file_name: name.into(),
            media_type: String::new(),
            note: String::new(),
            source: docs::VersionSource::Upload.into(),
            ..Default::default()
        };
        let parts: Vec<Bytes> = (0..bytes.len())
            .step_by(256 * 1024)
            .map(|i| bytes.slice(i..(i + 256 * 1024).min(bytes.len())))
            .collect();
        let messages = std::iter::once(docs::upload_version_request::Part::Header(header))
            .chain(
                parts
                    .into_iter()
                    .map(docs::upload_version_request::Part::Chunk),
            )
            .map(|part| docs::UploadVersionRequest { part: Some(part) });
        self.documents()
            .upload_version(self.admin.request(futures::stream::iter(messages)))
            .await?;
        Ok(())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Resident set size now and its peak, in bytes (Linux).
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak RSS to the current RSS, so the next peak is this step's.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

const MIB: f64 = 1024.0 * 1024.0;

/// The large library: first sync of `files` small files and 1,000 renames.
async fn library(files: usize) -> Result<()> {
    let system = System::start().await?;
    let g = &system.graph;
    let size = 1024;

    // Reference: the same number of files straight into documents.
    reset_peak();
    let (base, _) = rss();
    let started = Instant::now();
    for i in 0..files {
        system
            .upload_direct(
                &format!("lib-ref-{i}.txt"),
                content(200_000 + i as u64, size),
            )
            .await?;
    }
    let reference = started.elapsed();
    let (_, peak) = rss();
    let reference_growth = peak.saturating_sub(base) as f64 / MIB;
    let (reference_docs, _) = system.total_versions().await?;

    let ids = g.add_files(
        DRIVE,
        &system.folder,
        (0..files)
            .map(|i| (format!("lib-{i:05}.txt"), content(300_000 + i as u64, size)))
            .collect(),
    );
    reset_peak();
    let (base, _) = rss();
    let started = Instant::now();
    system.connect().await?;
    system
        .wait_mirrored(files as u64, Duration::from_secs(3600))
        .await?;
    let first_sync = started.elapsed();
    let (_, peak) = rss();
    let growth = peak.saturating_sub(base) as f64 / MIB;
    let before = system.connection().await?;

    // 1,000 renames in one change: delta lists them; nothing is downloaded.
    let renamed = ids.len().min(1000);
    let downloads = g.downloads();
    let (_, versions) = system.total_versions().await?;
    let synced = before.last_sync_at.clone();
    let renames: Vec<(String, String)> = ids[..renamed]
        .iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), format!("renamed-{i:05}.txt")))
        .collect();
    let started = Instant::now();
    g.rename_many(DRIVE, &renames);
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let c = system.connection().await?;
        if c.last_sync_at != synced && !c.sync_in_progress && c.sync_items_seen >= renamed as u64 {
            break;
        }
        if Instant::now() > deadline {
            bail!("the renames were not synced: {c:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rename_time = started.elapsed();
    let (_, versions_after) = system.total_versions().await?;
    let per_thousand = first_sync.as_secs_f64() * 1000.0 / files as f64;

    println!();
    println!(
        "first sync, {files} files of 1 KiB (ODB profile): {:>8.2} s ({:.0} files/s), peak RSS growth {:.1} MiB (goal <= 64)   reference direct upload of {reference_docs}: {:>8.2} s ({:.0} files/s), peak RSS growth {:.1} MiB",
        first_sync.as_secs_f64(),
        files as f64 / first_sync.as_secs_f64(),
        growth,
        reference.as_secs_f64(),
        files as f64 / reference.as_secs_f64(),
        reference_growth,
    );
    println!(
        "  progress: seen {}, mirrored {}, skipped {}; Graph: {} delta requests, {} downloads",
        before.sync_items_seen,
        before.sync_items_mirrored,
        before.sync_items_skipped,
        g.delta_requests(),
        downloads,
    );
    println!(
        "rename {renamed} mirrored files: {:>8.2} s, {} downloads, {} new versions (goal 0, 0)   reference: mirroring 1,000 new files took {per_thousand:.2} s in this run",
        rename_time.as_secs_f64(),
        g.downloads() - downloads,
        versions_after - versions,
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let library_files = env("FOLIO_BENCH_LIBRARY", 10_000);
    if library_files > 0 {
        println!("OneDrive large library benchmark (SQLite, mTLS, fake Graph ODB profile)");
        library(library_files).await?;
        println!();
    }
    let small_files = env("FOLIO_BENCH_SMALL_FILES", 1000);
    let large_files = env("FOLIO_BENCH_LARGE_FILES", 10);
    let large_mib = env("FOLIO_BENCH_LARGE_MIB", 50);
    let changes = env("FOLIO_BENCH_CHANGES", 100);
    let small = 4 * 1024;
    let large = large_mib << 20;

    println!("OneDrive mirror benchmark (SQLite, mTLS, fake Graph on loopback)");
    let system = System::start().await?;
    let g = &system.graph;

    // Reference: the same files straight into documents, one client.
    let reference = Instant::now();
    for i in 0..small_files {
        system
            .upload_direct(&format!("ref-{i}.txt"), content(i as u64, small))
            .await?;
    }
    let reference_small = reference.elapsed();
    let reference = Instant::now();
    for i in 0..large_files {
        system
            .upload_direct(&format!("ref-{i}.bin"), content(10_000 + i as u64, large))
            .await?;
    }
    let reference_large = reference.elapsed();

    // 1. Initial mirror.
    let small_folder = g.add_folder(DRIVE, &system.folder, "small");
    g.add_files(
        DRIVE,
        &small_folder,
        (0..small_files)
            .map(|i| (format!("file-{i}.txt"), content(50_000 + i as u64, small)))
            .collect(),
    );
    let started = Instant::now();
    system.connect().await?;
    system
        .wait_mirrored(small_files as u64, Duration::from_secs(600))
        .await?;
    let mirror_small = started.elapsed();

    let large_folder = g.add_folder(DRIVE, &system.folder, "large");
    let started = Instant::now();
    g.add_files(
        DRIVE,
        &large_folder,
        (0..large_files)
            .map(|i| (format!("big-{i}.bin"), content(90_000 + i as u64, large)))
            .collect(),
    );
    system
        .wait_mirrored((small_files + large_files) as u64, Duration::from_secs(900))
        .await?;
    let mirror_large = started.elapsed();

    // 2. Change → version visible, one change at a time.
    let file = g.add_file(DRIVE, &system.folder, "latency.txt", content(1, 64));
    system
        .wait_mirrored(
            (small_files + large_files + 1) as u64,
            Duration::from_secs(60),
        )
        .await?;
    let document = {
        let list = system
            .documents()
            .list_documents(system.admin.request(docs::ListDocumentsRequest {
                query: "latency.txt".into(),
                ..Default::default()
            }))
            .await?
            .into_inner();
        list.documents
            .first()
            .context("latency document")?
            .id
            .clone()
    };
    let mut latencies = Vec::with_capacity(changes);
    for i in 0..changes {
        let expected = i as u32 + 2;
        let changed = Instant::now();
        g.set_content(DRIVE, &file, content(2 + i as u64, 64));
        loop {
            let current = system
                .documents()
                .get_document(system.admin.request(docs::GetDocumentRequest {
                    id: document.clone(),
                }))
                .await?
                .into_inner()
                .current_version;
            if current >= expected {
                break;
            }
            if changed.elapsed() > Duration::from_secs(30) {
                bail!("change {i} not visible after 30 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        latencies.push(changed.elapsed());
    }
    latencies.sort();

    let mb = |bytes: usize, d: Duration| bytes as f64 / 1e6 / d.as_secs_f64();
    println!();
    println!(
        "initial mirror, {small_files} files of {} KiB: {:>8.2} s ({:.0} files/s)   reference direct upload: {:>8.2} s ({:.0} files/s)",
        small / 1024,
        mirror_small.as_secs_f64(),
        small_files as f64 / mirror_small.as_secs_f64(),
        reference_small.as_secs_f64(),
        small_files as f64 / reference_small.as_secs_f64(),
    );
    println!(
        "initial mirror, {large_files} files of {large_mib} MiB: {:>8.2} s ({:.0} MB/s)    reference direct upload: {:>8.2} s ({:.0} MB/s)",
        mirror_large.as_secs_f64(),
        mb(large_files * large, mirror_large),
        reference_large.as_secs_f64(),
        mb(large_files * large, reference_large),
    );
    println!(
        "change -> version visible over {changes} changes: median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    println!(
        "Graph requests: {} delta, {} token",
        g.delta_requests(),
        g.token_requests()
    );
    Ok(())
}
