#![allow(unreachable_pub)]
//! The users service driven through its gRPC surface over real mTLS, on
//! SQLite and on MariaDB/MySQL.

mod admin;
mod authentication;
mod bad_input;
mod database_tls;
mod email_per_organisation;
mod helpers;
mod isolation;
mod mtls;
mod operations;
mod rollback;
mod secrets;
mod sign_in_provider;
mod tokens;
