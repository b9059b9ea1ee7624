//! Folio's OneDrive integration: connections per organisation, Microsoft
//! Graph subscriptions and their webhook, a durable inbox, delta sync of a
//! OneDrive folder into documents, and sending documents back to OneDrive.

pub mod api;
pub(crate) mod app;
pub(crate) mod documents;
pub(crate) mod domain;
pub(crate) mod engine;
pub(crate) mod error;
pub(crate) mod graph;
pub(crate) mod secrets;
pub mod settings;
pub(crate) mod store;

pub use app::Application;
pub use secrets::ClientSecretsConfig;
pub use settings::{Settings, Timing};
