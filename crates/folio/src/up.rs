//! `folio up`: the whole system in one process on its embedded defaults
//! (SQLite, local blobs, the development PKI under `FOLIO_DATA_DIR`). The
//! services still talk gRPC over mTLS to each other, as in production.

use std::fmt::Write as _;

use crate::demo::FakeOneDrive;
use folio_platform::{
    config::{ConfigError, Env, Flag},
    db::DatabaseUrl,
    secrets::Secret,
    shutdown,
    start::StartError,
};
use rand::{Rng, distributions::Alphanumeric};
use sqlx::{Connection, Executor};
use tokio_util::sync::CancellationToken;

const GENERATED_ADMIN: &str = "admin@folio.local";

/// The first admin when `FOLIO_ADMIN_*` configures none: generated on the
/// first start.
fn generated_admin() -> (String, Secret) {
    let password: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    (GENERATED_ADMIN.to_owned(), Secret::new(password))
}

/// A key a service seals client secrets with (`file`: the integration's
/// and the users service's), generated into the data folder on the first
/// start (readable by its owner only), like the development PKI;
/// `FOLIO_INTEGRATION_SECRETS_KEY` and `FOLIO_USERS_SECRETS_KEY` override them.
fn local_secrets_key(data_dir: &std::path::Path, file: &str) -> Result<String, StartError> {
    let path = data_dir.join(file);
    let setup = |e: std::io::Error| StartError::Setup(format!("{}: {e}", path.display()));
    match std::fs::read_to_string(&path) {
        Ok(key) => return Ok(key.trim().to_owned()),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(setup(e)),
        Err(_) => {}
    }
    std::fs::create_dir_all(data_dir).map_err(setup)?;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill(&mut bytes);
    let key = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(setup)?;
    std::io::Write::write_all(&mut file, key.as_bytes()).map_err(setup)?;
    Ok(key)
}

