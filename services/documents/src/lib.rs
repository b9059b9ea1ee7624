//! Folio's documents service: documents, immutable versions and their blobs,
//! tasks, and the event log, served over gRPC with mutual TLS.

pub mod api;
pub mod app;
pub mod directory;
pub mod domain;
pub mod error;
pub mod library;
pub mod settings;
pub mod store;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;

pub use app::Application;
pub use settings::Settings;
