use std::time::Duration;

use bytes::Bytes;
use folio_proto::documents::v1::{self as pb, upload_version_request};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tonic::Code;

use super::helpers::{BlobStorage, Blobs, S3_PREFIX, Setup, TestApp, chunk_messages, existing};

storage_tests!(
    concurrent_uploads_number_versions_without_gaps,
    an_interrupted_upload_leaves_nothing,
    an_upload_over_the_limit_is_refused
);

async fn concurrent_uploads_number_versions_without_gaps(setup: Setup) {
    let app = TestApp::spawn(setup).await;
    let editor = app.acme.editor;
    let doc = app
        .create(&editor, "Contested", b"v1")
        .await
        .document
        .unwrap();
    let uploads = (0..8).map(|i| {
        let app = &app;
        let doc_id = doc.id.clone();
        async move {
            let content = format!("concurrent content {i}").repeat(10_000);
            app.upload(
                &editor,
                existing(&doc_id),
                &format!("c{i}.txt"),
                content.as_bytes(),
            )
            .await
        }
    });
    let results = futures::future::join_all(uploads).await;
    let mut numbers: Vec<u32> = results
        .into_iter()
        .map(|r| r.expect("every upload succeeds").version.unwrap().number)
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (2..=9).collect::<Vec<_>>());
    let versions = app
        .client()
        .list_versions(editor.request(pb::ListVersionsRequest {
            document_id: doc.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .versions;
    assert_eq!(
        versions.iter().map(|v| v.number).collect::<Vec<_>>(),
        (1..=9).collect::<Vec<_>>()
    );
    let current = app
        .client()
        .get_document(editor.request(pb::GetDocumentRequest { id: doc.id }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(current.current_version, 9);
}

async fn an_interrupted_upload_leaves_nothing(setup: Setup) {
    let app = TestApp::spawn(setup).await;
    let editor = app.acme.editor;
    let doc = app
        .create(&editor, "Fragile", b"v1")
        .await
        .document
        .unwrap();
    let blobs_before = app.blob_files().await;
    assert_eq!(blobs_before.len(), 1, "{blobs_before:?}");

    // A client that sends a header and 6 MiB (more than one 5 MiB part),
    // then vanishes: its runtime, and with it its connection, is gone.
    let header = pb::UploadVersionRequest {
        part: Some(upload_version_request::Part::Header(pb::UploadHeader {
            target: Some(existing(&doc.id)),
            file_name: "partial.bin".into(),
            ..Default::default()
        })),
    };
    let chunks = (0..96).map(|_| pb::UploadVersionRequest {
        part: Some(upload_version_request::Part::Chunk(Bytes::from(
            vec![7u8; 64 * 1024],
        ))),
    });
    let stream = futures::stream::iter(std::iter::once(header).chain(chunks))
        .chain(futures::stream::pending());
    let request = editor.request(stream);
    let (tls, url) = (
        app.pki.client_config("bff"),
        format!("https://127.0.0.1:{}", app.port),
    );
    let (vanish, vanished) = tokio::sync::oneshot::channel::<()>();
    let client = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let channel = folio_platform::grpc::channel(&url, tls).unwrap();
            let mut client = pb::documents_service_client::DocumentsServiceClient::new(channel);
            let _upload = tokio::spawn(async move { client.upload_version(request).await });
            let _ = vanished.await;
        });
        // Dropping the runtime drops every task of this client.
    });
    let mut in_progress = blobs_before.clone();
    for _ in 0..100 {
        in_progress = app.blob_files().await;
        if in_progress != blobs_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(in_progress, blobs_before, "the upload shows in the store");
    assert!(
        in_progress
            .iter()
            .all(|f| f == &blobs_before[0] || !f.contains("org/"))
    );
    vanish.send(()).unwrap();
    client.join().unwrap();

    // The server notices the reset, aborts the blob, and commits nothing.
    // Up to 20 s: on a loaded machine the abort reaches the store late.
    let mut leftovers = Vec::new();
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        leftovers = app.blob_files().await;
        if leftovers == blobs_before {
            break;
        }
    }
    assert_eq!(leftovers, blobs_before);
    let current = app
        .client()
        .get_document(editor.request(pb::GetDocumentRequest { id: doc.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(current.current_version, 1);

    // A stream that stops after the header is a complete, empty upload only if
    // it ends cleanly; a second header mid-stream is refused and leaves nothing.
    let messages = vec![
        pb::UploadVersionRequest {
            part: Some(upload_version_request::Part::Header(pb::UploadHeader {
                target: Some(existing(&doc.id)),
                file_name: "x.bin".into(),
                ..Default::default()
            })),
        },
        pb::UploadVersionRequest {
            part: Some(upload_version_request::Part::Chunk(Bytes::from_static(
                b"abc",
            ))),
        },
        pb::UploadVersionRequest {
            part: Some(upload_version_request::Part::Header(
                pb::UploadHeader::default(),
            )),
        },
    ];
    let refused = app
        .client()
        .upload_version(editor.request(futures::stream::iter(messages)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(app.blob_files().await, blobs_before);
}

async fn an_upload_over_the_limit_is_refused(setup: Setup) {
    let app = TestApp::spawn_with_limit(setup, 1 << 20).await;
    let editor = app.acme.editor;
    let doc = app.create(&editor, "Small", b"v1").await.document.unwrap();
    let blobs_before = app.blob_files().await;
    let exactly = vec![1u8; 1 << 20];
    assert!(
        app.upload(&editor, existing(&doc.id), "max.bin", &exactly)
            .await
            .is_ok()
    );
    let too_big = vec![2u8; (1 << 20) + 1];
    let refused = app
        .upload(&editor, existing(&doc.id), "big.bin", &too_big)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(
        refused.message().contains("1048576"),
        "{}",
        refused.message()
    );
    let new_doc = app
        .upload(
            &editor,
            pb::upload_header::Target::NewDocument(pb::NewDocument::default()),
            "big.bin",
            &too_big,
        )
        .await
        .unwrap_err();
    assert_eq!(new_doc.code(), Code::ResourceExhausted);
    assert_eq!(
        app.blob_files().await.len(),
        blobs_before.len() + 1,
        "only the accepted 1 MiB blob was added"
    );
    let listed = app
        .client()
        .list_documents(editor.request(pb::ListDocumentsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .documents;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].current_version, 2);
}

/// Deterministic, incompressible bytes (xorshift).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

mod a_large_upload_is_stored_in_parts {
    use folio_platform::db::Backend;

    use crate::helpers::{Blobs, Setup};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_large_upload_is_stored_in_parts(Setup {
            db: Backend::Sqlite,
            blobs: Blobs::Folder,
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql_s3() {
        super::a_large_upload_is_stored_in_parts(Setup {
            db: Backend::MySql,
            blobs: Blobs::S3,
        })
        .await;
    }
}

/// More than 100 MiB stream into the store as a multipart upload (5 MiB
/// parts, seen growing half-way through; nothing under `org/` yet), are moved
/// to their content address (on S3 a server-side copy of the whole object)
/// and come back byte-exact, whole and in ranges across parts.
async fn a_large_upload_is_stored_in_parts(setup: Setup) {
    const PART: usize = 5 << 20;
    let app = TestApp::spawn_with_limit(setup, 128 << 20).await;
    let editor = app.acme.editor;
    let content = noise((105 << 20) + 12_345, 7);
    let sha256 = hex::encode(Sha256::digest(&content));
    let header = pb::UploadHeader {
        target: Some(pb::upload_header::Target::NewDocument(pb::NewDocument {
            title: "Big".into(),
            ..Default::default()
        })),
        file_name: "big.bin".into(),
        media_type: "application/octet-stream".into(),
        ..Default::default()
    };
    let mut messages = chunk_messages(header, &content).into_iter();
    let half = messages.len() / 2;
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let mut client = app.client();
    let request = editor.request(tokio_stream::wrappers::ReceiverStream::new(rx));
    let started = std::time::Instant::now();
    let upload = tokio::spawn(async move { client.upload_version(request).await });
    for message in messages.by_ref().take(half) {
        tx.send(message).await.unwrap();
    }

    // Half-way: parts are in the store, nothing is visible under org/.
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = app.blob_files().await;
        let enough = match &app.blobs {
            BlobStorage::S3 { moto, bucket } => {
                moto.upload_parts(bucket).await.iter().any(|(key, parts)| {
                    key.starts_with(&format!("{S3_PREFIX}/staging/")) && *parts >= 8
                })
            }
            BlobStorage::Folder(_) => !seen.is_empty(),
        };
        if enough {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!seen.is_empty(), "nothing arrived in the store half-way");
    assert!(seen.iter().all(|f| !f.contains("org/")), "{seen:?}");
    if let BlobStorage::S3 { moto, bucket } = &app.blobs {
        let parts = moto.upload_parts(bucket).await;
        assert!(
            parts.len() == 1 && parts[0].1 >= 8,
            "one multipart upload of 5 MiB parts in progress: {parts:?}"
        );
    }
    for message in messages {
        tx.send(message).await.unwrap();
    }
    drop(tx);
    let created = match upload.await.unwrap() {
        Ok(response) => response.into_inner(),
        Err(status) => panic!("upload refused: {status:?}"),
    };
    let uploaded = started.elapsed();
    let version = created.version.unwrap();
    assert_eq!(version.size, content.len() as u64);
    assert_eq!(version.sha256, sha256);

    let files = app.blob_files().await;
    assert_eq!(
        files.len(),
        1,
        "only the blob, no staging object: {files:?}"
    );
    assert!(
        files[0].ends_with(&format!("org/{}/sha256/{sha256}", editor.org_id)),
        "{files:?}"
    );
    if let BlobStorage::S3 { moto, bucket } = &app.blobs {
        assert!(files[0].starts_with(&format!("{S3_PREFIX}/")), "{files:?}");
        let head = moto.head(bucket, &files[0]).await;
        assert_eq!(head["x-amz-server-side-encryption"], "AES256");
        assert_eq!(head["content-length"], content.len().to_string().as_str());
    }

    let doc_id = created.document.unwrap().id;
    let started = std::time::Instant::now();
    let (_, downloaded) = app.download(&editor, &doc_id, 1, None).await.unwrap();
    let downloaded_in = started.elapsed();
    assert_eq!(downloaded.len(), content.len());
    assert_eq!(hex::encode(Sha256::digest(&downloaded)), sha256);
    let across = pb::ByteRange {
        start: (PART - 10) as u64,
        end: Some((3 * PART + 9) as u64),
    };
    let (_, part) = app
        .download(&editor, &doc_id, 1, Some(across))
        .await
        .unwrap();
    assert!(
        part == content[PART - 10..=3 * PART + 9],
        "ranged read across parts"
    );
    println!(
        "{setup:?}: {} MiB uploaded in {uploaded:?}, downloaded in {downloaded_in:?}",
        content.len() >> 20
    );
}

/// With a KMS key configured every object asks for SSE-KMS with that key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_objects_use_the_configured_kms_key() {
    let setup = Setup {
        db: folio_platform::db::Backend::Sqlite,
        blobs: Blobs::S3,
    };
    let key_id = "alias/folio-test-documents";
    let app = TestApp::spawn_with(setup, 64 << 20, Some(key_id)).await;
    let editor = app.acme.editor;
    let content = noise(6 << 20, 11);
    let created = app.create(&editor, "Sealed", &content).await;
    let sha256 = created.version.unwrap().sha256;
    let BlobStorage::S3 { moto, bucket } = &app.blobs else {
        unreachable!("an S3 setup")
    };
    let files = app.blob_files().await;
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with(&sha256), "{files:?}");
    let head = moto.head(bucket, &files[0]).await;
    assert_eq!(head["x-amz-server-side-encryption"], "aws:kms");
    let used = head["x-amz-server-side-encryption-aws-kms-key-id"]
        .to_str()
        .unwrap();
    assert!(used.ends_with(key_id), "{used}");
    let (_, back) = app
        .download(&editor, &created.document.unwrap().id, 0, None)
        .await
        .unwrap();
    assert!(back == content);
}

/// S3 copies at most 5 GiB in one request: a larger upload limit on S3 would
/// fail the largest uploads at their very end, so it stops start-up instead.
#[tokio::test]
async fn an_s3_store_refuses_a_limit_above_five_gib_at_start() {
    let pki = folio_testkit::Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let settings = |max_upload_bytes: u64| folio_documents::Settings {
        platform: pki.platform("documents"),
        database: folio_platform::db::DatabaseSettings {
            max_connections: 1,
            ..folio_testkit::database_settings(folio_platform::db::DatabaseUrl::sqlite_file(
                &dir.path().join("d.db"),
            ))
        },
        grpc_addr: folio_testkit::any_port(),
        blobs: folio_documents::settings::BlobLocation::S3(folio_documents::settings::S3Settings {
            bucket: "folio-test".into(),
            prefix: String::new(),
            region: "us-east-1".into(),
            endpoint: Some("http://127.0.0.1:9".into()),
            kms_key_id: None,
            credentials: folio_documents::settings::S3Credentials::Environment,
        }),
        max_upload_bytes,
        users_url: "https://127.0.0.1:9".into(),
        retention_interval: std::time::Duration::from_secs(3600),
    };
    let refused = folio_documents::Application::build(settings((5 << 30) + 1))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("FOLIO_DOCUMENTS_MAX_UPLOAD_BYTES"),
        "{refused}"
    );
    assert!(
        folio_documents::Application::build(settings(5 << 30))
            .await
            .is_ok()
    );
}
