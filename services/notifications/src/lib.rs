//! Folio's notifications: reads the documents event log of every
//! organisation, keeps its place per organisation, and delivers signed
//! webhooks (Standard Webhooks) to the organisations' own systems.

pub(crate) mod api;
pub(crate) mod app;
pub(crate) mod domain;
pub(crate) mod engine;
pub(crate) mod error;
pub mod settings;
pub(crate) mod store;

pub use app::Application;
pub use settings::{Settings, Timing};
