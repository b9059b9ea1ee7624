//! Uploads then downloads a large file (1 GiB by default; FOLIO_BENCH_BYTES to
//! change) through the documents service, run as its own process, over mTLS.
//! Prints MB/s each way and the service's peak resident memory, beside a
//! reference measured in the same run: the same bytes written to and copied
//! on the same disk with `cp`.
//!
//! Run: `cargo bench -p folio-documents --bench transfer`
#![allow(clippy::print_stdout, clippy::cast_precision_loss)]

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use folio_platform::{
    actor::{Actor, ActorRole},
    grpc,
    pki::DevPki,
    tls,
};
use folio_proto::documents::v1::{
    self as pb, documents_service_client::DocumentsServiceClient, upload_header,
    upload_version_request,
};
use futures::StreamExt;
use uuid::Uuid;

const CHUNK: usize = 256 * 1024;

/// Deterministic, incompressible-looking content without a costly generator.
fn chunk(index: u64) -> Bytes {
    let mut state = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(CHUNK);
    while out.len() < CHUNK {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    Bytes::from(out)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn mbps(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64()
}

/// The reference: write the bytes to a file, then copy it with `cp`.
fn reference(dir: &std::path::Path, chunks: u64) -> Result<(f64, f64)> {
    use std::io::Write;
    let src = dir.join("reference.bin");
    let started = Instant::now();
    let mut file = std::io::BufWriter::with_capacity(CHUNK, std::fs::File::create(&src)?);
    for i in 0..chunks {
        file.write_all(&chunk(i))?;
    }
    file.into_inner()?.sync_all()?;
    let write = started.elapsed();
    let started = Instant::now();
    let status = Command::new("cp")
        .arg(&src)
        .arg(dir.join("copy.bin"))
        .status()?;
    if !status.success() {
        bail!("cp failed");
    }
    std::fs::File::open(dir.join("copy.bin"))?.sync_all()?;
    let copy = started.elapsed();
    let bytes = chunks * CHUNK as u64;
    std::fs::remove_file(&src)?;
    std::fs::remove_file(dir.join("copy.bin"))?;
    Ok((mbps(bytes, write), mbps(bytes, copy)))
}

#[tokio::main]
async fn main() -> Result<()> {
    let total: u64 = std::env::var("FOLIO_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 30);
    let chunks = total.div_ceil(CHUNK as u64);
    let bytes = chunks * CHUNK as u64;
    let dir =
        tempfile::tempdir_in(std::env::var("FOLIO_BENCH_DIR").unwrap_or_else(|_| ".".into()))?;
    let pki = DevPki::open(dir.path().join("pki"))?;
    let grpc_port = free_port()?;
    let service = Service(
        Command::new(env!("CARGO_BIN_EXE_folio-documents"))
            .env("FOLIO_DATA_DIR", dir.path())
            .env(
                "FOLIO_DOCUMENTS_GRPC_ADDR",
                format!("127.0.0.1:{grpc_port}"),
            )
            .env(
                "FOLIO_DOCUMENTS_HTTP_ADDR",
                format!("127.0.0.1:{}", free_port()?),
            )
            .env("FOLIO_DOCUMENTS_MAX_UPLOAD_BYTES", (bytes + 1).to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .context("start folio-documents")?,
    );
    let pid = service.0.id();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", grpc_port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let channel = grpc::channel(
        &format!("https://127.0.0.1:{grpc_port}"),
        tls::client_config(&pki.identity("bff")?)?,
    )?;
    let mut client =
        DocumentsServiceClient::new(channel).max_decoding_message_size(folio_proto::MAX_MESSAGE);
    let actor = Actor {
        user_id: Uuid::now_v7(),
        org_id: Uuid::now_v7(),
        role: ActorRole::Editor,
    };

    println!(
        "Transfer benchmark: {} MiB through folio-documents over mTLS (loopback)",
        bytes >> 20
    );
    let header = pb::UploadVersionRequest {
        part: Some(upload_version_request::Part::Header(pb::UploadHeader {
            target: Some(upload_header::Target::NewDocument(
                pb::NewDocument::default(),
            )),
            file_name: "bench.bin".into(),
            media_type: "application/octet-stream".into(),
            ..Default::default()
        })),
    };
    let body = futures::stream::iter(std::iter::once(header).chain((0..chunks).map(|i| {
        pb::UploadVersionRequest {
            part: Some(upload_version_request::Part::Chunk(chunk(i))),
        }
    })));
    let started = Instant::now();
    let uploaded = client
        .upload_version(actor.request(body))
        .await?
        .into_inner();
    let upload = started.elapsed();
    let doc = uploaded.document.context("document")?;
    let rss_after_upload = peak_rss_mib(pid);

    let started = Instant::now();
    let mut stream = client
        .download_version(actor.request(pb::DownloadVersionRequest {
            document_id: doc.id,
            number: 1,
            range: None,
        }))
        .await?
        .into_inner();
    let mut received = 0u64;
    while let Some(message) = stream.next().await {
        if let Some(pb::download_version_response::Part::Chunk(c)) = message?.part {
            received += c.len() as u64;
        }
    }
    let download = started.elapsed();
    if received != bytes {
        bail!("downloaded {received} bytes, expected {bytes}");
    }
    let peak = peak_rss_mib(pid);
    drop(service);

    let (ref_write, ref_copy) = reference(dir.path(), chunks)?;
    let show = |v: Option<f64>| v.map_or("n/a".to_owned(), |m| format!("{m:.1} MiB"));
    println!(
        "  upload   {:>8.1} MB/s   ({:.2} s)",
        mbps(bytes, upload),
        upload.as_secs_f64()
    );
    println!(
        "  download {:>8.1} MB/s   ({:.2} s)",
        mbps(bytes, download),
        download.as_secs_f64()
    );
    println!(
        "  service peak RSS after upload {}, after download {}",
        show(rss_after_upload),
        show(peak)
    );
    println!("reference, same bytes on the same disk:");
    println!("  write file {ref_write:>8.1} MB/s");
    println!("  cp         {ref_copy:>8.1} MB/s");
    println!(
        "ratio to cp: upload {:.2}, download {:.2} (target >= 0.5); peak RSS target < 64 MiB",
        mbps(bytes, upload) / ref_copy,
        mbps(bytes, download) / ref_copy
    );
    Ok(())
}
