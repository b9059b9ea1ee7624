use folio_platform::db::Backend;
use folio_testkit::backend_tests;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::helpers::{Options, TestSystem};

backend_tests!(bad_input_gets_clear_errors_and_changes_nothing);

async fn bad_input_gets_clear_errors_and_changes_nothing(backend: Backend) {
    let system = TestSystem::spawn_with(
        backend,
        Options {
            max_upload_bytes: 1 << 20,
            ..Options::default()
        },
    )
    .await;
    let admin = system.signed_in("admin@acme.example").await;
    let doc = admin.add_document("Target", "target.txt", b"v1").await;
    let id = doc["document"]["id"].as_str().unwrap().to_owned();
    let blobs = system.blob_count();

    let malformed = admin
        .raw(
            Method::PATCH,
            &format!("/api/v1/documents/{id}"),
            "application/json",
            b"{\"title\": ".to_vec(),
        )
        .await;
    assert_eq!(
        (malformed.status, malformed.problem_type().as_str()),
        (StatusCode::BAD_REQUEST, "malformed-request")
    );
    let unknown = admin
        .json(
            Method::PATCH,
            &format!("/api/v1/documents/{id}"),
            &json!({"titel": "typo"}),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.problem_type().as_str()),
        (StatusCode::BAD_REQUEST, "validation-failed")
    );
    let empty = admin
        .json(
            Method::PATCH,
            &format!("/api/v1/documents/{id}"),
            &json!({}),
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    for bad in [
        json!({"title": ""}),
        json!({"title": " padded"}),
        json!({"title": "x".repeat(201)}),
        json!({"tags": ["a,b"]}),
        json!({"tags": ["a", "a"]}),
        json!({"title": 42}),
    ] {
        let reply = admin
            .json(Method::PATCH, &format!("/api/v1/documents/{id}"), &bad)
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(reply.json()["errors"].is_array() || reply.problem_type() == "validation-failed");
    }
    let wrong_type = admin
        .raw(
            Method::PATCH,
            &format!("/api/v1/documents/{id}"),
            "text/plain",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let bad_id = admin.get("/api/v1/documents/not-a-uuid").await;
    assert_eq!(
        (bad_id.status, bad_id.problem_type().as_str()),
        (StatusCode::BAD_REQUEST, "validation-failed")
    );
    assert_eq!(
        admin.get("/api/v1/documents?limit=0").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        admin
            .get("/api/v1/documents?task_status=maybe")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        admin.get("/api/v1/documents?cursor=!!").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        admin
            .get(
                "/api/v1/documents/{id}/versions/0/content"
                    .replace("{id}", &id)
                    .as_str()
            )
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        admin.get("/api/v1/nowhere").await.status,
        StatusCode::NOT_FOUND
    );
    let method = admin
        .raw(
            Method::PUT,
            "/api/v1/documents",
            "application/json",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(method.status, StatusCode::METHOD_NOT_ALLOWED);

    // Multipart: no file, a part after the file, an unknown part, not multipart at all.
    let path = format!("/api/v1/documents/{id}/versions");
    let no_file = admin
        .multipart(&path, vec![("note", None, b"n".to_vec())])
        .await;
    assert_eq!(no_file.status, StatusCode::BAD_REQUEST);
    let after = admin
        .multipart(
            &path,
            vec![
                ("file", Some("a.txt"), b"new content".to_vec()),
                ("note", None, b"late".to_vec()),
            ],
        )
        .await;
    assert_eq!(after.status, StatusCode::BAD_REQUEST, "{}", after.text());
    let unknown_part = admin
        .multipart(
            &path,
            vec![
                ("colour", None, b"red".to_vec()),
                ("file", Some("a.txt"), b"x".to_vec()),
            ],
        )
        .await;
    assert_eq!(unknown_part.status, StatusCode::BAD_REQUEST);
    let not_multipart = admin
        .raw(Method::POST, &path, "application/json", b"{}".to_vec())
        .await;
    assert_eq!(not_multipart.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let nameless = admin
        .multipart(&path, vec![("file", Some("../.."), b"x".to_vec())])
        .await;
    assert_eq!(nameless.status, StatusCode::BAD_REQUEST);

    // Over the limit: 413, nothing stored.
    let huge = vec![7u8; (1 << 20) + 1];
    let too_big = admin
        .multipart(&path, vec![("file", Some("huge.bin"), huge)])
        .await;
    assert_eq!(
        (too_big.status, too_big.problem_type().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large")
    );

    // A raw line break in a part header is broken multipart: refused, nothing stored.
    let broken = admin
        .multipart(
            &path,
            vec![(
                "file",
                Some("evil\r\nSet-Cookie: x=1.txt"),
                b"hostile".to_vec(),
            )],
        )
        .await;
    assert_eq!(
        (broken.status, broken.problem_type().as_str()),
        (StatusCode::BAD_REQUEST, "malformed-request")
    );

    // A hostile but well-formed file name is stored tamed and served safely.
    let hostile = admin
        .multipart(
            &path,
            vec![(
                "file",
                Some("..\\..\\evil \"name\";\tx=1.txt"),
                b"hostile".to_vec(),
            )],
        )
        .await;
    assert_eq!(hostile.status, StatusCode::CREATED, "{}", hostile.text());
    let name = hostile.json()["version"]["file_name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !name.contains('\\') && !name.contains('/') && !name.chars().any(char::is_control),
        "{name:?}"
    );
    let download = admin.get(&format!("/api/v1/documents/{id}/content")).await;
    let disposition = download.header("content-disposition").unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"evil _name_;"),
        "{disposition}"
    );
    assert!(
        disposition.contains("filename*=UTF-8''evil%20%22name%22%3B"),
        "{disposition}"
    );
    assert!(download.header("set-cookie").is_none());
    assert_eq!(download.header("content-security-policy"), Some("sandbox"));

    // Nothing but the one good upload changed.
    let versions = admin.get(&path).await.json();
    assert_eq!(versions["items"].as_array().unwrap().len(), 2);
    assert_eq!(system.blob_count(), blobs + 1);
    assert_eq!(
        admin.get(&format!("/api/v1/documents/{id}")).await.json()["title"],
        "Target"
    );
}
