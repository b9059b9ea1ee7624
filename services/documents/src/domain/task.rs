use time::{Date, macros::format_description};
use uuid::Uuid;

use super::{Description, text::clean_line};
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    Open,
    InProgress,
    Done,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InProgress => "in_progress",
            Self::Done => "done",
        }
    }
    pub fn from_stored(s: &str) -> Result<Self, Error> {
        match s {
            "open" => Ok(Self::Open),
            "in_progress" => Ok(Self::InProgress),
            "done" => Ok(Self::Done),
            _ => Err(Error::Corrupt("task status")),
        }
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueDate(Date);

impl DueDate {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        Date::parse(raw.trim(), format_description!("[year]-[month]-[day]"))
            .map(Self)
            .map_err(|_| Error::invalid("due_date", "must be a date such as 2026-12-31"))
    }
    pub fn to_text(self) -> String {
        let format = format_description!("[year]-[month]-[day]");
        self.0.format(format).unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: Uuid,
    pub document_id: Uuid,
    pub org_id: Uuid,
    pub title: String,
    pub description: Description,
    pub status: TaskStatus,
    pub assignee_id: Option<Uuid>,
    pub due_date: Option<DueDate>,
    pub created_by: Uuid,
    pub created_at: i64,
    pub updated_at: i64,
    pub completed_at: Option<i64>,
}

pub fn parse_task_title(raw: &str) -> Result<String, Error> {
    clean_line("title", raw, 200)
}

/// What an update changes; `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default)]
pub struct TaskChanges {
    pub title: Option<String>,
    pub description: Option<Description>,
    pub status: Option<TaskStatus>,
    pub assignee_id: Option<Option<Uuid>>,
    pub due_date: Option<Option<DueDate>>,
}

impl TaskChanges {
    pub fn apply(&self, task: &mut Task, now: i64) {
        if let Some(title) = &self.title {
            task.title.clone_from(title);
        }
        if let Some(description) = &self.description {
            task.description = description.clone();
        }
        if let Some(assignee) = self.assignee_id {
            task.assignee_id = assignee;
        }
        if let Some(due) = self.due_date {
            task.due_date = due;
        }
        if let Some(status) = self.status {
            // Completion is stamped when a task becomes done, cleared when it reopens.
            task.completed_at = match (task.status, status) {
                (TaskStatus::Done, TaskStatus::Done) => task.completed_at,
                (_, TaskStatus::Done) => Some(now),
                (_, TaskStatus::Open | TaskStatus::InProgress) => None,
            };
            task.status = status;
        }
        task.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_dates_parse_strictly() {
        assert_eq!(
            DueDate::parse("2026-02-28").unwrap().to_text(),
            "2026-02-28"
        );
        assert!(DueDate::parse("2026-02-30").is_err());
        assert!(DueDate::parse("tomorrow").is_err());
    }

    #[test]
    fn completing_stamps_and_reopening_clears() {
        let mut task = Task {
            id: Uuid::nil(),
            document_id: Uuid::nil(),
            org_id: Uuid::nil(),
            title: "t".into(),
            description: Description::default(),
            status: TaskStatus::Open,
            assignee_id: None,
            due_date: None,
            created_by: Uuid::nil(),
            created_at: 0,
            updated_at: 0,
            completed_at: None,
        };
        let done = TaskChanges {
            status: Some(TaskStatus::Done),
            ..Default::default()
        };
        done.apply(&mut task, 5);
        assert_eq!(task.completed_at, Some(5));
        done.apply(&mut task, 9);
        assert_eq!(task.completed_at, Some(5));
        TaskChanges {
            status: Some(TaskStatus::Open),
            ..Default::default()
        }
        .apply(&mut task, 10);
        assert_eq!(task.completed_at, None);
    }
}
