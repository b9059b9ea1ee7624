use folio_platform::db::Backend;
use folio_proto::documents::v1 as pb;
use folio_testkit::backend_tests;
use tonic::Code;

use super::helpers::TestApp;

backend_tests!(lists_filter_and_page, lists_every_tag_in_full);

async fn list(app: &TestApp, request: pb::ListDocumentsRequest) -> pb::ListDocumentsResponse {
    app.client()
        .list_documents(app.acme.viewer.request(request))
        .await
        .unwrap()
        .into_inner()
}

fn titles(response: &pb::ListDocumentsResponse) -> Vec<&str> {
    response
        .documents
        .iter()
        .map(|d| d.title.as_str())
        .collect()
}

async fn lists_filter_and_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let editor = &app.acme.editor;
    for (i, title) in ["Alpha", "Bravo", "Charlie", "Delta", "Echo_50%"]
        .iter()
        .enumerate()
    {
        let created = app
            .create(editor, title, format!("content {i}").as_bytes())
            .await;
        if *title == "Bravo" {
            app.client()
                .update_document(editor.request(pb::UpdateDocumentRequest {
                    id: created.document.unwrap().id,
                    tags: Some(pb::Tags {
                        tags: vec!["tax".into()],
                    }),
                    ..Default::default()
                }))
                .await
                .unwrap();
        } else if *title == "Charlie" {
            app.client()
                .create_task(editor.request(pb::CreateTaskRequest {
                    document_id: created.document.unwrap().id,
                    title: "Review".into(),
                    ..Default::default()
                }))
                .await
                .unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    app.create(&app.globex.editor, "Alpha of Globex", b"other org")
        .await;

    // Newest change first: Charlie and Bravo were touched after their creation.
    let all = list(&app, pb::ListDocumentsRequest::default()).await;
    assert_eq!(
        titles(&all),
        ["Echo_50%", "Delta", "Charlie", "Bravo", "Alpha"]
    );
    assert!(all.next_cursor.is_empty());

    // Keyset pages of two, following the cursor, cover everything once.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = list(
            &app,
            pb::ListDocumentsRequest {
                cursor: cursor.clone(),
                limit: 2,
                ..Default::default()
            },
        )
        .await;
        assert!(page.documents.len() <= 2);
        seen.extend(titles(&page).into_iter().map(str::to_owned));
        if page.next_cursor.is_empty() {
            break;
        }
        cursor = page.next_cursor;
    }
    assert_eq!(seen, titles(&all));

    let by_text = list(
        &app,
        pb::ListDocumentsRequest {
            query: "ALPHA".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(titles(&by_text), ["Alpha"]);
    let by_file = list(
        &app,
        pb::ListDocumentsRequest {
            query: "delta.txt".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(titles(&by_file), ["Delta"]);
    let by_description = list(
        &app,
        pb::ListDocumentsRequest {
            query: "about char".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(titles(&by_description), ["Charlie"]);
    // LIKE wildcards in the query are taken literally.
    let literal = list(
        &app,
        pb::ListDocumentsRequest {
            query: "_50%".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(titles(&literal), ["Echo_50%"]);
    let wildcard = list(
        &app,
        pb::ListDocumentsRequest {
            query: "%".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(titles(&wildcard), ["Echo_50%"]);
    let by_tag = list(
        &app,
        pb::ListDocumentsRequest {
            tag: "TAX".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(titles(&by_tag), ["Bravo"]);
    let by_task = list(
        &app,
        pb::ListDocumentsRequest {
            task_status: pb::TaskStatus::Open.into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(titles(&by_task), ["Charlie"]);
    let none = list(
        &app,
        pb::ListDocumentsRequest {
            task_status: pb::TaskStatus::Done.into(),
            ..Default::default()
        },
    )
    .await;
    assert!(none.documents.is_empty());

    let bad = app
        .client()
        .list_documents(app.acme.viewer.request(pb::ListDocumentsRequest {
            cursor: "not-a-cursor".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let bad = app
        .client()
        .list_documents(app.acme.viewer.request(pb::ListDocumentsRequest {
            task_status: 17,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
}

/// The list reads tags in its one query, aggregated per document: the most
/// tags a document may have, each as long as allowed and in four-byte
/// characters (past MySQL's default 1,024-byte GROUP_CONCAT), come back
/// whole and sorted, beside a document with none, on both backends.
async fn lists_every_tag_in_full(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let editor = &app.acme.editor;
    let tags: Vec<String> = (0..20)
        .map(|i| format!("{i:02}{}", "\u{1F4C4}".repeat(48)))
        .collect();
    let tagged = app.create(editor, "Tagged", b"tagged").await;
    app.client()
        .update_document(editor.request(pb::UpdateDocumentRequest {
            id: tagged.document.unwrap().id,
            tags: Some(pb::Tags {
                tags: tags.iter().rev().cloned().collect(),
            }),
            ..Default::default()
        }))
        .await
        .unwrap();
    app.create(editor, "Untagged", b"untagged").await;

    let all = list(&app, pb::ListDocumentsRequest::default()).await;
    let tags_of = |title: &str| {
        all.documents
            .iter()
            .find(|d| d.title == title)
            .map(|d| d.tags.clone())
            .unwrap()
    };
    assert_eq!(tags_of("Tagged"), tags);
    assert!(tags_of("Untagged").is_empty());
    let by_tag = list(
        &app,
        pb::ListDocumentsRequest {
            tag: tags[19].clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(titles(&by_tag), ["Tagged"]);
}
