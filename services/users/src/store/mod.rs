//! SQL for organisations and users, shared by MySQL and SQLite.

mod organisations;
mod sign_in;
mod tokens;
mod users;

pub(crate) use organisations::{
    insert_organisation, list_organisations, lock_admins, organisation_name,
};
pub(crate) use sign_in::{
    StoredIdentity, StoredSettings, delete_identity, find_domain, find_identity, get_settings,
    insert_identity, is_linked, list_identities, password_known, put_settings, set_password_known,
};
pub(crate) use tokens::{find_token, insert_token, list_tokens, revoke_token, touch_token};
pub(crate) use users::{
    count_enabled_admins, find_users_by_email, get_user, insert_user, list_users, update_password,
    update_user,
};

/// Whether a database error is a unique-key violation.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}
