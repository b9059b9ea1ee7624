#![allow(unreachable_pub)]
//! The bff driven through its HTTP API, with the real users and documents
//! services behind it over mTLS: on SQLite with in-process sessions, and on
//! MariaDB with Redis sessions. Every response is checked against
//! `openapi/bff.yaml`.

mod bad_input;
mod contract;
mod found_end_to_end;
mod helpers;
mod https;
mod journey;
mod kept_pages;
mod memory;
mod my_tasks;
mod names;
mod notifications;
mod onedrive;
mod organisations;
mod readiness;
mod redis_outage;
mod redis_tls;
mod rich_errors;
mod security;
mod session_race;
mod sign_in_limits;
mod sign_in_provider;
mod tokens;
mod tracing_off;
mod versioned_work;
mod webhooks;
