//! Users' types and rules. No I/O here.

mod names;
mod password;
mod token;
mod user;

pub use names::{DisplayName, Email, OrganisationName};
pub use password::{Password, PasswordHash, verify_each, verify_or_waste_time};
pub use token::{
    ApiToken, TokenScope, check_expiry, looks_like_secret, new_secret, parse_name, secret_hash,
};
pub use user::{Organisation, Role, User, UserChanges};
