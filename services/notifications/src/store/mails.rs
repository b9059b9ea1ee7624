//! Emails to send, and people's choices.

use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::{outbox::Outbox, uuid};
use crate::{
    domain::mail::{DigestNews, Preferences},
    error::Error,
};

/// Longest body stored (the column's size on MySQL).
pub(crate) const MAX_BODY: usize = 7000;

#[derive(Debug, Clone)]
pub(crate) struct Mail {
    pub id: String,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// 'pending' | 'sent' | 'refused' | 'failed'
    pub state: String,
    pub attempts: u32,
    pub last_error: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, org_id, user_id, kind, to_address, to_name, subject, text_body, \
    html_body, state, attempts, last_error, created_at";

fn from_row(row: &AnyRow) -> Result<Mail, Error> {
    Ok(Mail {
        id: row.try_get("id")?,
        org_id: uuid(row, "org_id")?,
        user_id: uuid(row, "user_id")?,
        kind: row.try_get("kind")?,
        to_address: row.try_get("to_address")?,
        to_name: row.try_get("to_name")?,
        subject: row.try_get("subject")?,
        text: row.try_get("text_body")?,
        html: row.try_get("html_body")?,
        state: row.try_get("state")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
    })
}

fn clip(text: &str) -> String {
    text.chars().take(MAX_BODY).collect()
}

/// Adds a pending mail unless one with its id exists; whether it was added.
pub(crate) async fn insert(conn: &mut AnyConnection, m: &Mail, now: i64) -> Result<bool, Error> {
    let exists = sqlx::query("SELECT 1 AS one FROM mails WHERE id = ?")
        .bind(&m.id)
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_some() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO mails (id, org_id, user_id, kind, to_address, to_name, subject, text_body, \
         html_body, state, attempts, next_attempt_at, lease_until, last_error, created_at, sent_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, NULL, '', ?, NULL)",
    )
    .bind(&m.id)
    .bind(m.org_id.to_string())
    .bind(m.user_id.to_string())
    .bind(&m.kind)
    .bind(&m.to_address)
    .bind(m.to_name.chars().take(200).collect::<String>())
    .bind(m.subject.chars().take(300).collect::<String>())
    .bind(clip(&m.text))
    .bind(clip(&m.html))
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(true)
}

const OUTBOX: Outbox = Outbox {
    table: "mails",
    tiebreak: "id",
};

pub(crate) async fn due(
    conn: &mut AnyConnection,
    now: i64,
    limit: u32,
) -> Result<Vec<String>, Error> {
    OUTBOX.due(conn, now, limit).await
}

/// Takes a due mail until `until`; None when another worker has it.
pub(crate) async fn claim(
    conn: &mut AnyConnection,
    id: &str,
    now: i64,
    until: i64,
) -> Result<Option<Mail>, Error> {
    if !OUTBOX.lease(&mut *conn, id, now, until).await? {
        return Ok(None);
    }
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM mails WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// After an attempt: `state` with the error, and when to try again if pending.
pub(crate) async fn record(
    conn: &mut AnyConnection,
    id: &str,
    state: &str,
    error: &str,
    next: Option<i64>,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE mails SET state = ?, attempts = attempts + 1, last_error = ?, \
         next_attempt_at = ?, lease_until = NULL, sent_at = ? WHERE id = ?",
    )
    .bind(state)
    .bind(error.chars().take(500).collect::<String>())
    .bind(next)
    .bind((state == "sent").then_some(now))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The organisation's mails that were refused or given up, newest first.
pub(crate) async fn problems(
    conn: &mut AnyConnection,
    org: Uuid,
    limit: u32,
) -> Result<Vec<Mail>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM mails WHERE org_id = ? AND state IN ('refused', 'failed') \
         ORDER BY created_at DESC, id LIMIT ?"
    ))
    .bind(org.to_string())
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn preferences(
    conn: &mut AnyConnection,
    user: Uuid,
) -> Result<Preferences, Error> {
    let row = sqlx::query("SELECT choices FROM preferences WHERE user_id = ?")
        .bind(user.to_string())
        .fetch_optional(conn)
        .await?;
    match row {
        Some(row) => Preferences::from_stored(&row.try_get::<String, _>("choices")?),
        None => Ok(Preferences::default()),
    }
}

pub(crate) async fn save_preferences(
    conn: &mut AnyConnection,
    org: Uuid,
    user: Uuid,
    preferences: &Preferences,
    now: i64,
) -> Result<(), Error> {
    sqlx::query("DELETE FROM preferences WHERE user_id = ?")
        .bind(user.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO preferences (user_id, org_id, choices, updated_at) VALUES (?, ?, ?, ?)",
    )
    .bind(user.to_string())
    .bind(org.to_string())
    .bind(preferences.to_stored())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn digest_done(
    conn: &mut AnyConnection,
    org: Uuid,
    day: &str,
) -> Result<bool, Error> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM digest_runs WHERE org_id = ? AND day = ?")
            .bind(org.to_string())
            .bind(day)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

pub(crate) async fn mark_digest_done(
    conn: &mut AnyConnection,
    org: Uuid,
    day: &str,
    now: i64,
) -> Result<(), Error> {
    if digest_done(&mut *conn, org, day).await? {
        return Ok(());
    }
    sqlx::query("INSERT INTO digest_runs (org_id, day, done_at) VALUES (?, ?, ?)")
        .bind(org.to_string())
        .bind(day)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Keeps `news` for `user`'s next digest unless its id exists; whether it was added.
pub(crate) async fn keep_for_digest(
    conn: &mut AnyConnection,
    id: &str,
    org: Uuid,
    user: Uuid,
    kind: &str,
    news: &DigestNews,
    now: i64,
) -> Result<bool, Error> {
    let exists = sqlx::query("SELECT 1 AS one FROM digest_news WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_some() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO digest_news (id, org_id, user_id, kind, text_line, html_line, created_at, \
         mail_id) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
    )
    .bind(id)
    .bind(org.to_string())
    .bind(user.to_string())
    .bind(kind)
    .bind(news.text.chars().take(2000).collect::<String>())
    .bind(news.html.chars().take(3000).collect::<String>())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(true)
}

/// What waits for `user`'s next digest in `org`, oldest first, at most `limit`.
pub(crate) async fn waiting_news(
    conn: &mut AnyConnection,
    org: Uuid,
    user: Uuid,
    limit: u32,
) -> Result<Vec<(String, DigestNews)>, Error> {
    let rows = sqlx::query(
        "SELECT id, text_line, html_line FROM digest_news WHERE user_id = ? AND org_id = ? \
         AND mail_id IS NULL ORDER BY created_at, id LIMIT ?",
    )
    .bind(user.to_string())
    .bind(org.to_string())
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                DigestNews {
                    text: r.try_get("text_line")?,
                    html: r.try_get("html_line")?,
                },
            ))
        })
        .collect()
}

/// Marks news as told by the digest `mail`.
pub(crate) async fn told_in(
    conn: &mut AnyConnection,
    ids: &[String],
    mail: &str,
) -> Result<(), Error> {
    for id in ids {
        sqlx::query("UPDATE digest_news SET mail_id = ? WHERE id = ? AND mail_id IS NULL")
            .bind(mail)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
