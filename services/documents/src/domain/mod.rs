//! Documents' types and rules. No I/O here.

mod comment;
mod cursor;
mod document;
mod event;
mod retention;
mod task;
mod text;
mod version;

pub use comment::{Comment, CommentBody};
pub use cursor::ListCursor;
pub use document::{Description, Document, DocumentChanges, DocumentFilter, Tag, Tags, Title};
pub use event::{Event, EventKind};
pub use retention::{RetentionPolicy, VersionFacts, select_removals};
pub use task::{
    ApprovalState, Decision, DueDate, Task, TaskChanges, TaskKind, TaskStatus, VersionEffect,
    approval_state, parse_task_title, version_arrived,
};
pub use version::{ByteRange, DocumentVersion, FileName, Label, MediaType, Note, VersionSource};
