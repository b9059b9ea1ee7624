//! The mirror against OneDrive for Business as it really behaves (the fake's
//! default profile): no cTag in delta, id-only tombstones, quickXorHash,
//! awkward items, fractional Retry-After on every host, folder moves that
//! delta does not expand, deletions and restores, revoked tokens, looping
//! links. Assertions are on what Graph saw (downloads, requests) as well as
//! on documents.

use std::time::{Duration, Instant};

use folio_fake_graph::{GoneLocation, Host, LinkFault, Oddity, Profile};
use folio_platform::db::Backend;
use folio_proto::documents::v1 as docs;

use crate::helpers::{DRIVE, World, eventually, sha256};

async fn mirrored(world: &World, count: usize) -> Vec<docs::Document> {
    eventually(Duration::from_secs(30), "the mirror", || async {
        let docs = world.documents_list().await;
        (docs.len() == count).then_some(docs)
    })
    .await
}

async fn tags_of(world: &World, id: &str) -> Vec<String> {
    world
        .documents()
        .get_document(
            world
                .admin
                .request(docs::GetDocumentRequest { id: id.into() }),
        )
        .await
        .expect("the document stays readable")
        .into_inner()
        .tags
}

/// Point 1: a rename, a move and a resync download nothing on ODB; a real
/// change downloads once.
async fn content_change_is_decided_by_the_hash(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    let file = g.add_file(DRIVE, &world.folder, "a.txt", "v1");
    let sub = g.add_folder(DRIVE, &world.folder, "sub");
    world.connect().await;
    let doc = mirrored(&world, 1).await.remove(0);
    world.settle().await;
    assert_eq!(g.downloads_of(&file), 1);

    g.rename(DRIVE, &file, "renamed.txt");
    g.move_item(DRIVE, &file, &sub);
    world.settle().await;
    assert_eq!(
        g.downloads_of(&file),
        1,
        "metadata changes download nothing"
    );
    assert_eq!(world.versions(&doc.id).await.len(), 1);

    // A resync (410) lists everything again: still nothing to download.
    g.gone_at_page(DRIVE, 0);
    g.set_content(DRIVE, &file, "v2");
    eventually(Duration::from_secs(10), "version 2", || async {
        (world.versions(&doc.id).await.len() == 2).then_some(())
    })
    .await;
    world.settle().await;
    assert_eq!(g.downloads_of(&file), 2, "one download for the one change");
    let versions = world.versions(&doc.id).await;
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1].file_name, "renamed.txt");
    assert_eq!(world.content(&doc.id, 2).await, b"v2");
}

/// Point 1 on personal OneDrive (cTag and sha1/sha256 as well).
async fn personal_onedrive_is_judged_alike(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    // A second drive, personal, in the same tenant: connect to it instead.
    g.set_profile(Profile::Personal);
    let root = g.add_drive(crate::helpers::TENANT, "b!personal-drive");
    let folder = g.add_folder("b!personal-drive", &root, "Mine");
    let file = g.add_file("b!personal-drive", &folder, "p.txt", "one");
    let mut request = world.connect_request();
    request.drive_id = "b!personal-drive".into();
    request.folder = folder.clone();
    world
        .integration()
        .connect_one_drive(world.admin.request(request))
        .await
        .expect("connected");
    let doc = mirrored(&world, 1).await.remove(0);
    world.settle().await;
    g.rename("b!personal-drive", &file, "q.txt");
    world.settle().await;
    assert_eq!(g.downloads_of(&file), 1);
    g.set_content("b!personal-drive", &file, "two");
    eventually(Duration::from_secs(10), "version 2", || async {
        (world.versions(&doc.id).await.len() == 2).then_some(())
    })
    .await;
    assert_eq!(g.downloads_of(&file), 2);
}

