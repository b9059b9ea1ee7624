//! Builds the users service from its settings and runs it until stopped.

use std::{sync::Arc, time::Duration};

use folio_platform::{
    db::Database,
    sealed::SealingKey,
    serve::DatabaseService,
    start::{StartError, bind, local_port},
    tls,
};
use folio_proto::users::v1::users_service_server::UsersServiceServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    accounts::{Accounts, NewUser},
    api::{self, UsersApi},
    domain::{DisplayName, Email, OrganisationName, Password, Role},
    settings::{Bootstrap, Settings},
    sign_in::ProviderSignIn,
};

static MIGRATE_MYSQL: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");
static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug)]
pub struct Application {
    grpc: TcpListener,
    http: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    accounts: Accounts,
    provider_sign_in: ProviderSignIn,
    stop: CancellationToken,
    secrets_refresh: Duration,
    bootstrapped: bool,
}

impl Application {
    /// Applies this image's pending migrations and returns: the rollout's
    /// migration Job (`FOLIO_MIGRATIONS=only`), which runs with the DDL login.
    pub async fn migrate(settings: &Settings) -> Result<(), StartError> {
        Database::migrate(&settings.database, &MIGRATE_MYSQL, &MIGRATE_SQLITE).await?;
        Ok(())
    }

    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let tls = tls::server_config(&settings.platform.tls)?;
        let db = Database::connect(&settings.database, &MIGRATE_MYSQL, &MIGRATE_SQLITE).await?;
        let key = match &settings.secrets_key {
            Some(source) => Some(SealingKey::fetch(source).await.map_err(StartError::Setup)?),
            None => None,
        };
        let provider_sign_in = ProviderSignIn::new(db.clone(), key);
        let accounts = Accounts::new(db);
        let bootstrapped = match &settings.bootstrap {
            Some(bootstrap) => bootstrap_admin(&accounts, bootstrap).await?,
            None => false,
        };
        Ok(Self {
            grpc: bind(settings.grpc_addr).await?,
            http: bind(settings.platform.http_addr).await?,
            tls,
            accounts,
            provider_sign_in,
            stop: CancellationToken::new(),
            secrets_refresh: settings.platform.secrets_refresh,
            bootstrapped,
        })
    }

    /// Whether this start created the configured first organisation and admin.
    pub fn bootstrapped(&self) -> bool {
        self.bootstrapped
    }

    pub fn port(&self) -> u16 {
        local_port(&self.grpc)
    }

    pub fn http_port(&self) -> u16 {
        local_port(&self.http)
    }

    /// Cancelling this token stops the service gracefully.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    pub async fn run_until_stopped(self) -> Result<(), StartError> {
        let service = DatabaseService {
            name: "users",
            grpc: self.grpc,
            tls: self.tls,
            policy: api::caller_policy(),
            http: self.http.into(),
            routes: Default::default(),
            db: self.accounts.database().clone(),
            secrets_refresh: self.secrets_refresh,
            stop: self.stop,
        };
        let api = UsersServiceServer::new(UsersApi::new(self.accounts, self.provider_sign_in));
        service.run(api, Vec::new()).await
    }
}

async fn bootstrap_admin(accounts: &Accounts, bootstrap: &Bootstrap) -> Result<bool, StartError> {
    let bad = |e: crate::error::Error| StartError::Setup(format!("FOLIO_ADMIN_*: {e}"));
    let admin = NewUser {
        email: Email::parse(&bootstrap.email).map_err(bad)?,
        display_name: DisplayName::parse("Administrator").map_err(bad)?,
        role: Role::Admin,
        password: Password::parse("FOLIO_ADMIN_PASSWORD", bootstrap.password.expose())
            .map_err(bad)?,
    };
    let name = OrganisationName::parse(&bootstrap.organisation).map_err(bad)?;
    let created = accounts.bootstrap(name, admin).await.map_err(bad)?;
    if created {
        tracing::info!(email = %bootstrap.email, "bootstrapped the first organisation and admin");
    }
    Ok(created)
}
