//! The one place that reads the caller's identity and checks it per RPC.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use tonic::Status;
use tower::{Layer, Service};

use super::PeerInfo;
use crate::identity::ServiceIdentity;

/// The identity of the service that made this request, for handlers that care.
#[derive(Debug, Clone)]
pub struct Caller(pub ServiceIdentity);

/// Which identities may call which RPC. Anything not listed is refused.
#[derive(Debug, Clone, Default)]
pub struct CallerPolicy {
    // "/package.Service/Method" or "/package.Service/" → allowed short names.
    rules: Arc<HashMap<String, Vec<String>>>,
}

const HEALTH_SERVICE: &str = "/grpc.health.v1.Health/";

impl CallerPolicy {
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows `callers` on one method of `service` (e.g. `folio.users.v1.UsersService`).
    pub fn allow(self, service: &str, method: &str, callers: &[&str]) -> Self {
        self.with_rule(format!("/{service}/{method}"), callers)
    }

    /// Allows `callers` on each of `methods` of `service`.
    pub fn allow_each(self, service: &str, methods: &[&str], callers: &[&str]) -> Self {
        methods.iter().fold(self, |policy, method| {
            policy.allow(service, method, callers)
        })
    }

    /// Allows `callers` on every method of `service`.
    pub fn allow_service(self, service: &str, callers: &[&str]) -> Self {
        self.with_rule(format!("/{service}/"), callers)
    }

    fn with_rule(mut self, key: String, callers: &[&str]) -> Self {
        Arc::make_mut(&mut self.rules)
            .entry(key)
            .or_default()
            .extend(callers.iter().map(|c| (*c).to_owned()));
        self
    }

    /// Decides one request from its path and its connection's peer.
    pub fn check(&self, path: &str, peer: Option<&PeerInfo>) -> Result<ServiceIdentity, Status> {
        let Some(identity) = peer.and_then(|p| p.identity.clone()) else {
            return Err(Status::unauthenticated(
                "a client certificate from the internal CA is required",
            ));
        };
        if path.starts_with(HEALTH_SERVICE) {
            return Ok(identity);
        }
        let service_key = path.rfind('/').map(|i| &path[..=i]);
        let allowed = self
            .rules
            .get(path)
            .into_iter()
            .chain(service_key.and_then(|k| self.rules.get(k)))
            .flatten()
            .any(|name| name == identity.name());
        if allowed {
            Ok(identity)
        } else {
            Err(Status::permission_denied(format!(
                "{identity} may not call {path}"
            )))
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthorizeLayer {
    policy: CallerPolicy,
}

impl AuthorizeLayer {
    pub fn new(policy: CallerPolicy) -> Self {
        Self { policy }
    }
}

impl<S> Layer<S> for AuthorizeLayer {
    type Service = Authorize<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Authorize {
            inner,
            policy: self.policy.clone(),
        }
    }
}

/// Refuses requests the policy does not allow before they reach a handler.
#[derive(Debug, Clone)]
pub struct Authorize<S> {
    inner: S,
    policy: CallerPolicy,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> Service<http::Request<B>> for Authorize<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let peer = request.extensions().get::<PeerInfo>();
        match self.policy.check(request.uri().path(), peer) {
            Ok(identity) => {
                request.extensions_mut().insert(Caller(identity));
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                Box::pin(inner.call(request))
            }
            Err(status) => {
                tracing::info!(path = request.uri().path(), code = ?status.code(), "caller refused");
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: Option<&str>) -> PeerInfo {
        PeerInfo {
            remote: "127.0.0.1:1".parse().unwrap(),
            identity: name.and_then(ServiceIdentity::named),
        }
    }

    #[test]
    fn refuses_by_default_and_allows_listed_callers() {
        let policy = CallerPolicy::new()
            .allow("a.S", "M", &["bff"])
            .allow_service("a.T", &["integration"]);
        assert!(policy.check("/a.S/M", Some(&peer(Some("bff")))).is_ok());
        assert_eq!(
            policy
                .check("/a.S/M", Some(&peer(Some("users"))))
                .unwrap_err()
                .code(),
            tonic::Code::PermissionDenied
        );
        assert!(
            policy
                .check("/a.T/X", Some(&peer(Some("integration"))))
                .is_ok()
        );
        assert!(
            policy
                .check("/a.S/Other", Some(&peer(Some("bff"))))
                .is_err()
        );
        assert_eq!(
            policy
                .check("/a.S/M", Some(&peer(None)))
                .unwrap_err()
                .code(),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            policy.check("/a.S/M", None).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        assert!(
            policy
                .check("/grpc.health.v1.Health/Check", Some(&peer(Some("x"))))
                .is_ok()
        );
    }
}
