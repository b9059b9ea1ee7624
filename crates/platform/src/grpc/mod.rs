//! gRPC over mutual TLS: serving tonic on our own rustls acceptor (so
//! certificates reload), connecting channels through our own TLS connector,
//! and authorising callers per RPC by their certificate identity.

mod authorize;
mod client;
mod server;

pub use authorize::{Authorize, AuthorizeLayer, Caller, CallerPolicy};
pub use client::{ClientError, channel};
pub use server::{PeerInfo, TlsConnection, builder, tls_incoming};

/// HTTP/2 flow-control windows large enough that a single stream moves
/// hundreds of MB/s on loopback; the defaults (64 KiB) throttle bulk transfers.
pub(crate) const STREAM_WINDOW: u32 = 4 << 20;
pub(crate) const CONNECTION_WINDOW: u32 = 8 << 20;
