#![allow(unreachable_pub)]
//! The integration service driven end to end: the real users, documents and
//! integration services over real mTLS, the fake Graph posting to the real
//! webhook, on SQLite and on MariaDB/MySQL.

mod api;
mod bad_input;
mod clouds;
mod delivery;
mod faults;
mod helpers;
mod https;
mod journey;
mod lost_answers;
mod odb;
mod openapi;
mod page;
mod secrets;
mod send;
mod trust;
