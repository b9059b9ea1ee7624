//! The journey, end to end: connect, handshake, initial mirror,
//! a change becomes version 2, outside files ignored, deletion, and "send to
//! OneDrive" of a 10 MiB version through an upload session.

use std::time::{Duration, Instant};

use bytes::Bytes;
use folio_fake_graph::FRAGMENT_UNIT;
use folio_platform::db::Backend;
use folio_proto::{documents::v1 as docs, integration::v1 as pb};
use rand::RngCore;
use tonic::Code;

use crate::helpers::{World, eventually, sha256};

async fn mirror_journey(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    // Files already there: two in the folder, one in a sub-folder, one outside.
    let report = g.add_file(DRIVE, &world.folder, "report.txt", "quarterly numbers v1");
    let sub = g.add_folder(DRIVE, &world.folder, "2026");
    let nested = g.add_file(DRIVE, &sub, "nested.pdf", "%PDF nested");
    g.add_file(DRIVE, &world.folder, "notes.txt", "some notes");
    g.add_file(DRIVE, &world.outside, "secret.txt", "not for Folio");

    let connection = world.connect().await;
    assert!(!connection.subscription_id.is_empty());
    assert_eq!(connection.folder_id, world.folder);
    assert_eq!(connection.connected_by, world.admin.user_id.to_string());
    // Graph validated both the notification and the lifecycle URL.
    assert_eq!(g.validations(), 2);
    let subs = g.subscriptions();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].resource, format!("/drives/{DRIVE}/root"));

    // The files already in the folder appear as documents.
    let docs = eventually(Duration::from_secs(20), "the initial mirror", || async {
        let docs = world.documents_list().await;
        (docs.len() == 3).then_some(docs)
    })
    .await;
    let mut names: Vec<String> = docs
        .iter()
        .map(|d| d.current.as_ref().unwrap().file_name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["nested.pdf", "notes.txt", "report.txt"]);
    for doc in &docs {
        let current = doc.current.as_ref().unwrap();
        assert_eq!(current.source, docs::VersionSource::Onedrive as i32);
        assert_eq!(current.created_by, world.admin.user_id.to_string());
    }
    let report_doc = world.document_named("report.txt").await.unwrap();
    assert_eq!(
        world.content(&report_doc.id, 1).await,
        b"quarterly numbers v1"
    );
    assert_eq!(
        report_doc.current.as_ref().unwrap().media_type,
        "text/plain"
    );
    let state = eventually(
        Duration::from_secs(10),
        "the first sync recorded",
        || async {
            let state = world.connection().await;
            (!state.last_sync_at.is_empty()).then_some(state)
        },
    )
    .await;
    assert_eq!(state.documents_mirrored, 3);
    assert_eq!(state.state, pb::ConnectionState::Active as i32);

    // A change in the drive becomes version 2 within seconds of the notification.
    let changed = Instant::now();
    g.set_content(DRIVE, &report, "quarterly numbers v2");
    let versions = eventually(Duration::from_secs(10), "version 2", || async {
        let v = world.versions(&report_doc.id).await;
        (v.len() == 2).then_some(v)
    })
    .await;
    let latency = changed.elapsed();
    assert!(latency < Duration::from_secs(5), "took {latency:?}");
    assert_eq!(versions[1].number, 2);
    assert_eq!(versions[1].file_name, "report.txt");
    assert_eq!(
        world.content(&report_doc.id, 2).await,
        b"quarterly numbers v2"
    );
    assert!(
        g.deliveries().iter().any(|d| d.status == Some(202)),
        "notifications were accepted"
    );

    // A rename keeps the content: no new version, the new name is remembered.
    g.rename(DRIVE, &report, "report-2026.txt");
    world.settle().await;
    assert_eq!(world.versions(&report_doc.id).await.len(), 2);

    // A file outside the folder is ignored, even when it changes.
    let outside_new = g.add_file(DRIVE, &world.outside, "more-private.txt", "no");
    g.set_content(DRIVE, &outside_new, "still no");
    world.settle().await;
    assert_eq!(world.documents_list().await.len(), 3);

    // A new file in a sub-folder is mirrored.
    g.add_file(DRIVE, &sub, "added.txt", "added later");
    eventually(Duration::from_secs(10), "the added file", || async {
        world.document_named("added.txt").await
    })
    .await;

    // A deletion in OneDrive unlinks the document and marks it; its
    // history stays readable (docs/adr/0032).
    let nested_doc = world.document_named("nested.pdf").await.unwrap();
    g.delete(DRIVE, &nested);
    eventually(Duration::from_secs(10), "the unlinking", || async {
        let doc = world
            .documents()
            .get_document(world.admin.request(docs::GetDocumentRequest {
                id: nested_doc.id.clone(),
            }))
            .await
            .ok()?
            .into_inner();
        doc.tags
            .iter()
            .any(|t| t == "removed-from-onedrive")
            .then_some(())
    })
    .await;
    assert_eq!(world.content(&nested_doc.id, 1).await, b"%PDF nested");
    eventually(
        Duration::from_secs(10),
        "the mapping marked deleted",
        || async { (world.connection().await.documents_mirrored == 3).then_some(()) },
    )
    .await;
    // Pre-authenticated URLs were always fetched without Authorization.
    assert_eq!(g.preauthenticated_with_authorization(), 0);
}

