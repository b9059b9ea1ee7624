//! The notifications' types and rules. No I/O here.

pub(crate) mod address;
pub(crate) mod events;
pub(crate) mod mail;
pub(crate) mod webhook;

pub use address::is_public;
pub use events::{EventType, LogEvent, TaskPeople, TaskSeen};
pub use mail::{Choice, Kind, Preferences};
pub use webhook::{Backoff, Secret, delivery_id, signature};
