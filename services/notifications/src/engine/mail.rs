//! Email use cases: choices, the messages events and digests cause, sending
//! them, and the problems admins see.

use std::{collections::BTreeMap, sync::Arc};

use folio_platform::{
    actor::{Actor, ActorRole},
    clock::now_millis,
};
use folio_proto::{
    documents::v1::{self as docs, TaskStatus, list_tasks_request},
    users::v1 as users,
};
use sqlx::AnyConnection;
use time::{
    Duration as Span, OffsetDateTime, format_description::BorrowedFormatItem,
    macros::format_description,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Engine, mailer::SendError, millis};
use crate::{
    domain::mail::{
        self, Choice, Context, Digest, DigestLine, DigestNews, Kind, Notice, Preferences,
    },
    error::Error,
    store::mails::{self, Mail},
};

const BATCH: u32 = 20;
/// Lines in one digest, due tasks and news together, at most (the body's
/// size is bounded).
const DIGEST_LINES: usize = 20;
/// News one digest takes at most; what it cannot show it counts.
const NEWS_TAKEN: u32 = 500;
const DAY: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// One organisation's name and people, as users lists them.
#[derive(Debug, Clone)]
pub(crate) struct People {
    pub org_id: Uuid,
    pub name: String,
    pub users: Vec<users::User>,
}

impl People {
    pub(crate) fn from_recipients(r: &users::OrganisationRecipients) -> Option<Self> {
        let org = r.organisation.as_ref()?;
        Some(Self {
            org_id: org.id.parse().ok()?,
            name: org.name.clone(),
            users: r.users.clone(),
        })
    }

    /// An enabled member by id.
    pub(crate) fn member(&self, id: Uuid) -> Option<&users::User> {
        let id = id.to_string();
        self.users.iter().find(|u| u.id == id && !u.disabled)
    }
}

impl Engine {
    /// The portal page of a document.
    pub(crate) fn document_link(&self, document_id: &str) -> String {
        self.portal_link(&format!("documents/{document_id}"))
    }

    /// The portal's page at `route` (`#/…`).
    pub(crate) fn portal_link(&self, route: &str) -> String {
        let base = self.mail.public_url.as_str().trim_end_matches('/');
        format!("{base}/#/{route}")
    }

