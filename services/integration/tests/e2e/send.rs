//! "Send to OneDrive" against an honest OneDrive for Business: SharePoint's
//! rewrite of uploaded files, `If-Match` conflicts, upload sessions resumed
//! from unaligned and several ranges, names as named, and a slow upload
//! that keeps its lease. Every test looks at what the fake Graph received.

use std::time::Duration;

use bytes::Bytes;
use folio_fake_graph::FRAGMENT_UNIT;
use folio_platform::{actor::Actor, db::Backend};
use folio_proto::{
    documents::v1 as docs,
    integration::v1::{self as pb, ONEDRIVE_FAILURE_METADATA, OneDriveFailure, one_drive_failure},
};
use prost::Message as _;
use rand::RngCore;
use tonic::Code;

use crate::helpers::{DRIVE, World, eventually, sha256};

fn random(len: usize) -> Bytes {
    let mut content = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut content);
    Bytes::from(content)
}

/// Adds a version to an existing document as `actor` (as the portal would).
pub async fn upload_version(
    world: &World,
    actor: &Actor,
    document_id: &str,
    file_name: &str,
    content: Bytes,
) -> docs::UploadVersionResponse {
    let header = docs::UploadHeader {
        target: Some(docs::upload_header::Target::DocumentId(
            document_id.to_owned(),
        )),
        file_name: file_name.into(),
        media_type: "application/octet-stream".into(),
        note: String::new(),
        source: docs::VersionSource::Upload.into(),
        ..Default::default()
    };
    let chunks: Vec<Bytes> = content
        .chunks(256 * 1024)
        .map(Bytes::copy_from_slice)
        .collect();
    let messages = std::iter::once(docs::upload_version_request::Part::Header(header))
        .chain(
            chunks
                .into_iter()
                .map(docs::upload_version_request::Part::Chunk),
        )
        .map(|part| docs::UploadVersionRequest { part: Some(part) });
    world
        .documents()
        .upload_version(actor.request(futures::stream::iter(messages)))
        .await
        .expect("version uploaded")
        .into_inner()
}

pub async fn send(
    world: &World,
    document_id: &str,
    version: u32,
) -> Result<pb::SendToOneDriveResponse, tonic::Status> {
    // As the bff does before sending (docs/adr/0042).
    world.share(document_id).await;
    world
        .integration()
        .send_to_one_drive(world.editor.request(pb::SendToOneDriveRequest {
            document_id: document_id.to_owned(),
            version,
        }))
        .await
        .map(tonic::Response::into_inner)
}

pub fn failure(status: &tonic::Status) -> Option<OneDriveFailure> {
    let raw = status.metadata().get_bin(ONEDRIVE_FAILURE_METADATA)?;
    OneDriveFailure::decode(raw.to_bytes().ok()?.as_ref()).ok()
}

