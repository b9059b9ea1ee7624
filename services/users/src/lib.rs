//! Folio's users service: organisations, users, roles and password
//! authentication, served over gRPC with mutual TLS.

pub mod accounts;
pub mod api;
pub mod app;
pub mod domain;
pub mod error;
pub mod settings;
pub mod sign_in;
pub mod store;
pub mod tokens;

pub use app::Application;
pub use settings::Settings;
