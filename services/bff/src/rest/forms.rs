//! Request bodies and their checks, as strict as `openapi/bff.yaml` says:
//! unknown fields are refused by serde, the rest here, field by field.

use folio_platform::secrets::Secret;
use serde::{Deserialize, Deserializer};
use uuid::Uuid;

use crate::error::{ApiError, FieldError};

/// Collects every field error of one request before answering.
#[derive(Debug, Default)]
pub(crate) struct Checks(Vec<FieldError>);

fn is_control(c: char) -> bool {
    c.is_control()
}

impl Checks {
    pub(crate) fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// Length in characters within bounds, no control characters.
    pub(crate) fn text(&mut self, field: &str, value: &str, min: usize, max: usize) {
        let len = value.chars().count();
        if len < min {
            self.fail(field, format!("{field} must not be empty"));
        } else if len > max {
            self.fail(field, format!("{field} must be at most {max} characters"));
        } else if value
            .chars()
            .any(|c| is_control(c) && c != '\n' && c != '\t')
        {
            self.fail(
                field,
                format!("{field} must not contain control characters"),
            );
        }
    }

    /// One line without surrounding spaces (titles, names, tags).
    pub(crate) fn line(&mut self, field: &str, value: &str, max: usize) {
        let len = value.chars().count();
        if len == 0 {
            self.fail(field, format!("{field} must not be empty"));
        } else if len > max {
            self.fail(field, format!("{field} must be at most {max} characters"));
        } else if value.chars().any(is_control) {
            self.fail(
                field,
                format!("{field} must be a single line without control characters"),
            );
        } else if value.trim() != value {
            self.fail(field, format!("{field} must not start or end with spaces"));
        }
    }

    pub(crate) fn password(&mut self, field: &str, value: &str) {
        let len = value.chars().count();
        if !(12..=128).contains(&len) {
            self.fail(field, format!("{field} must be 12 to 128 characters"));
        } else if value.trim().is_empty() {
            self.fail(field, format!("{field} must not be only spaces"));
        }
    }

    pub(crate) fn email(&mut self, field: &str, value: &str) {
        let valid = (3..=254).contains(&value.len())
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.contains('@')
            })
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if !valid {
            self.fail(
                field,
                format!("{field} must be an address like name@example.com"),
            );
        }
    }

    pub(crate) fn tags(&mut self, field: &str, tags: &[String]) {
        if tags.len() > 20 {
            self.fail(field, format!("{field} must be at most 20"));
        }
        for tag in tags {
            self.line(field, tag, 50);
            if tag.contains(',') {
                self.fail(field, format!("{field} must not contain commas"));
            }
        }
        let mut sorted = tags.to_vec();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != tags.len() {
            self.fail(field, format!("{field} must not repeat"));
        }
    }

    pub(crate) fn date(&mut self, field: &str, value: &str) {
        let parts: Vec<_> = value.split('-').collect();
        let valid = value.len() == 10
            && parts.len() == 3
            && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()));
        if !valid {
            self.fail(field, format!("{field} must be a date such as 2026-12-31"));
        }
    }

    pub(crate) fn uuid(&mut self, field: &str, value: &str) -> Option<Uuid> {
        let parsed = value.parse().ok();
        if parsed.is_none() {
            self.fail(field, format!("{field} must be a UUID"));
        }
        parsed
    }

    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

/// Reads a UUID from a path segment.
/// A version number from a path: 1 or more.
pub(crate) fn path_version(raw: &str) -> Result<u32, ApiError> {
    raw.parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ApiError::invalid("number", "number must be a version number from 1"))
}

pub(crate) fn path_id(field: &str, raw: &str) -> Result<Uuid, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::invalid(field, format!("{field} must be a UUID")))
}

/// A provider identity's id in a path: 32 lower-case hex digits.
pub(crate) fn identity_path_id(raw: &str) -> Result<String, ApiError> {
    if raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::invalid(
            "identity_id",
            "identity_id must be an identity's id (32 hex digits)",
        ))
    }
}