/// docs/adr/0036: SharePoint's rewrite of a sent Office or PDF file is
/// mapped as what OneDrive holds and is no Folio version; the echo
/// downloads nothing and adds no document; a later real edit still comes in.
async fn rewritten_send_is_mapped_not_versioned(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    world.connect().await;
    world.settle().await;

    let small = Bytes::from_static(b"PK\x03\x04 quarterly report, as the person wrote it");
    let large = random(5 * 1024 * 1024 + 777);
    let mut sent = Vec::new();
    for (name, content) in [("Quarterly report.docx", small), ("Scan.pdf", large)] {
        let document = world
            .upload(&world.editor, name, content.clone())
            .await
            .document
            .unwrap()
            .id;
        let answer = send(&world, &document, 0).await.expect("the send succeeds");
        assert_eq!(answer.name, name);
        // What OneDrive received is Folio's version; what it holds differs.
        let upload = g.uploads().pop().expect("the fake saw the upload");
        assert_eq!(upload.item_id, answer.item_id);
        assert_eq!(sha256(&upload.received), sha256(&content));
        assert_ne!(upload.stored, upload.received, "SharePoint rewrote it");
        assert_eq!(upload.session, content.len() > 4 << 20);
        sent.push((document, answer.item_id, content));
    }
    let downloads = g.downloads();
    world.settle().await;
    world.settle().await;
    assert_eq!(g.downloads(), downloads, "the echo downloaded nothing");
    assert_eq!(
        world.documents_list().await.len(),
        2,
        "no duplicate document"
    );
    for (document, _, content) in &sent {
        let versions = world.versions(document).await;
        assert_eq!(versions.len(), 1, "the rewrite is no Folio version");
        assert_eq!(sha256(&world.content(document, 1).await), sha256(content));
    }

    // A person's edit in OneDrive is still a version.
    let (document, item, _) = &sent[0];
    g.set_content(DRIVE, item, "edited in Word online");
    eventually(Duration::from_secs(10), "version 2", || async {
        (world.versions(document).await.len() == 2).then_some(())
    })
    .await;
    assert_eq!(world.content(document, 2).await, b"edited in Word online");
}

/// An upload over a file changed in OneDrive since Folio saw it carries
/// `If-Match`; Graph's 412 overwrites nothing, OneDrive's change comes in as
/// a version, the person is told of the conflict, and sending again (after
/// review) converges with no lost update.
async fn conflicting_edits_converge_without_a_lost_update(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    world.connect().await;
    world.settle().await;
    let document = world
        .upload(&world.editor, "plan.txt", Bytes::from_static(b"plan v1"))
        .await
        .document
        .unwrap()
        .id;
    let item = send(&world, &document, 0).await.unwrap().item_id;
    world.settle().await;
    let seen_etag = g.item(DRIVE, &item).unwrap().etag;

    // Nearly at once: an edit in OneDrive (whose notification is late) and
    // a new version in Folio that the person sends.
    g.set_notification_delay(Duration::from_secs(60));
    g.set_content(DRIVE, &item, "plan v2, edited in OneDrive");
    upload_version(
        &world,
        &world.editor,
        &document,
        "plan.txt",
        Bytes::from_static(b"plan v2, edited in Folio"),
    )
    .await;
    let uploads = g.uploads().len();
    let refused = send(&world, &document, 0).await.unwrap_err();
    assert_eq!(refused.code(), Code::Aborted);
    assert_eq!(
        failure(&refused).map(|f| f.cause()),
        Some(one_drive_failure::Cause::Conflict)
    );
    let refusals = g.refusals();
    assert_eq!(refusals.len(), 1);
    assert_eq!(
        refusals[0].if_match, seen_etag,
        "If-Match was the seen eTag"
    );
    assert_eq!(g.uploads().len(), uploads, "nothing was uploaded");
    assert_eq!(
        g.content(DRIVE, &item).unwrap(),
        "plan v2, edited in OneDrive"
    );

    // The OneDrive change comes in as a version (without its notification).
    eventually(
        Duration::from_secs(10),
        "OneDrive's edit as version 3",
        || async { (world.versions(&document).await.len() == 3).then_some(()) },
    )
    .await;
    assert_eq!(
        world.content(&document, 3).await,
        b"plan v2, edited in OneDrive"
    );
    assert_eq!(
        world.content(&document, 2).await,
        b"plan v2, edited in Folio"
    );

    // The person reviews and sends Folio's version 2: now it goes through,
    // under the eTag of the change Folio has seen.
    let current = g.item(DRIVE, &item).unwrap().etag;
    send(&world, &document, 2).await.expect("sent after review");
    let upload = g.uploads().pop().unwrap();
    assert_eq!(upload.if_match.as_deref(), Some(current.as_str()));
    assert_eq!(g.content(DRIVE, &item).unwrap(), "plan v2, edited in Folio");
    world.settle().await;
    // Nothing is lost: Folio holds all three, OneDrive the chosen one.
    assert_eq!(world.versions(&document).await.len(), 3);
    assert_eq!(world.documents_list().await.len(), 1);
    assert_eq!(g.children(DRIVE, &world.folder).len(), 1);
}

