//! `folio up`: the whole system in one process on its embedded defaults
//! (SQLite, local blobs, the development PKI under `FOLIO_DATA_DIR`). The
//! services still talk gRPC over mTLS to each other, as in production.

use std::fmt::Write as _;

use folio_platform::{
    config::{ConfigError, Env},
    secrets::Secret,
    shutdown,
    start::StartError,
};
use rand::{Rng, distributions::Alphanumeric};
use tokio_util::sync::CancellationToken;

const GENERATED_ADMIN: &str = "admin@folio.local";

/// The first admin, from `FOLIO_ADMIN_*` or generated on the first start.
fn admin_from_env(global: &Env) -> Result<Option<(String, Secret)>, ConfigError> {
    let configured = global.optional::<String>("ADMIN_EMAIL")?.is_some()
        || global.optional::<String>("ADMIN_PASSWORD")?.is_some()
        || global.optional::<String>("ADMIN_PASSWORD_FILE")?.is_some();
    if configured {
        return Ok(None);
    }
    let password: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    Ok(Some((GENERATED_ADMIN.to_owned(), Secret::new(password))))
}

/// Starts users and documents, prints where they are, and runs until a
/// signal stops them.
pub async fn run() -> Result<(), StartError> {
    let global = Env::new("FOLIO_");
    let generated = admin_from_env(&global)?;
    let mut users_settings = folio_users::Settings::from_env().await?;
    if let Some((email, password)) = &generated {
        users_settings.bootstrap = Some(folio_users::settings::Bootstrap {
            organisation: "Folio".to_owned(),
            email: email.clone(),
            password: password.clone(),
        });
    }
    let admin_email = users_settings.bootstrap.as_ref().map(|b| b.email.clone());
    let users = folio_users::Application::build(users_settings).await?;

    let mut documents_settings = folio_documents::Settings::from_env().await?;
    if Env::new(folio_documents::settings::PREFIX)
        .optional::<String>("USERS_URL")?
        .is_none()
    {
        documents_settings.users_url = format!("https://localhost:{}", users.port());
    }
    let documents = folio_documents::Application::build(documents_settings).await?;

    let mut banner = String::new();
    let data_dir = global.data_dir()?;
    let _ = writeln!(banner, "Folio is running (data in {})", data_dir.display());
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
    for service in [users.stop_token(), documents.stop_token()] {
        let stop = stop.clone();
        tokio::spawn(async move {
            stop.cancelled().await;
            service.cancel();
        });
    }
    let (users, documents) = tokio::join!(users.run_until_stopped(), documents.run_until_stopped());
    users?;
    documents
}
