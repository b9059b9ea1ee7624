//! "What do I do now": the one group each of the caller's tasks falls in,
//! the most pressing first, and where a page of them ends.
//!
//! These are the rules; the store's query orders by the same groups so a
//! page is one query (the bounds below are its parameters).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::DueDate;
#[cfg(test)]
use super::{Decision, Task, TaskKind, TaskStatus};
use crate::error::Error;

/// A due date this many days ahead (or fewer) is "due soon".
pub(crate) const DUE_SOON_DAYS: i64 = 7;

/// The groups of My tasks, in the order they are shown (and paged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TaskGroup {
    Overdue,
    DueSoon,
    Stale,
    AwaitingApproval,
    RequestsToMe,
    Later,
    Done,
}

impl TaskGroup {
    pub(crate) const ALL: [Self; 7] = [
        Self::Overdue,
        Self::DueSoon,
        Self::Stale,
        Self::AwaitingApproval,
        Self::RequestsToMe,
        Self::Later,
        Self::Done,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Overdue => "overdue",
            Self::DueSoon => "due_soon",
            Self::Stale => "stale",
            Self::AwaitingApproval => "awaiting_approval",
            Self::RequestsToMe => "requests",
            Self::Later => "later",
            Self::Done => "done",
        }
    }

    pub(crate) fn parse(raw: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == raw.trim())
            .ok_or_else(|| {
                Error::invalid(
                    "group",
                    "must be one of overdue, due_soon, stale, awaiting_approval, requests, later, done",
                )
            })
    }

    /// Position in the order, as the query sorts by it.
    pub(crate) fn rank(self) -> u8 {
        match self {
            Self::Overdue => 0,
            Self::DueSoon => 1,
            Self::Stale => 2,
            Self::AwaitingApproval => 3,
            Self::RequestsToMe => 4,
            Self::Later => 5,
            Self::Done => 6,
        }
    }

    pub(crate) fn from_rank(rank: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.rank() == rank)
    }
}

/// The dates grouping is measured against, fixed once per request so every
/// page of a listing groups alike. Days are UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupBounds {
    /// Due before this: overdue.
    pub today: DueDate,
    /// Due on or before this (and not overdue): due soon.
    pub soon_until: DueDate,
}

impl GroupBounds {
    pub(crate) fn at(now_millis: i64) -> Self {
        let now = OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_millis) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let today = now.date();
        let soon_until = today
            .checked_add(Duration::days(DUE_SOON_DAYS))
            .unwrap_or(today);
        Self {
            today: DueDate::from_date(today),
            soon_until: DueDate::from_date(soon_until),
        }
    }

    /// The one group `task` belongs to, the most pressing first: done work
    /// is done whatever its date; a date beats staleness; stale work beats
    /// what it asks for. The store computes the same in SQL; this is its
    /// statement for the unit tests.
    #[cfg(test)]
    pub(crate) fn group_of(self, task: &Task) -> TaskGroup {
        if task.status == TaskStatus::Done {
            return TaskGroup::Done;
        }
        match task.due_date {
            Some(due) if due < self.today => return TaskGroup::Overdue,
            Some(due) if due <= self.soon_until => return TaskGroup::DueSoon,
            _ => {}
        }
        if task.is_stale() {
            return TaskGroup::Stale;
        }
        match (task.kind, task.decision) {
            (TaskKind::Approval, None) => TaskGroup::AwaitingApproval,
            (TaskKind::Request, _) if task.status == TaskStatus::Open => TaskGroup::RequestsToMe,
            (TaskKind::Approval, Some(Decision::Approved | Decision::Rejected))
            | (TaskKind::Todo | TaskKind::Request, _) => TaskGroup::Later,
        }
    }
}

/// Where a page of My tasks ends: the last row's group, due date (none
/// sorts last within a group) and id. Opaque to callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TaskCursor {
    pub group: TaskGroup,
    pub due_date: Option<DueDate>,
    pub id: Uuid,
}

impl TaskCursor {
    pub(crate) fn encode(self) -> String {
        let due = self.due_date.map(DueDate::to_text).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(format!("{}:{due}:{}", self.group.rank(), self.id))
    }

