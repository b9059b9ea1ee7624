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
use time::{
    Duration as Span, OffsetDateTime, format_description::BorrowedFormatItem,
    macros::format_description,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Engine, mailer::SendError, millis};
use crate::{
    domain::mail::{self, Choice, Context, DigestLine, Kind, Preferences},
    error::Error,
    store::mails::{self, Mail},
};

const BATCH: u32 = 20;
/// Tasks in one digest, at most (the body's size is bounded).
const DIGEST_LINES: usize = 20;
const DAY: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// One organisation's name and people, as users lists them.
#[derive(Debug, Clone)]
pub struct People {
    pub org_id: Uuid,
    pub name: String,
    pub users: Vec<users::User>,
}

impl People {
    pub fn from_recipients(r: &users::OrganisationRecipients) -> Option<Self> {
        let org = r.organisation.as_ref()?;
        Some(Self {
            org_id: org.id.parse().ok()?,
            name: org.name.clone(),
            users: r.users.clone(),
        })
    }

    /// An enabled member by id.
    pub fn member(&self, id: Uuid) -> Option<&users::User> {
        let id = id.to_string();
        self.users.iter().find(|u| u.id == id && !u.disabled)
    }
}

impl Engine {
    /// The portal page of a document.
    pub(crate) fn document_link(&self, document_id: &str) -> String {
        let base = self.mail.public_url.as_str().trim_end_matches('/');
        format!("{base}/#/documents/{document_id}")
    }

    /// The email telling `person` of an assignment, or None when they chose
    /// not to be told at once (or mail is off).
    pub(crate) fn assignment_mail(
        &self,
        people: &People,
        person: &users::User,
        preferences: &Preferences,
        cause: &str,
        task_title: &str,
        document: (&str, &str),
    ) -> Option<Mail> {
        if self.mailer.is_off() || preferences.choice(Kind::Assignment) != Choice::Immediate {
            return None;
        }
        let user_id: Uuid = person.id.parse().ok()?;
        let message = mail::assignment(
            &Context {
                organisation: &people.name,
                person: &person.display_name,
            },
            task_title,
            document.1,
            &self.document_link(document.0),
        );
        Some(new_mail(
            people.org_id,
            user_id,
            person,
            Kind::Assignment,
            cause,
            message,
        ))
    }

    pub async fn preferences(&self, actor: &Actor) -> Result<Vec<(Kind, Choice)>, Error> {
        let mut conn = self.db.reader().acquire().await?;
        Ok(mails::preferences(&mut conn, actor.user_id).await?.all())
    }

    pub async fn update_preferences(
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
    pub async fn mail_problems(&self, actor: &Actor) -> Result<Vec<Mail>, Error> {
        if actor.role != ActorRole::Admin {
            return Err(Error::Forbidden("only admins see mail problems"));
        }
        let mut conn = self.db.reader().acquire().await?;
        mails::problems(&mut conn, actor.org_id, 100).await
    }

    pub async fn run_mail_sender(self: Arc<Self>, stop: CancellationToken) {
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
    pub async fn send_due_mails(&self) -> Result<u32, Error> {
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
    /// who wants reminders gets one mail listing their open tasks due
    /// tomorrow or overdue.
    pub async fn digest_once(&self, now: OffsetDateTime) -> Result<u32, Error> {
        if self.mailer.is_off() || now.hour() < self.mail.digest_hour {
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
                if preferences.choice(Kind::Reminder) != Choice::Daily {
                    continue;
                }
                let lines = self
                    .digest_lines(people.org_id, user_id, &day, &tomorrow)
                    .await?;
                if lines.is_empty() {
                    continue;
                }
                let message = mail::digest(
                    &Context {
                        organisation: &people.name,
                        person: &person.display_name,
                    },
                    &lines,
                );
                let mail = new_mail(
                    people.org_id,
                    user_id,
                    person,
                    Kind::Reminder,
                    &format!("digest/{day}"),
                    message,
                );
                let mut conn = self.db.pool.acquire().await?;
                if mails::insert(&mut conn, &mail, now_millis()).await? {
                    made += 1;
                }
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
