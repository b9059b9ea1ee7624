//! Answers lost after the work was done, and a secret rotated: Graph's
//! answer to a new file's upload lost after OneDrive created it
//! (docs/adr/0034), documents' answer to an UploadVersion lost after it
//! committed (docs/adr/0033), and a client secret replaced while Entra
//! already refuses the old one. Each test looks at what the fake Graph (or
//! the documents stand-in) saw, and at what Folio holds.

use std::{
    convert::Infallible,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use folio_platform::{db::Backend, grpc, secrets::AwsSecrets, tls};
use folio_proto::integration::v1 as pb;
use folio_testkit::Moto;
use rand::RngCore;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{
    Code, Status,
    body::Body,
    codegen::{BoxFuture, Context, Poll, Service, http},
    server::NamedService,
};

use crate::helpers::{APP_ID, DRIVE, SECRET, TENANT, World, eventually, sha256};

fn random(len: usize) -> Bytes {
    let mut content = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut content);
    Bytes::from(content)
}

async fn send(world: &World, document_id: &str) -> Result<pb::SendToOneDriveResponse, Status> {
    // As the bff does before sending (docs/adr/0042).
    world.share(document_id).await;
    world
        .integration()
        .send_to_one_drive(world.editor.request(pb::SendToOneDriveRequest {
            document_id: document_id.to_owned(),
            version: 0,
        }))
        .await
        .map(tonic::Response::into_inner)
}

/// The files of the connected folder, by name.
fn names_in_folder(world: &World) -> Vec<String> {
    world
        .graph
        .children(DRIVE, &world.folder)
        .into_iter()
        .map(|i| i.name)
        .collect()
}

/// A small file (one PUT) and a large one (an upload session), each of a
/// kind SharePoint rewrites and of one it keeps as sent.
fn files(rewritten_small: bool) -> Vec<(&'static str, Bytes)> {
    let large = random(5 * 1024 * 1024 + 333);
    if rewritten_small {
        vec![
            (
                "Board minutes.docx",
                Bytes::from_static(b"PK\x03\x04 the minutes"),
            ),
            ("Archive.bin", large),
        ]
    } else {
        vec![
            (
                "Plan & budget.txt",
                Bytes::from_static(b"the plan, as written"),
            ),
            ("Scan.pdf", large),
        ]
    }
}

/// Graph's answer to a new file's upload is lost after OneDrive created
/// it: the send fails, and the echo's delta maps the file to the document
/// being sent: one file in OneDrive, one document and one version in Folio,
/// nothing downloaded.
async fn a_lost_graph_answer_makes_no_second_document(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    world.connect().await;
    world.settle().await;

    for (name, content) in files(false) {
        let document = world
            .upload(&world.editor, name, content.clone())
            .await
            .document
            .unwrap()
            .id;
        let uploads = g.uploads().len();
        g.lose_next_upload_answers(1);
        let failed = send(&world, &document).await.unwrap_err();
        assert_ne!(
            failed.code(),
            Code::Ok,
            "{name}: the send did not hear back"
        );
        let upload = g.uploads().pop().expect("OneDrive received the file");
        assert_eq!(g.uploads().len(), uploads + 1, "{name}: one upload");
        assert_eq!(sha256(&upload.received), sha256(&content));

        // The echo (its notification, and any later delta) adopts the file.
        world.settle().await;
        world.settle().await;
        assert_eq!(
            g.downloads_of(&upload.item_id),
            0,
            "{name}: the sent file is not downloaded back"
        );
        let documents = world.documents_list().await;
        let named: Vec<_> = documents
            .iter()
            .filter(|d| d.current.as_ref().is_some_and(|v| v.file_name == name))
            .collect();
        assert_eq!(named.len(), 1, "{name}: no second document");
        assert_eq!(named[0].id, document);
        assert_eq!(
            world.versions(&document).await.len(),
            1,
            "{name}: no new version"
        );

        // The file is the document's now: sending again replaces it.
        let again = send(&world, &document).await.expect("the send succeeds");
        assert_eq!(again.item_id, upload.item_id, "{name}: the same file");
        assert_eq!(g.uploads().last().unwrap().item_id, upload.item_id);
    }
    let mut names = names_in_folder(&world);
    names.sort();
    assert_eq!(
        names,
        vec!["Plan & budget.txt", "Scan.pdf"],
        "no \"name 1.ext\""
    );
    world.settle().await;
    assert_eq!(world.documents_list().await.len(), 2);
}

