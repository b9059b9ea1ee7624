//! Resolving an endpoint's host and refusing internal addresses, at
//! registration and again before each attempt (names can change).

use std::net::SocketAddr;

use url::Url;

use crate::domain::is_public;

const LOOKUP_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub(crate) enum Unreachable {
    #[error("the host name does not resolve")]
    NoAddress,
    #[error("the endpoint resolves to an internal address ({0})")]
    Internal(std::net::IpAddr),
}

/// The addresses to connect to for `url`; all must be public unless
/// `allow_private`.
pub(crate) async fn addresses(
    url: &Url,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, Unreachable> {
    let port = url.port_or_known_default().unwrap_or(443);
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
    // A resolver that hangs must not hold a registration or a delivery.
    let lookup = tokio::time::timeout(LOOKUP_LIMIT, tokio::net::lookup_host((host, port)));
    let found: Vec<SocketAddr> = match lookup.await {
        Ok(Ok(found)) => found.collect(),
        Ok(Err(_)) | Err(_) => return Err(Unreachable::NoAddress),
    };
    if found.is_empty() {
        return Err(Unreachable::NoAddress);
    }
    if !allow_private && let Some(bad) = found.iter().find(|a| !is_public(a.ip())) {
        return Err(Unreachable::Internal(bad.ip()));
    }
    Ok(found)
}
