//! The bff's rules for what comes in and goes out over HTTP. No I/O here.

pub mod disposition;
pub mod forms;
pub mod oidc;
pub mod range;
pub mod views;
pub mod webhooks;
