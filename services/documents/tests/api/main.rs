#![allow(unreachable_pub)]
//! The documents service driven through its gRPC surface over real mTLS, with
//! the real users service beside it, on SQLite and on MariaDB/MySQL.

mod bad_input;
mod helpers;
mod isolation;
mod journey;
mod listing;
mod uploads;
