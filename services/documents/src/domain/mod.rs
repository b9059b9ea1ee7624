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

pub use comment::{Comment, CommentBody};
pub use cursor::ListCursor;
pub use document::{Description, Document, DocumentChanges, DocumentFilter, Tag, Tags, Title};
pub use event::{Event, EventKind, IntegrationNote};
pub use my_tasks::{DUE_SOON_DAYS, GroupBounds, TaskCursor, TaskGroup};
pub use retention::{RetentionPolicy, VersionFacts, select_removals};
pub use task::{
    ApprovalState, Decision, DueDate, Task, TaskChanges, TaskKind, TaskStatus, VersionEffect,
    approval_state, parse_task_title, version_arrived,
};
pub use version::{
    ByteRange, DocumentVersion, FileName, IdempotencyKey, Label, MediaType, Note, VersionSource,
};
