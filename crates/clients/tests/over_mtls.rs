//! The typed clients against servers over real mutual TLS (the test kit's
//! PKI): a documents service that stalls, that sends messages around the
//! limit, and that watches its download stream for the caller going away.

#![allow(unreachable_pub)]

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use bytes::Bytes;
use folio_clients::{CallError, DocumentsClient, MAX_MESSAGE, TracedChannel};
use folio_platform::{grpc::tls_incoming, tls};
use folio_proto::documents::v1::{self as pb, download_version_response::Part};
use folio_testkit::Pki;
use futures::StreamExt as _;
use tokio::{net::TcpListener, sync::mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Status, body::Body, server::NamedService};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A stand-in for the documents service: GetDocument never answers;
/// DownloadVersion sends the version, then chunks of `chunk` bytes until
/// the stream ends, counting the streams it saw end; ListVersions (a read)
/// and UpdateDocument (a write) are always unavailable, counting the
/// attempts that reached it.
#[derive(Clone)]
struct Stub {
    chunk: usize,
    ended: Arc<AtomicUsize>,
    attempts: Arc<AtomicUsize>,
}

impl NamedService for Stub {
    const NAME: &'static str = "folio.documents.v1.DocumentsService";
}

impl tower::Service<http::Request<Body>> for Stub {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let stub = self.clone();
        Box::pin(async move {
            match request.uri().path() {
                "/folio.documents.v1.DocumentsService/DownloadVersion" => {
                    let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
                    Ok(grpc.server_streaming(stub, request).await)
                }
                "/folio.documents.v1.DocumentsService/GetDocument" => {
                    futures::future::pending::<()>().await;
                    unreachable!()
                }
                "/folio.documents.v1.DocumentsService/ListVersions"
                | "/folio.documents.v1.DocumentsService/UpdateDocument" => {
                    stub.attempts.fetch_add(1, Ordering::SeqCst);
                    Ok(Status::unavailable("restarting").into_http())
                }
                _ => Ok(Status::unimplemented("not in this stub").into_http()),
            }
        })
    }
}

impl tonic::server::ServerStreamingService<pb::DownloadVersionRequest> for Stub {
    type Response = pb::DownloadVersionResponse;
    type ResponseStream = ReceiverStream<Result<pb::DownloadVersionResponse, Status>>;
    type Future = BoxFuture<Result<tonic::Response<Self::ResponseStream>, Status>>;

    fn call(&mut self, _: tonic::Request<pb::DownloadVersionRequest>) -> Self::Future {
        let (tx, rx) = mpsc::channel(2);
        let (chunk, ended) = (self.chunk, Arc::clone(&self.ended));
        tokio::spawn(async move {
            let version = pb::DownloadVersionResponse {
                part: Some(Part::Version(pb::Version {
                    number: 1,
                    ..Default::default()
                })),
            };
            let mut next = Ok(version);
            // Sending fails once the stream has ended on the caller's side.
            while tx.send(next).await.is_ok() {
                next = Ok(pb::DownloadVersionResponse {
                    part: Some(Part::Chunk(Bytes::from(vec![7_u8; chunk]))),
                });
            }
            ended.fetch_add(1, Ordering::SeqCst);
        });
        Box::pin(async move { Ok(tonic::Response::new(ReceiverStream::new(rx))) })
    }
}

struct Served {
    client: DocumentsClient,
    ended: Arc<AtomicUsize>,
    attempts: Arc<AtomicUsize>,
    _pki: Pki,
    stop: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn serve(chunk: usize) -> Served {
    let pki = Pki::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = tls::server_config(&pki.files("documents")).unwrap();
    let stop = CancellationToken::new();
    let incoming = tls_incoming(listener, config, stop.clone());
    let ended = Arc::new(AtomicUsize::new(0));
    let attempts = Arc::new(AtomicUsize::new(0));
    let stub = Stub {
        chunk,
        ended: Arc::clone(&ended),
        attempts: Arc::clone(&attempts),
    };
    let server = tonic::transport::Server::builder()
        .add_service(stub)
        .serve_with_incoming_shutdown(incoming, stop.clone().cancelled_owned());
    tokio::spawn(server);
    let channel = TracedChannel::new(pki.channel("bff", port), "test");
    Served {
        client: DocumentsClient::new(channel),
        ended,
        attempts,
        _pki: pki,
        stop,
    }
}

fn download() -> pb::DownloadVersionRequest {
    pb::DownloadVersionRequest {
        document_id: "0190f5a0-0000-7000-8000-000000000000".into(),
        number: 1,
        range: None,
    }
}

#[tokio::test]
async fn a_stalled_service_ends_at_the_deadline() {
    let served = serve(1024).await;
    let client = served
        .client
        .clone()
        .with_deadline(Duration::from_millis(300));
    let started = Instant::now();
    let answer = client
        .get_document(pb::GetDocumentRequest { id: "x".into() })
        .await;
    let took = started.elapsed();
    assert!(
        matches!(answer, Err(CallError::DeadlineExceeded)),
        "{answer:?}"
    );
    // A read is retried only while the service is unreachable, and never
    // past the deadline.
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn messages_up_to_the_limit_pass_and_larger_are_refused() {
    // Above tonic's 4 MiB default, within ours.
    let served = serve(6 << 20).await;
    let mut content = served.client.download_version(download()).await.unwrap();
    assert_eq!(content.take_version().map(|v| v.number), Some(1));
    let chunk = content.next().await.unwrap().unwrap();
    assert_eq!(chunk.len(), 6 << 20);

    let served = serve(MAX_MESSAGE + 1).await;
    let mut content = served.client.download_version(download()).await.unwrap();
    let refused = content.next().await.unwrap();
    assert!(
        matches!(
            refused,
            Err(CallError::Failed {
                code: tonic::Code::OutOfRange,
                ..
            })
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_dropped_download_ends_the_servers_stream() {
    let served = serve(64 << 10).await;
    let mut content = served.client.download_version(download()).await.unwrap();
    for _ in 0..3 {
        content.next().await.unwrap().unwrap();
    }
    assert_eq!(served.ended.load(Ordering::SeqCst), 0, "still streaming");
    drop(content);
    let started = Instant::now();
    while served.ended.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the service never saw the stream end"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn reads_are_retried_while_unavailable_and_writes_are_sent_once() {
    let served = serve(1024).await;
    let read = served
        .client
        .list_versions(pb::ListVersionsRequest {
            document_id: "x".into(),
        })
        .await;
    assert!(matches!(read, Err(CallError::Unavailable(_))), "{read:?}");
    // Once, then the two retries of the default policy.
    assert_eq!(served.attempts.swap(0, Ordering::SeqCst), 3);

    let write = served
        .client
        .update_document(pb::UpdateDocumentRequest::default())
        .await;
    assert!(matches!(write, Err(CallError::Unavailable(_))), "{write:?}");
    assert_eq!(
        served.attempts.load(Ordering::SeqCst),
        1,
        "a write is sent once"
    );
}
