//! Folio's OneDrive integration: connections per organisation, Microsoft
//! Graph subscriptions and their webhook, a durable inbox, delta sync of a
//! OneDrive folder into documents, and sending documents back to OneDrive.

pub mod api;
pub mod app;
pub mod documents;
pub mod domain;
pub mod engine;
pub mod error;
pub mod graph;
pub mod secrets;
pub mod settings;
pub mod store;

pub use app::Application;
pub use secrets::ClientSecretsConfig;
pub use settings::{Settings, Timing};
