//! The integration's types and rules. No I/O here.

use folio_platform::secrets::Secret;
use rand::RngCore;
use uuid::Uuid;

use crate::{error::Error, secrets::parse_client_secret};

/// What an admin asks to connect, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSpec {
    pub tenant_id: String,
    pub app_id: String,
    /// Entered by the admin; stored for the organisation, never shown.
    pub client_secret: Secret,
    pub drive_id: String,
    /// A Graph item id, or a path from the drive root starting with '/'.
    pub folder: String,
}

fn printable_ascii(s: &str, extra: &[u8]) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

impl ConnectionSpec {
    pub fn parse(
        tenant_id: &str,
        app_id: &str,
        client_secret: &str,
        drive_id: &str,
        folder: &str,
    ) -> Result<Self, Error> {
        let tenant_id = tenant_id.trim();
        let tenant_ok = !tenant_id.is_empty()
            && tenant_id.len() <= 255
            && printable_ascii(tenant_id, b".-")
            && !tenant_id.starts_with(['.', '-']);
        if !tenant_ok {
            return Err(Error::invalid(
                "tenant_id",
                "must be a tenant GUID or a domain such as contoso.onmicrosoft.com",
            ));
        }
        let app_id = app_id.trim();
        if Uuid::parse_str(app_id).is_err() {
            return Err(Error::invalid(
                "app_id",
                "must be an application (client) id GUID",
            ));
        }
        let client_secret = parse_client_secret(client_secret)?;
        let drive_id = drive_id.trim();
        if drive_id.is_empty() || drive_id.len() > 255 || !printable_ascii(drive_id, b"!-_.=") {
            return Err(Error::invalid("drive_id", "must be a OneDrive drive id"));
        }
        let folder = folder.trim();
        let folder_ok = if folder.starts_with('/') {
            folder.len() <= 1000
                && !folder.chars().any(char::is_control)
                && !folder.split('/').any(|p| p == "." || p == "..")
        } else {
            !folder.is_empty() && folder.len() <= 255 && printable_ascii(folder, b"!-_.=")
        };
        if !folder_ok {
            return Err(Error::invalid(
                "folder",
                "must be a folder item id or a path starting with '/'",
            ));
        }
        Ok(Self {
            tenant_id: tenant_id.to_owned(),
            app_id: app_id.to_ascii_lowercase(),
            client_secret,
            drive_id: drive_id.to_owned(),
            folder: folder.to_owned(),
        })
    }
}

/// A stored connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub id: Uuid,
    pub org_id: Uuid,
    pub actor_id: Uuid,
    pub tenant_id: String,
    pub app_id: String,
    pub drive_id: String,
    pub folder_id: String,
    pub client_state: String,
    pub subscription_id: Option<String>,
    pub subscription_expires_at: Option<i64>,
    pub renew_requested: bool,
    pub delta_link: Option<String>,
    pub resync: bool,
    pub sync_due_at: Option<i64>,
    pub followups: u32,
    pub failures: u32,
    pub paused_until: Option<i64>,
    pub last_sync_at: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    /// When an admin last entered the client secret.
    pub client_secret_set_at: Option<i64>,
    /// The lag of the last sync that applied notifications (docs/adr/0043).
    pub last_lag_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    Active,
    Pending,
    Error,
    Throttled,
}

impl Connection {
    pub fn state(&self, now: i64) -> ConnectionState {
        if self.paused_until.is_some_and(|p| p > now) {
            ConnectionState::Throttled
        } else if self.last_error.is_some() {
            ConnectionState::Error
        } else if self.subscription_id.is_none() {
            ConnectionState::Pending
        } else {
            ConnectionState::Active
        }
    }
}

/// Sync lag (docs/adr/0043): how long a change notified at `received`
/// (epoch ms) has taken, or took, to be applied by `until`; never negative
/// (clocks of replicas may differ slightly).
pub(crate) fn lag_millis(received: i64, until: i64) -> u64 {
    u64::try_from(until.saturating_sub(received)).unwrap_or(0)
}

/// A fresh `clientState`: 256 random bits, hex.
pub(crate) fn new_client_state() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether `parent` is the connected folder or below it, walking up through
/// `parent_of` (`None` when unknown or at the root). Bounded, so a cycle in
/// corrupt data ends.
pub(crate) fn under_folder<F>(parent: Option<&str>, folder: &str, mut parent_of: F) -> Option<bool>
where
    F: FnMut(&str) -> Option<Option<String>>,
{
    let mut current = parent.map(str::to_owned);
    for _ in 0..256 {
        let Some(id) = current else {
            return Some(false);
        };
        if id == folder {
            return Some(true);
        }
        // `None`: we do not know this folder (the caller may look it up).
        current = parent_of(&id)?;
    }
    Some(false)
}