/// The send is retried before any delta saw the file its lost answer
/// created: the retry finds the file by its path and adopts it, uploading
/// nothing and making no "name 1.ext"; the late echo adds nothing either.
async fn a_retried_send_adopts_what_its_lost_answer_created(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    world.connect().await;
    world.settle().await;
    // No echo before the retry.
    g.set_notification_delay(Duration::from_secs(30));

    let mut sent = Vec::new();
    for (name, content) in files(true) {
        let document = world
            .upload(&world.editor, name, content.clone())
            .await
            .document
            .unwrap()
            .id;
        g.lose_next_upload_answers(1);
        send(&world, &document).await.unwrap_err();
        let uploads = g.uploads();
        let first = uploads.last().unwrap().clone();

        let retried = send(&world, &document).await.expect("the retry succeeds");
        assert_eq!(
            retried.item_id, first.item_id,
            "{name}: the file already there"
        );
        assert_eq!(
            g.uploads().len(),
            uploads.len(),
            "{name}: nothing uploaded again"
        );
        sent.push((document, first.item_id));
    }
    let mut names = names_in_folder(&world);
    names.sort();
    assert_eq!(names, vec!["Archive.bin", "Board minutes.docx"]);

    g.set_notification_delay(Duration::ZERO);
    world.settle().await;
    world.settle().await;
    assert_eq!(world.documents_list().await.len(), 2, "no second document");
    for (document, item) in &sent {
        assert_eq!(world.versions(document).await.len(), 1);
        assert_eq!(g.downloads_of(item), 0, "the echo downloads nothing");
    }
}

/// A documents stand-in for the integration: forwards every call to the
/// real documents (as the integration, over mTLS) and, while `lose` lasts,
/// lets an UploadVersion complete there and then answers UNAVAILABLE, as
/// when the connection breaks after documents committed.
#[derive(Clone)]
struct LosingProxy {
    upstream: tonic::transport::Channel,
    lose: Arc<AtomicU32>,
    uploads: Arc<AtomicU32>,
}

impl NamedService for LosingProxy {
    const NAME: &'static str = "folio.documents.v1.DocumentsService";
}

impl Service<http::Request<Body>> for LosingProxy {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let mut upstream = self.upstream.clone();
        let (lose, uploads) = (self.lose.clone(), self.uploads.clone());
        Box::pin(async move {
            let upload = request.uri().path().ends_with("/UploadVersion");
            if upload {
                uploads.fetch_add(1, Ordering::SeqCst);
            }
            if std::future::poll_fn(|cx| upstream.poll_ready(cx))
                .await
                .is_err()
            {
                return Ok(Status::unavailable("documents unreachable").into_http());
            }
            let response = match upstream.call(request).await {
                Ok(response) => response,
                Err(_) => return Ok(Status::unavailable("documents unreachable").into_http()),
            };
            let lost = upload
                && lose
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
            if !lost {
                return Ok(response);
            }
            // Documents answers only once it committed: read its whole
            // answer (message and trailers), then drop it.
            let mut body = response.into_body();
            while let Some(frame) =
                std::future::poll_fn(|cx| tonic::codegen::Body::poll_frame(Pin::new(&mut body), cx))
                    .await
            {
                if frame.is_err() {
                    break;
                }
            }
            Ok(Status::unavailable("the connection broke").into_http())
        })
    }
}

/// Starts a [`LosingProxy`] in front of the world's documents; its port.
async fn losing_proxy(world: &World, stop: &CancellationToken) -> (u16, LosingProxy) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let proxy = LosingProxy {
        upstream: world.pki.channel("integration", world.documents_port),
        lose: Arc::new(AtomicU32::new(0)),
        uploads: Arc::new(AtomicU32::new(0)),
    };
    let config = tls::server_config(&world.pki.files("documents")).unwrap();
    let incoming = grpc::tls_incoming(listener, config, stop.clone());
    let serve = tonic::transport::Server::builder()
        .add_service(proxy.clone())
        .serve_with_incoming_shutdown(incoming, stop.clone().cancelled_owned());
    tokio::spawn(serve);
    (port, proxy)
}

/// Documents commits a mirrored file's upload but its answer is lost: the
/// sync fails, retries, and the retry (the same idempotency key) gets the
/// first result: one document with one version, though the file was
/// downloaded and uploaded twice.
async fn a_lost_documents_answer_makes_no_second_document(backend: Backend) {
    let mut world = World::start(backend).await;
    let stop = CancellationToken::new();
    let (port, proxy) = losing_proxy(&world, &stop).await;
    World::stop_integration(&world.integration);
    world.integration = world
        .spawn_integration_configured(World::database_secrets(), |settings| {
            settings.documents_url = format!("https://127.0.0.1:{port}");
        })
        .await;
    world.connect().await;
    world.settle().await;
    let g = &world.graph;

    proxy.lose.store(1, Ordering::SeqCst);
    let item = g.add_file(DRIVE, &world.folder, "Contract.txt", "signed by both");
    eventually(Duration::from_secs(20), "the retry's answer", || async {
        (proxy.lose.load(Ordering::SeqCst) == 0 && proxy.uploads.load(Ordering::SeqCst) >= 2)
            .then_some(())
    })
    .await;
    world.settle().await;
    assert!(
        g.downloads_of(&item) >= 2,
        "the file was fetched again for the retry"
    );
    let documents = world.documents_list().await;
    assert_eq!(documents.len(), 1, "one document: {documents:?}");
    assert_eq!(
        world.versions(&documents[0].id).await.len(),
        1,
        "one version"
    );
    assert_eq!(world.content(&documents[0].id, 1).await, b"signed by both");

    // A later change whose answer is lost is one version too.
    proxy.lose.store(1, Ordering::SeqCst);
    let uploads = proxy.uploads.load(Ordering::SeqCst);
    g.set_content(DRIVE, &item, "amended by both");
    eventually(Duration::from_secs(20), "the retried version", || async {
        (proxy.uploads.load(Ordering::SeqCst) >= uploads + 2).then_some(())
    })
    .await;
    world.settle().await;
    assert_eq!(world.documents_list().await.len(), 1);
    assert_eq!(world.versions(&documents[0].id).await.len(), 2);
    assert_eq!(world.content(&documents[0].id, 2).await, b"amended by both");
    stop.cancel();
}