/// Point 2: size skew, malware, a OneNote package and a remote item each
/// handled per item; the connection keeps going; skipped files are shown.
async fn one_bad_item_never_stalls_a_connection(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    let good = g.add_file(DRIVE, &world.folder, "good.txt", "fine");
    let skew = g.add_odd_file(
        DRIVE,
        &world.folder,
        "labelled.docx",
        "served bytes",
        Oddity::SizeSkew(-3),
    );
    let malware = g.add_odd_file(DRIVE, &world.folder, "evil.exe", "MZ", Oddity::Malware);
    g.add_odd_file(DRIVE, &world.folder, "Notebook", "", Oddity::Package);
    g.add_odd_file(DRIVE, &world.folder, "shared.pdf", "%PDF", Oddity::Remote);
    world.connect().await;
    let docs = mirrored(&world, 2).await;
    world.settle().await;
    let labelled = docs
        .iter()
        .find(|d| d.current.as_ref().unwrap().file_name == "labelled.docx")
        .expect("the size-skewed file is mirrored");
    assert_eq!(
        labelled.current.as_ref().unwrap().sha256,
        sha256(b"served bytes"),
        "the served bytes are the truth"
    );
    let connection = world.connection().await;
    assert_eq!(
        connection.skipped_total, 3,
        "{:?}",
        connection.skipped_items
    );
    let reasons: Vec<(String, String)> = connection
        .skipped_items
        .iter()
        .map(|s| (s.name.clone(), s.reason.clone()))
        .collect();
    let reason = |name: &str| {
        reasons
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    };
    assert!(reason("evil.exe").contains("malware"), "{reasons:?}");
    assert!(reason("Notebook").contains("OneNote"), "{reasons:?}");
    assert!(reason("shared.pdf").contains("remoteItem"), "{reasons:?}");
    assert!(
        connection.last_error.is_empty(),
        "{}",
        connection.last_error
    );
    assert_eq!(g.downloads_of(&malware), 1);
    assert_eq!(g.downloads_of(&skew), 1);

    // Later changes keep arriving; the malware file is not tried again
    // while it stays as it is (a rename is not a change).
    g.rename(DRIVE, &malware, "evil2.exe");
    g.set_content(DRIVE, &good, "fine v2");
    let good_doc = world.document_named("good.txt").await.unwrap();
    eventually(
        Duration::from_secs(10),
        "version 2 of the good file",
        || async { (world.versions(&good_doc.id).await.len() == 2).then_some(()) },
    )
    .await;
    world.settle().await;
    assert_eq!(
        g.downloads_of(&malware),
        1,
        "unchanged: not downloaded again"
    );

    // Cleaned in OneDrive: new content, and it is mirrored.
    g.set_odd_content(DRIVE, &malware, "clean now", Oddity::None);
    eventually(Duration::from_secs(10), "the cleaned file", || async {
        world.document_named("evil2.exe").await
    })
    .await;
    eventually(Duration::from_secs(10), "the skip cleared", || async {
        (world.connection().await.skipped_total == 2).then_some(())
    })
    .await;
}

/// Point 3: fractional and HTTP-date Retry-After on the API, the content
/// host and the token endpoint are honoured.
async fn throttling_on_every_host(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    let file = g.add_file(DRIVE, &world.folder, "a.txt", "v1");
    world.connect().await;
    let doc = mirrored(&world, 1).await.remove(0);
    world.settle().await;

    for host in [Host::Content, Host::Api] {
        let value = match host {
            Host::Api => {
                httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2))
            }
            Host::Content | Host::Token => "1.5".to_owned(),
        };
        let throttled = g.throttled_requests();
        let n = world.versions(&doc.id).await.len();
        // Two: another request (the subscription upkeep) may take one.
        g.throttle_host(host, 2, &value);
        let started = Instant::now();
        g.set_content(DRIVE, &file, format!("after {host:?}"));
        eventually(Duration::from_secs(20), "the next version", || async {
            (world.versions(&doc.id).await.len() == n + 1).then_some(())
        })
        .await;
        assert!(g.throttled_requests() > throttled, "{host:?}");
        assert!(
            started.elapsed() >= Duration::from_millis(1000),
            "{host:?}: Retry-After {value} honoured, took {:?}",
            started.elapsed()
        );
    }

    // The token endpoint: a revoked token needs a new one, which is throttled.
    g.revoke_tokens();
    g.throttle_host(Host::Token, 1, "1.25");
    let started = Instant::now();
    g.set_content(DRIVE, &file, "after the token throttle");
    eventually(
        Duration::from_secs(20),
        "a version after the token throttle",
        || async {
            let versions = world.versions(&doc.id).await;
            let last = versions.last()?.number;
            (world.content(&doc.id, last).await == b"after the token throttle").then_some(())
        },
    )
    .await;
    assert!(started.elapsed() >= Duration::from_millis(1250));
}

