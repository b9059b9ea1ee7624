//! SQL, the same on MySQL/MariaDB and SQLite. Times are milliseconds since
//! the epoch; ids are text.

pub(crate) mod deliveries;
pub(crate) mod log;
pub(crate) mod mails;
mod outbox;
pub(crate) mod webhooks;

use sqlx::{Row, any::AnyRow};
use uuid::Uuid;

use crate::error::Error;

fn uuid(row: &AnyRow, column: &str) -> Result<Uuid, Error> {
    row.try_get::<String, _>(column)?
        .parse()
        .map_err(|_| Error::Corrupt("an id"))
}

fn optional_uuid(row: &AnyRow, column: &str) -> Result<Option<Uuid>, Error> {
    row.try_get::<Option<String>, _>(column)?
        .map(|s| s.parse().map_err(|_| Error::Corrupt("an id")))
        .transpose()
}
