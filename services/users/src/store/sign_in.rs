//! SQL for organisations' provider settings and people's provider identities.

use folio_platform::sealed::Sealed;
use sqlx::{AnyConnection, Row, any::AnyRow};
use tracing::instrument;
use uuid::Uuid;

use crate::{
    domain::{OidcConfig, Preset, Role},
    error::Error,
};

/// An organisation's settings as stored, with its sealed client secret.
#[derive(Debug, Clone)]
pub(crate) struct StoredSettings {
    pub org_id: Uuid,
    pub config: OidcConfig,
    pub secret: Option<Sealed>,
    /// The sealed credential is a client certificate (PEM key and
    /// certificate), not a client secret.
    pub secret_is_certificate: bool,
    pub secret_set_at: Option<i64>,
    pub updated_at: i64,
}

const COLUMNS: &str = "org_id, preset, issuer, client_id, tenant_id, only_sso, create_accounts, \
                       default_role, secret_nonce, secret_sealed, secret_set_at, updated_at, \
                       secret_kind";

fn settings_from_row(row: &AnyRow) -> Result<StoredSettings, Error> {
    let tenant: String = row.try_get("tenant_id")?;
    let nonce: Option<String> = row.try_get("secret_nonce")?;
    let sealed: Option<String> = row.try_get("secret_sealed")?;
    Ok(StoredSettings {
        org_id: row
            .try_get::<String, _>("org_id")?
            .parse()
            .map_err(|_| Error::Corrupt("organisation id"))?,
        config: OidcConfig {
            preset: Preset::from_stored(&row.try_get::<String, _>("preset")?)?,
            issuer: row.try_get("issuer")?,
            client_id: row.try_get("client_id")?,
            tenant_id: match tenant.as_str() {
                "" => None,
                t => Some(t.parse().map_err(|_| Error::Corrupt("tenant id"))?),
            },
            only_sso: row.try_get::<i64, _>("only_sso")? != 0,
            create_accounts: row.try_get::<i64, _>("create_accounts")? != 0,
            default_role: Role::from_stored(&row.try_get::<String, _>("default_role")?)?,
            domains: Vec::new(),
        },
        secret: nonce
            .zip(sealed)
            .map(|(nonce, sealed)| Sealed { nonce, sealed }),
        secret_is_certificate: row.try_get::<String, _>("secret_kind")? == "certificate",
        secret_set_at: row.try_get("secret_set_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[instrument(skip_all)]
pub(crate) async fn get_settings(
    conn: &mut AnyConnection,
    org_id: Uuid,
) -> Result<Option<StoredSettings>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM oidc_settings WHERE org_id = ?"
    ))
    .bind(org_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut settings = settings_from_row(&row)?;
    settings.config.domains = sqlx::query("SELECT domain FROM oidc_domains WHERE org_id = ?")
        .bind(org_id.to_string())
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("domain"))
        .collect::<Result<_, _>>()?;
    settings.config.domains.sort();
    Ok(Some(settings))
}

/// The organisation that serves an email domain.
#[instrument(skip_all)]
pub(crate) async fn find_domain(
    conn: &mut AnyConnection,
    domain: &str,
) -> Result<Option<Uuid>, Error> {
    let row = sqlx::query("SELECT org_id FROM oidc_domains WHERE domain = ?")
        .bind(domain)
        .fetch_optional(conn)
        .await?;
    row.map(|r| {
        r.try_get::<String, _>("org_id")?
            .parse()
            .map_err(|_| Error::Corrupt("organisation id"))
    })
    .transpose()
}

/// Replaces the organisation's settings (none: provider sign-in off).
#[instrument(skip_all)]
pub(crate) async fn put_settings(
    conn: &mut AnyConnection,
    org_id: Uuid,
    settings: Option<&StoredSettings>,
) -> Result<(), Error> {
    // Replace, not insert-or-update: the same statements on both backends.
    for table in ["oidc_domains", "oidc_settings"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE org_id = ?"))
            .bind(org_id.to_string())
            .execute(&mut *conn)
            .await?;
    }
    let Some(s) = settings else {
        return Ok(());
    };
    for domain in &s.config.domains {
        sqlx::query("INSERT INTO oidc_domains (domain, org_id, created_at) VALUES (?, ?, ?)")
            .bind(domain)
            .bind(org_id.to_string())
            .bind(s.updated_at)
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                if super::is_unique_violation(&e) {
                    Error::DomainTaken(domain.clone())
                } else {
                    Error::Database(e)
                }
            })?;
    }
    sqlx::query(&format!(
        "INSERT INTO oidc_settings ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(org_id.to_string())
    .bind(s.config.preset.as_str())
    .bind(&s.config.issuer)
    .bind(&s.config.client_id)
    .bind(
        s.config
            .tenant_id
            .map(|t| t.to_string())
            .unwrap_or_default(),
    )
    .bind(i64::from(s.config.only_sso))
    .bind(i64::from(s.config.create_accounts))
    .bind(s.config.default_role.as_str())
    .bind(s.secret.as_ref().map(|x| x.nonce.clone()))
    .bind(s.secret.as_ref().map(|x| x.sealed.clone()))
    .bind(s.secret_set_at)
    .bind(s.updated_at)
    .bind(if s.secret_is_certificate {
        "certificate"
    } else {
        "secret"
    })
    .execute(conn)
    .await?;
    Ok(())
}

/// The person an (issuer, subject) is linked to in the organisation.
#[instrument(skip_all)]
pub(crate) async fn find_identity(
    conn: &mut AnyConnection,
    org_id: Uuid,
    issuer: &str,
    subject: &str,
) -> Result<Option<Uuid>, Error> {
    let row = sqlx::query(
        "SELECT user_id FROM oidc_identities WHERE org_id = ? AND issuer = ? AND subject = ?",
    )
    .bind(org_id.to_string())
    .bind(issuer)
    .bind(subject)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        r.try_get::<String, _>("user_id")?
            .parse()
            .map_err(|_| Error::Corrupt("user id"))
    })
    .transpose()
}