/// Points 3 and 12: a first sync that stops half-way resumes from the page
/// reached, and its progress is shown.
async fn first_sync_resumes_from_the_page_reached(backend: Backend) {
    let mut world = World::start(backend).await;
    world.graph.set_page_size(3);
    let files: Vec<(String, bytes::Bytes)> = (0..24)
        .map(|i| {
            (
                format!("f{i:02}.txt"),
                bytes::Bytes::from(format!("file {i}")),
            )
        })
        .collect();
    world.graph.add_files(DRIVE, &world.folder, files);
    world.connect().await;
    eventually(Duration::from_secs(20), "a few documents", || async {
        (world.documents_list().await.len() >= 6).then_some(())
    })
    .await;
    let before: Vec<String> = world
        .documents_list()
        .await
        .iter()
        .map(|d| d.current.as_ref().unwrap().file_name.clone())
        .collect();
    world.stop_documents();
    eventually(Duration::from_secs(10), "the sync to stop", || async {
        let c = world.connection().await;
        (c.last_error.contains("documents") && c.sync_in_progress).then_some(c)
    })
    .await;
    let part = world.connection().await;
    assert!(
        part.sync_items_mirrored >= 6 && part.sync_items_mirrored < 24,
        "{part:?}"
    );
    world.restart_documents().await;
    mirrored(&world, 24).await;
    let done = eventually(Duration::from_secs(10), "the paging to end", || async {
        let c = world.connection().await;
        (!c.sync_in_progress && !c.last_sync_at.is_empty()).then_some(c)
    })
    .await;
    assert_eq!(
        world.graph.full_enumerations(),
        1,
        "resumed, never restarted from page 0"
    );
    assert_eq!(done.sync_items_seen, 24);
    assert_eq!(done.sync_items_mirrored, 24);
    assert_eq!(done.sync_items_skipped, 0);
    // What was mirrored before the stop is never downloaded again.
    for file in world.graph.children(DRIVE, &world.folder) {
        if before.contains(&file.name) {
            assert_eq!(world.graph.downloads_of(&file.id), 1, "{}", file.name);
        }
    }
}

/// Point 12: the integration itself stopped half-way through a first sync;
/// another instance resumes from the page reached.
async fn first_sync_survives_a_restart(backend: Backend) {
    let mut timing = folio_integration::Timing::brisk();
    timing.lease = Duration::from_secs(2);
    let mut world = World::start_with(backend, timing).await;
    world.graph.set_page_size(2);
    world.graph.set_api_delay(Duration::from_millis(50));
    let files: Vec<(String, bytes::Bytes)> = (0..20)
        .map(|i| {
            (
                format!("r{i:02}.txt"),
                bytes::Bytes::from(format!("restart {i}")),
            )
        })
        .collect();
    world.graph.add_files(DRIVE, &world.folder, files);
    world.connect().await;
    eventually(Duration::from_secs(20), "a few documents", || async {
        (world.documents_list().await.len() >= 4).then_some(())
    })
    .await;
    World::stop_integration(&world.integration);
    let part = world.documents_list().await.len();
    assert!(part < 20, "stopped half-way ({part})");
    world.integration = world.spawn_integration().await;
    mirrored(&world, 20).await;
    let done = eventually(Duration::from_secs(10), "the paging to end", || async {
        let c = world.connection().await;
        (!c.sync_in_progress && !c.last_sync_at.is_empty()).then_some(c)
    })
    .await;
    assert_eq!(
        world.graph.full_enumerations(),
        1,
        "resumed, never restarted from page 0"
    );
    assert_eq!(done.sync_items_seen, 20);
    assert_eq!(done.sync_items_mirrored, 20);
    assert_eq!(world.documents_list().await.len(), 20, "no duplicates");
}

