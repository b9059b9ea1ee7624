#![allow(unreachable_pub)]
//! The documents service driven through its gRPC surface over real mTLS, with
//! the real users service beside it, on SQLite and on MariaDB/MySQL, with
//! blobs in a folder or in S3 (moto).

/// Runs an async test body once per storage: SQLite and MariaDB/MySQL with
/// blobs in a folder, and MariaDB/MySQL with blobs in S3, as in production:
/// `storage_tests!(body_fn);` expands to a module with `sqlite`, `mysql` and
/// `mysql_s3` tests.
macro_rules! storage_tests {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                use folio_platform::db::Backend;

                use crate::helpers::{Blobs, Setup};

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(Setup { db: Backend::Sqlite, blobs: Blobs::Folder }).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    super::$name(Setup { db: Backend::MySql, blobs: Blobs::Folder }).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql_s3() {
                    super::$name(Setup { db: Backend::MySql, blobs: Blobs::S3 }).await;
                }
            }
        )+
    };
}

mod bad_input;
mod helpers;
mod idempotency;
mod integration_caller;
mod isolation;
mod journey;
mod listing;
mod names;
mod retention;
mod revisions;
mod uploads;
mod versioned_work;