/// Starts users, documents, the integration, notifications and the bff, prints where they are, and runs until a
/// signal stops them.
pub async fn run() -> Result<(), StartError> {
    // Each service's settings are read once, from the environment with the
    // local wiring below as defaults: what the environment sets wins.
    let global = Env::new("FOLIO_");
    let local = |port: u16| format!("https://localhost:{port}");
    let mut users_settings =
        folio_users::Settings::read(&Env::new(folio_users::settings::PREFIX)).await?;
    let generated = users_settings.bootstrap.is_none().then(generated_admin);
    if let Some((email, password)) = &generated {
        users_settings.bootstrap = Some(folio_users::settings::Bootstrap {
            organisation: "Folio".to_owned(),
            email: email.clone(),
            password: password.clone(),
        });
    }
    let admin_email = users_settings.bootstrap.as_ref().map(|b| b.email.clone());
    let shared = shared_backends(&global).await?;
    if let Some(url) = &shared.users_database {
        users_settings.database.url = url.clone();
    }
    if users_settings.secrets_key.is_none() {
        let key = local_secrets_key(&global.data_dir()?, "users-secrets.key")?;
        users_settings.secrets_key = Some(folio_platform::secrets::SecretSource::given(
            Secret::new(key),
            "FOLIO_USERS_SECRETS_KEY",
        ));
    }
    let users = folio_users::Application::build(users_settings).await?;

    let env = Env::new(folio_documents::settings::PREFIX);
    let env = env
        .clone()
        .with_default(&env.var_name("USERS_URL"), local(users.port()));
    let mut documents_settings = folio_documents::Settings::read(&env).await?;
    if let Some(url) = &shared.documents_database {
        documents_settings.database.url = url.clone();
    }
    let documents = folio_documents::Application::build(documents_settings).await?;

    let demo = if global.or("FAKE_GRAPH", Flag(false))?.0 {
        Some(FakeOneDrive::start(&global.data_dir()?).await?)
    } else {
        None
    };
    let env = Env::new(folio_integration::settings::PREFIX);
    let env = env
        .clone()
        .with_default(&env.var_name("DOCUMENTS_URL"), local(documents.port()));
    let mut integration_settings = folio_integration::Settings::read(&env).await?;
    if let Some(url) = &shared.integration_database {
        integration_settings.database.url = url.clone();
    }
    if let Some(demo) = &demo {
        demo.configure(&mut integration_settings)?;
    }
    if matches!(
        integration_settings.client_secrets,
        folio_integration::ClientSecretsConfig::Database(None)
    ) {
        let key = local_secrets_key(&global.data_dir()?, "integration-secrets.key")?;
        integration_settings.client_secrets =
            folio_integration::ClientSecretsConfig::sealed_with(&key);
    }
    let integration = folio_integration::Application::build(integration_settings).await?;

    // The bff and notifications name each other (its gRPC address, the
    // portal in mails), so both are read before either starts.
    let env = Env::new(folio_notifications::settings::PREFIX);
    let env = env
        .clone()
        .with_default(&env.var_name("USERS_URL"), local(users.port()))
        .with_default(&env.var_name("DOCUMENTS_URL"), local(documents.port()))
        // Locally, webhooks to a receiver on this machine are the point.
        .with_default(&env.var_name("ALLOW_PRIVATE_WEBHOOKS"), "true");
    let mut notifications_settings = folio_notifications::Settings::read(&env).await?;
    let env = Env::new(folio_bff::settings::PREFIX);
    let env = env
        .clone()
        .with_default(&env.var_name("USERS_URL"), local(users.port()))
        .with_default(&env.var_name("DOCUMENTS_URL"), local(documents.port()))
        .with_default(&env.var_name("INTEGRATION_URL"), local(integration.port()))
        .with_default(
            &env.var_name("NOTIFICATIONS_URL"),
            local(notifications_settings.grpc_addr.port()),
        )
        // Locally the portal is plain HTTP: a Secure cookie would never be sent back.
        .with_default(&env.var_name("COOKIE_SECURE"), "false");
    let mut bff_settings = folio_bff::Settings::read(&env).await?;

    // Without an SMTP relay, mail lands as .eml files a newcomer can open.
    if matches!(
        notifications_settings.mail.transport,
        folio_notifications::settings::MailTransport::Off
    ) {
        notifications_settings.mail.transport =
            folio_notifications::settings::MailTransport::Directory(
                global.data_dir()?.join("mail"),
            );
    }
    // Links in mails lead to the local portal unless FOLIO_PUBLIC_URL
    // (which the bff reads too) says otherwise.
    if bff_settings.providers.public_url.is_none() {
        notifications_settings.mail.public_url = format!(
            "http://127.0.0.1:{}/",
            bff_settings.platform.http_addr.port()
        )
        .parse()
        .map_err(|_| StartError::Setup("the portal's address".to_owned()))?;
    }
    if let Some(url) = &shared.notifications_database {
        notifications_settings.database.url = url.clone();
    }
    let notifications = folio_notifications::Application::build(notifications_settings).await?;

    if bff_settings.redis_url.is_none() {
        bff_settings.redis_url = shared.redis.clone().map(Secret::new);
    }
    let sessions = if bff_settings.redis_url.is_some() {
        "Redis"
    } else {
        "in process"
    };
    let bff = folio_bff::Application::build(bff_settings).await?;

    let mut banner = String::new();
    let data_dir = global.data_dir()?;
    let _ = writeln!(banner, "Folio is running (data in {})", data_dir.display());
    let _ = writeln!(
        banner,
        "  portal     http://127.0.0.1:{}/  (sessions {sessions})",
        bff.port()
    );
    let _ = writeln!(
        banner,
        "  users      gRPC/mTLS 127.0.0.1:{}  health http://127.0.0.1:{}/readyz",
        users.port(),
        users.http_port()
    );
    let _ = writeln!(
        banner,
        "  documents  gRPC/mTLS 127.0.0.1:{}  health http://127.0.0.1:{}/readyz",
        documents.port(),
        documents.http_port()
    );
    let _ = writeln!(
        banner,
        "  integration gRPC/mTLS 127.0.0.1:{}  webhook and health http://127.0.0.1:{}/",
        integration.port(),
        integration.http_port()
    );
    let _ = writeln!(
        banner,
        "  notifications gRPC/mTLS 127.0.0.1:{}  health http://127.0.0.1:{}/readyz",
        notifications.port(),
        notifications.http_port()
    );
    if let Some(demo) = &demo {
        demo.describe(&mut banner);
    }
    let _ = writeln!(
        banner,
        "  certificates in {}",
        data_dir.join("pki").display()
    );
    match (&admin_email, &generated, users.bootstrapped()) {
        (Some(email), Some((_, password)), true) => {
            let _ = writeln!(
                banner,
                "  first admin: {email} / {} (generated; shown this once)",
                password.expose()
            );
        }
        (Some(email), _, _) => {
            let _ = writeln!(
                banner,
                "  first admin: {email} (password as set at first start)"
            );
        }
        (None, _, _) => {}
    }
    let _ = writeln!(banner, "Press ctrl-c to stop.");
    print!("{banner}");

    let stop = CancellationToken::new();
    shutdown::cancel_on_signal(stop.clone());
    if let Some(demo) = demo {
        tokio::spawn(demo.run(stop.clone()));
    }
    for service in [
        users.stop_token(),
        documents.stop_token(),
        integration.stop_token(),
        notifications.stop_token(),
        bff.stop_token(),
    ] {
        let stop = stop.clone();
        tokio::spawn(async move {
            stop.cancelled().await;
            service.cancel();
        });
    }
    let (users, documents, integration, notifications, bff) = tokio::join!(
        users.run_until_stopped(),
        documents.run_until_stopped(),
        integration.run_until_stopped(),
        notifications.run_until_stopped(),
        bff.run_until_stopped()
    );
    users?;
    documents?;
    integration?;
    notifications?;
    bff
}

