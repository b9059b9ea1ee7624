//! Folio's notifications: reads the documents event log of every
//! organisation, keeps its place per organisation, and delivers signed
//! webhooks (Standard Webhooks) to the organisations' own systems.

pub mod api;
pub mod app;
pub mod domain;
pub mod engine;
pub mod error;
pub mod settings;
pub(crate) mod store;

pub use app::Application;
pub use settings::{Settings, Timing};
