//! Client secrets sealed at rest (the `database` store of `crate::secrets`):
//! only ciphertext and its nonce are stored, by organisation.

use sqlx::{AnyConnection, Row};
use tracing::instrument;
use uuid::Uuid;

use crate::error::Error;

#[instrument(skip_all)]
pub(crate) async fn upsert(
    conn: &mut AnyConnection,
    org_id: Uuid,
    nonce: &str,
    sealed: &str,
    now: i64,
) -> Result<(), Error> {
    // Replace, not insert-or-update: the same statement on both backends.
    sqlx::query("DELETE FROM client_secrets WHERE org_id = ?")
        .bind(org_id.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO client_secrets (org_id, nonce, sealed, updated_at) VALUES (?, ?, ?, ?)",
    )
    .bind(org_id.to_string())
    .bind(nonce)
    .bind(sealed)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The nonce and the sealed secret of an organisation.
#[instrument(skip_all)]
pub(crate) async fn get(
    conn: &mut AnyConnection,
    org_id: Uuid,
) -> Result<Option<(String, String)>, Error> {
    let row = sqlx::query("SELECT nonce, sealed FROM client_secrets WHERE org_id = ?")
        .bind(org_id.to_string())
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((r.try_get("nonce")?, r.try_get("sealed")?)))
        .transpose()
}

#[instrument(skip_all)]
pub(crate) async fn delete(conn: &mut AnyConnection, org_id: Uuid) -> Result<(), Error> {
    sqlx::query("DELETE FROM client_secrets WHERE org_id = ?")
        .bind(org_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
