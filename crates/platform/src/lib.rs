//! The runtime every Folio service shares. Services depend on this crate and on
//! `folio-proto`, never on each other.

/// Every binary linking this crate (all services and `folio`) allocates through
/// mimalloc: glibc malloc was a quarter of the list route's CPU (ADR 0078).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod actor;
pub mod aws;
pub mod clock;
pub mod config;
pub mod db;
pub mod grpc;
pub mod health;
pub mod https;
pub mod identity;
pub mod metrics;
pub mod pki;
pub mod sealed;
pub mod secrets;
pub mod serve;
pub mod shutdown;
pub mod start;
pub mod telemetry;
pub mod tls;