async fn send_to_onedrive(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    world.connect().await;
    world.settle().await;

    // 10 MiB, not a multiple of anything in particular.
    let mut content = vec![0u8; 10 * 1024 * 1024 + 12_345];
    rand::thread_rng().fill_bytes(&mut content);
    let content = Bytes::from(content);
    let uploaded = world
        .upload(&world.editor, "big scan.bin", content.clone())
        .await;
    let document_id = uploaded.document.unwrap().id;
    let deltas_before = g.delta_requests();
    // One fragment fails on the way: the uploader resumes from nextExpectedRanges.
    g.fail_next_fragments(1);

    world.share(&document_id).await;
    let sent = world
        .integration()
        .send_to_one_drive(world.editor.request(pb::SendToOneDriveRequest {
            document_id: document_id.clone(),
            version: 0,
        }))
        .await
        .expect("sent")
        .into_inner();
    assert!(sent.chunked);
    assert_eq!(sent.name, "big scan.bin");
    assert_eq!(sent.size, content.len() as u64);
    let arrived = g.content(DRIVE, &sent.item_id).expect("file in OneDrive");
    assert_eq!(sha256(&arrived), sha256(&content), "content arrived intact");
    let item = g.item(DRIVE, &sent.item_id).unwrap();
    assert_eq!(item.parent.as_deref(), Some(world.folder.as_str()));
    let fragments = g.fragments();
    assert!(fragments.len() >= 2, "{fragments:?}");
    for (i, f) in fragments.iter().enumerate() {
        assert_eq!(f.total, content.len() as u64);
        if i + 1 < fragments.len() {
            assert_eq!(
                f.len % FRAGMENT_UNIT,
                0,
                "fragment {i} is not a multiple of 320 KiB"
            );
        }
    }
    assert_eq!(g.preauthenticated_with_authorization(), 0);

    // The echo notification runs a delta that adds no version and no document.
    eventually(Duration::from_secs(10), "the echo's delta", || async {
        (g.delta_requests() > deltas_before).then_some(())
    })
    .await;
    world.settle().await;
    assert_eq!(world.versions(&document_id).await.len(), 1);
    assert_eq!(world.documents_list().await.len(), 1);
    assert_eq!(world.connection().await.documents_mirrored, 1);

    // Now the document is mapped: a change in OneDrive becomes its version 2.
    g.set_content(DRIVE, &sent.item_id, "edited in OneDrive");
    eventually(
        Duration::from_secs(10),
        "version 2 from OneDrive",
        || async { (world.versions(&document_id).await.len() == 2).then_some(()) },
    )
    .await;

    // A small document goes in one request; a second send replaces the file.
    let small = world
        .upload(&world.editor, "memo.txt", Bytes::from_static(b"memo v1"))
        .await;
    let small_id = small.document.unwrap().id;
    world.share(&small_id).await;
    let first = world
        .integration()
        .send_to_one_drive(world.editor.request(pb::SendToOneDriveRequest {
            document_id: small_id.clone(),
            version: 1,
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(!first.chunked);
    assert_eq!(g.simple_uploads(), 1);
    let again = world
        .integration()
        .send_to_one_drive(world.editor.request(pb::SendToOneDriveRequest {
            document_id: small_id.clone(),
            version: 1,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.item_id, first.item_id);
    assert_eq!(g.children(DRIVE, &world.folder).len(), 2);
    world.settle().await;
    assert_eq!(world.versions(&small_id).await.len(), 1);

    // Viewers cannot send; other organisations' documents are not found.
    let refused = world
        .integration()
        .send_to_one_drive(world.viewer.request(pb::SendToOneDriveRequest {
            document_id: small_id.clone(),
            version: 0,
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}

const DRIVE: &str = crate::helpers::DRIVE;

folio_testkit::backend_tests!(mirror_journey, send_to_onedrive);
