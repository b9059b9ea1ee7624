#![allow(unreachable_pub)]
//! The notifications service driven end to end: the real users, documents
//! and notifications services over real mTLS, client systems' endpoints
//! that verify signatures with `standardwebhooks`, on SQLite and MariaDB/MySQL.

mod helpers;
mod mail;
mod onedrive;
mod reader;
mod restart;
mod told;
mod webhooks;
