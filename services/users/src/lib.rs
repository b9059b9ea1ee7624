//! Folio's users service: organisations, users, roles and password
//! authentication, served over gRPC with mutual TLS.

pub(crate) mod accounts;
pub(crate) mod api;
pub(crate) mod app;
pub(crate) mod domain;
pub(crate) mod error;
pub mod settings;
pub(crate) mod sign_in;
pub(crate) mod store;
pub(crate) mod tokens;

pub use app::Application;
pub use settings::Settings;