/// Point 4: a folder moved or copied in brings its files; one moved out or
/// deleted takes each of its files with it.
async fn folder_changes_cascade(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    let outside = g.add_folder(DRIVE, &world.outside, "Project");
    let deep = g.add_folder(DRIVE, &outside, "deep");
    g.add_file(DRIVE, &outside, "one.txt", "1");
    g.add_file(DRIVE, &deep, "two.txt", "2");
    world.connect().await;
    world.settle().await;
    assert_eq!(world.documents_list().await.len(), 0);

    g.move_item(DRIVE, &outside, &world.folder);
    let docs = mirrored(&world, 2).await;
    assert!(
        g.children_requests() >= 2,
        "the moved folder was enumerated"
    );

    // A copy of it arrives too.
    g.copy_item(DRIVE, &outside, &world.folder);
    mirrored(&world, 4).await;

    // Moved out again: each file is unlinked (and stays readable).
    g.move_item(DRIVE, &outside, &world.outside);
    eventually(Duration::from_secs(10), "the files unlinked", || async {
        for doc in &docs {
            if !tags_of(&world, &doc.id)
                .await
                .contains(&"removed-from-onedrive".to_owned())
            {
                return None;
            }
        }
        Some(())
    })
    .await;
    assert_eq!(world.connection().await.documents_mirrored, 2);

    // The copy deleted: ODB lists the folder alone; its files go with it.
    let copy = g
        .children(DRIVE, &world.folder)
        .into_iter()
        .find(|c| c.folder)
        .expect("the copied folder");
    g.delete(DRIVE, &copy.id);
    eventually(Duration::from_secs(10), "nothing mirrored", || async {
        (world.connection().await.documents_mirrored == 0).then_some(())
    })
    .await;
    assert_eq!(
        world.documents_list().await.len(),
        4,
        "nothing deleted in Folio"
    );
}

/// Point 5: deletion unlinks and marks, never destroys; a restore from the
/// recycle bin links the same document again.
async fn deletion_keeps_history_and_restore_relinks(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    let file = g.add_file(DRIVE, &world.folder, "a.txt", "from OneDrive");
    world.connect().await;
    let doc = mirrored(&world, 1).await.remove(0);
    world.settle().await;
    // A Folio-only version on top.
    let _ = world
        .documents()
        .create_task(world.admin.request(docs::CreateTaskRequest {
            document_id: doc.id.clone(),
            title: "review".into(),
            ..Default::default()
        }))
        .await
        .expect("a task");

    g.delete(DRIVE, &file);
    eventually(Duration::from_secs(10), "the document marked", || async {
        tags_of(&world, &doc.id)
            .await
            .contains(&"removed-from-onedrive".to_owned())
            .then_some(())
    })
    .await;
    assert_eq!(world.connection().await.documents_mirrored, 0);
    assert_eq!(
        world.content(&doc.id, 1).await,
        b"from OneDrive",
        "history stays readable"
    );

    let downloads = g.downloads_of(&file);
    g.restore(DRIVE, &file);
    eventually(Duration::from_secs(10), "linked again", || async {
        (world.connection().await.documents_mirrored == 1).then_some(())
    })
    .await;
    world.settle().await;
    let docs = world.documents_list().await;
    assert_eq!(docs.len(), 1, "the same document, not a new one");
    assert_eq!(docs[0].id, doc.id);
    assert!(
        !tags_of(&world, &doc.id)
            .await
            .contains(&"removed-from-onedrive".to_owned())
    );
    assert_eq!(
        g.downloads_of(&file),
        downloads,
        "same content: nothing downloaded"
    );
    assert_eq!(world.versions(&doc.id).await.len(), 1);
    // And it is mirrored again.
    g.set_content(DRIVE, &file, "after the restore");
    eventually(Duration::from_secs(10), "version 2", || async {
        (world.versions(&doc.id).await.len() == 2).then_some(())
    })
    .await;
}

