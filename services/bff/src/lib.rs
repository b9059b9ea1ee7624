//! Folio's bff: the only thing a browser talks to. It serves the portal and
//! the REST API of `openapi/bff.yaml`, keeps sessions, and calls the domain
//! services over gRPC with mutual TLS on the signed-in user's behalf.

pub(crate) mod api;
pub(crate) mod app;
pub(crate) mod error;
pub(crate) mod library_pages;
pub(crate) mod oidc;
pub(crate) mod password;
pub(crate) mod provider_cache;
pub(crate) mod provider_sign_in;
pub(crate) mod rest;
pub mod session;
pub mod settings;
pub(crate) mod web;

pub use app::Application;
pub use settings::Settings;
