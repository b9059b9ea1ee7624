//! Names cannot disguise themselves (issue 12, point 13), through the
//! portal's API: a file name or title with a format character (U+202E
//! RIGHT-TO-LEFT OVERRIDE and the like) is a clear 400 and stores nothing.

use folio_platform::db::Backend;
use folio_testkit::backend_tests;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::helpers::TestSystem;

backend_tests!(disguised_names_are_refused);

/// A browser's multipart body: the file name as raw UTF-8 (RFC 7578).
fn form(title: &str, file_name: &str) -> Vec<u8> {
    format!(
        "--b\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n{title}\r\n\
         --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/pdf\r\n\r\n%PDF\r\n--b--\r\n"
    )
    .into_bytes()
}

async fn disguised_names_are_refused(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let blobs = system.blob_count();
    for (title, file_name) in [
        ("Invoice", "invoice\u{202E}fdp.exe"),
        ("Invoice \u{2066}draft", "invoice.pdf"),
    ] {
        let reply = admin
            .raw(
                Method::POST,
                "/api/v1/documents",
                "multipart/form-data; boundary=b",
                form(title, file_name),
            )
            .await;
        assert_eq!(
            (reply.status, reply.problem_type().as_str()),
            (StatusCode::BAD_REQUEST, "validation-failed"),
            "{title:?} {file_name:?}: {}",
            reply.text()
        );
        assert!(reply.text().contains("U+"), "{}", reply.text());
    }
    let doc = admin.add_document("Plain", "plain.pdf", b"%PDF").await;
    let id = doc["document"]["id"].as_str().unwrap();
    let rename = admin
        .json(
            Method::PATCH,
            &format!("/api/v1/documents/{id}"),
            &json!({"title": "txt.\u{202E}exe"}),
        )
        .await;
    assert_eq!(rename.status, StatusCode::BAD_REQUEST, "{}", rename.text());
    let listed = admin.get("/api/v1/documents").await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["title"], "Plain");
    assert_eq!(system.blob_count(), blobs + 1);
}
