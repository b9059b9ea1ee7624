use std::{sync::Arc, time::Duration};

use http::Uri;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint};

use super::{CONNECTION_WINDOW, STREAM_WINDOW, TracedChannel};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{url:?} is not a valid service address (expected https://host:port)")]
    BadUrl { url: String },
}

/// A lazily connecting channel to `url` (`https://host:port`) over mutual TLS.
/// The server must present a certificate for `host` signed by the internal CA.
pub fn channel(url: &str, tls: Arc<ClientConfig>) -> Result<Channel, ClientError> {
    let bad = || ClientError::BadUrl {
        url: url.to_owned(),
    };
    let uri: Uri = url.parse().map_err(|_| bad())?;
    if uri.scheme_str() != Some("https") {
        return Err(bad());
    }
    let host = uri.host().ok_or_else(bad)?.to_owned();
    let port = uri.port_u16().unwrap_or(443);
    let server_name =
        ServerName::try_from(host.trim_matches(['[', ']']).to_owned()).map_err(|_| bad())?;
    // TLS happens in the connector below, so tonic itself speaks plain HTTP/2.
    let endpoint = Endpoint::from_shared(format!("http://{host}:{port}"))
        .map_err(|_| bad())?
        .connect_timeout(Duration::from_secs(5))
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    let connector = TlsConnector::from(tls);
    let address = format!("{host}:{port}");
    let connect = tower::service_fn(move |_: Uri| {
        let connector = connector.clone();
        let server_name = server_name.clone();
        let address = address.clone();
        async move {
            let tcp = TcpStream::connect(address).await?;
            tcp.set_nodelay(true)?;
            let tls = connector.connect(server_name, tcp).await?;
            Ok::<_, std::io::Error>(TokioIo::new(tls))
        }
    });
    Ok(endpoint.connect_with_connector_lazy(connect))
}

/// [`channel`] for a service calling another: calls carry the trace of the
/// request being served, and their spans name `caller`.
pub fn traced_channel(
    url: &str,
    tls: Arc<ClientConfig>,
    caller: &'static str,
) -> Result<TracedChannel, ClientError> {
    Ok(TracedChannel::new(channel(url, tls)?, caller))
}
