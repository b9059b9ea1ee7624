//! Builds the bff from its settings and serves it until stopped.

use std::{sync::Arc, time::Duration};

use folio_clients::{DocumentsClient, IntegrationClient, NotificationsClient, UsersClient};
use folio_platform::{
    config::ConfigError, grpc, https::HttpListener, secrets::SecretSource, shutdown,
    start::StartError, tls,
};
use tokio_util::sync::CancellationToken;

use crate::{
    library_pages::LibraryPages,
    session::{
        Lifetimes, Limiter, MemoryStore, RedisLogin, RedisStore, SessionStore, connect_redis,
    },
    settings::Settings,
    web::{self, AppState, WebConfig},
};

pub struct Application {
    listener: HttpListener,
    state: AppState,
    /// The Redis AUTH token to fetch again, and how often.
    token_refresh: Option<(RedisLogin, SecretSource, Duration)>,
    stop: CancellationToken,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("listener", &self.listener)
            .finish_non_exhaustive()
    }
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let client_tls = tls::client_config(&settings.platform.tls)?;
        let channel = |url: &str, var: &str| {
            grpc::traced_channel(url, Arc::clone(&client_tls), "bff")
                .map_err(|e| StartError::Setup(format!("FOLIO_BFF_{var}: {e}")))
        };
        let users_channel = channel(&settings.users_url, "USERS_URL")?;
        let documents_channel = channel(&settings.documents_url, "DOCUMENTS_URL")?;
        let integration_channel = channel(&settings.integration_url, "INTEGRATION_URL")?;
        let notifications_channel = channel(&settings.notifications_url, "NOTIFICATIONS_URL")?;
        let lifetimes = Lifetimes {
            idle: settings.session_idle,
            absolute: settings.session_absolute,
        };
        let mut token_refresh = None;
        // Providers' discovery documents and keys go where sessions go.
        let mut provider_cache = None;
        // API tokens are metered per minute, whatever the sign-in window.
        let token_window = Duration::from_secs(60);
        let (sessions, limiter, api_limiter) = match &settings.redis_url {
            Some(url) => {
                let login = match &settings.redis_auth_token {
                    Some(source) => {
                        let token = source.fetch().await.map_err(ConfigError::from)?;
                        let login = RedisLogin::new(token);
                        token_refresh = Some((
                            login.clone(),
                            source.clone(),
                            settings.platform.secrets_refresh,
                        ));
                        Some(login)
                    }
                    None => None,
                };
                let pool = connect_redis(url, login.as_ref(), settings.redis_ca_file.as_deref())
                    .map_err(|e| StartError::Setup(format!("FOLIO_BFF_REDIS_URL: {e}")))?;
                provider_cache = Some(pool.clone());
                let store = RedisStore::new(pool, settings.redis_prefix.clone(), lifetimes);
                let limiter = Limiter::redis(&store, settings.login.window);
                let api_limiter = Limiter::redis(&store, token_window);
                (SessionStore::redis(store), limiter, api_limiter)
            }
            None => (
                SessionStore::memory(MemoryStore::new(lifetimes)),
                Limiter::memory(settings.login.window),
                Limiter::memory(token_window),
            ),
        };
        let state = AppState {
            users: UsersClient::new(users_channel),
            documents: DocumentsClient::new(documents_channel),
            integration: IntegrationClient::new(integration_channel),
            notifications: NotificationsClient::new(notifications_channel),
            sessions,
            limiter,
            api_limiter,
            oidc: crate::oidc::OidcClient::new(
                settings.providers.timeout,
                settings.providers.keys_min_refresh,
            )
            .map(|client| match provider_cache {
                Some(pool) => client.with_shared_cache(pool, &settings.redis_prefix),
                None => client,
            })
            .and_then(|client| {
                client.with_deployment_certificate(
                    settings
                        .providers
                        .entra_client_certificate
                        .as_ref()
                        .map(folio_platform::secrets::Secret::expose),
                )
            })
            .map_err(|e| StartError::Setup(format!("the OpenID Connect client: {e}")))?,
            config: Arc::new(WebConfig {
                cookie_secure: settings.cookie_secure,
                session_absolute_secs: settings.session_absolute.as_secs(),
                login: settings.login,
                max_upload_bytes: settings.max_upload_bytes,
                forwarded_hops: settings.forwarded_hops,
                api_tokens_per_minute: settings.api_tokens_per_minute,
                providers: settings.providers.clone(),
            }),
            pages: LibraryPages::default(),
        };
        Ok(Self {
            listener: HttpListener::bind(
                settings.platform.http_addr,
                settings.platform.http_tls.as_ref(),
            )
            .await?,
            state,
            token_refresh,
            stop: CancellationToken::new(),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.port()
    }

    /// Cancelling this token stops the bff gracefully.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    pub async fn run_until_stopped(self) -> Result<(), StartError> {
        let Self {
            listener,
            state,
            token_refresh,
            stop,
        } = self;
        if let Some((login, source, period)) = token_refresh {
            tokio::spawn(login.keep_fresh(source, period, stop.clone()));
        }
        let serve = listener.serve(web::router(state), stop.clone());
        tracing::info!("bff running");
        let served = shutdown::within_grace(Box::pin(serve), &stop, shutdown::GRACE).await;
        if let Some(result) = served {
            result.map_err(|e| StartError::Serve(e.to_string()))?;
        }
        Ok(())
    }
}
