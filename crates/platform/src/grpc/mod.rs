//! gRPC over mutual TLS: serving tonic on our own rustls acceptor (so
//! certificates reload), connecting channels through our own TLS connector,
//! authorising callers per RPC by their certificate identity, and carrying
//! traces across every hop.

mod authorize;
mod client;
mod server;
mod trace;

pub use authorize::{Authorize, AuthorizeLayer, Caller, CallerPolicy};
pub use client::{ClientError, channel, traced_channel};
pub use server::{PeerInfo, TlsConnection, builder, tls_incoming};
pub use trace::{GrpcTrace, GrpcTraceLayer, TracedChannel};

/// HTTP/2 flow-control windows large enough that a single stream moves
/// hundreds of MB/s on loopback; the defaults (64 KiB) throttle bulk transfers.
pub(crate) const STREAM_WINDOW: u32 = 4 << 20;
pub(crate) const CONNECTION_WINDOW: u32 = 8 << 20;
