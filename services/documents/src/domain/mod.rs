//! Documents' types and rules. No I/O here.

mod comment;
mod cursor;
mod document;
mod event;
mod my_tasks;
mod retention;
mod task;
mod text;
mod version;

pub(crate) use comment::{Comment, CommentBody};
pub(crate) use cursor::ListCursor;
pub(crate) use document::{
    Description, Document, DocumentChanges, DocumentFilter, Tag, Tags, Title,
};
pub(crate) use event::{Event, EventKind, IntegrationNote};
pub(crate) use my_tasks::{GroupBounds, TaskCursor, TaskGroup};
pub(crate) use retention::{RetentionPolicy, VersionFacts, select_removals};
pub(crate) use task::{
    ApprovalState, Decision, DueDate, Task, TaskChanges, TaskKind, TaskStatus, VersionEffect,
    approval_state, parse_task_title, version_arrived,
};
pub(crate) use version::{
    ByteRange, DocumentVersion, FileName, IdempotencyKey, Label, MediaType, Note, VersionSource,
};
