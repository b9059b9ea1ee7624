//! SQL shared by MySQL and SQLite, and the blob store.

pub(crate) mod blobs;
pub(crate) mod comments;
pub(crate) mod documents;
pub(crate) mod events;
pub(crate) mod retention;
pub(crate) mod revisions;
pub(crate) mod tasks;
pub(crate) mod upload_keys;
pub(crate) mod versions;

use sqlx::{Row, any::AnyRow};
use uuid::Uuid;

use crate::error::Error;

pub(crate) fn uuid(row: &AnyRow, column: &str) -> Result<Uuid, Error> {
    row.try_get::<String, _>(column)?
        .parse()
        .map_err(|_| Error::Corrupt("stored id"))
}

pub(crate) fn opt_uuid(row: &AnyRow, column: &str) -> Result<Option<Uuid>, Error> {
    row.try_get::<Option<String>, _>(column)?
        .map(|s| s.parse().map_err(|_| Error::Corrupt("stored id")))
        .transpose()
}

pub(crate) fn number(value: i64) -> Result<u32, Error> {
    u32::try_from(value).map_err(|_| Error::Corrupt("stored number"))
}

/// A `LIKE` pattern matching `text` anywhere, with wildcards in `text` escaped by `!`.
pub(crate) fn contains_pattern(text: &str) -> String {
    let escaped = text
        .replace('!', "!!")
        .replace('%', "!%")
        .replace('_', "!_");
    format!("%{escaped}%")
}
