use uuid::Uuid;

use super::{
    DocumentVersion, TaskStatus,
    text::{clean, clean_line},
};
use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Title(String);

impl Title {
    pub(crate) fn parse(raw: &str) -> Result<Self, Error> {
        clean_line("title", raw, 200).map(Self)
    }
    /// A title as stored: checked when written, under the rules of that time.
    pub(crate) fn from_stored(raw: String) -> Self {
        Self(raw)
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Description(String);

impl Description {
    pub(crate) fn parse(raw: &str) -> Result<Self, Error> {
        clean("description", raw, 10_000, false).map(Self)
    }
    /// A description as stored (see [`Title::from_stored`]).
    pub(crate) fn from_stored(raw: String) -> Self {
        Self(raw)
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tag: one short line, compared case-insensitively (stored lower-case).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Tag(String);

impl Tag {
    pub(crate) fn parse(raw: &str) -> Result<Self, Error> {
        clean_line("tags", raw, 50).map(|t| Self(t.to_lowercase()))
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// At most 20 distinct tags, sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Tags(Vec<Tag>);

impl Tags {
    pub(crate) fn parse(raw: &[String]) -> Result<Self, Error> {
        let mut tags = raw
            .iter()
            .map(|t| Tag::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        tags.sort();
        tags.dedup();
        if tags.len() > 20 {
            return Err(Error::invalid("tags", "must be at most 20"));
        }
        Ok(Self(tags))
    }
    pub(crate) fn from_stored(tags: Vec<String>) -> Self {
        Self(tags.into_iter().map(Tag).collect())
    }
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Document {
    pub id: Uuid,
    pub org_id: Uuid,
    pub title: Title,
    pub description: Description,
    pub tags: Tags,
    pub created_by: Uuid,
    pub created_at: i64,
    pub updated_at: i64,
    pub current_version: u32,
    pub current: Option<DocumentVersion>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct DocumentChanges {
    pub title: Option<Title>,
    pub description: Option<Description>,
    pub tags: Option<Tags>,
}

impl DocumentChanges {
    pub(crate) fn is_empty(&self) -> bool {
        self.title.is_none() && self.description.is_none() && self.tags.is_none()
    }
}

/// What a document list is narrowed to.
#[derive(Debug, Clone, Default)]
pub(crate) struct DocumentFilter {
    /// Lower-cased, matched against title, description and file names.
    pub text: Option<String>,
    pub tag: Option<Tag>,
    pub task_status: Option<TaskStatus>,
}

impl DocumentFilter {
    pub(crate) fn parse(
        text: &str,
        tag: &str,
        task_status: Option<TaskStatus>,
    ) -> Result<Self, Error> {
        let text = clean("query", text, 200, false)?;
        Ok(Self {
            text: (!text.is_empty()).then(|| text.to_lowercase()),
            tag: (!tag.trim().is_empty())
                .then(|| Tag::parse(tag))
                .transpose()?,
            task_status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_normalised() {
        let tags = Tags::parse(&["Tax".into(), "tax".into(), " 2026 ".into()]).unwrap();
        let names: Vec<_> = tags.iter().map(Tag::as_str).collect();
        assert_eq!(names, ["2026", "tax"]);
        assert!(Tags::parse(&["a\nb".into()]).is_err());
        assert!(Tags::parse(&[String::new()]).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(Tags::parse(&many).is_err());
    }

    #[test]
    fn titles_are_single_lines() {
        assert!(Title::parse("Annual report").is_ok());
        assert!(Title::parse("Two\nlines").is_err());
        assert!(Title::parse("").is_err());
        assert!(Title::parse(&"t".repeat(201)).is_err());
        assert!(Description::parse("multi\nline is fine").is_ok());
    }
}