    /// Records that `person` of `people` is told `notice` as they chose: a
    /// mail now, news for their daily digest, or nothing. `cause` names
    /// what made it, so a re-read event records nothing twice.
    pub(crate) async fn tell(
        &self,
        conn: &mut AnyConnection,
        people: &People,
        person: &users::User,
        notice: &Notice,
        link: &str,
        cause: &str,
    ) -> Result<(), Error> {
        let now = now_millis();
        if self.mailer.is_off() {
            return Ok(());
        }
        let user_id: Uuid = person.id.parse().map_err(|_| Error::Corrupt("a user id"))?;
        let kind = notice.kind();
        match mails::preferences(&mut *conn, user_id).await?.choice(kind) {
            Choice::Off => {}
            Choice::Immediate => {
                let message = mail::immediate(&context(people, person), notice, link);
                let mail = new_mail(people.org_id, user_id, person, kind, cause, message);
                mails::insert(conn, &mail, now).await?;
            }
            Choice::Daily => {
                mails::keep_for_digest(
                    conn,
                    &mail::mail_id(user_id, cause),
                    people.org_id,
                    user_id,
                    kind.as_str(),
                    &DigestNews::new(notice, link),
                    now,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Tells every enabled admin of `people` (see [`Self::tell`]).
    pub(crate) async fn tell_admins(
        &self,
        conn: &mut AnyConnection,
        people: &People,
        notice: &Notice,
        link: &str,
        cause: &str,
    ) -> Result<(), Error> {
        let admin = i32::from(users::Role::Admin);
        for person in people
            .users
            .iter()
            .filter(|u| u.role == admin && !u.disabled)
        {
            self.tell(&mut *conn, people, person, notice, link, cause)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn preferences(&self, actor: &Actor) -> Result<Vec<(Kind, Choice)>, Error> {
        let mut conn = self.db.reader().acquire().await?;
        Ok(mails::preferences(&mut conn, actor.user_id).await?.all())
    }

    pub(crate) async fn update_preferences(
        &self,
        actor: &Actor,
        pairs: &BTreeMap<String, String>,
    ) -> Result<Vec<(Kind, Choice)>, Error> {
        let chosen = Preferences::parse(pairs)?;
        let mut tx = self.db.pool.begin().await?;
        let mut merged = mails::preferences(&mut tx, actor.user_id).await?;
        for (kind, choice) in chosen.all() {
            if pairs.contains_key(kind.as_str()) {
                merged = merged.with(kind, choice);
            }
        }
        mails::save_preferences(&mut tx, actor.org_id, actor.user_id, &merged, now_millis())
            .await?;
        tx.commit().await?;
        Ok(merged.all())
    }

    /// Refused and undeliverable mails of the admin's organisation.
    pub(crate) async fn mail_problems(&self, actor: &Actor) -> Result<Vec<Mail>, Error> {
        if actor.role != ActorRole::Admin {
            return Err(Error::Forbidden("only admins see mail problems"));
        }
        let mut conn = self.db.reader().acquire().await?;
        mails::problems(&mut conn, actor.org_id, 100).await
    }

    /// Keeps the SMTP login as its secrets source has it (ADR 0068).
    pub(crate) async fn keep_mail_login_fresh(
        self: Arc<Self>,
        period: std::time::Duration,
        stop: CancellationToken,
    ) {
        self.mailer.keep_login_fresh(period, stop).await;
    }

    pub(crate) async fn run_mail_sender(self: Arc<Self>, stop: CancellationToken) {
        loop {
            if let Err(error) = self.send_due_mails().await {
                tracing::warn!(%error, "sending mail failed; trying again");
            }
            if let Err(error) = self.digest_once(OffsetDateTime::now_utc()).await {
                tracing::warn!(%error, "the daily digest failed; trying again");
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.timing.poll_interval) => {}
            }
        }
    }

    /// Sends every due mail once; how many were attempted.
    pub(crate) async fn send_due_mails(&self) -> Result<u32, Error> {
        if self.mailer.is_off() {
            return Ok(0);
        }
        let due = {
            let mut conn = self.db.pool.acquire().await?;
            mails::due(&mut conn, now_millis(), BATCH).await?
        };
        let mut sent = 0;
        for id in due {
            let claimed = {
                let mut conn = self.db.pool.acquire().await?;
                let now = now_millis();
                mails::claim(&mut conn, &id, now, now + millis(self.timing.lease)).await?
            };
            let Some(mail) = claimed else { continue };
            let outcome = self.mailer.send(&self.mail.from, &mail).await;
            let now = now_millis();
            let (state, error, next) = match outcome {
                Ok(()) => ("sent", String::new(), None),
                Err(SendError::Permanent(why)) => ("refused", why, None),
                Err(SendError::Transient(why)) => {
                    let backoff = self.backoff();
                    let elapsed = std::time::Duration::from_millis(
                        u64::try_from(now - mail.created_at).unwrap_or(0),
                    );
                    if backoff.exhausted(elapsed) {
                        ("failed", why, None)
                    } else {
                        (
                            "pending",
                            why,
                            Some(now + millis(backoff.pause(mail.attempts + 1))),
                        )
                    }
                }
            };
            let mut conn = self.db.pool.acquire().await?;
            mails::record(&mut conn, &mail.id, state, &error, next, now).await?;
            metrics::counter!("folio_notifications_mails_total", "result" => state).increment(1);
            sent += 1;
        }
        Ok(sent)
    }

    /// From the digest hour on, once a day per organisation: every person
    /// gets one mail with their open tasks due tomorrow or overdue (if they
    /// chose reminders `daily`) and the news kept for them since their last
    /// digest (of the kinds they chose `daily` for). The mail and the marking
    /// of its news as told are one transaction, and the mail's id is the
    /// person's and the day's: a pass run again never doubles or loses one.
    pub(crate) async fn digest_once(&self, now: OffsetDateTime) -> Result<u32, Error> {
        let Some(hour) = self.mail.digest_hour else {
            return Ok(0);
        };
        if self.mailer.is_off() || now.hour() < hour {
            return Ok(0);
        }
        let today = now.date();
        let day = today.format(DAY).map_err(|_| Error::Corrupt("a date"))?;
        let tomorrow = (today + Span::days(1))
            .format(DAY)
            .map_err(|_| Error::Corrupt("a date"))?;
        let mut made = 0;
        for people in self.people(None).await? {
            let done = {
                let mut conn = self.db.reader().acquire().await?;
                mails::digest_done(&mut conn, people.org_id, &day).await?
            };
            if done {
                continue;
            }
            for person in people.users.iter().filter(|u| !u.disabled) {
                let Ok(user_id) = person.id.parse::<Uuid>() else {
                    continue;
                };
                let preferences = {
                    let mut conn = self.db.reader().acquire().await?;
                    mails::preferences(&mut conn, user_id).await?
                };
                let due = if preferences.choice(Kind::Reminder) == Choice::Daily {
                    self.digest_lines(people.org_id, user_id, &day, &tomorrow)
                        .await?
                } else {
                    Vec::new()
                };
                let mut tx = self.db.pool.begin().await?;
                let waiting =
                    mails::waiting_news(&mut tx, people.org_id, user_id, NEWS_TAKEN).await?;
                let (due_shown, news_shown) = mail::share(due.len(), waiting.len(), DIGEST_LINES);
                let news: Vec<DigestNews> = waiting
                    .iter()
                    .take(news_shown)
                    .map(|(_, n)| n.clone())
                    .collect();
                let more_link = self.portal_link("tasks");
                let digest = Digest {
                    due: &due[..due_shown],
                    news: &news,
                    more: waiting.len() - news_shown,
                    more_link: &more_link,
                };
                if digest.is_empty() {
                    tx.rollback().await?;
                    continue;
                }
                let message = mail::digest(&context(&people, person), &digest);
                let mail = new_mail(
                    people.org_id,
                    user_id,
                    person,
                    Kind::Reminder,
                    &format!("digest/{day}"),
                    message,
                );
                // A digest of this day already went: what waits goes tomorrow.
                if mails::insert(&mut tx, &mail, now_millis()).await? {
                    let ids: Vec<String> = waiting.into_iter().map(|(id, _)| id).collect();
                    mails::told_in(&mut tx, &ids, &mail.id).await?;
                    made += 1;
                }
                tx.commit().await?;
            }
            let mut conn = self.db.pool.acquire().await?;
            mails::mark_digest_done(&mut conn, people.org_id, &day, now_millis()).await?;
        }
        Ok(made)
    }

    async fn digest_lines(
        &self,
        org: Uuid,
        person: Uuid,
        today: &str,
        tomorrow: &str,
    ) -> Result<Vec<DigestLine>, Error> {
        let tasks = self
            .documents
            .list_tasks(self.on_behalf_of(
                org,
                docs::ListTasksRequest {
                    scope: Some(list_tasks_request::Scope::AssigneeId(person.to_string())),
                    status: TaskStatus::Unspecified.into(),
                    ..Default::default()
                },
            ))
            .await
            .map_err(|e| Error::upstream("documents", &e))?
            .tasks;
        let mut lines: Vec<DigestLine> = tasks
            .into_iter()
            .filter(|t| t.status != i32::from(TaskStatus::Done) && !t.due_date.is_empty())
            // YYYY-MM-DD compares as text.
            .filter(|t| t.due_date.as_str() <= tomorrow)
            .map(|t| DigestLine {
                overdue: t.due_date.as_str() < today,
                link: self.document_link(&t.document_id),
                task: t.title.chars().take(120).collect(),
                due: t.due_date,
            })
            .collect();
        lines.sort_by(|a, b| a.due.cmp(&b.due));
        lines.truncate(DIGEST_LINES);
        Ok(lines)
    }

    /// Organisations (all, or one) with their people.
    pub(crate) async fn people(&self, only: Option<Uuid>) -> Result<Vec<People>, Error> {
        let mut request = tonic::Request::new(users::ListRecipientsRequest {
            organisation_id: only.map(|o| o.to_string()).unwrap_or_default(),
        });
        request.set_timeout(self.timing.call_deadline);
        let found = self
            .users
            .list_recipients(request)
            .await
            .map_err(|e| Error::upstream("users", &e))?;
        Ok(found
            .organisations
            .iter()
            .filter_map(People::from_recipients)
            .collect())
    }
}

fn context<'a>(people: &'a People, person: &'a users::User) -> Context<'a> {
    Context {
        organisation: &people.name,
        person: &person.display_name,
    }
}

fn new_mail(
    org: Uuid,
    user: Uuid,
    person: &users::User,
    kind: Kind,
    cause: &str,
    message: mail::Message,
) -> Mail {
    Mail {
        id: mail::mail_id(user, cause),
        org_id: org,
        user_id: user,
        kind: kind.as_str().to_owned(),
        to_address: person.email.clone(),
        to_name: person.display_name.clone(),
        subject: message.subject,
        text: message.text,
        html: message.html,
        state: "pending".to_owned(),
        attempts: 0,
        last_error: String::new(),
        created_at: now_millis(),
    }
}
