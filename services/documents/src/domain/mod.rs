//! Documents' types and rules. No I/O here.

mod cursor;
mod document;
mod event;
mod task;
mod text;
mod version;

pub use cursor::ListCursor;
pub use document::{Description, Document, DocumentChanges, DocumentFilter, Tag, Tags, Title};
pub use event::{Event, EventKind};
pub use task::{DueDate, Task, TaskChanges, TaskStatus, parse_task_title};
pub use version::{ByteRange, DocumentVersion, FileName, MediaType, Note, VersionSource};
