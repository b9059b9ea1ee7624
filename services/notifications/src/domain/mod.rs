//! The notifications' types and rules. No I/O here.

pub(crate) mod address;
pub(crate) mod events;
pub(crate) mod mail;
pub(crate) mod webhook;

pub(crate) use address::is_public;
pub(crate) use events::{EventType, LogEvent, TaskPeople, TaskSeen};
pub(crate) use mail::{Choice, Kind};
pub(crate) use webhook::{Backoff, Secret, delivery_id, signature};