/// A document title from a file name: documents allows 200 characters.
pub(crate) fn title_for(name: &str) -> String {
    let cleaned: String = name.chars().filter(|c| !c.is_control()).collect();
    let trimmed = cleaned.trim();
    let title: String = trimmed.chars().take(200).collect();
    if title.is_empty() {
        "Untitled".to_owned()
    } else {
        title
    }
}

/// Graph's MIME type when it is a plain `type/subtype`; empty (documents
/// then defaults it) otherwise.
pub(crate) fn media_type_for(mime: Option<&str>) -> String {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match mime.and_then(|m| m.split_once('/')) {
        Some((t, s)) if t.len() + s.len() < 250 && token(t) && token(s) => {
            format!("{t}/{s}").to_ascii_lowercase()
        }
        _ => String::new(),
    }
}

/// A file name OneDrive accepts: characters it forbids (`" * : < > ? / \ |`
/// and control characters) become `_`, leading and trailing spaces and
/// trailing dots go.
pub(crate) fn onedrive_name(name: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| {
            if c.is_control() || "\"*:<>?/\\|".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = replaced.trim().trim_end_matches('.').trim_end();
    if trimmed.is_empty() {
        "document".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Whether a listed file has the content we mirrored last (docs/adr/0030):
/// the content hash Graph gives decides; the cTag only where there is no
/// hash on either side (OneDrive for Business sends no cTag in delta, so a
/// rename, a move or a sharing change there must be judged by the hash).
pub(crate) fn same_content(
    stored_hash: Option<&str>,
    stored_ctag: Option<&str>,
    listed_hash: Option<&str>,
    listed_ctag: Option<&str>,
) -> bool {
    match (stored_hash, listed_hash) {
        (Some(a), Some(b)) => a == b,
        _ => stored_ctag.is_some() && stored_ctag == listed_ctag,
    }
}

/// Why a listed item cannot be mirrored at all, if it cannot (docs/adr/0031).
pub(crate) fn unmirrorable(has_file: bool, package: bool, remote: bool) -> Option<&'static str> {
    if remote {
        Some("a shortcut to a file in another drive (remoteItem); not mirrored")
    } else if package {
        Some("a OneNote notebook or other package; it has no file content")
    } else if !has_file {
        Some("not a file (no file facet)")
    } else {
        None
    }
}

/// Whether SharePoint rewrites an uploaded file of this name (it promotes
/// library properties into Office documents, PDFs, HTML and JPEG files, so
/// the stored size and hash differ from what was sent; docs/adr/0036).
pub(crate) fn rewritten_by_sharepoint(name: &str) -> bool {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    matches!(
        ext.as_str(),
        "docx" | "xlsx" | "pptx" | "doc" | "xls" | "ppt" | "pdf" | "html" | "htm" | "jpg" | "jpeg"
    )
}

/// How long a send whose answer never came is waited for: its file is
/// adopted if a delta or a retried send finds it within this time
/// (docs/adr/0034). Longer than a day of hourly safety syncs would need.
pub(crate) const PENDING_SEND_TTL_MILLIS: i64 = 24 * 60 * 60 * 1000;

/// A new file being sent to OneDrive, recorded before the upload so that
/// the file is known even when Graph's answer is lost (docs/adr/0034).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingSend {
    pub connection_id: Uuid,
    pub document_id: Uuid,
    pub version: u32,
    /// The folder and the name the upload was sent to.
    pub parent_id: String,
    pub name: String,
    /// The version's content: SHA-256 (hex) and size.
    pub sha256: String,
    pub size: u64,
    pub started_at: i64,
    pub actor_id: Uuid,
}

impl PendingSend {
    pub(crate) fn expired(&self, now: i64) -> bool {
        now - self.started_at > PENDING_SEND_TTL_MILLIS
    }

    /// Whether a listed file (unmapped, in `parent`, named `name`) is what
    /// this send uploaded. Name and folder decide; the content must agree
    /// too, except for files SharePoint rewrites: by SHA-256 where Graph
    /// gives one, else by size (OneDrive for Business gives only a
    /// quickXorHash, which Folio does not compute).
    pub(crate) fn is_listed_as(
        &self,
        parent: Option<&str>,
        name: &str,
        size: Option<u64>,
        hash: Option<&str>,
        now: i64,
    ) -> bool {
        if self.expired(now) || parent != Some(self.parent_id.as_str()) || name != self.name {
            return false;
        }
        if rewritten_by_sharepoint(name) {
            return true;
        }
        match hash.and_then(|h| h.strip_prefix("sha256:")) {
            Some(sha256) => sha256.eq_ignore_ascii_case(&self.sha256),
            None => size == Some(self.size),
        }
    }
}

/// The idempotency key of a OneDrive change mirrored into documents
/// (docs/adr/0033): what identifies the change is the connection, the
/// item, and the item's eTag and content hash (a revert to older content
/// has a new eTag, so it is a new change). `None` when Graph gives neither.
pub(crate) fn upload_key(
    connection: Uuid,
    item_id: &str,
    etag: Option<&str>,
    content: Option<&str>,
) -> Option<String> {
    use sha2::Digest as _;
    if etag.is_none() && content.is_none() {
        return None;
    }
    let mut hasher = sha2::Sha256::new();
    for part in [
        connection.to_string().as_str(),
        item_id,
        etag.unwrap_or_default(),
        content.unwrap_or_default(),
    ] {
        // Length-prefixed, so no two different changes read alike.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    Some(format!("onedrive:{}", hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const APP: &str = "0b6f2a34-6d0a-4c8e-9a55-0f3c1f0e9a11";

    #[test]
    fn upload_keys_name_one_change() {
        let conn = Uuid::now_v7();
        let key = upload_key(conn, "01ITEM", Some("\"{A},2\""), Some("quickXorHash:abc="));
        let again = upload_key(conn, "01ITEM", Some("\"{A},2\""), Some("quickXorHash:abc="));
        assert_eq!(key, again, "a retry of the same change");
        let key = key.unwrap();
        assert!(key.starts_with("onedrive:") && key.len() <= 128, "{key}");
        assert!(key.bytes().all(|b| b.is_ascii_graphic()));
        for other in [
            upload_key(
                Uuid::now_v7(),
                "01ITEM",
                Some("\"{A},2\""),
                Some("quickXorHash:abc="),
            ),
            upload_key(
                conn,
                "01OTHER",
                Some("\"{A},2\""),
                Some("quickXorHash:abc="),
            ),
            upload_key(conn, "01ITEM", Some("\"{A},3\""), Some("quickXorHash:abc=")),
            upload_key(conn, "01ITEM", Some("\"{A},2\""), Some("quickXorHash:abd=")),
            upload_key(conn, "01ITEM", None, Some("quickXorHash:abc=")),
        ] {
            assert_ne!(other.as_deref(), Some(key.as_str()));
        }
        assert_eq!(upload_key(conn, "01ITEM", None, None), None);
    }

    #[test]
    fn a_pending_send_is_recognised_by_folder_name_and_content() {
        let pending = PendingSend {
            connection_id: Uuid::now_v7(),
            document_id: Uuid::now_v7(),
            version: 1,
            parent_id: "FOLDER".into(),
            name: "plan.txt".into(),
            sha256: "ab".repeat(32),
            size: 7,
            started_at: 1_000,
            actor_id: Uuid::now_v7(),
        };
        let now = 2_000;
        let sha = format!("sha256:{}", "AB".repeat(32));
        assert!(pending.is_listed_as(
            Some("FOLDER"),
            "plan.txt",
            Some(7),
            Some("quickXorHash:x"),
            now
        ));
        assert!(pending.is_listed_as(Some("FOLDER"), "plan.txt", Some(9), Some(&sha), now));
        assert!(!pending.is_listed_as(
            Some("FOLDER"),
            "plan.txt",
            Some(8),
            Some("quickXorHash:x"),
            now
        ));
        assert!(!pending.is_listed_as(Some("FOLDER"), "plan.txt", Some(7), Some("sha256:00"), now));
        assert!(!pending.is_listed_as(Some("OTHER"), "plan.txt", Some(7), None, now));
        assert!(!pending.is_listed_as(Some("FOLDER"), "plan 1.txt", Some(7), None, now));
        let late = pending.started_at + PENDING_SEND_TTL_MILLIS + 1;
        assert!(!pending.is_listed_as(Some("FOLDER"), "plan.txt", Some(7), None, late));
        // SharePoint rewrites a .docx: size and hash differ, still the send.
        let docx = PendingSend {
            name: "Report.docx".into(),
            ..pending
        };
        assert!(docx.is_listed_as(
            Some("FOLDER"),
            "Report.docx",
            Some(900),
            Some("quickXorHash:y"),
            now
        ));
        assert!(rewritten_by_sharepoint("SCAN.PDF") && !rewritten_by_sharepoint("notes.txt"));
    }

    #[test]
    fn specs_are_checked() {
        let ok = ConnectionSpec::parse(
            "contoso.onmicrosoft.com",
            APP,
            "Xy8Q~client.secret_value-1",
            "b!abc-_",
            "/Shared/Docs",
        )
        .unwrap();
        assert_eq!(ok.folder, "/Shared/Docs");
        for (tenant, app, secret, drive, folder) in [
            ("", APP, "s", "d", "f"),
            ("a b", APP, "s", "d", "f"),
            ("t", "not-a-guid", "s", "d", "f"),
            ("t", APP, "", "d", "f"),
            ("t", APP, "a\nb", "d", "f"),
            ("t", APP, "s", "d/../x", "f"),
            ("t", APP, "s", "d", ""),
            ("t", APP, "s", "d", "/a/../b"),
            ("t", APP, "s", "d", "/a\nb"),
            ("t", APP, "s", "d", "id with space"),
        ] {
            assert!(
                ConnectionSpec::parse(tenant, app, secret, drive, folder).is_err(),
                "{tenant:?} {app:?} {secret:?} {drive:?} {folder:?}"
            );
        }
    }

    #[test]
    fn scope_walks_up_to_the_folder() {
        let tree: HashMap<&str, Option<&str>> = HashMap::from([
            ("root", None),
            ("docs", Some("root")),
            ("sub", Some("docs")),
            ("other", Some("root")),
        ]);
        let lookup = |id: &str| tree.get(id).map(|p| p.map(str::to_owned));
        assert_eq!(under_folder(Some("sub"), "docs", lookup), Some(true));
        assert_eq!(under_folder(Some("docs"), "docs", lookup), Some(true));
        assert_eq!(under_folder(Some("other"), "docs", lookup), Some(false));
        assert_eq!(under_folder(Some("root"), "docs", lookup), Some(false));
        assert_eq!(under_folder(Some("unknown"), "docs", lookup), None);
        let cycle = |id: &str| Some(Some(if id == "a" { "b" } else { "a" }.to_owned()));
        assert_eq!(under_folder(Some("a"), "docs", cycle), Some(false));
    }

    #[test]
    fn names_fit_onedrive() {
        assert_eq!(onedrive_name("a:b*c?.txt"), "a_b_c_.txt");
        assert_eq!(onedrive_name(" report. "), "report");
        assert_eq!(onedrive_name("..."), "document");
        assert_eq!(
            onedrive_name("Übersicht #1 (50%).pdf"),
            "Übersicht #1 (50%).pdf"
        );
    }

    #[test]
    fn titles_and_media_types_fit_documents() {
        assert_eq!(title_for(&"x".repeat(300)).chars().count(), 200);
        assert_eq!(title_for(" \u{7}"), "Untitled");
        assert_eq!(media_type_for(Some("Text/Plain")), "text/plain");
        assert_eq!(media_type_for(Some("bad type/x")), "");
        assert_eq!(media_type_for(None), "");
    }

    #[test]
    fn content_is_judged_by_hash_first() {
        let q = Some("quickXorHash:aCgD");
        // ODB: no cTag anywhere, the hash decides both ways.
        assert!(same_content(q, None, q, None));
        assert!(!same_content(q, None, Some("quickXorHash:zzzz"), None));
        // A hash on both sides beats an equal or different cTag.
        assert!(!same_content(
            q,
            Some("c1"),
            Some("quickXorHash:x"),
            Some("c1")
        ));
        assert!(same_content(q, Some("c1"), q, Some("c2")));
        // No hash on one side: the cTag, when both have it.
        assert!(same_content(None, Some("c1"), q, Some("c1")));
        assert!(!same_content(None, None, None, None));
        assert!(!same_content(None, Some("c1"), None, None));
    }

    #[test]
    fn packages_and_remote_items_are_not_mirrored() {
        assert_eq!(unmirrorable(true, false, false), None);
        assert!(
            unmirrorable(false, true, false)
                .unwrap()
                .contains("OneNote")
        );
        assert!(
            unmirrorable(true, false, true)
                .unwrap()
                .contains("remoteItem")
        );
        assert!(unmirrorable(false, false, false).is_some());
    }

    #[test]
    fn lag_is_from_arrival_and_never_negative() {
        assert_eq!(lag_millis(1_000, 3_500), 2_500);
        assert_eq!(lag_millis(1_000, 1_000), 0);
        assert_eq!(
            lag_millis(5_000, 4_990),
            0,
            "a replica's clock a little behind"
        );
    }
}