/// `FOLIO_DATABASE_URL` (a MySQL server) and `FOLIO_REDIS_URL`, shared by
/// the whole local system instead of its embedded defaults.
struct Shared {
    users_database: Option<DatabaseUrl>,
    documents_database: Option<DatabaseUrl>,
    integration_database: Option<DatabaseUrl>,
    notifications_database: Option<DatabaseUrl>,
    redis: Option<String>,
}

/// Each service keeps its own database (its own migrations) on the server.
async fn shared_backends(global: &Env) -> Result<Shared, StartError> {
    let redis = global.optional::<String>("REDIS_URL")?;
    let Some(server) = global.optional::<String>("DATABASE_URL")? else {
        return Ok(Shared {
            users_database: None,
            documents_database: None,
            integration_database: None,
            notifications_database: None,
            redis,
        });
    };
    let server = server.trim_end_matches('/').to_owned();
    if !server.starts_with("mysql://") {
        return Err(ConfigError::Invalid {
            var: "FOLIO_DATABASE_URL".to_owned(),
            reason: "expected a mysql:// server URL (each service gets its own database on it)"
                .to_owned(),
        }
        .into());
    }
    let mut conn = sqlx::MySqlConnection::connect(&server)
        .await
        .map_err(|e| StartError::Setup(format!("FOLIO_DATABASE_URL: cannot connect: {e}")))?;
    let url = |name: &str| -> Result<DatabaseUrl, StartError> {
        format!("{server}/{name}")
            .parse()
            .map_err(|e: String| StartError::Setup(format!("FOLIO_DATABASE_URL: {e}")))
    };
    for name in [
        "folio_users",
        "folio_documents",
        "folio_integration",
        "folio_notifications",
    ] {
        conn.execute(
            format!(
                "CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            )
            .as_str(),
        )
        .await
        .map_err(|e| StartError::Setup(format!("cannot create database {name}: {e}")))?;
    }
    Ok(Shared {
        users_database: Some(url("folio_users")?),
        documents_database: Some(url("folio_documents")?),
        integration_database: Some(url("folio_integration")?),
        notifications_database: Some(url("folio_notifications")?),
        redis,
    })
}