const NEW_SECRET: &str = "rotated-client-secret";

/// Tokens asked for since `since` (an index into the fake's record), as
/// (secret, granted).
fn grants_since(world: &World, since: usize) -> Vec<(String, bool)> {
    world.graph.token_grants()[since..]
        .iter()
        .map(|t| (t.client_secret.clone(), t.granted))
        .collect()
}

/// Checks that the next sync after a rotation (token requests from
/// `rotated` on) mirrors a change, with a token granted for the new secret
/// and, once the rotation was done (requests from `done` on), never the old
/// secret tried.
async fn the_next_sync_uses(world: &World, rotated: usize, done: usize, secret: &str, file: &str) {
    world
        .graph
        .add_file(DRIVE, &world.folder, file, "after the rotation");
    world.next_sync().await;
    eventually(Duration::from_secs(20), "the change mirrored", || async {
        world.document_named(file).await
    })
    .await;
    let grants = grants_since(world, rotated);
    assert!(
        grants.contains(&(secret.to_owned(), true)),
        "a token with the new secret: {grants:?}"
    );
    let after = grants_since(world, done);
    assert!(
        after.iter().all(|(s, _)| s == secret),
        "the old secret is not tried again: {after:?}"
    );
    assert!(world.connection().await.last_error.is_empty());
}

/// The admin replaces the client secret while Entra already refuses the
/// old one: the next sync uses the new one at once, with no restart.
async fn a_replaced_secret_is_used_at_once(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    g.add_file(DRIVE, &world.folder, "before.txt", "before");
    world.connect().await;
    world.settle().await;
    assert!(world.document_named("before.txt").await.is_some());

    // Entra: a new secret is added, the old one deleted; issued tokens
    // stop working too, so nothing cached can hide the rotation.
    g.add_app(TENANT, APP_ID, NEW_SECRET);
    g.revoke_secret(TENANT, APP_ID, SECRET);
    g.revoke_tokens();
    let rotated = g.token_grants().len();
    world
        .integration()
        .replace_client_secret(world.admin.request(pb::ReplaceClientSecretRequest {
            client_secret: NEW_SECRET.into(),
        }))
        .await
        .expect("the admin replaces the secret");
    let done = g.token_grants().len();
    the_next_sync_uses(&world, rotated, done, NEW_SECRET, "after.txt").await;
}

/// The organisation's secret is rotated in AWS Secrets Manager itself (a
/// new version of `<prefix>org-<id>`, as a rotation job writes it): the
/// next sync reads and uses it, with no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_rotated_in_secrets_manager_is_used_at_once() {
    const PREFIX: &str = "folio/test/rotation/";
    let moto = Moto::start();
    let mut world = World::start(Backend::Sqlite).await;
    World::stop_integration(&world.integration);
    world.integration = world
        .spawn_integration_with(folio_integration::ClientSecretsConfig::Aws {
            secrets: AwsSecrets::new(moto.secrets()),
            prefix: PREFIX.to_owned(),
        })
        .await;
    world.connect().await;
    world.settle().await;
    let g = &world.graph;

    g.add_app(TENANT, APP_ID, NEW_SECRET);
    g.revoke_secret(TENANT, APP_ID, SECRET);
    g.revoke_tokens();
    moto.secrets()
        .put_secret_value()
        .secret_id(format!("{PREFIX}org-{}", world.admin.org_id))
        .secret_string(NEW_SECRET)
        .send()
        .await
        .expect("a new version of the organisation's secret");
    let since = g.token_grants().len();
    the_next_sync_uses(&world, since, since, NEW_SECRET, "after.txt").await;
}

folio_testkit::backend_tests!(
    a_lost_graph_answer_makes_no_second_document,
    a_retried_send_adopts_what_its_lost_answer_created,
    a_lost_documents_answer_makes_no_second_document,
    a_replaced_secret_is_used_at_once,
);