/// A metadata-only change in OneDrive (sharing, properties; here a rename to
/// the same name) changes the eTag but not the content or the name: the
/// delta downloads nothing, yet keeps the new eTag, so the next send is no
/// false conflict.
async fn metadata_change_then_send_is_no_conflict(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    world.connect().await;
    world.settle().await;
    let document = world
        .upload(&world.editor, "memo.txt", Bytes::from_static(b"memo v1"))
        .await
        .document
        .unwrap()
        .id;
    let item = send(&world, &document, 0).await.unwrap().item_id;
    world.settle().await;
    let before = g.item(DRIVE, &item).unwrap().etag;
    g.rename(DRIVE, &item, "memo.txt");
    let renamed = g.item(DRIVE, &item).unwrap().etag;
    assert_ne!(before, renamed, "the change gave a new eTag");
    let downloads = g.downloads();
    world.settle().await;
    assert_eq!(g.downloads(), downloads, "it downloads nothing");

    upload_version(
        &world,
        &world.editor,
        &document,
        "memo.txt",
        Bytes::from_static(b"memo v2"),
    )
    .await;
    send(&world, &document, 0).await.expect("no false conflict");
    assert!(g.refusals().is_empty());
    let upload = g.uploads().pop().unwrap();
    assert_eq!(upload.if_match.as_deref(), Some(renamed.as_str()));
    assert_eq!(g.content(DRIVE, &item).unwrap(), "memo v2");
}

/// The session's `nextExpectedRanges` may name any offset and several
/// ranges (Microsoft's own examples do); the uploader sends exactly those.
/// A mapped file is then replaced through a session, under `If-Match`.
async fn upload_session_resumes_from_any_ranges(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    world.connect().await;
    world.settle().await;
    let content = random(10 * 1024 * 1024 + 12_345);
    let document = world
        .upload(&world.editor, "archive.bin", content.clone())
        .await
        .document
        .unwrap()
        .id;
    // The first fragment breaks after 100,003 bytes, and the session also
    // loses bytes 1,000..5,000: it then wants "1000-4999" and "100003-".
    g.cut_next_fragment(100_003, Some((1_000, 5_000)));
    let sent = send(&world, &document, 0).await.expect("sent");
    assert!(sent.chunked);
    assert_eq!(
        sha256(&g.content(DRIVE, &sent.item_id).unwrap()),
        sha256(&content),
        "content arrived intact"
    );
    let fragments = g.fragments();
    assert!(
        fragments.iter().any(|f| f.start == 1_000 && f.len == 4_000),
        "the hole was filled: {fragments:?}"
    );
    assert!(
        fragments.iter().any(|f| f.start == 100_003),
        "resumed at the unaligned offset: {fragments:?}"
    );
    for f in fragments.iter().filter(|f| f.start >= 100_003) {
        let last = f.start + f.len == f.total;
        assert!(last || f.len % FRAGMENT_UNIT == 0, "{f:?}");
    }
    world.settle().await;

    // A new version replaces the mapped file through a session.
    let seen_etag = g.item(DRIVE, &sent.item_id).unwrap().etag;
    let second = random(6 * 1024 * 1024 + 1);
    upload_version(
        &world,
        &world.editor,
        &document,
        "archive.bin",
        second.clone(),
    )
    .await;
    let replaced = send(&world, &document, 0).await.expect("replaced");
    assert!(replaced.chunked);
    assert_eq!(replaced.item_id, sent.item_id);
    let upload = g.uploads().pop().unwrap();
    assert!(upload.session);
    assert_eq!(upload.if_match.as_deref(), Some(seen_etag.as_str()));
    assert_eq!(
        sha256(&g.content(DRIVE, &sent.item_id).unwrap()),
        sha256(&second)
    );
    assert_eq!(g.children(DRIVE, &world.folder).len(), 1);
    world.settle().await;
    assert_eq!(world.versions(&document).await.len(), 2);
}

