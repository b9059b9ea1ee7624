//! The HTTP listener of a service that the load balancer reaches (the bff,
//! the integration's webhook): plain HTTP on loopback for `folio up` and the
//! tests, HTTPS with a certificate on disk in the cluster, so that no hop
//! between the load balancer and the pod is plaintext (docs/adr/0069).
//!
//! The load balancer presents no client certificate, so none is asked for.
//! The key pair is re-read when its files change, as on the gRPC side, so a
//! certificate renewed by cert-manager is served without a restart.

use std::{io, net::SocketAddr, path::PathBuf, sync::Arc};

use axum::{Router, serve::ListenerExt};
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_stream::{StreamExt, wrappers::ReceiverStream};
use tokio_util::sync::CancellationToken;

use crate::{
    config::{ConfigError, Env},
    grpc::{TlsConnection, tls_incoming},
    start::{StartError, bind},
    tls::{ReloadingCertifiedKey, TlsError, provider},
};

/// The certificate and key of a service's HTTPS listener:
/// `PREFIX+HTTP_TLS_CERT_FILE` and `PREFIX+HTTP_TLS_KEY_FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl HttpsFiles {
    /// Both variables: HTTPS with those files, which must load now (a bad
    /// path or PEM stops start-up, naming the variable); neither: plain HTTP.
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let cert = env.optional::<PathBuf>("HTTP_TLS_CERT_FILE")?;
        let key = env.optional::<PathBuf>("HTTP_TLS_KEY_FILE")?;
        let files = match (cert, key) {
            (Some(cert), Some(key)) => Self { cert, key },
            (None, None) => return Ok(None),
            _ => {
                return Err(ConfigError::Missing {
                    var: format!(
                        "{} (set both {} and {}, or neither for plain HTTP)",
                        env.var_name("HTTP_TLS_*_FILE"),
                        env.var_name("HTTP_TLS_CERT_FILE"),
                        env.var_name("HTTP_TLS_KEY_FILE"),
                    ),
                });
            }
        };
        files.server_config().map_err(|e| ConfigError::Invalid {
            var: env.var_name("HTTP_TLS_CERT_FILE/KEY_FILE"),
            reason: e.to_string(),
        })?;
        Ok(Some(files))
    }

    /// TLS 1.2 or 1.3 (what load balancers speak to targets), HTTP/2 or
    /// HTTP/1.1, no client certificate.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let key = Arc::new(ReloadingCertifiedKey::new(
            self.cert.clone(),
            self.key.clone(),
        )?);
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_no_client_auth()
            .with_cert_resolver(key);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A bound HTTP listener, with TLS when it was given files.
#[derive(Debug)]
pub struct HttpListener {
    tcp: TcpListener,
    tls: Option<Arc<ServerConfig>>,
}

impl From<TcpListener> for HttpListener {
    /// Plain HTTP (the ops listeners no load balancer reaches).
    fn from(tcp: TcpListener) -> Self {
        Self { tcp, tls: None }
    }
}

impl HttpListener {
    /// Binds `addr`, serving HTTPS with `files` when given.
    pub async fn bind(addr: SocketAddr, files: Option<&HttpsFiles>) -> Result<Self, StartError> {
        let tls = files.map(HttpsFiles::server_config).transpose()?;
        Ok(Self {
            tcp: bind(addr).await?,
            tls,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    pub fn port(&self) -> u16 {
        crate::start::local_port(&self.tcp)
    }

    /// `https` or `http`: how a URL to this listener starts.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Serves `router` (with each connection's remote address as
    /// `ConnectInfo<SocketAddr>`) until `stop` is cancelled, then lets
    /// in-flight requests finish.
    pub async fn serve(self, router: Router, stop: CancellationToken) -> io::Result<()> {
        let app = router.into_make_service_with_connect_info::<SocketAddr>();
        match self.tls {
            None => {
                axum::serve(self.tcp, app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await
            }
            Some(config) => {
                let local = self.tcp.local_addr()?;
                // A client that does not complete a handshake (plain HTTP
                // included) never reaches the router.
                let incoming = tls_incoming(self.tcp, config, stop.clone());
                let listener = TlsListener { incoming, local }.tap_io(|_| ());
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await
            }
        }
    }
}

/// Handshaken connections, as axum's listener.
struct TlsListener {
    incoming: ReceiverStream<Result<TlsConnection, io::Error>>,
    local: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsConnection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.incoming.next().await {
                Some(Ok(connection)) => {
                    let remote = connection.remote();
                    return (connection, remote);
                }
                Some(Err(error)) => tracing::warn!(%error, "accept failed"),
                // Stopped: graceful shutdown ends the server, not this.
                None => std::future::pending::<()>().await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only_cert(var: &str) -> Option<String> {
        (var == "FOLIO_BFF_HTTP_TLS_CERT_FILE").then(|| "/etc/folio/tls/tls.crt".to_owned())
    }

    fn missing_files(var: &str) -> Option<String> {
        match var {
            "FOLIO_BFF_HTTP_TLS_CERT_FILE" => Some("/nonexistent/tls.crt".to_owned()),
            "FOLIO_BFF_HTTP_TLS_KEY_FILE" => Some("/nonexistent/tls.key".to_owned()),
            _ => None,
        }
    }

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn neither_file_is_plain_http() {
        let env = Env::with_lookup("FOLIO_BFF_", none);
        assert_eq!(HttpsFiles::from_env(&env).expect("valid"), None);
    }

    #[test]
    fn a_certificate_without_its_key_stops_start_up_naming_both_variables() {
        let env = Env::with_lookup("FOLIO_BFF_", only_cert);
        let message = HttpsFiles::from_env(&env).expect_err("refused").to_string();
        assert!(
            message.contains("FOLIO_BFF_HTTP_TLS_CERT_FILE")
                && message.contains("FOLIO_BFF_HTTP_TLS_KEY_FILE"),
            "{message}"
        );
    }

    #[test]
    fn unreadable_files_stop_start_up_naming_the_variable_and_the_path() {
        let env = Env::with_lookup("FOLIO_BFF_", missing_files);
        let message = HttpsFiles::from_env(&env).expect_err("refused").to_string();
        assert!(
            message.contains("FOLIO_BFF_HTTP_TLS_") && message.contains("/nonexistent/tls.crt"),
            "{message}"
        );
    }
}
