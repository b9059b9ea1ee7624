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
///
/// One upsert, never a look for the row first: on MariaDB an `UPDATE` that
/// finds no row locks the gap where it would be, and two first changes (of
/// one organisation or of two whose rows would share that gap) then each
/// wait to insert into the other's gap: a deadlock.
#[instrument(skip_all)]
pub(crate) async fn raise(conn: &mut AnyConnection, org_id: Uuid) -> Result<(), Error> {
    let upsert = if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        "INSERT INTO library_revisions (org_id, revision) VALUES (?, 1) \
         ON CONFLICT (org_id) DO UPDATE SET revision = revision + 1"
    } else {
        "INSERT INTO library_revisions (org_id, revision) VALUES (?, 1) \
         ON DUPLICATE KEY UPDATE revision = revision + 1"
    };
    sqlx::query(upsert)
        .bind(org_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use folio_platform::db::{Backend, Database, Migrations};
    use folio_testkit::TestDatabase;

    use super::*;
    use crate::app::{MIGRATE_MYSQL, MIGRATE_SQLITE};

    /// Many organisations' first changes and one organisation's changes, all
    /// in flight at once: every one commits and counts.
    #[tokio::test]
    async fn first_changes_at_once_all_commit() {
        for backend in [Backend::MySql, Backend::Sqlite] {
            let database = TestDatabase::create(backend).await;
            let settings = database.settings();
            let db = Database::connect_with(
                &settings.url,
                &settings.credentials,
                24,
                (&MIGRATE_MYSQL, &MIGRATE_SQLITE),
                Migrations::Apply,
            )
            .await
            .expect("database");
            let busy = Uuid::now_v7();
            let orgs: Vec<Uuid> = (0..24)
                .map(|i| if i % 3 == 0 { busy } else { Uuid::now_v7() })
                .collect();
            // Each change holds its transaction open a moment after raising,
            // as a change does while it commits, so the raises overlap.
            let changes = orgs.iter().map(|&org| {
                let pool = db.pool.clone();
                async move {
                    let mut change = pool.begin().await?;
                    raise(&mut change, org).await?;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    change.commit().await?;
                    Ok::<_, Error>(())
                }
            });
            for outcome in futures::future::join_all(changes).await {
                outcome.unwrap_or_else(|e| panic!("{backend:?}: a change failed: {e:?}"));
            }
            let mut conn = db.pool.acquire().await.unwrap();
            assert_eq!(get(&mut conn, busy).await.unwrap(), 8, "{backend:?}");
            for org in orgs.iter().filter(|&&o| o != busy) {
                assert_eq!(get(&mut conn, *org).await.unwrap(), 1, "{backend:?}");
            }
            assert_eq!(get(&mut conn, Uuid::now_v7()).await.unwrap(), 0);
        }
    }
}
