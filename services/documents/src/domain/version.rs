use uuid::Uuid;

use super::text::{clean, clean_line};
use crate::error::Error;

/// A file name as the user gave it, minus any directory part, safe to show
/// and to put (encoded) in a `Content-Disposition` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileName(String);

impl FileName {
    /// A new name. A `/` ends a directory part ("../../a.pdf" is "a.pdf");
    /// a `\` does not: it is a character of names on OneDrive and elsewhere,
    /// so it is kept (the bff takes the last segment of a browser's Windows
    /// path before it gets here).
    pub(crate) fn parse(raw: &str) -> Result<Self, Error> {
        let base = raw.rsplit('/').next().unwrap_or_default();
        let name = clean("file_name", base, 255, true)?;
        if name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "file_name",
                "must not contain control characters",
            ));
        }
        if name == "." || name == ".." {
            return Err(Error::invalid("file_name", "must name a file"));
        }
        Ok(Self(name))
    }
    /// A name as stored: it was checked when it was written (under the rules
    /// of that time, which must not make old versions unreadable).
    pub(crate) fn from_stored(raw: String) -> Self {
        Self(raw)
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A media type such as `application/pdf`; defaults to `application/octet-stream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MediaType(String);

impl MediaType {
    pub(crate) fn parse(raw: &str) -> Result<Self, Error> {
        let value = raw.trim().to_ascii_lowercase();
        if value.is_empty() {
            return Ok(Self("application/octet-stream".to_owned()));
        }
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        let essence = value.split(';').next().unwrap_or_default().trim();
        let valid = value.len() <= 255
            && value.is_ascii()
            && !value.chars().any(|c| c.is_ascii_control())
            && essence
                .split_once('/')
                .is_some_and(|(t, s)| token(t) && token(s));
        if valid {
            Ok(Self(value))
        } else {
            Err(Error::invalid(
                "media_type",
                "must be a media type such as application/pdf",
            ))
        }
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Note(String);

impl Note {
    pub(crate) fn parse(raw: &str) -> Result<Self, Error> {
        clean("note", raw, 2_000, false).map(Self)
    }
    /// A note as stored (see [`FileName::from_stored`]).
    pub(crate) fn from_stored(raw: String) -> Self {
        Self(raw)
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VersionSource {
    Upload,
    OneDrive,
}

impl VersionSource {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Upload => "upload",
            Self::OneDrive => "onedrive",
        }
    }
    pub(crate) fn from_stored(s: &str) -> Result<Self, Error> {
        match s {
            "upload" => Ok(Self::Upload),
            "onedrive" => Ok(Self::OneDrive),
            _ => Err(Error::Corrupt("version source")),
        }
    }
}

/// One immutable version of a document's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocumentVersion {
    pub document_id: Uuid,
    pub number: u32,
    pub file_name: FileName,
    pub media_type: MediaType,
    pub size: u64,
    pub sha256: String,
    pub blob_key: String,
    pub source: VersionSource,
    pub created_by: Uuid,
    pub created_at: i64,
    pub note: Note,
    /// A short name ("signed", "final"); labelled versions are kept by retention.
    pub label: Option<Label>,
    /// The version whose content this one restored.
    pub restored_from: Option<u32>,
}

/// A version's label: one line of at most 40 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Label(String);

impl Label {
    pub(crate) fn parse(raw: &str) -> Result<Self, Error> {
        clean_line("label", raw, 40).map(Self)
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl DocumentVersion {
    /// The version that restores this one's content (the same blob) after
    /// `current`. Restoring what is already current adds nothing, so it is
    /// refused.
    pub(crate) fn restored_as(
        &self,
        current: Option<&DocumentVersion>,
        actor: Uuid,
        now: i64,
    ) -> Result<DocumentVersion, Error> {
        let Some(current) = current else {
            return Err(Error::state("the document has no current version"));
        };
        if current.sha256 == self.sha256 {
            return Err(Error::state(&format!(
                "v{}'s content is already the current version's (v{})",
                self.number, current.number
            )));
        }
        Ok(DocumentVersion {
            number: current.number + 1,
            source: VersionSource::Upload,
            created_by: actor,
            created_at: now,
            note: Note(format!("restored from v{}", self.number)),
            label: None,
            restored_from: Some(self.number),
            ..self.clone()
        })
    }
}

/// Inclusive byte positions, checked against a content size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteRange {
    pub start: u64,
    pub end: Option<u64>,
}

impl ByteRange {
    /// The half-open range to read from content of `size` bytes; an end past
    /// the content is clamped, a start past it is refused.
    pub(crate) fn resolve(self, size: u64) -> Result<std::ops::Range<u64>, Error> {
        let end = self.end.map_or(size, |e| e.saturating_add(1).min(size));
        if self.start >= size || end <= self.start {
            return Err(Error::RangeNotSatisfiable { size });
        }
        Ok(self.start..end)
    }
}

/// What makes a retried upload safe (docs/adr/0033): the caller names the
/// change it makes, and the same name again answers the first result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdempotencyKey(String);

impl IdempotencyKey {
    pub(crate) const MAX_LEN: usize = 128;

    /// `None` for an empty key (none given).
    pub(crate) fn parse(raw: &str) -> Result<Option<Self>, Error> {
        if raw.is_empty() {
            return Ok(None);
        }
        if raw.len() > Self::MAX_LEN || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid(
                "idempotency_key",
                "must be 1 to 128 printable ASCII characters without spaces",
            ));
        }
        Ok(Some(Self(raw.to_owned())))
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_short_printable_ascii() {
        assert_eq!(IdempotencyKey::parse("").unwrap(), None);
        let key = IdempotencyKey::parse("onedrive:3f2a:01ABC")
            .unwrap()
            .unwrap();
        assert_eq!(key.as_str(), "onedrive:3f2a:01ABC");
        assert!(IdempotencyKey::parse(&"k".repeat(128)).unwrap().is_some());
        for bad in [
            "k".repeat(129),
            "with space".to_owned(),
            "tab\t".to_owned(),
            "é".to_owned(),
        ] {
            assert!(IdempotencyKey::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn file_names_lose_their_paths_and_control_characters_are_refused() {
        assert_eq!(
            FileName::parse("../../etc/passwd").unwrap().as_str(),
            "passwd"
        );
        assert_eq!(
            FileName::parse("Q1\\Q2 report.pdf").unwrap().as_str(),
            "Q1\\Q2 report.pdf",
            "a backslash is part of the name"
        );
        assert!(FileName::parse("invoice\u{202E}fdp.exe").is_err());
        assert_eq!(
            FileName::parse("Résumé \"final\".pdf").unwrap().as_str(),
            "Résumé \"final\".pdf"
        );
        assert!(FileName::parse("evil\r\nSet-Cookie: x.pdf").is_err());
        assert!(FileName::parse("dir/").is_err());
        assert!(FileName::parse("..").is_err());
        assert!(FileName::parse(&"a".repeat(256)).is_err());
    }

    #[test]
    fn media_types_are_checked() {
        assert_eq!(
            MediaType::parse("").unwrap().as_str(),
            "application/octet-stream"
        );
        assert_eq!(
            MediaType::parse("Text/Plain; charset=utf-8")
                .unwrap()
                .as_str(),
            "text/plain; charset=utf-8"
        );
        assert!(MediaType::parse("nonsense").is_err());
        assert!(MediaType::parse("text/plain\r\nX: y").is_err());
    }

    fn version(number: u32, sha: &str) -> DocumentVersion {
        DocumentVersion {
            document_id: Uuid::nil(),
            number,
            file_name: FileName::parse("a.pdf").unwrap(),
            media_type: MediaType::parse("application/pdf").unwrap(),
            size: 3,
            sha256: sha.into(),
            blob_key: format!("org/x/sha256/{sha}"),
            source: VersionSource::OneDrive,
            created_by: Uuid::nil(),
            created_at: 0,
            note: Note::default(),
            label: Some(Label::parse("signed").unwrap()),
            restored_from: None,
        }
    }

    #[test]
    fn restoring_reuses_the_blob_and_refuses_the_current_content() {
        let v1 = version(1, "aa");
        let v3 = version(3, "bb");
        let actor = Uuid::now_v7();
        let v4 = v1.restored_as(Some(&v3), actor, 9).unwrap();
        assert_eq!((v4.number, v4.restored_from), (4, Some(1)));
        assert_eq!(
            (v4.blob_key.as_str(), v4.sha256.as_str()),
            (v1.blob_key.as_str(), "aa")
        );
        assert_eq!(v4.note.as_str(), "restored from v1");
        assert_eq!(
            (v4.created_by, v4.created_at, v4.label.as_ref()),
            (actor, 9, None)
        );
        assert!(matches!(
            v1.restored_as(Some(&v4), actor, 10),
            Err(Error::State(_))
        ));
        assert!(v1.restored_as(None, actor, 10).is_err());
    }

    #[test]
    fn labels_are_short_single_lines() {
        assert_eq!(Label::parse(" final ").unwrap().as_str(), "final");
        assert!(Label::parse(&"l".repeat(40)).is_ok());
        assert!(Label::parse(&"l".repeat(41)).is_err());
        assert!(Label::parse("two\nlines").is_err());
        assert!(Label::parse("").is_err());
    }

    #[test]
    fn ranges_are_resolved_against_the_size() {
        let r = |start, end| ByteRange { start, end };
        assert_eq!(r(0, None).resolve(10).unwrap(), 0..10);
        assert_eq!(r(2, Some(4)).resolve(10).unwrap(), 2..5);
        assert_eq!(r(5, Some(100)).resolve(10).unwrap(), 5..10);
        assert!(r(10, None).resolve(10).is_err());
        assert!(r(4, Some(3)).resolve(10).is_err());
        assert!(r(0, None).resolve(0).is_err());
    }
}
