//! Users' types and rules. No I/O here.

mod names;
mod password;
mod user;

pub use names::{DisplayName, Email, OrganisationName};
pub use password::{Password, PasswordHash, verify_each, verify_or_waste_time};
pub use user::{Organisation, Role, User, UserChanges};
