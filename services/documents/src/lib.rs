//! Folio's documents service: documents, immutable versions and their blobs,
//! tasks, and the event log, served over gRPC with mutual TLS.

pub(crate) mod api;
pub(crate) mod app;
pub(crate) mod directory;
pub(crate) mod domain;
pub(crate) mod error;
pub(crate) mod library;
pub mod settings;
pub(crate) mod store;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;

pub use app::Application;
pub use settings::Settings;