/// Names with `&`, `#`, `%`, `+`, quotes and non-Latin letters arrive in
/// OneDrive exactly as named (graph-rs-sdk's path templates would turn `&`
/// into `&amp;`), by simple upload and by upload session.
async fn names_arrive_as_named(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    world.connect().await;
    world.settle().await;
    let names = [
        ("Q&A #2 — 100% + 'final'.txt", false),
        ("Übersicht; Käse=gut, @home $5 [1].txt", false),
        ("日本語の資料.txt", false),
        ("Ελληνικά & Русский.txt", false),
        ("R&D 50% #1 + 'big'.bin", true),
    ];
    for (name, big) in names {
        let content = if big {
            random(4 * 1024 * 1024 + 10)
        } else {
            Bytes::from(format!("content of {name}"))
        };
        let document = world
            .upload(&world.editor, name, content)
            .await
            .document
            .unwrap()
            .id;
        let sent = send(&world, &document, 0).await.expect("sent");
        assert_eq!(sent.chunked, big);
        assert_eq!(sent.name, name);
        assert_eq!(g.item(DRIVE, &sent.item_id).unwrap().name, name);
    }
    // A double quote cannot be in a OneDrive name: it is replaced, the rest kept.
    let document = world
        .upload(
            &world.editor,
            "say \"hi\" & go.txt",
            Bytes::from_static(b"x"),
        )
        .await
        .document
        .unwrap()
        .id;
    assert_eq!(
        send(&world, &document, 0).await.unwrap().name,
        "say _hi_ & go.txt"
    );
    let mut stored: Vec<String> = g
        .children(DRIVE, &world.folder)
        .into_iter()
        .map(|i| i.name)
        .collect();
    let mut expected: Vec<String> = names.iter().map(|(n, _)| (*n).to_owned()).collect();
    expected.push("say _hi_ & go.txt".to_owned());
    stored.sort();
    expected.sort();
    assert_eq!(stored, expected);
}

/// A send slower than the lease renews it: a delta cannot take the
/// connection meanwhile and make a second document of the new file.
async fn slow_send_keeps_its_lease(backend: Backend) {
    let mut timing = folio_integration::Timing::brisk();
    timing.lease = Duration::from_millis(900);
    let world = World::start_with(backend, timing).await;
    let g = &world.graph;
    world.connect().await;
    world.settle().await;
    let document = world
        .upload(
            &world.editor,
            "slow.txt",
            Bytes::from_static(b"slow upload"),
        )
        .await
        .document
        .unwrap()
        .id;
    // OneDrive shows the file (and notifies) at once, but answers after 3 s.
    g.set_upload_answer_delay(Duration::from_secs(3));
    let downloads = g.downloads();
    let sent = send(&world, &document, 0).await.expect("sent");
    g.set_upload_answer_delay(Duration::ZERO);
    world.settle().await;
    assert_eq!(
        world.documents_list().await.len(),
        1,
        "no duplicate document"
    );
    assert_eq!(g.downloads(), downloads, "the echo downloaded nothing");
    assert_eq!(g.children(DRIVE, &world.folder).len(), 1);
    assert_eq!(world.versions(&document).await.len(), 1);
    assert_eq!(world.connection().await.documents_mirrored, 1);
    assert!(g.item(DRIVE, &sent.item_id).is_some());
}

folio_testkit::backend_tests!(
    rewritten_send_is_mapped_not_versioned,
    conflicting_edits_converge_without_a_lost_update,
    metadata_change_then_send_is_no_conflict,
    upload_session_resumes_from_any_ranges,
    names_arrive_as_named,
    slow_send_keeps_its_lease
);