/// Point 9: a revoked token is replaced once; a looping or endless next
/// link is an error that says so; a 410 pointing elsewhere or nowhere
/// starts a clean resync.
async fn tokens_and_links(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    let file = g.add_file(DRIVE, &world.folder, "a.txt", "v1");
    world.connect().await;
    let doc = mirrored(&world, 1).await.remove(0);
    world.settle().await;

    let tokens = g.token_requests();
    g.revoke_tokens();
    g.set_content(DRIVE, &file, "v2");
    eventually(
        Duration::from_secs(10),
        "version 2 with a new token",
        || async { (world.versions(&doc.id).await.len() == 2).then_some(()) },
    )
    .await;
    assert!(g.unauthorized_requests() >= 1);
    assert_eq!(g.token_requests(), tokens + 1, "one new token");

    for fault in [LinkFault::Loop, LinkFault::Endless] {
        g.set_link_fault(DRIVE, Some(fault));
        world
            .integration()
            .sync_now(
                world
                    .admin
                    .request(folio_proto::integration::v1::SyncNowRequest {}),
            )
            .await
            .unwrap();
        let error = eventually(Duration::from_secs(20), "the paging error", || async {
            let e = world.connection().await.last_error;
            e.contains("paging").then_some(e)
        })
        .await;
        assert!(
            error.contains(match fault {
                LinkFault::Loop => "loops",
                LinkFault::Endless => "does not end",
            }),
            "{error}"
        );
        g.set_link_fault(DRIVE, None);
        world.settle().await;
        eventually(Duration::from_secs(10), "the error to clear", || async {
            world.connection().await.last_error.is_empty().then_some(())
        })
        .await;
    }

    for location in [GoneLocation::Foreign, GoneLocation::Missing] {
        let full = g.full_enumerations();
        let n = world.versions(&doc.id).await.len();
        g.gone_at_page_to(DRIVE, 0, location);
        g.set_content(DRIVE, &file, format!("after {location:?}"));
        eventually(Duration::from_secs(10), "the next version", || async {
            (world.versions(&doc.id).await.len() == n + 1).then_some(())
        })
        .await;
        assert_eq!(
            g.full_enumerations(),
            full + 1,
            "{location:?}: a clean resync"
        );
    }
    assert_eq!(world.documents_list().await.len(), 1);
}

/// Issue 12, point 12: no database connection is held while Graph
/// answers (on SQLite the pool has one writer connection): the API stays
/// quick while a sync waits on a slow Graph.
async fn slow_graph_does_not_hold_the_database(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    g.set_page_size(2);
    let sub = g.add_folder(DRIVE, &world.folder, "sub");
    for i in 0..6 {
        g.add_file(DRIVE, &sub, &format!("f{i}.txt"), format!("{i}"));
    }
    world.connect().await;
    mirrored(&world, 6).await;
    world.settle().await;

    g.set_api_delay(Duration::from_millis(700));
    let moved = g.add_folder(DRIVE, &world.outside, "incoming");
    g.add_file(DRIVE, &moved, "late.txt", "late");
    g.move_item(DRIVE, &moved, &world.folder);
    let mut slowest = Duration::ZERO;
    let deadline = Instant::now() + Duration::from_secs(30);
    while world.documents_list().await.len() < 7 {
        assert!(
            Instant::now() < deadline,
            "the moved folder's file never arrived"
        );
        let asked = Instant::now();
        let _ = world.connection().await;
        slowest = slowest.max(asked.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    g.set_api_delay(Duration::ZERO);
    assert!(
        slowest < Duration::from_millis(500),
        "GetConnection waited {slowest:?} behind a Graph call"
    );
}

folio_testkit::backend_tests!(
    slow_graph_does_not_hold_the_database,
    content_change_is_decided_by_the_hash,
    personal_onedrive_is_judged_alike,
    one_bad_item_never_stalls_a_connection,
    throttling_on_every_host,
    first_sync_resumes_from_the_page_reached,
    first_sync_survives_a_restart,
    folder_changes_cascade,
    deletion_keeps_history_and_restore_relinks,
    tokens_and_links,
);
