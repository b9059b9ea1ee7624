//! The run loop of a database-backed gRPC service (users, documents,
//! integration): one place for what each of them would otherwise repeat.

use std::{convert::Infallible, sync::Arc, time::Duration};

use rustls::ServerConfig;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tonic::{body::Body, server::NamedService};

use crate::{
    db::Database,
    grpc::{self, CallerPolicy},
    health,
    https::HttpListener,
    shutdown,
    start::StartError,
};

/// What a database-backed service serves, ready to run.
#[derive(Debug)]
pub struct DatabaseService {
    /// Its name in traces, metrics and logs.
    pub name: &'static str,
    /// gRPC over mTLS.
    pub grpc: TcpListener,
    pub tls: Arc<ServerConfig>,
    pub policy: CallerPolicy,
    /// Readiness, liveness and metrics, plus `routes` (HTTPS where a load
    /// balancer reaches it).
    pub http: HttpListener,
    pub routes: axum::Router,
    pub db: Database,
    /// How often the database login is fetched again.
    pub secrets_refresh: Duration,
    pub stop: CancellationToken,
}

impl DatabaseService {
    /// Serves `service` (reported SERVING by gRPC health) and the HTTP
    /// routes until `stop` is cancelled, keeping the database login fresh;
    /// then gives in-flight calls the grace period, waits for `background`
    /// (tasks that stop on the same token) and closes the pool.
    pub async fn run<S>(self, service: S, background: Vec<JoinHandle<()>>) -> Result<(), StartError>
    where
        S: tower::Service<http::Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        let Self {
            name,
            grpc: grpc_listener,
            tls,
            policy,
            http,
            routes,
            db,
            secrets_refresh,
            stop,
        } = self;
        let (reporter, health_service) = tonic_health::server::health_reporter();
        reporter.set_serving::<S>().await;

        let web = http.serve(
            health::database_ops_router(name, &db).merge(routes),
            stop.clone(),
        );
        let incoming = grpc::tls_incoming(grpc_listener, tls, stop.clone());
        let rpc = grpc::builder(name, policy)
            .add_service(health_service)
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, stop.clone().cancelled_owned());

        tracing::info!("{name} service running");
        // Rotated database credentials reach new connections without a restart.
        let refresh = db.keep_credentials_fresh(secrets_refresh, stop.clone());
        let served = shutdown::within_grace(
            Box::pin(async { tokio::join!(rpc, web, refresh) }),
            &stop,
            shutdown::GRACE,
        )
        .await;
        for task in background {
            let _ = task.await;
        }
        db.close().await;
        if let Some((rpc, web, ())) = served {
            rpc.map_err(|e| StartError::Serve(e.to_string()))?;
            web.map_err(|e| StartError::Serve(e.to_string()))?;
        }
        Ok(())
    }
}