    pub(crate) fn decode(raw: &str) -> Result<Self, Error> {
        let bad = || Error::invalid("cursor", "is not a cursor from a previous page");
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.splitn(3, ':');
        let (Some(rank), Some(due), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let group = rank
            .parse()
            .ok()
            .and_then(TaskGroup::from_rank)
            .ok_or_else(bad)?;
        let due_date = match due {
            "" => None,
            due => Some(DueDate::parse(due).map_err(|_| bad())?),
        };
        Ok(Self {
            group,
            due_date,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Description;

    fn task(kind: TaskKind, due: Option<&str>) -> Task {
        Task {
            id: Uuid::now_v7(),
            document_id: Some(Uuid::nil()),
            org_id: Uuid::nil(),
            kind,
            version: 1,
            title: "t".into(),
            description: Description::default(),
            status: TaskStatus::Open,
            assignee_id: None,
            due_date: due.map(|d| DueDate::parse(d).unwrap()),
            created_by: Uuid::nil(),
            created_at: 0,
            updated_at: 0,
            completed_at: None,
            decision: None,
            decided_by: None,
            decided_at: None,
            current_version: 1,
            latest: None,
        }
    }

    /// 2026-12-01T23:30:00Z.
    const NOW: i64 = 1_796_167_800_000;

    #[test]
    fn due_soon_is_today_through_seven_days_ahead_in_utc() {
        let bounds = GroupBounds::at(NOW);
        assert_eq!(bounds.today.to_text(), "2026-12-01");
        assert_eq!(bounds.soon_until.to_text(), "2026-12-08");
        let group = |due| bounds.group_of(&task(TaskKind::Todo, Some(due)));
        assert_eq!(group("2026-11-30"), TaskGroup::Overdue);
        assert_eq!(
            group("2026-12-01"),
            TaskGroup::DueSoon,
            "today is not overdue"
        );
        assert_eq!(group("2026-12-08"), TaskGroup::DueSoon);
        assert_eq!(group("2026-12-09"), TaskGroup::Later);
        // Half an hour later it is the next UTC day.
        let next = GroupBounds::at(NOW + 30 * 60 * 1000);
        assert_eq!(
            next.group_of(&task(TaskKind::Todo, Some("2026-12-01"))),
            TaskGroup::Overdue
        );
    }

    #[test]
    fn each_task_falls_in_its_most_pressing_group() {
        let bounds = GroupBounds::at(NOW);
        let mut stale = task(TaskKind::Todo, None);
        stale.current_version = 2;
        assert_eq!(bounds.group_of(&stale), TaskGroup::Stale);
        stale.due_date = Some(DueDate::parse("2026-11-01").unwrap());
        assert_eq!(
            bounds.group_of(&stale),
            TaskGroup::Overdue,
            "a date beats staleness"
        );

        let approval = task(TaskKind::Approval, None);
        assert_eq!(bounds.group_of(&approval), TaskGroup::AwaitingApproval);
        let mut decided = approval;
        decided.decision = Some(Decision::Approved);
        assert_eq!(bounds.group_of(&decided), TaskGroup::Later);

        let mut request = task(TaskKind::Request, None);
        assert_eq!(bounds.group_of(&request), TaskGroup::RequestsToMe);
        request.status = TaskStatus::InProgress;
        assert_eq!(bounds.group_of(&request), TaskGroup::Later);

        let mut done = task(TaskKind::Todo, Some("2026-11-01"));
        done.status = TaskStatus::Done;
        assert_eq!(
            bounds.group_of(&done),
            TaskGroup::Done,
            "done whatever its date"
        );
    }

    #[test]
    fn groups_parse_and_cursors_round_trip_and_refuse_garbage() {
        for group in TaskGroup::ALL {
            assert_eq!(TaskGroup::parse(group.as_str()).unwrap(), group);
        }
        assert!(TaskGroup::parse("urgent").is_err());
        let cursor = TaskCursor {
            group: TaskGroup::DueSoon,
            due_date: Some(DueDate::parse("2026-12-03").unwrap()),
            id: Uuid::now_v7(),
        };
        assert_eq!(TaskCursor::decode(&cursor.encode()).unwrap(), cursor);
        let undated = TaskCursor {
            due_date: None,
            ..cursor
        };
        assert_eq!(TaskCursor::decode(&undated.encode()).unwrap(), undated);
        for garbage in [
            "garbage!",
            "",
            &URL_SAFE_NO_PAD.encode("9::x"),
            &URL_SAFE_NO_PAD.encode("1:2026-13-40:x"),
        ] {
            assert!(TaskCursor::decode(garbage).is_err(), "{garbage}");
        }
    }
}
