use sqlx::{AnyConnection, Row};
use tracing::instrument;
use uuid::Uuid;

use crate::{domain::Organisation, error::Error};

#[instrument(skip_all)]
pub(crate) async fn insert_organisation(
    conn: &mut AnyConnection,
    org: &Organisation,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO organisations (id, name, created_at) VALUES (?, ?, ?)")
        .bind(org.id.to_string())
        .bind(&org.name)
        .bind(org.created_at)
        .execute(conn)
        .await?;
    Ok(())
}

#[instrument(skip_all)]
pub(crate) async fn list_organisations(
    conn: &mut AnyConnection,
) -> Result<Vec<Organisation>, Error> {
    let rows = sqlx::query("SELECT id, name, created_at FROM organisations ORDER BY name")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Organisation {
                id: row
                    .try_get::<String, _>("id")?
                    .parse()
                    .map_err(|_| Error::Corrupt("organisation id"))?,
                name: row.try_get("name")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

/// Serialises changes to an organisation's admins: the first write of the
/// transaction, so MySQL holds the row lock and SQLite the write lock until
/// commit. Answers whether the organisation exists.
#[instrument(skip_all)]
pub(crate) async fn lock_admins(
    conn: &mut AnyConnection,
    org_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE organisations SET admin_guard = admin_guard + 1 WHERE id = ?")
        .bind(org_id.to_string())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// One organisation's name, for a sign-in that must let its user choose.
#[instrument(skip_all)]
pub(crate) async fn organisation_name(
    conn: &mut AnyConnection,
    org_id: Uuid,
) -> Result<Option<String>, Error> {
    let row = sqlx::query("SELECT name FROM organisations WHERE id = ?")
        .bind(org_id.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.try_get("name")).transpose()?)
}
