use sqlx::{AnyConnection, Row, any::AnyRow};
use tracing::instrument;
use uuid::Uuid;

use crate::{
    domain::{DisplayName, Email, PasswordHash, Role, User},
    error::Error,
};

const COLUMNS: &str =
    "id, org_id, email, display_name, role, password_hash, disabled, created_at, updated_at";

fn user_from_row(row: &AnyRow) -> Result<User, Error> {
    let uuid = |name: &str| -> Result<Uuid, Error> {
        row.try_get::<String, _>(name)?
            .parse()
            .map_err(|_| Error::Corrupt("user id"))
    };
    Ok(User {
        id: uuid("id")?,
        org_id: uuid("org_id")?,
        email: Email::parse(&row.try_get::<String, _>("email")?)
            .map_err(|_| Error::Corrupt("email"))?,
        display_name: DisplayName::parse(&row.try_get::<String, _>("display_name")?)
            .map_err(|_| Error::Corrupt("display name"))?,
        role: Role::from_stored(&row.try_get::<String, _>("role")?)?,
        password_hash: PasswordHash(row.try_get("password_hash")?),
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[instrument(skip_all)]
pub(crate) async fn insert_user(conn: &mut AnyConnection, user: &User) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO users ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(user.id.to_string())
    .bind(user.org_id.to_string())
    .bind(user.email.as_str())
    .bind(user.display_name.as_str())
    .bind(user.role.as_str())
    .bind(&user.password_hash.0)
    .bind(i64::from(user.disabled))
    .bind(user.created_at)
    .bind(user.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A user of `org_id` by id; another organisation's user is not found.
#[instrument(skip_all)]
pub(crate) async fn get_user(
    conn: &mut AnyConnection,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<User>, Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM users WHERE id = ? AND org_id = ?"
    ))
    .bind(id.to_string())
    .bind(org_id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// Every account with `email`, in every organisation (oldest first).
#[instrument(skip_all)]
pub(crate) async fn find_users_by_email(
    conn: &mut AnyConnection,
    email: &Email,
) -> Result<Vec<User>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM users WHERE email = ? ORDER BY created_at, id"
    ))
    .bind(email.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter().map(user_from_row).collect()
}

#[instrument(skip_all)]
pub(crate) async fn list_users(conn: &mut AnyConnection, org_id: Uuid) -> Result<Vec<User>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM users WHERE org_id = ? ORDER BY display_name, email"
    ))
    .bind(org_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(user_from_row).collect()
}

#[instrument(skip_all)]
pub(crate) async fn update_user(conn: &mut AnyConnection, user: &User) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET role = ?, display_name = ?, disabled = ?, updated_at = ? \
         WHERE id = ? AND org_id = ?",
    )
    .bind(user.role.as_str())
    .bind(user.display_name.as_str())
    .bind(i64::from(user.disabled))
    .bind(user.updated_at)
    .bind(user.id.to_string())
    .bind(user.org_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

#[instrument(skip_all)]
pub(crate) async fn update_password(
    conn: &mut AnyConnection,
    user: &User,
    hash: &PasswordHash,
    now: i64,
) -> Result<(), sqlx::Error> {
    // A password set by its owner or by an admin is known to someone.
    sqlx::query(
        "UPDATE users SET password_hash = ?, password_known = 1, updated_at = ? \
         WHERE id = ? AND org_id = ?",
    )
    .bind(&hash.0)
    .bind(now)
    .bind(user.id.to_string())
    .bind(user.org_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

#[instrument(skip_all)]
pub(crate) async fn count_enabled_admins(
    conn: &mut AnyConnection,
    org_id: Uuid,
) -> Result<i64, Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM users WHERE org_id = ? AND role = 'admin' AND disabled = 0",
    )
    .bind(org_id.to_string())
    .fetch_one(conn)
    .await?;
    Ok(row.try_get("n")?)
}
