//! Users' types and rules. No I/O here.

mod names;
mod password;
mod sign_in;
mod token;
mod user;

pub(crate) use names::{DisplayName, Email, OrganisationName};
pub(crate) use password::{Password, PasswordHash, verify_each, verify_or_waste_time};
pub(crate) use sign_in::{
    FirstSignIn, OidcConfig, OidcInput, Preset, first_sign_in, identity_id, keeps_a_way_in,
    parse_client_secret,
};
pub(crate) use token::{
    ApiToken, TokenScope, check_expiry, looks_like_secret, new_secret, parse_name, secret_hash,
};
pub(crate) use user::{Organisation, Role, User, UserChanges};
