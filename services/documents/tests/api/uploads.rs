use std::time::Duration;

use bytes::Bytes;
use folio_platform::db::Backend;
use folio_proto::documents::v1::{self as pb, upload_version_request};
use folio_testkit::backend_tests;
use futures::StreamExt;
use tonic::Code;

use super::helpers::{TestApp, existing};

backend_tests!(
    concurrent_uploads_number_versions_without_gaps,
    an_interrupted_upload_leaves_nothing,
    an_upload_over_the_limit_is_refused
);

async fn concurrent_uploads_number_versions_without_gaps(backend: Backend) {
    let app = TestApp::spawn(backend).await;
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

async fn an_interrupted_upload_leaves_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let editor = app.acme.editor;
    let doc = app
        .create(&editor, "Fragile", b"v1")
        .await
        .document
        .unwrap();
    let blobs_before = app.blob_files();
    assert_eq!(blobs_before.len(), 1, "{blobs_before:?}");

    // A client that sends a header and some content, then vanishes.
    let header = pb::UploadVersionRequest {
        part: Some(upload_version_request::Part::Header(pb::UploadHeader {
            target: Some(existing(&doc.id)),
            file_name: "partial.bin".into(),
            ..Default::default()
        })),
    };
    let chunks = (0..16).map(|_| pb::UploadVersionRequest {
        part: Some(upload_version_request::Part::Chunk(Bytes::from(
            vec![7u8; 64 * 1024],
        ))),
    });
    let stream = futures::stream::iter(std::iter::once(header).chain(chunks))
        .chain(futures::stream::pending());
    let mut client = app.client();
    let request = editor.request(stream);
    let upload = tokio::spawn(async move { client.upload_version(request).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    upload.abort();
    drop(upload);

    // The server notices the reset, aborts the blob, and commits nothing.
    let mut leftovers = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        leftovers = app.blob_files();
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
    assert_eq!(app.blob_files(), blobs_before);
}

async fn an_upload_over_the_limit_is_refused(backend: Backend) {
    let app = TestApp::spawn_with_limit(backend, 1 << 20).await;
    let editor = app.acme.editor;
    let doc = app.create(&editor, "Small", b"v1").await.document.unwrap();
    let blobs_before = app.blob_files();
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
        app.blob_files().len(),
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
