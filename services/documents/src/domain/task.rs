use time::{Date, macros::format_description};
use uuid::Uuid;

use super::{Description, DocumentVersion, text::clean_line};
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskStatus {
    Open,
    InProgress,
    Done,
}

impl TaskStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InProgress => "in_progress",
            Self::Done => "done",
        }
    }
    pub(crate) fn from_stored(s: &str) -> Result<Self, Error> {
        match s {
            "open" => Ok(Self::Open),
            "in_progress" => Ok(Self::InProgress),
            "done" => Ok(Self::Done),
            _ => Err(Error::Corrupt("task status")),
        }
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct DueDate(Date);

impl DueDate {
    pub(crate) fn from_date(date: Date) -> Self {
        Self(date)
    }
    pub(crate) fn parse(raw: &str) -> Result<Self, Error> {
        Date::parse(raw.trim(), format_description!("[year]-[month]-[day]"))
            .map(Self)
            .map_err(|_| Error::invalid("due_date", "must be a date such as 2026-12-31"))
    }
    pub(crate) fn to_text(self) -> String {
        let format = format_description!("[year]-[month]-[day]");
        self.0.format(format).unwrap_or_default()
    }
}

/// What a task asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskKind {
    /// Work on the document as it is at the pinned version.
    Todo,
    /// The assignee approves or rejects exactly the pinned version.
    Approval,
    /// The assignee provides the document, or a new version of it.
    Request,
}

impl TaskKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Todo => "todo",
            Self::Approval => "approval",
            Self::Request => "request",
        }
    }
    pub(crate) fn from_stored(s: &str) -> Result<Self, Error> {
        match s {
            "todo" => Ok(Self::Todo),
            "approval" => Ok(Self::Approval),
            "request" => Ok(Self::Request),
            _ => Err(Error::Corrupt("task kind")),
        }
    }
}

/// An approver's answer about one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Approved,
    Rejected,
}