/// An optional field that is not nullable: absent is `None`, `null` is a
/// wrong type (400), as the contract's strict bodies say.
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<T>::deserialize(deserializer)? {
        Some(value) => Ok(Some(value)),
        None => Err(serde::de::Error::custom(
            "invalid type: null, expected a value (leave the field out instead)",
        )),
    }
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Role {
    Admin,
    Editor,
    Viewer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TaskStatus {
    Open,
    InProgress,
    Done,
}

impl TaskStatus {
    pub(crate) fn parse(raw: &str) -> Result<Self, ApiError> {
        match raw {
            "open" => Ok(Self::Open),
            "in_progress" => Ok(Self::InProgress),
            "done" => Ok(Self::Done),
            _ => Err(ApiError::invalid(
                "status",
                "status must be open, in_progress or done",
            )),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Credentials {
    pub email: String,
    pub password: String,
    /// The organisation chosen when the password opened several.
    #[serde(default)]
    pub organisation_id: Option<String>,
}

impl Credentials {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        checks.text("email", &self.email, 1, 254);
        checks.text("password", &self.password, 1, 1024);
        if let Some(id) = &self.organisation_id
            && uuid::Uuid::parse_str(id).is_err()
        {
            checks.fail("organisation_id", "organisation_id must be a UUID");
        }
        checks.finish()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

impl PasswordChange {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        checks.text("current_password", &self.current_password, 1, 1024);
        checks.password("new_password", &self.new_password);
        checks.finish()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordReset {
    pub new_password: String,
}

impl PasswordReset {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        checks.password("new_password", &self.new_password);
        checks.finish()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
}

impl NewUser {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        checks.email("email", &self.email);
        checks.line("display_name", &self.display_name, 100);
        checks.password("password", &self.password);
        checks.finish()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserPatch {
    #[serde(default, deserialize_with = "present")]
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "present")]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub disabled: Option<bool>,
}

impl UserPatch {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        if self.role.is_none() && self.display_name.is_none() && self.disabled.is_none() {
            checks.fail("body", "name at least one of role, display_name, disabled");
        }
        if let Some(name) = &self.display_name {
            checks.line("display_name", name, 100);
        }
        checks.finish()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DocumentPatch {
    #[serde(default, deserialize_with = "present")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub tags: Option<Vec<String>>,
}

impl DocumentPatch {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        if self.title.is_none() && self.description.is_none() && self.tags.is_none() {
            checks.fail("body", "name at least one of title, description, tags");
        }
        if let Some(title) = &self.title {
            checks.line("title", title, 200);
        }
        if let Some(description) = &self.description {
            checks.text("description", description, 0, 10_000);
        }
        if let Some(tags) = &self.tags {
            checks.tags("tags", tags);
        }
        checks.finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TaskKind {
    Todo,
    Approval,
    Request,
}

impl TaskKind {
    pub(crate) fn parse(raw: &str) -> Result<Self, ApiError> {
        match raw {
            "todo" => Ok(Self::Todo),
            "approval" => Ok(Self::Approval),
            "request" => Ok(Self::Request),
            _ => Err(ApiError::invalid(
                "kind",
                "kind must be todo, approval or request",
            )),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTask {
    #[serde(default, deserialize_with = "present")]
    pub kind: Option<TaskKind>,
    pub title: String,
    #[serde(default, deserialize_with = "present")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub assignee_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub due_date: Option<String>,
}

impl NewTask {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        checks.line("title", &self.title, 200);
        if let Some(description) = &self.description {
            checks.text("description", description, 0, 10_000);
        }
        if let Some(assignee) = &self.assignee_id {
            checks.uuid("assignee_id", assignee);
        }
        if let Some(date) = &self.due_date {
            checks.date("due_date", date);
        }
        checks.finish()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaskPatch {
    #[serde(default, deserialize_with = "present")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub status: Option<TaskStatus>,
    #[serde(default, deserialize_with = "nullable")]
    pub assignee_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub due_date: Option<Option<String>>,
}

impl TaskPatch {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        let empty = self.title.is_none()
            && self.description.is_none()
            && self.status.is_none()
            && self.assignee_id.is_none()
            && self.due_date.is_none();
        if empty {
            checks.fail("body", "name at least one field to change");
        }
        if let Some(title) = &self.title {
            checks.line("title", title, 200);
        }
        if let Some(description) = &self.description {
            checks.text("description", description, 0, 10_000);
        }
        if let Some(Some(assignee)) = &self.assignee_id {
            checks.uuid("assignee_id", assignee);
        }
        if let Some(Some(date)) = &self.due_date {
            checks.date("due_date", date);
        }
        checks.finish()
    }
}

/// A request for a document that does not exist yet.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRequest {
    pub kind: TaskKind,
    pub title: String,
    pub assignee: String,
    pub due: String,
    #[serde(default, deserialize_with = "present")]
    pub description: Option<String>,
}

impl NewRequest {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        if self.kind != TaskKind::Request {
            checks.fail(
                "kind",
                "kind must be request here; other tasks belong to a document",
            );
        }
        checks.line("title", &self.title, 200);
        if let Some(description) = &self.description {
            checks.text("description", description, 0, 10_000);
        }
        checks.uuid("assignee", &self.assignee);
        checks.date("due", &self.due);
        checks.finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DecisionWord {
    Approve,
    Reject,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionForm {
    pub decision: DecisionWord,
    #[serde(default, deserialize_with = "present")]
    pub comment: Option<String>,
}

impl DecisionForm {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        let comment = self.comment.as_deref().unwrap_or_default();
        checks.text("comment", comment, 0, 4_000);
        if self.decision == DecisionWord::Reject && comment.trim().is_empty() {
            checks.fail("comment", "comment is required to reject");
        }
        checks.finish()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RejectForm {
    pub reason: String,
}

impl RejectForm {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        checks.text("reason", &self.reason, 1, 4_000);
        if self.reason.trim().is_empty() {
            checks.fail("reason", "reason must not be only spaces");
        }
        checks.finish()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommentForm {
    pub body: String,
}

impl CommentForm {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        checks.text("body", &self.body, 1, 4_000);
        if self.body.trim().is_empty() {
            checks.fail("body", "body must not be only spaces");
        }
        checks.finish()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VersionPatch {
    #[serde(default, deserialize_with = "nullable")]
    pub label: Option<Option<String>>,
}

impl VersionPatch {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        match &self.label {
            None => checks.fail("body", "name the label (null clears it)"),
            Some(Some(label)) => checks.line("label", label, 40),
            Some(None) => {}
        }
        checks.finish()
    }
}

/// An organisation's retention; both fields must be given (null: no such rule).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetentionForm {
    #[serde(deserialize_with = "nullable")]
    pub keep_last: Option<Option<u32>>,
    #[serde(deserialize_with = "nullable")]
    pub keep_days: Option<Option<u32>>,
}

impl RetentionForm {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        match self.keep_last {
            None => checks.fail("keep_last", "keep_last is required (null for no such rule)"),
            Some(Some(k)) if !(1..=10_000).contains(&k) => {
                checks.fail("keep_last", "keep_last must be from 1 to 10000");
            }
            Some(_) => {}
        }
        match self.keep_days {
            None => checks.fail("keep_days", "keep_days is required (null for no such rule)"),
            Some(Some(d)) if !(1..=36_500).contains(&d) => {
                checks.fail("keep_days", "keep_days must be from 1 to 36500");
            }
            Some(_) => {}
        }
        checks.finish()
    }
}

/// An upload's text parts, by name.
pub(crate) type TextParts = std::collections::HashMap<String, String>;

/// The `note` text part of an upload (at most 1000 characters).
pub(crate) fn upload_note(texts: &TextParts) -> Result<String, ApiError> {
    let note = texts.get("note").cloned().unwrap_or_default();
    let mut checks = Checks::default();
    checks.text("note", &note, 0, 1000);
    checks.finish()?;
    Ok(note)
}

/// The text parts of `POST /api/v1/documents`: the new document, and its
/// first version's note.
pub(crate) fn new_document(
    texts: &TextParts,
) -> Result<(folio_proto::documents::v1::NewDocument, String), ApiError> {
    let text = |name: &str| texts.get(name).cloned();
    let mut checks = Checks::default();
    if let Some(title) = &text("title") {
        checks.line("title", title, 200);
    }
    if let Some(description) = &text("description") {
        checks.text("description", description, 0, 10_000);
    }
    let note = text("note").unwrap_or_default();
    checks.text("note", &note, 0, 1000);
    checks.finish()?;
    let tags = text("tags")
        .map(|t| split_tags(&t))
        .transpose()?
        .unwrap_or_default();
    let document = folio_proto::documents::v1::NewDocument {
        title: text("title").unwrap_or_default(),
        description: text("description").unwrap_or_default(),
        tags,
    };
    Ok((document, note))
}

/// Comma-separated tags from a form part: trimmed, empty items and repeats dropped.
pub(crate) fn split_tags(raw: &str) -> Result<Vec<String>, ApiError> {
    let mut tags: Vec<String> = Vec::new();
    for tag in raw.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
    }
    let mut checks = Checks::default();
    checks.tags("tags", &tags);
    checks.finish()?;
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_refuse_padding_and_control_characters() {
        let mut checks = Checks::default();
        checks.line("title", " padded", 200);
        checks.line("title", "two\nlines", 200);
        checks.line("title", "", 200);
        checks.line("title", "fine", 200);
        let Err(ApiError::Validation(errors)) = checks.finish() else {
            panic!("expected errors")
        };
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn patches_distinguish_null_from_absent() {
        let patch: TaskPatch = serde_json::from_str(r#"{"assignee_id":null}"#).unwrap();
        assert_eq!(patch.assignee_id, Some(None));
        assert!(patch.due_date.is_none());
        assert!(patch.check().is_ok());
        assert!(serde_json::from_str::<TaskPatch>(r#"{"bogus":1}"#).is_err());
        let empty: TaskPatch = serde_json::from_str("{}").unwrap();
        assert!(empty.check().is_err());
    }

    #[test]
    fn null_is_refused_where_the_contract_has_no_null() {
        for body in [
            r#"{"title":"t","status":null}"#,
            r#"{"title":null}"#,
            r#"{"description":null,"title":"t"}"#,
        ] {
            let err = serde_json::from_str::<TaskPatch>(body).unwrap_err();
            assert!(err.is_data(), "{body}: {err}");
        }
        assert!(serde_json::from_str::<NewTask>(r#"{"title":"t","assignee_id":null}"#).is_err());
        assert!(serde_json::from_str::<DocumentPatch>(r#"{"tags":null}"#).is_err());
        assert!(serde_json::from_str::<UserPatch>(r#"{"disabled":null}"#).is_err());
        // Where the contract allows null, it still clears.
        let clear: TaskPatch =
            serde_json::from_str(r#"{"assignee_id":null,"due_date":null}"#).unwrap();
        assert_eq!(clear.assignee_id, Some(None));
        assert_eq!(clear.due_date, Some(None));
    }

    #[test]
    fn form_tags_are_cleaned() {
        assert_eq!(split_tags(" a, b ,,a").unwrap(), ["a", "b"]);
        assert!(split_tags(&"x".repeat(51)).is_err());
    }
}

/// Connecting the organisation to a OneDrive folder. The integration checks
/// the values' shapes and Graph checks that they work; here only sizes. The
/// client secret is write-only: never shown, not even by `Debug`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OneDriveConnect {
    pub tenant_id: String,
    pub app_id: String,
    pub client_secret: Secret,
    pub drive_id: String,
    pub folder: String,
}

/// The longest client secret accepted (Entra ID's are about 40 characters).
pub(crate) const MAX_CLIENT_SECRET: usize = 1024;

impl OneDriveConnect {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        checks.line("tenant_id", &self.tenant_id, 255);
        checks.line("app_id", &self.app_id, 64);
        checks.line(
            "client_secret",
            self.client_secret.expose(),
            MAX_CLIENT_SECRET,
        );
        checks.line("drive_id", &self.drive_id, 255);
        checks.line("folder", &self.folder, 1024);
        checks.finish()
    }
}

/// A new client secret for the connection (rotation).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientSecretReplace {
    pub client_secret: Secret,
}

impl ClientSecretReplace {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        checks.line(
            "client_secret",
            self.client_secret.expose(),
            MAX_CLIENT_SECRET,
        );
        checks.finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TokenScope {
    Read,
    Write,
}

/// `POST /api/v1/session/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewApiToken {
    pub name: String,
    /// RFC 3339; the users service checks that it lies ahead, within 366 days.
    pub expires_at: String,
    pub scope: TokenScope,
}

impl NewApiToken {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        checks.line("name", &self.name, 100);
        checks.line("expires_at", &self.expires_at, 64);
        checks.finish()
    }

    pub(crate) fn into_request(self) -> folio_proto::users::v1::CreateApiTokenRequest {
        use folio_proto::users::v1::ApiTokenScope;
        folio_proto::users::v1::CreateApiTokenRequest {
            name: self.name,
            expires_at: self.expires_at,
            scope: match self.scope {
                TokenScope::Read => ApiTokenScope::Read,
                TokenScope::Write => ApiTokenScope::Write,
            }
            .into(),
        }
    }
}

/// `PUT /api/v1/organisation/sign-in`: `oidc` null or absent turns
/// provider sign-in off.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignInSettingsForm {
    #[serde(default)]
    pub oidc: Option<OidcForm>,
}

impl SignInSettingsForm {
    /// The checked settings as the users service takes them; the secret and
    /// certificate travel beside them, never inside what is answered back.
    pub(crate) fn into_request(
        self,
    ) -> Result<folio_proto::users::v1::PutSignInSettingsRequest, ApiError> {
        use folio_proto::users::v1 as pb;
        let Some(oidc) = self.oidc else {
            return Ok(pb::PutSignInSettingsRequest::default());
        };
        oidc.check()?;
        let preset = if oidc.tenant_id.is_some() {
            pb::OidcPreset::Entra
        } else {
            pb::OidcPreset::Generic
        };
        let default_role = oidc
            .default_role
            .map_or(pb::Role::Unspecified, |role| match role {
                Role::Admin => pb::Role::Admin,
                Role::Editor => pb::Role::Editor,
                Role::Viewer => pb::Role::Viewer,
            });
        Ok(pb::PutSignInSettingsRequest {
            oidc: Some(pb::OidcSettings {
                preset: preset.into(),
                issuer: oidc.issuer.unwrap_or_default(),
                client_id: oidc.client_id.unwrap_or_default(),
                tenant_id: oidc.tenant_id.unwrap_or_default(),
                only_sso: oidc.only_sso,
                create_accounts: oidc.create_accounts,
                default_role: default_role.into(),
                domains: oidc.domains,
                ..Default::default()
            }),
            client_secret: oidc.client_secret.map(|s| s.expose().to_owned()),
            client_certificate: oidc.client_certificate.map(|c| c.expose().to_owned()),
        })
    }
}

/// One provider. `tenant_id` makes it Entra ID (issuer left out); otherwise
/// `issuer` and `client_id` are needed. `client_secret` is write-only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OidcForm {
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// Write-only, instead of `client_secret`: PEM key and certificate.
    #[serde(default)]
    pub client_certificate: Option<Secret>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub only_sso: bool,
    #[serde(default)]
    pub create_accounts: bool,
    #[serde(default)]
    pub default_role: Option<Role>,
    /// The email domains whose addresses sign in here (docs/adr/0073).
    #[serde(default)]
    pub domains: Vec<String>,
}

/// At most this many email domains per organisation (the users service
/// checks them; the bff bounds the request).
pub(crate) const MAX_SIGN_IN_DOMAINS: usize = 50;
/// A PEM key and certificate are a few KiB.
pub(crate) const MAX_CLIENT_CERTIFICATE: usize = 16 * 1024;

impl OidcForm {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut checks = Checks::default();
        let fields = [
            ("issuer", self.issuer.as_deref(), 300),
            ("client_id", self.client_id.as_deref(), 255),
            (
                "client_secret",
                self.client_secret.as_ref().map(Secret::expose),
                MAX_CLIENT_SECRET,
            ),
            ("tenant_id", self.tenant_id.as_deref(), 36),
        ];
        for (field, value, max) in fields {
            if let Some(value) = value {
                checks.line(field, value, max);
            }
        }
        if self.domains.len() > MAX_SIGN_IN_DOMAINS {
            return Err(ApiError::invalid(
                "domains",
                format!("domains must be at most {MAX_SIGN_IN_DOMAINS}"),
            ));
        }
        for domain in &self.domains {
            checks.line("domains", domain, 253);
        }
        checks.finish()?;
        if let Some(pem) = self.client_certificate.as_ref().map(Secret::expose) {
            if pem.len() > MAX_CLIENT_CERTIFICATE {
                return Err(ApiError::invalid(
                    "client_certificate",
                    format!("client_certificate must be at most {MAX_CLIENT_CERTIFICATE} bytes"),
                ));
            }
            crate::oidc::ClientCertificate::from_pem(pem).map_err(|why| {
                ApiError::invalid(
                    "client_certificate",
                    format!(
                        "client_certificate must be the PEM RSA private key and certificate: {why}"
                    ),
                )
            })?;
        }
        Ok(())
    }
}
