//! SQL shared by MySQL and SQLite (docs/adr/0002).

pub(crate) mod client_secrets;
pub(crate) mod conflicts;
pub(crate) mod connections;
pub(crate) mod inbox;
pub(crate) mod items;
pub(crate) mod pending_sends;
pub(crate) mod progress;
pub(crate) mod skipped;

use sqlx::{Row, any::AnyRow};
use uuid::Uuid;

use crate::error::Error;

pub(crate) fn uuid(row: &AnyRow, column: &str) -> Result<Uuid, Error> {
    row.try_get::<String, _>(column)?
        .parse()
        .map_err(|_| Error::Corrupt("stored id"))
}

pub(crate) fn count(value: i64) -> Result<u32, Error> {
    u32::try_from(value).map_err(|_| Error::Corrupt("stored count"))
}

/// Whether an error is a unique-key violation.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}