impl Decision {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }
    pub(crate) fn from_stored(s: &str) -> Result<Self, Error> {
        match s {
            "approved" => Ok(Self::Approved),
            "rejected" => Ok(Self::Rejected),
            _ => Err(Error::Corrupt("decision")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Task {
    pub id: Uuid,
    /// None only for a request whose document does not exist yet.
    pub document_id: Option<Uuid>,
    pub org_id: Uuid,
    pub kind: TaskKind,
    /// The version the task is about; 0 while its document has none.
    pub version: u32,
    pub title: String,
    pub description: Description,
    pub status: TaskStatus,
    pub assignee_id: Option<Uuid>,
    pub due_date: Option<DueDate>,
    pub created_by: Uuid,
    pub created_at: i64,
    pub updated_at: i64,
    pub completed_at: Option<i64>,
    pub decision: Option<Decision>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<i64>,
    /// The document's current version when the task was read (not stored).
    pub current_version: u32,
    /// That current version, to say what changed when the task is stale.
    pub latest: Option<DocumentVersion>,
}

impl Task {
    /// Open work about an older version than the current one. Approvals are
    /// re-pinned instead, and done work never goes stale.
    pub(crate) fn is_stale(&self) -> bool {
        self.kind != TaskKind::Approval
            && self.status != TaskStatus::Done
            && self.version < self.current_version
    }

    fn is_assignee(&self, user: Uuid) -> bool {
        self.assignee_id == Some(user)
    }

    /// Who may carry forward or close stale work: its assignee, whatever
    /// their role, or anyone who may write.
    pub(crate) fn may_resolve(&self, user: Uuid, can_write: bool) -> bool {
        can_write || self.is_assignee(user)
    }

    /// Re-pins stale work to the current version; answers the version it
    /// was pinned to before.
    pub(crate) fn carry_forward(&mut self, now: i64) -> Result<u32, Error> {
        if !self.is_stale() {
            return Err(Error::state("only stale tasks can be carried forward"));
        }
        let from = self.version;
        self.version = self.current_version;
        self.updated_at = now;
        Ok(from)
    }

    /// Closes stale work without carrying it forward.
    pub(crate) fn close(&mut self, now: i64) -> Result<(), Error> {
        if !self.is_stale() {
            return Err(Error::state(
                "only stale tasks can be closed this way; set the status instead",
            ));
        }
        self.status = TaskStatus::Done;
        self.completed_at = Some(now);
        self.updated_at = now;
        Ok(())
    }

    /// The approver's decision on the pinned version. Only the named
    /// approver decides (anyone who may write, when nobody is named), once
    /// per version; a rejection needs a reason.
    pub(crate) fn decide(
        &mut self,
        user: Uuid,
        can_write: bool,
        decision: Decision,
        comment: &str,
        now: i64,
    ) -> Result<(), Error> {
        if self.kind != TaskKind::Approval {
            return Err(Error::state("only approval tasks take a decision"));
        }
        let allowed = match self.assignee_id {
            Some(approver) => approver == user,
            None => can_write,
        };
        if !allowed {
            return Err(Error::NotYours("only the named approver decides"));
        }
        if self.status == TaskStatus::Done || self.decision.is_some() {
            return Err(Error::state(&format!(
                "v{} is already decided; a new version asks again",
                self.version
            )));
        }
        if decision == Decision::Rejected && comment.trim().is_empty() {
            return Err(Error::invalid("comment", "is required to reject"));
        }
        self.decision = Some(decision);
        self.decided_by = Some(user);
        self.decided_at = Some(now);
        if decision == Decision::Approved {
            self.status = TaskStatus::Done;
            self.completed_at = Some(now);
        }
        self.updated_at = now;
        Ok(())
    }

    /// An open approval asks again about the new version; the old decision
    /// stays in the event log.
    fn repin(&mut self, number: u32, now: i64) {
        self.version = number;
        self.decision = None;
        self.decided_by = None;
        self.decided_at = None;
        self.status = TaskStatus::Open;
        self.completed_at = None;
        self.updated_at = now;
    }

    /// Whether `user` may fulfil this request: its assignee, or a writer.
    pub(crate) fn check_fulfil(&self, user: Uuid, can_write: bool) -> Result<(), Error> {
        if self.kind != TaskKind::Request {
            return Err(Error::state("only requests are fulfilled"));
        }
        if !(can_write || self.is_assignee(user)) {
            return Err(Error::NotYours("only the assignee fulfils a request"));
        }
        if self.status != TaskStatus::Open {
            return Err(Error::state(match self.status {
                TaskStatus::InProgress => "the request is already fulfilled and awaits review",
                TaskStatus::Done | TaskStatus::Open => "the request is closed",
            }));
        }
        Ok(())
    }

    /// The uploaded version fulfils the request; it awaits review.
    pub(crate) fn fulfil(&mut self, document_id: Uuid, number: u32, now: i64) {
        self.document_id = Some(document_id);
        self.version = number;
        self.current_version = number;
        self.status = TaskStatus::InProgress;
        self.updated_at = now;
    }

    /// The requester's review of a fulfilled request: accepted it is done,
    /// rejected (with a reason) it is open again for another upload.
    pub(crate) fn review(&mut self, accept: bool, reason: &str, now: i64) -> Result<(), Error> {
        if self.kind != TaskKind::Request {
            return Err(Error::state("only requests are accepted or rejected"));
        }
        if self.status != TaskStatus::InProgress {
            return Err(Error::state("only a fulfilled request awaiting review"));
        }
        if accept {
            self.status = TaskStatus::Done;
            self.completed_at = Some(now);
        } else {
            if reason.trim().is_empty() {
                return Err(Error::invalid("reason", "is required to reject"));
            }
            self.status = TaskStatus::Open;
        }
        self.updated_at = now;
        Ok(())
    }
}

/// Where a document stands with its approvals: the latest approval's
/// version and its decision (`None`: awaiting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApprovalState {
    pub version: u32,
    pub decision: Option<Decision>,
    pub approver_id: Option<Uuid>,
    pub decided_at: Option<i64>,
}

/// The state of the approval about the newest version (the latest change
/// among several), or none when the document never had an approval.
pub(crate) fn approval_state(tasks: &[Task]) -> Option<ApprovalState> {
    tasks
        .iter()
        .filter(|t| t.kind == TaskKind::Approval)
        .max_by_key(|t| (t.version, t.updated_at))
        .map(|t| ApprovalState {
            version: t.version,
            decision: t.decision,
            approver_id: t.assignee_id,
            decided_at: t.decided_at,
        })
}

/// What a new version does to one of its document's tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VersionEffect {
    /// Open work pinned to `from` has become stale.
    Stale { task_id: Uuid, from: u32 },
    /// An open approval of `from` now asks about the new version.
    Repinned { task_id: Uuid, from: u32 },
}

/// Applies a new version `number`, which follows `previous`, to the
/// document's tasks: open approvals are re-pinned, open work that was about
/// `previous` becomes stale (once: already stale work stays as it is).
/// Answers the tasks changed and what happened to each.
pub(crate) fn version_arrived(
    tasks: &mut [Task],
    previous: u32,
    number: u32,
    now: i64,
) -> Vec<(usize, VersionEffect)> {
    let mut effects = Vec::new();
    for (i, task) in tasks.iter_mut().enumerate() {
        task.current_version = number;
        if task.status == TaskStatus::Done || task.version >= number {
            continue;
        }
        let was_stale = task.version < previous;
        match task.kind {
            TaskKind::Approval => {
                let from = task.version;
                task.repin(number, now);
                effects.push((
                    i,
                    VersionEffect::Repinned {
                        task_id: task.id,
                        from,
                    },
                ));
            }
            TaskKind::Todo | TaskKind::Request if !was_stale => {
                effects.push((
                    i,
                    VersionEffect::Stale {
                        task_id: task.id,
                        from: task.version,
                    },
                ));
            }
            TaskKind::Todo | TaskKind::Request => {}
        }
    }
    effects
}

pub(crate) fn parse_task_title(raw: &str) -> Result<String, Error> {
    clean_line("title", raw, 200)
}

/// What an update changes; `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default)]
pub(crate) struct TaskChanges {
    pub title: Option<String>,
    pub description: Option<Description>,
    pub status: Option<TaskStatus>,
    pub assignee_id: Option<Option<Uuid>>,
    pub due_date: Option<Option<DueDate>>,
}

impl TaskChanges {
    pub(crate) fn apply(&self, task: &mut Task, now: i64) {
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

    fn task(kind: TaskKind, version: u32, current: u32) -> Task {
        Task {
            id: Uuid::now_v7(),
            document_id: Some(Uuid::nil()),
            org_id: Uuid::nil(),
            kind,
            version,
            title: "t".into(),
            description: Description::default(),
            status: TaskStatus::Open,
            assignee_id: None,
            due_date: None,
            created_by: Uuid::nil(),
            created_at: 0,
            updated_at: 0,
            completed_at: None,
            decision: None,
            decided_by: None,
            decided_at: None,
            current_version: current,
            latest: None,
        }
    }

    #[test]
    fn a_new_version_makes_open_work_stale_once_and_repins_approvals() {
        let mut done = task(TaskKind::Todo, 2, 2);
        done.status = TaskStatus::Done;
        let mut approved = task(TaskKind::Approval, 2, 2);
        approved
            .decide(Uuid::nil(), true, Decision::Approved, "", 1)
            .unwrap();
        let mut rejected = task(TaskKind::Approval, 2, 2);
        rejected
            .decide(Uuid::nil(), true, Decision::Rejected, "typo on p. 2", 1)
            .unwrap();
        let mut tasks = vec![
            task(TaskKind::Todo, 2, 2),
            task(TaskKind::Request, 2, 2),
            task(TaskKind::Todo, 1, 2),
            done,
            approved,
            rejected,
        ];
        let effects = version_arrived(&mut tasks, 2, 3, 10);
        let kinds: Vec<_> = effects
            .iter()
            .map(|(i, e)| match e {
                VersionEffect::Stale { from, .. } => (*i, "stale", *from),
                VersionEffect::Repinned { from, .. } => (*i, "repinned", *from),
            })
            .collect();
        // The already stale todo (index 2), the done todo and the approved
        // (done) approval are left alone.
        assert_eq!(
            kinds,
            [(0, "stale", 2), (1, "stale", 2), (5, "repinned", 2)]
        );
        assert!(tasks[0].is_stale() && tasks[1].is_stale() && tasks[2].is_stale());
        assert!(!tasks[3].is_stale(), "done work never goes stale");
        assert_eq!(tasks[4].decision, Some(Decision::Approved));
        assert_eq!(tasks[4].version, 2);
        let repinned = &tasks[5];
        assert_eq!((repinned.version, repinned.decision), (3, None));
        assert!(!repinned.is_stale(), "approvals are re-pinned, never stale");
    }

    #[test]
    fn the_document_shows_its_newest_approval() {
        assert_eq!(approval_state(&[task(TaskKind::Todo, 1, 1)]), None);
        let approver = Uuid::now_v7();
        let mut old = task(TaskKind::Approval, 3, 4);
        old.assignee_id = Some(approver);
        old.decide(approver, false, Decision::Approved, "", 5)
            .unwrap();
        let state = approval_state(&[old.clone()]).unwrap();
        assert_eq!(
            (
                state.version,
                state.decision,
                state.approver_id,
                state.decided_at
            ),
            (3, Some(Decision::Approved), Some(approver), Some(5))
        );
        let mut newer = task(TaskKind::Approval, 4, 4);
        newer.assignee_id = Some(approver);
        let state = approval_state(&[old, newer]).unwrap();
        assert_eq!(
            (state.version, state.decision),
            (4, None),
            "v4 awaiting approval"
        );
    }

    #[test]
    fn stale_work_is_carried_forward_or_closed() {
        let mut stale = task(TaskKind::Todo, 1, 3);
        assert_eq!(stale.carry_forward(5).unwrap(), 1);
        assert_eq!(stale.version, 3);
        assert!(!stale.is_stale());
        assert!(stale.carry_forward(6).is_err(), "only stale work");
        assert!(stale.close(6).is_err());
        let mut other = task(TaskKind::Request, 2, 3);
        other.close(7).unwrap();
        assert_eq!(
            (other.status, other.completed_at),
            (TaskStatus::Done, Some(7))
        );
        let mut approval = task(TaskKind::Approval, 1, 3);
        assert!(approval.carry_forward(1).is_err());
        let assignee = Uuid::now_v7();
        approval.assignee_id = Some(assignee);
        assert!(approval.may_resolve(assignee, false));
        assert!(!approval.may_resolve(Uuid::now_v7(), false));
        assert!(approval.may_resolve(Uuid::now_v7(), true));
    }

    #[test]
    fn only_the_named_approver_decides_once_and_rejecting_needs_a_reason() {
        let approver = Uuid::now_v7();
        let editor = Uuid::now_v7();
        let mut approval = task(TaskKind::Approval, 3, 3);
        approval.assignee_id = Some(approver);
        assert!(matches!(
            approval.decide(editor, true, Decision::Approved, "", 1),
            Err(Error::NotYours(_))
        ));
        assert!(matches!(
            approval.decide(approver, false, Decision::Rejected, "  ", 1),
            Err(Error::InvalidInput { .. })
        ));
        assert_eq!(approval.decision, None);
        approval
            .decide(approver, false, Decision::Rejected, "wrong figures", 2)
            .unwrap();
        assert_eq!(approval.status, TaskStatus::Open);
        assert!(
            approval
                .decide(approver, false, Decision::Approved, "", 3)
                .is_err()
        );
        approval.repin(4, 4);
        approval
            .decide(approver, false, Decision::Approved, "", 5)
            .unwrap();
        assert_eq!(
            (approval.decision, approval.decided_by, approval.status),
            (Some(Decision::Approved), Some(approver), TaskStatus::Done)
        );
        let mut todo = task(TaskKind::Todo, 1, 1);
        assert!(matches!(
            todo.decide(editor, true, Decision::Approved, "", 1),
            Err(Error::State(_))
        ));
    }

    #[test]
    fn requests_go_open_fulfilled_then_accepted_or_back_to_open() {
        let client = Uuid::now_v7();
        let mut request = task(TaskKind::Request, 0, 0);
        request.document_id = None;
        request.assignee_id = Some(client);
        assert!(matches!(
            request.check_fulfil(Uuid::now_v7(), false),
            Err(Error::NotYours(_))
        ));
        request.check_fulfil(client, false).unwrap();
        assert!(
            request.review(true, "", 1).is_err(),
            "nothing to review yet"
        );
        let document = Uuid::now_v7();
        request.fulfil(document, 1, 2);
        assert_eq!(
            (request.status, request.document_id, request.version),
            (TaskStatus::InProgress, Some(document), 1)
        );
        assert!(
            request.check_fulfil(client, false).is_err(),
            "awaits review"
        );
        assert!(
            request.review(false, "", 3).is_err(),
            "a reason is required"
        );
        request.review(false, "last year's statement", 3).unwrap();
        assert_eq!(request.status, TaskStatus::Open);
        request.check_fulfil(client, false).unwrap();
        request.fulfil(document, 2, 4);
        request.review(true, "", 5).unwrap();
        assert_eq!(
            (request.status, request.completed_at),
            (TaskStatus::Done, Some(5))
        );
        assert!(request.check_fulfil(client, false).is_err(), "closed");
        let todo = task(TaskKind::Todo, 1, 1);
        assert!(matches!(
            todo.check_fulfil(client, true),
            Err(Error::State(_))
        ));
    }

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
        let mut task = task(TaskKind::Todo, 1, 1);
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
