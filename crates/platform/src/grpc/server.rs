use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use rustls::ServerConfig;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Server, server::Connected};
use tower::layer::util::{Identity, Stack};

use super::{AuthorizeLayer, CONNECTION_WINDOW, CallerPolicy, GrpcTraceLayer, STREAM_WINDOW};
use crate::{identity::ServiceIdentity, metrics::GrpcMetricsLayer};

/// What the server knows of a connection's peer; tonic puts it in every
/// request's extensions.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    pub remote: SocketAddr,
    /// `None` when the peer presented no certificate.
    pub identity: Option<ServiceIdentity>,
}

/// An accepted, handshaken TLS connection.
#[derive(Debug)]
pub struct TlsConnection {
    stream: TlsStream<TcpStream>,
    peer: PeerInfo,
}

impl TlsConnection {
    pub(crate) fn remote(&self) -> SocketAddr {
        self.peer.remote
    }
}

impl Connected for TlsConnection {
    type ConnectInfo = PeerInfo;
    fn connect_info(&self) -> PeerInfo {
        self.peer.clone()
    }
}

impl AsyncRead for TlsConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts TCP connections until `stop` is cancelled and yields those whose
/// TLS handshake succeeds. Handshakes run concurrently, so a slow or hostile
/// peer cannot hold up the others.
pub fn tls_incoming(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    stop: CancellationToken,
) -> ReceiverStream<Result<TlsConnection, io::Error>> {
    let (tx, rx) = mpsc::channel(64);
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = stop.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let (tcp, remote) = match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let identity = stream
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|chain| chain.first())
                            .and_then(|leaf| ServiceIdentity::from_certificate(leaf));
                        let peer = PeerInfo { remote, identity };
                        let _ = tx.send(Ok(TlsConnection { stream, peer })).await;
                    }
                    Ok(Err(error)) => tracing::info!(%remote, %error, "TLS handshake refused"),
                    Err(_) => tracing::info!(%remote, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// What every gRPC request passes through before its handler, outermost
/// first: tracing, metrics, authorisation.
pub(crate) type Layers =
    Stack<AuthorizeLayer, Stack<GrpcMetricsLayer, Stack<GrpcTraceLayer, Identity>>>;

/// A tonic server builder tuned for bulk streams, traced and measured as
/// `service`, and guarded by `policy` (refusals are counted and traced too).
pub fn builder(service: &'static str, policy: CallerPolicy) -> Server<Layers> {
    Server::builder()
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .layer(GrpcTraceLayer::new(service))
        .layer(GrpcMetricsLayer::new(service))
        .layer(AuthorizeLayer::new(policy))
}
