//! Names cannot disguise themselves (issue 12, point 13): format characters
//! (bidirectional controls such as U+202E, zero-width characters) in file
//! names and titles are refused; a OneDrive name containing `\` is kept
//! whole.

use folio_platform::db::Backend;
use folio_proto::documents::v1 as pb;
use folio_testkit::backend_tests;
use tonic::Code;

use super::helpers::{TestApp, upload_messages};

backend_tests!(format_characters_are_refused_and_backslashes_kept);

fn header(title: &str, file_name: &str, source: pb::VersionSource) -> pb::UploadHeader {
    pb::UploadHeader {
        target: Some(pb::upload_header::Target::NewDocument(pb::NewDocument {
            title: title.into(),
            ..Default::default()
        })),
        file_name: file_name.into(),
        media_type: "application/pdf".into(),
        note: String::new(),
        source: source.into(),
        ..Default::default()
    }
}

async fn format_characters_are_refused_and_backslashes_kept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = &app.acme.admin;
    for (title, file_name) in [
        ("Invoice", "invoice\u{202E}fdp.exe"),
        ("Invoice\u{2067}", "invoice.pdf"),
        ("Invoice", "in\u{200B}voice.pdf"),
    ] {
        let status = upload_messages(
            app.client(),
            admin,
            header(title, file_name, pb::VersionSource::Upload),
            b"%PDF",
        )
        .await
        .unwrap_err();
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{title:?} {file_name:?}"
        );
        assert!(status.message().contains("U+"), "{}", status.message());
    }
    let doc = app.create(admin, "Plain", b"v1").await.document.unwrap();
    let rename = app
        .client()
        .update_document(admin.request(pb::UpdateDocumentRequest {
            id: doc.id.clone(),
            title: Some("txt.\u{202E}exe".into()),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(rename.code(), Code::InvalidArgument);

    // From OneDrive (the integration's certificate), `\` is part of the name.
    let mirrored = upload_messages(
        app.client_as("integration"),
        &app.acme.editor,
        header("", "Q1\\Q2 figures.pdf", pb::VersionSource::Onedrive),
        b"%PDF",
    )
    .await
    .unwrap();
    assert_eq!(mirrored.version.unwrap().file_name, "Q1\\Q2 figures.pdf");
    assert_eq!(mirrored.document.unwrap().title, "Q1\\Q2 figures.pdf");
}