/// Whether the person already has an identity from this issuer.
#[instrument(skip_all)]
pub(crate) async fn is_linked(
    conn: &mut AnyConnection,
    user_id: Uuid,
    issuer: &str,
) -> Result<bool, Error> {
    let row = sqlx::query("SELECT 1 AS one FROM oidc_identities WHERE user_id = ? AND issuer = ?")
        .bind(user_id.to_string())
        .bind(issuer)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

#[instrument(skip_all)]
pub(crate) async fn insert_identity(
    conn: &mut AnyConnection,
    org_id: Uuid,
    issuer: &str,
    subject: &str,
    user_id: Uuid,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO oidc_identities (org_id, issuer, subject, user_id, created_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(org_id.to_string())
    .bind(issuer)
    .bind(subject)
    .bind(user_id.to_string())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// One of a person's links, as stored.
#[derive(Debug, Clone)]
pub(crate) struct StoredIdentity {
    pub issuer: String,
    pub subject: String,
    pub created_at: i64,
}

/// A person's links, oldest first.
#[instrument(skip_all)]
pub(crate) async fn list_identities(
    conn: &mut AnyConnection,
    org_id: Uuid,
    user_id: Uuid,
) -> Result<Vec<StoredIdentity>, Error> {
    let rows = sqlx::query(
        "SELECT issuer, subject, created_at FROM oidc_identities \
         WHERE org_id = ? AND user_id = ? ORDER BY created_at, issuer",
    )
    .bind(org_id.to_string())
    .bind(user_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredIdentity {
                issuer: r.try_get("issuer")?,
                subject: r.try_get("subject")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Removes one link of the person; whether there was one.
#[instrument(skip_all)]
pub(crate) async fn delete_identity(
    conn: &mut AnyConnection,
    org_id: Uuid,
    user_id: Uuid,
    issuer: &str,
    subject: &str,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "DELETE FROM oidc_identities WHERE org_id = ? AND user_id = ? AND issuer = ? AND subject = ?",
    )
    .bind(org_id.to_string())
    .bind(user_id.to_string())
    .bind(issuer)
    .bind(subject)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Whether someone knows the person's password (not the random one of an
/// account a first provider sign-in created).
#[instrument(skip_all)]
pub(crate) async fn password_known(conn: &mut AnyConnection, user_id: Uuid) -> Result<bool, Error> {
    let row = sqlx::query("SELECT password_known FROM users WHERE id = ?")
        .bind(user_id.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64, _>("password_known"))
        .transpose()?
        .is_some_and(|known| known != 0))
}

#[instrument(skip_all)]
pub(crate) async fn set_password_known(
    conn: &mut AnyConnection,
    user_id: Uuid,
    known: bool,
) -> Result<(), Error> {
    sqlx::query("UPDATE users SET password_known = ? WHERE id = ?")
        .bind(i64::from(known))
        .bind(user_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
