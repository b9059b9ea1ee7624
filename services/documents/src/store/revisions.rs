//! The library revision of an organisation (docs/adr/0081): raised by every
//! committed change, read before a page so that the page shows at least what
//! that revision names.

use sqlx::{AnyConnection, Row as _};
use tracing::instrument;
use uuid::Uuid;

use crate::error::Error;

/// The organisation's revision; 0 before its first change.
#[instrument(skip_all)]
pub(crate) async fn get(conn: &mut AnyConnection, org_id: Uuid) -> Result<u64, Error> {
    let row = sqlx::query("SELECT revision FROM library_revisions WHERE org_id = ?")
        .bind(org_id.to_string())
        .fetch_optional(conn)
        .await?;
    match row {
        None => Ok(0),
        Some(row) => u64::try_from(row.try_get::<i64, _>("revision")?)
            .map_err(|_| Error::Corrupt("stored revision")),
    }
}

/// Raises the organisation's revision. Called last in a change's transaction:
/// the row lock it takes is then held only while the transaction commits,
/// and while holding it the transaction waits for no other lock.
#[instrument(skip_all)]
pub(crate) async fn raise(conn: &mut AnyConnection, org_id: Uuid) -> Result<(), Error> {
    let org = org_id.to_string();
    let raised =
        sqlx::query("UPDATE library_revisions SET revision = revision + 1 WHERE org_id = ?")
            .bind(&org)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    if raised == 0 {
        // The organisation's first change. Two first changes at once: the
        // second waits on the first's row and then raises it.
        let upsert = if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            "INSERT INTO library_revisions (org_id, revision) VALUES (?, 1) \
             ON CONFLICT (org_id) DO UPDATE SET revision = revision + 1"
        } else {
            "INSERT INTO library_revisions (org_id, revision) VALUES (?, 1) \
             ON DUPLICATE KEY UPDATE revision = revision + 1"
        };
        sqlx::query(upsert).bind(&org).execute(conn).await?;
    }
    Ok(())
}
