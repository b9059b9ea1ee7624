//! Retention: an admin's policy, applied by the background job, keeping
//! labelled, current and pinned versions and blobs another version shares,
//! finishing what a pass interrupted by a restart left queued, and never
//! losing content uploaded while its blob is being deleted.

use std::time::Duration;

use folio_platform::actor::Actor;
use folio_proto::documents::v1::{self as pb, upload_header};
use sha2::{Digest, Sha256};
use sqlx::Row;
use tonic::Code;

use super::helpers::{Setup, TestApp, existing};

storage_tests!(
    retention_keeps_what_it_must_and_shares_blobs,
    retention_finishes_what_a_restart_interrupted,
    retention_never_deletes_content_an_upload_uses_meanwhile
);

fn policy(keep_last: Option<u32>, keep_days: Option<u32>) -> pb::SetRetentionRequest {
    pb::SetRetentionRequest {
        policy: Some(pb::RetentionPolicy {
            keep_last,
            keep_days,
        }),
    }
}

async fn numbers(app: &TestApp, actor: &Actor, document_id: &str) -> Vec<u32> {
    app.client()
        .list_versions(actor.request(pb::ListVersionsRequest {
            document_id: document_id.into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .versions
        .iter()
        .map(|v| v.number)
        .collect()
}

/// Whether the store holds the blob of `content` (blob keys end in its SHA-256).
async fn holds(app: &TestApp, content: &[u8]) -> bool {
    let sha = hex::encode(Sha256::digest(content));
    app.blob_files().await.iter().any(|f| f.ends_with(&sha))
}

async fn until_removed(app: &TestApp, actor: &Actor, count: usize) -> Vec<pb::Event> {
    for _ in 0..100 {
        let removed: Vec<_> = app
            .client()
            .list_events(actor.request(pb::ListEventsRequest {
                limit: 500,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .events
            .into_iter()
            .filter(|e| e.kind == pb::EventKind::VersionRemoved as i32)
            .collect();
        if removed.len() >= count {
            return removed;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("retention did not remove {count} versions");
}

async fn retention_keeps_what_it_must_and_shares_blobs(setup: Setup) {
    let mut app = TestApp::spawn(setup).await;
    let (admin, editor) = (app.acme.admin, app.acme.editor);

    // Off by default; only admins set it; bounds are checked; per organisation.
    let mut client = app.client();
    let initial = client
        .get_retention(admin.request(pb::GetRetentionRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((initial.keep_last, initial.keep_days), (None, None));
    let by_editor = client
        .set_retention(editor.request(policy(Some(1), None)))
        .await
        .unwrap_err();
    assert_eq!(by_editor.code(), Code::PermissionDenied);
    for bad in [policy(Some(0), None), policy(None, Some(40_000))] {
        let refused = client.set_retention(admin.request(bad)).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
    }

    // A: v1 (own content), v2 (labelled; content shared with B), v3 (an open
    // task is pinned to it), v4 current. B: v1 (the shared content), v2.
    let shared = b"the shared, signed content".to_vec();
    let a = app.create(&editor, "A", b"a one").await.document.unwrap();
    app.upload(&editor, existing(&a.id), "a.txt", &shared)
        .await
        .unwrap();
    app.upload(&editor, existing(&a.id), "a.txt", b"a three")
        .await
        .unwrap();
    client
        .create_task(editor.request(pb::CreateTaskRequest {
            document_id: a.id.clone(),
            title: "Check v3".into(),
            ..Default::default()
        }))
        .await
        .unwrap();
    app.upload(&editor, existing(&a.id), "a.txt", b"a four")
        .await
        .unwrap();
    client
        .label_version(editor.request(pb::LabelVersionRequest {
            document_id: a.id.clone(),
            number: 2,
            label: Some("signed".into()),
        }))
        .await
        .unwrap();
    let b = app
        .upload(
            &editor,
            upload_header::Target::NewDocument(pb::NewDocument {
                title: "B".into(),
                ..Default::default()
            }),
            "b.txt",
            &shared,
        )
        .await
        .unwrap()
        .document
        .unwrap();
    app.upload(&editor, existing(&b.id), "b.txt", b"b two")
        .await
        .unwrap();
    // Globex keeps everything: its policy is its own (off).
    let theirs = app
        .create(&app.globex.editor, "G", b"g one")
        .await
        .document
        .unwrap();
    app.upload(&app.globex.editor, existing(&theirs.id), "g.txt", b"g two")
        .await
        .unwrap();

    let set = client
        .set_retention(admin.request(policy(Some(1), None)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((set.keep_last, set.keep_days), (Some(1), None));
    assert_eq!(
        numbers(&app, &editor, &a.id).await,
        [1, 2, 3, 4],
        "nothing yet"
    );

    app.restart(Duration::from_millis(200)).await;
    let removed = until_removed(&app, &admin, 2).await;
    let mut gone: Vec<_> = removed
        .iter()
        .map(|e| (e.document_id.clone(), e.version))
        .collect();
    gone.sort();
    let mut expected = vec![(a.id.clone(), 1), (b.id.clone(), 1)];
    expected.sort();
    assert_eq!(gone, expected);
    assert!(
        removed
            .iter()
            .all(|e| e.actor_id == uuid::Uuid::nil().to_string())
    );
    assert_eq!(numbers(&app, &editor, &a.id).await, [2, 3, 4]);
    assert_eq!(numbers(&app, &editor, &b.id).await, [2]);
    assert_eq!(numbers(&app, &app.globex.editor, &theirs.id).await, [1, 2]);
    assert!(!holds(&app, b"a one").await, "an unshared blob is deleted");
    assert!(
        holds(&app, &shared).await,
        "A's labelled v2 still uses the shared blob"
    );
    assert_eq!(
        app.download(&editor, &a.id, 2, None).await.unwrap().1,
        shared
    );
    let missing = app.download(&editor, &b.id, 1, None).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    // Another pass removes nothing more.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(until_removed(&app, &admin, 2).await.len(), 2);
}

async fn retention_finishes_what_a_restart_interrupted(setup: Setup) {
    let mut app = TestApp::spawn(setup).await;
    let editor = app.acme.editor;
    let doc = app.create(&editor, "C", b"c one").await.document.unwrap();
    app.upload(&editor, existing(&doc.id), "c.txt", b"c two")
        .await
        .unwrap();
    let again = app.create(&editor, "D", b"d one").await.document.unwrap();
    assert!(holds(&app, b"c one").await);

    // What a pass leaves when the service stops after committing a removal
    // and before deleting its blob: the version gone, its blob queued. Also
    // a key whose blob was deleted just before the stop, and a queued key
    // that an upload has used again since (D's v1).
    let sha = |c: &[u8]| hex::encode(Sha256::digest(c));
    let key_of = |c: &[u8]| format!("org/{}/sha256/{}", app.acme.editor.org_id, sha(c));
    {
        let mut sql = app.sql().await;
        sqlx::query("DELETE FROM versions WHERE document_id = ? AND number = 1")
            .bind(&doc.id)
            .execute(&mut *sql)
            .await
            .unwrap();
        for (key, at) in [
            (key_of(b"c one"), 1_i64),
            (key_of(b"already deleted"), 2),
            (key_of(b"d one"), 3),
        ] {
            sqlx::query(
                "INSERT INTO blob_deletions (blob_key, org_id, queued_at) VALUES (?, ?, ?)",
            )
            .bind(key)
            .bind(app.acme.editor.org_id.to_string())
            .bind(at)
            .execute(&mut *sql)
            .await
            .unwrap();
        }
    }
    // Retention is off for this organisation: the job still finishes the queue.
    app.restart(Duration::from_millis(200)).await;
    let mut left = i64::MAX;
    for _ in 0..100 {
        let mut sql = app.sql().await;
        // Deleted blobs leave tombstones, not queue entries.
        left = sqlx::query("SELECT COUNT(*) AS n FROM blob_deletions WHERE deleted_at IS NULL")
            .fetch_one(&mut *sql)
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "the queue is finished after the restart");
    assert!(
        !holds(&app, b"c one").await,
        "the removed version's blob is deleted"
    );
    assert!(holds(&app, b"d one").await, "a blob used again is kept");
    assert_eq!(
        app.download(&editor, &again.id, 1, None).await.unwrap().1,
        b"d one"
    );
    assert_eq!(
        app.download(&editor, &doc.id, 2, None).await.unwrap().1,
        b"c two"
    );
}

/// The retention job paused between its reference check (the claim) and its
/// blob delete; the very content being deleted uploaded meanwhile.
async fn retention_never_deletes_content_an_upload_uses_meanwhile(setup: Setup) {
    let mut app = TestApp::spawn(setup).await;
    let (admin, editor) = (app.acme.admin, app.acme.editor);
    let raced: &[u8] = b"content deleted and uploaded at once";
    let sha = hex::encode(Sha256::digest(raced));
    let canonical = format!("org/{}/sha256/{sha}", editor.org_id);
    let doc = app.create(&editor, "R", raced).await.document.unwrap();
    app.upload(&editor, existing(&doc.id), "r.txt", b"r two")
        .await
        .unwrap();
    app.client()
        .set_retention(admin.request(policy(Some(1), None)))
        .await
        .unwrap();

    let mut paused = folio_documents::test_hooks::pause_before_blob_delete();
    app.restart(Duration::from_millis(200)).await;
    let (key, go_on) = tokio::time::timeout(Duration::from_secs(30), paused.recv())
        .await
        .expect("retention reaches its delete")
        .unwrap();
    // Later deletions are not paused.
    drop(paused);
    assert_eq!(key, canonical, "v1's blob is about to be deleted");
    let copy = app.create(&editor, "Copy", raced).await.document.unwrap();
    go_on.send(()).unwrap();

    let mut live = i64::MAX;
    for _ in 0..100 {
        let mut sql = app.sql().await;
        live = sqlx::query("SELECT COUNT(*) AS n FROM blob_deletions WHERE deleted_at IS NULL")
            .fetch_one(&mut *sql)
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        if live == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(live, 0, "the deletion finished");
    let stored = |files: Vec<String>| files.iter().any(|f| f.ends_with(&canonical));
    assert!(
        !stored(app.blob_files().await),
        "the claimed blob was deleted"
    );
    assert_eq!(numbers(&app, &editor, &doc.id).await, [2]);
    assert_eq!(
        app.download(&editor, &copy.id, 1, None).await.unwrap().1,
        raced,
        "the upload made meanwhile kept its content"
    );

    // After the deletion, the same content is written again under its
    // content address and the tombstone goes.
    let later = app.create(&editor, "Later", raced).await.document.unwrap();
    assert_eq!(
        app.download(&editor, &later.id, 1, None).await.unwrap().1,
        raced
    );
    assert!(stored(app.blob_files().await));
    let mut sql = app.sql().await;
    let tombstones: i64 = sqlx::query("SELECT COUNT(*) AS n FROM blob_deletions")
        .fetch_one(&mut *sql)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(tombstones, 0);
    let key: String =
        sqlx::query("SELECT blob_key FROM versions WHERE document_id = ? AND number = 1")
            .bind(&later.id)
            .fetch_one(&mut *sql)
            .await
            .unwrap()
            .try_get("blob_key")
            .unwrap();
    assert_eq!(key, canonical);
}
