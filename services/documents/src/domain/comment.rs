use uuid::Uuid;

use super::{Task, text::clean};
use crate::error::Error;

/// How long a comment's author may still edit it.
pub(crate) const EDIT_WINDOW_MILLIS: i64 = 15 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommentBody(String);

impl CommentBody {
    pub(crate) fn parse(raw: &str) -> Result<Self, Error> {
        clean("body", raw, 4_000, true).map(Self)
    }
    /// A reason given with a decision: empty means none.
    pub(crate) fn optional(raw: &str) -> Result<Option<Self>, Error> {
        if raw.trim().is_empty() {
            Ok(None)
        } else {
            clean("comment", raw, 4_000, true).map(|b| Some(Self(b)))
        }
    }
    pub(crate) fn from_stored(raw: String) -> Self {
        Self(raw)
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comment {
    pub id: Uuid,
    pub task_id: Uuid,
    pub org_id: Uuid,
    pub author_id: Uuid,
    pub body: CommentBody,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Comment {
    pub(crate) fn new(task: &Task, author_id: Uuid, body: CommentBody, now: i64) -> Self {
        Self {
            id: Uuid::now_v7(),
            task_id: task.id,
            org_id: task.org_id,
            author_id,
            body,
            created_at: now,
            updated_at: now,
        }
    }

    /// Its author rewrites it, within the edit window; nobody else ever.
    pub(crate) fn edit(&mut self, user: Uuid, body: CommentBody, now: i64) -> Result<(), Error> {
        if user != self.author_id {
            return Err(Error::NotYours("only its author edits a comment"));
        }
        if now - self.created_at > EDIT_WINDOW_MILLIS {
            return Err(Error::state(
                "a comment can be edited for 15 minutes after it was written",
            ));
        }
        self.body = body;
        self.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_author_edits_and_only_for_fifteen_minutes() {
        let author = Uuid::now_v7();
        let mut comment = Comment {
            id: Uuid::now_v7(),
            task_id: Uuid::nil(),
            org_id: Uuid::nil(),
            author_id: author,
            body: CommentBody::parse("first").unwrap(),
            created_at: 1_000,
            updated_at: 1_000,
        };
        let body = || CommentBody::parse("second").unwrap();
        assert!(matches!(
            comment.edit(Uuid::now_v7(), body(), 2_000),
            Err(Error::NotYours(_))
        ));
        comment
            .edit(author, body(), 1_000 + EDIT_WINDOW_MILLIS)
            .unwrap();
        assert_eq!(
            (comment.body.as_str(), comment.updated_at),
            ("second", 1_000 + EDIT_WINDOW_MILLIS)
        );
        assert!(matches!(
            comment.edit(author, body(), 1_001 + EDIT_WINDOW_MILLIS),
            Err(Error::State(_))
        ));
        assert!(CommentBody::parse("  ").is_err());
        assert!(CommentBody::parse(&"x".repeat(4_001)).is_err());
        assert_eq!(CommentBody::optional(" ").unwrap(), None);
    }
}
