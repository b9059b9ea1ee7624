//! UploadVersion's idempotency key (docs/adr/0033): a call repeated after
//! its answer was lost gets the first result and changes nothing; the key
//! with other content is refused; keys are per organisation.

use folio_platform::actor::Actor;
use folio_proto::documents::v1::{self as pb, upload_header};
use tonic::Code;

use super::helpers::{Setup, TestApp, existing, upload_messages};

storage_tests!(a_repeated_upload_answers_its_first_result);

fn keyed(target: upload_header::Target, key: &str) -> pb::UploadHeader {
    pb::UploadHeader {
        target: Some(target),
        file_name: "minutes.txt".into(),
        media_type: "text/plain".into(),
        note: "from the integration".into(),
        source: pb::VersionSource::Upload.into(),
        idempotency_key: key.into(),
        ..Default::default()
    }
}

fn new_document() -> upload_header::Target {
    upload_header::Target::NewDocument(pb::NewDocument {
        title: "Minutes".into(),
        ..Default::default()
    })
}

/// What an organisation holds: its documents with their version counts, and
/// its events.
async fn holdings(app: &TestApp, actor: &Actor) -> (Vec<(String, u32)>, usize) {
    let mut client = app.client();
    let documents = client
        .list_documents(actor.request(pb::ListDocumentsRequest {
            limit: 100,
            ..Default::default()
        }))
        .await
        .expect("documents")
        .into_inner()
        .documents;
    let mut counts = Vec::new();
    for document in documents {
        let versions = client
            .list_versions(actor.request(pb::ListVersionsRequest {
                document_id: document.id.clone(),
            }))
            .await
            .expect("versions")
            .into_inner()
            .versions;
        counts.push((document.id, u32::try_from(versions.len()).unwrap()));
    }
    counts.sort();
    let events = client
        .list_events(actor.request(pb::ListEventsRequest {
            limit: 500,
            ..Default::default()
        }))
        .await
        .expect("events")
        .into_inner()
        .events
        .len();
    (counts, events)
}

async fn a_repeated_upload_answers_its_first_result(setup: Setup) {
    let app = TestApp::spawn(setup).await;
    let editor = &app.acme.editor;
    let upload = |actor: &Actor, header: pb::UploadHeader, content: &'static [u8]| {
        let client = app.client();
        let actor = *actor;
        async move { upload_messages(client, &actor, header, content).await }
    };

    // A new document, then the same call again: the first result, nothing new.
    let first = upload(editor, keyed(new_document(), "change-1"), b"first content")
        .await
        .expect("first call");
    assert!(first.created);
    let after_first = holdings(&app, editor).await;
    assert_eq!(after_first.0.len(), 1);
    let again = upload(editor, keyed(new_document(), "change-1"), b"first content")
        .await
        .expect("the repeated call succeeds");
    assert_eq!(
        again.document.as_ref().unwrap().id,
        first.document.as_ref().unwrap().id
    );
    assert_eq!(
        again.version, first.version,
        "the first version, as answered first"
    );
    assert_eq!(again.created, first.created);
    assert_eq!(
        holdings(&app, editor).await,
        after_first,
        "no document, version or event"
    );

    // A version of that document, repeated: still one version more.
    let document = first.document.unwrap().id;
    let second = upload(
        editor,
        keyed(existing(&document), "change-2"),
        b"second content",
    )
    .await
    .expect("a new version");
    assert_eq!(second.version.as_ref().unwrap().number, 2);
    let after_second = holdings(&app, editor).await;
    // Even after a later version, the repeat answers what it made.
    upload(
        editor,
        keyed(existing(&document), "change-3"),
        b"third content",
    )
    .await
    .expect("a third version");
    let after_third = holdings(&app, editor).await;
    assert_ne!(after_third, after_second);
    let repeated = upload(
        editor,
        keyed(existing(&document), "change-2"),
        b"second content",
    )
    .await
    .expect("the repeated version call succeeds");
    assert_eq!(repeated.version, second.version);
    assert_eq!(holdings(&app, editor).await, after_third, "nothing new");

    // The key with other content is a mistake, refused, and changes nothing.
    let refused = upload(editor, keyed(new_document(), "change-1"), b"other content")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("idempotency key"), "{refused:?}");
    assert_eq!(holdings(&app, editor).await, after_third);

    // Another organisation's key of the same name is its own: a new document
    // there, nothing of acme's answered.
    let stranger = &app.globex.editor;
    let theirs = upload(
        stranger,
        keyed(new_document(), "change-1"),
        b"first content",
    )
    .await
    .expect("the same key in another organisation");
    assert!(theirs.created);
    assert_ne!(theirs.document.as_ref().unwrap().id, document);
    assert_eq!(holdings(&app, stranger).await.0.len(), 1);
    assert_eq!(holdings(&app, editor).await, after_third);
    // A key naming acme's change answers globex nothing of acme's.
    let other = upload(
        stranger,
        keyed(new_document(), "change-2"),
        b"second content",
    )
    .await
    .expect("a key acme used, fresh in globex");
    assert_ne!(other.document.as_ref().unwrap().id, document);

    // A viewer may not upload, key or not: nothing of the first result.
    let viewer = upload(
        &app.acme.viewer,
        keyed(new_document(), "change-1"),
        b"first content",
    )
    .await
    .unwrap_err();
    assert_eq!(viewer.code(), Code::PermissionDenied, "{viewer:?}");
    assert_eq!(holdings(&app, editor).await, after_third);

    // A bad key is a clear error and stores nothing.
    for bad in ["has space", "k".repeat(129).as_str()] {
        let status = upload(editor, keyed(new_document(), bad), b"content")
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
        assert!(status.message().contains("idempotency_key"), "{status:?}");
    }
    assert_eq!(holdings(&app, editor).await, after_third);

    // Concurrent calls with one key make one document.
    let racing = futures::future::join_all((0..4).map(|_| {
        upload(
            editor,
            keyed(new_document(), "change-race"),
            b"raced content",
        )
    }))
    .await;
    let ids: std::collections::BTreeSet<String> = racing
        .into_iter()
        .map(|r| r.expect("every racing call succeeds").document.unwrap().id)
        .collect();
    assert_eq!(ids.len(), 1, "one document for one key");
    assert_eq!(
        holdings(&app, editor).await.0.len(),
        after_third.0.len() + 1
    );
}
