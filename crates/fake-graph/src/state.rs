//! The fake's world: apps and tokens, drives with their items and change
//! log, subscriptions, upload sessions, injected faults and what happened.

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

use bytes::Bytes;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::{Profile, rfc3339};

/// The most a subscription on drive items may live (Graph's documented limit).
pub const MAX_SUBSCRIPTION_MINUTES: i64 = 42_300;
/// Fragments of an upload session must be multiples of this (except the last).
pub const FRAGMENT_UNIT: u64 = 327_680;
/// A fragment must be smaller than this.
pub const MAX_FRAGMENT: u64 = 60 << 20;
/// The largest body a simple upload accepts.
pub const MAX_SIMPLE_UPLOAD: usize = 4 << 20;

#[derive(Debug, Clone)]
pub(crate) struct App {
    pub(crate) tenant: String,
    pub(crate) client_id: String,
    pub(crate) secret: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tenant: String,
    pub(crate) expires: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) id: String,
    pub(crate) name: String,
    /// `None` for the drive's root.
    pub(crate) parent: Option<String>,
    pub(crate) folder: bool,
    pub(crate) content: Bytes,
    pub(crate) content_version: u64,
    pub(crate) meta_version: u64,
    pub(crate) deleted: bool,
    pub(crate) created_seq: u64,
    pub(crate) created: OffsetDateTime,
    pub(crate) modified: OffsetDateTime,
    pub(crate) oddity: Oddity,
}

/// What makes an item awkward, as real drives have them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Oddity {
    #[default]
    None,
    /// The listed `size` is this many bytes more than what is served (a
    /// sensitivity label applied on download changes the bytes).
    SizeSkew(i64),
    /// Downloads are refused with `403 malwareDetected`.
    Malware,
    /// A OneNote notebook: a `package` facet and no `file` facet.
    Package,
    /// A shortcut to an item in another drive (`remoteItem`).
    Remote,
}

impl Item {
    pub(crate) fn ctag(&self) -> String {
        format!("\"c:{{{}}},{}\"", self.id, self.content_version)
    }

    pub(crate) fn etag(&self) -> String {
        format!(
            "\"{{{}}},{}\"",
            self.id,
            self.content_version + self.meta_version
        )
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub(crate) seq: u64,
    pub(crate) item: String,
    pub(crate) at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct Drive {
    pub(crate) id: String,
    pub(crate) tenant: String,
    pub(crate) root: String,
    pub(crate) items: HashMap<String, Item>,
    pub(crate) log: Vec<Change>,
    pub(crate) seq: u64,
    pub(crate) profile: Profile,
    next_id: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub(crate) id: String,
    pub(crate) drive: String,
    pub(crate) tenant: String,
    pub(crate) resource: String,
    pub(crate) notification_url: String,
    pub(crate) lifecycle_url: Option<String>,
    pub(crate) client_state: Option<String>,
    pub(crate) expires: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub(crate) enum UploadTarget {
    /// A new file (or a replacement by name) under a folder.
    Named {
        parent: String,
        name: String,
        conflict: Conflict,
    },
    /// New content for an existing file.
    Existing(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conflict {
    Replace,
    Rename,
    Fail,
}

impl Conflict {
    pub(crate) fn parse(raw: Option<&str>, default: Conflict) -> Option<Conflict> {
        match raw {
            None => Some(default),
            Some("replace") => Some(Conflict::Replace),
            Some("rename") => Some(Conflict::Rename),
            Some("fail") => Some(Conflict::Fail),
            Some(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct UploadSession {
    pub(crate) drive: String,
    pub(crate) target: UploadTarget,
    /// What arrived, by start offset; parts never overlap. Like Graph's,
    /// the session may hold pieces with holes between them.
    pub(crate) parts: BTreeMap<u64, Bytes>,
    pub(crate) total: Option<u64>,
    pub(crate) expires: OffsetDateTime,
    /// The `If-Match` the session was created with.
    pub(crate) if_match: Option<String>,
}

impl UploadSession {
    /// The byte ranges still missing: `(start, Some(end))` for a hole,
    /// `(start, None)` for everything from `start` to the end.
    pub(crate) fn missing(&self) -> Vec<(u64, Option<u64>)> {
        let mut gaps = Vec::new();
        let mut at = 0;
        for (start, bytes) in &self.parts {
            if *start > at {
                gaps.push((at, Some(start - 1)));
            }
            at = start + bytes.len() as u64;
        }
        if self.total.is_none_or(|t| at < t) {
            gaps.push((at, None));
        }
        gaps
    }

    /// `nextExpectedRanges` as Graph writes it (`"12345-55232"`, `"77829-"`).
    pub(crate) fn next_expected_ranges(&self) -> Vec<String> {
        self.missing()
            .into_iter()
            .map(|(a, b)| b.map_or_else(|| format!("{a}-"), |b| format!("{a}-{b}")))
            .collect()
    }

    /// Whether `start..=end` lies in one missing range; `Some(true)` when it
    /// ends exactly where that range ends (a hole filled to its end).
    pub(crate) fn fits(&self, start: u64, end: u64) -> Option<bool> {
        self.missing().into_iter().find_map(|(a, b)| {
            let inside = start >= a && b.is_none_or(|b| end <= b);
            inside.then_some(b == Some(end))
        })
    }

    pub(crate) fn assembled(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for bytes in self.parts.values() {
            out.extend_from_slice(bytes);
        }
        out
    }

    /// Forgets what arrived in `from..to` (a part is cut, never split in two).
    pub(crate) fn forget(&mut self, from: u64, to: u64) {
        let starts: Vec<u64> = self.parts.keys().copied().collect();
        for start in starts {
            let Some(bytes) = self.parts.remove(&start) else {
                continue;
            };
            let end = start + bytes.len() as u64;
            if end <= from || start >= to {
                self.parts.insert(start, bytes);
                continue;
            }
            if start < from {
                self.parts.insert(
                    start,
                    bytes.slice(..usize::try_from(from - start).unwrap_or(0)),
                );
            }
            if end > to {
                self.parts
                    .insert(to, bytes.slice(usize::try_from(to - start).unwrap_or(0)..));
            }
        }
    }
}

/// One client-credentials token request, as the token endpoint saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
    /// Whether a token was issued (the secret is one the app has).
    pub granted: bool,
}

/// One upload as the fake received it (before any rewrite of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The item the content went to.
    pub item_id: String,
    /// The name it has in the drive afterwards.
    pub name: String,
    /// The bytes the client sent.
    pub received: Bytes,
    /// The bytes the drive holds (differs when the fake rewrote the file,
    /// as SharePoint does with Office, PDF, HTML and JPEG files).
    pub stored: Bytes,
    /// The `If-Match` header of the upload (or of its session's creation).
    pub if_match: Option<String>,
    pub session: bool,
}

/// An upload the fake refused because `If-Match` did not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub item_id: String,
    pub if_match: String,
    pub current_etag: String,
}

/// A notification POST the fake made (or tried to make).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub subscription_id: String,
    /// The webhook's status code, `None` when it could not be reached.
    pub status: Option<u16>,
    pub lifecycle: bool,
}

/// One fragment PUT to an upload session that the fake accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    pub start: u64,
    pub len: u64,
    pub total: u64,
}

/// Where a `410 Gone` points the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoneLocation {
    /// A `Location` header with a fresh enumeration on the Graph host.
    Graph,
    /// A `Location` header on another host (never to be followed with a token).
    Foreign,
    /// No `Location` header (as in the captured real answer).
    Missing,
}

/// How paging misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkFault {
    /// Every `@odata.nextLink` points at the page it came from.
    Loop,
    /// Empty pages, each with a new `@odata.nextLink`, forever.
    Endless,
}

/// Which host a throttle applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host {
    /// The Graph API (`/v1.0/…`).
    Api,
    /// Pre-authenticated download and upload URLs.
    Content,
    /// The token endpoint.
    Token,
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// Per drive: answer `410 Gone` on this page index (0 = first page) of the next delta paging.
    pub(crate) gone_at_page: HashMap<String, (usize, GoneLocation)>,
    /// The next n Graph API requests answer 429 with this Retry-After (seconds).
    pub(crate) throttle: Option<(u32, u64, u16)>,
    /// Per host: the next n requests answer 429 with this `Retry-After` value, verbatim.
    pub(crate) throttle_raw: HashMap<Host, (u32, String)>,
    pub(crate) link_faults: HashMap<String, LinkFault>,
    /// Every Graph API request is answered this much later.
    pub(crate) api_delay: Duration,
    pub(crate) delta_lag: Duration,
    pub(crate) copies: u32,
    pub(crate) notify_delay: Duration,
    pub(crate) fail_fragments: u32,
    pub(crate) page_size: usize,
    pub(crate) token_lifetime: u64,
    /// The next fragment keeps only its first n bytes, then fails with 500
    /// (a connection broken mid-body), and the session also forgets this
    /// range of what it had (so it reports several missing ranges).
    pub(crate) cut_fragment: Option<(u64, Option<(u64, u64)>)>,
    /// Uploads are stored at once but answered only after this long.
    pub(crate) upload_answer_delay: Duration,
    /// The next n completed uploads are stored (and notified), then
    /// answered 504: the answer is lost after OneDrive committed the file.
    pub(crate) lose_upload_answers: u32,
    /// The next n Graph API requests answer this status and error code.
    pub(crate) refuse: Option<(u32, u16, String)>,
    /// The scope tokens must be asked for (a national cloud's); `None`:
    /// global Graph's.
    pub(crate) scope: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) token_requests: u64,
    /// Every token request, with the secret it carried.
    pub(crate) token_grants: Vec<TokenRequest>,
    pub(crate) delta_requests: u64,
    pub(crate) throttled: u64,
    pub(crate) gone: u64,
    pub(crate) deliveries: Vec<Delivery>,
    pub(crate) fragments: Vec<Fragment>,
    pub(crate) simple_uploads: u64,
    pub(crate) preauthenticated_with_authorization: u64,
    pub(crate) validations: u64,
    /// Every change notification sent: (webhook URL, body).
    pub(crate) sent: Vec<(String, serde_json::Value)>,
    pub(crate) uploads: Vec<Upload>,
    pub(crate) refusals: Vec<Refusal>,
    pub(crate) subscription_reads: u64,
    /// The `traceparent` of every request that carried one.
    pub(crate) traceparents: Vec<String>,
    /// Content requests per item id (the `…/content` redirect).
    pub(crate) downloads: HashMap<String, u64>,
    pub(crate) children_requests: u64,
    /// Delta requests without a token: the first page of a full enumeration.
    pub(crate) full_enumerations: u64,
    /// API requests refused for a missing, unknown or expired token.
    pub(crate) unauthorized: u64,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) apps: Vec<App>,
    pub(crate) tokens: HashMap<String, Token>,
    pub(crate) drives: HashMap<String, Drive>,
    pub(crate) subscriptions: HashMap<String, Subscription>,
    pub(crate) downloads: HashMap<String, (Bytes, Instant)>,
    pub(crate) sessions: HashMap<String, UploadSession>,
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    /// The profile of drives added from now on.
    pub(crate) profile: Profile,
}

/// What a delta page asks for, decoded from its opaque token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeltaToken {
    /// Changes after this sequence (0: everything).
    Since(u64),
    /// A further page of a paging that started after `from` and sees up to `upto`.
    Page { from: u64, upto: u64, offset: usize },
}

impl DeltaToken {
    pub(crate) fn encode(self) -> String {
        let raw = match self {
            Self::Since(seq) => format!("d.{seq}"),
            Self::Page { from, upto, offset } => format!("p.{from}.{upto}.{offset}"),
        };
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw)
    }

    pub(crate) fn decode(token: &str) -> Option<Self> {
        let raw = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, token)
            .ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let parts: Vec<&str> = raw.split('.').collect();
        match parts.as_slice() {
            ["d", seq] => Some(Self::Since(seq.parse().ok()?)),
            ["p", from, upto, offset] => Some(Self::Page {
                from: from.parse().ok()?,
                upto: upto.parse().ok()?,
                offset: offset.parse().ok()?,
            }),
            _ => None,
        }
    }
}

pub(crate) enum DeltaAnswer {
    Page {
        items: Vec<Value>,
        next: Option<DeltaToken>,
        delta: Option<DeltaToken>,
    },
}

fn mime_for(name: &str) -> &'static str {
    let ext = name
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "txt" => "text/plain",
        "pdf" => "application/pdf",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

impl Drive {
    pub(crate) fn new(id: &str, tenant: &str, profile: Profile) -> Self {
        let now = OffsetDateTime::now_utc();
        let root = format!("{id}-root");
        let mut items = HashMap::new();
        items.insert(
            root.clone(),
            Item {
                id: root.clone(),
                name: "root".to_owned(),
                parent: None,
                folder: true,
                content: Bytes::new(),
                content_version: 1,
                meta_version: 0,
                deleted: false,
                created_seq: 0,
                created: now,
                modified: now,
                oddity: Oddity::None,
            },
        );
        Self {
            id: id.to_owned(),
            tenant: tenant.to_owned(),
            root,
            items,
            log: Vec::new(),
            seq: 0,
            profile,
            next_id: 1,
        }
    }

    pub(crate) fn new_id(&mut self) -> String {
        let n = self.next_id;
        self.next_id += 1;
        // Graph item ids are opaque upper-case base32-ish strings.
        format!(
            "01{}{:06}",
            self.id.to_ascii_uppercase().replace(['!', '-'], ""),
            n
        )
    }

    fn record(&mut self, item: &str) {
        self.seq += 1;
        self.log.push(Change {
            seq: self.seq,
            item: item.to_owned(),
            at: Instant::now(),
        });
    }

    pub(crate) fn live(&self, id: &str) -> Option<&Item> {
        self.items.get(id).filter(|i| !i.deleted)
    }

    pub(crate) fn child_named(&self, parent: &str, name: &str) -> Option<&Item> {
        self.items.values().find(|i| {
            !i.deleted && i.parent.as_deref() == Some(parent) && i.name.eq_ignore_ascii_case(name)
        })
    }

    /// Resolves `a/b/c` below `base`.
    pub(crate) fn resolve(&self, base: &str, path: &str) -> Option<&Item> {
        let mut current = self.live(base)?;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            current = self.child_named(&current.id, part)?;
        }
        Some(current)
    }

    pub(crate) fn create(
        &mut self,
        parent: &str,
        name: &str,
        folder: bool,
        content: Bytes,
    ) -> String {
        let id = self.new_id();
        let now = OffsetDateTime::now_utc();
        self.items.insert(
            id.clone(),
            Item {
                id: id.clone(),
                name: name.to_owned(),
                parent: Some(parent.to_owned()),
                folder,
                content,
                content_version: 1,
                meta_version: 0,
                deleted: false,
                created_seq: self.seq + 1,
                created: now,
                modified: now,
                oddity: Oddity::None,
            },
        );
        self.record(&id);
        id
    }

    pub(crate) fn set_content(&mut self, id: &str, content: Bytes) -> bool {
        let Some(item) = self.items.get_mut(id).filter(|i| !i.deleted && !i.folder) else {
            return false;
        };
        item.content = content;
        item.content_version += 1;
        item.modified = OffsetDateTime::now_utc();
        self.record(id);
        true
    }

    pub(crate) fn rename(&mut self, id: &str, name: &str) -> bool {
        let Some(item) = self.items.get_mut(id).filter(|i| !i.deleted) else {
            return false;
        };
        item.name = name.to_owned();
        item.meta_version += 1;
        self.record(id);
        true
    }

    pub(crate) fn move_to(&mut self, id: &str, parent: &str) -> bool {
        if self.live(parent).is_none_or(|p| !p.folder) {
            return false;
        }
        let Some(item) = self.items.get_mut(id).filter(|i| !i.deleted) else {
            return false;
        };
        item.parent = Some(parent.to_owned());
        item.meta_version += 1;
        self.record(id);
        true
    }

    /// Deletes an item and everything below it.
    pub(crate) fn delete(&mut self, id: &str) -> bool {
        if self.live(id).is_none() || id == self.root {
            return false;
        }
        let children: Vec<String> = self
            .items
            .values()
            .filter(|i| !i.deleted && i.parent.as_deref() == Some(id))
            .map(|i| i.id.clone())
            .collect();
        for child in children {
            if self.profile.lists_deleted_descendants() {
                self.delete(&child);
            } else {
                self.delete_silently(&child);
            }
        }
        if let Some(item) = self.items.get_mut(id) {
            item.deleted = true;
        }
        self.record(id);
        true
    }

    /// Deletes an item and everything below it without a change of its own.
    fn delete_silently(&mut self, id: &str) {
        let children: Vec<String> = self
            .items
            .values()
            .filter(|i| !i.deleted && i.parent.as_deref() == Some(id))
            .map(|i| i.id.clone())
            .collect();
        for child in children {
            self.delete_silently(&child);
        }
        if let Some(item) = self.items.get_mut(id) {
            item.deleted = true;
        }
    }

    /// Restores a deleted file from the recycle bin: the same id, back in
    /// its old folder.
    pub(crate) fn restore(&mut self, id: &str) -> bool {
        let parent_live = self
            .items
            .get(id)
            .and_then(|i| i.parent.clone())
            .is_some_and(|p| self.live(&p).is_some());
        let Some(item) = self.items.get_mut(id).filter(|i| i.deleted && parent_live) else {
            return false;
        };
        item.deleted = false;
        item.meta_version += 1;
        self.record(id);
        true
    }

    /// Copies a folder (or file) with everything below it under `parent`.
    /// Only the copy's top item is a change of its own in delta.
    pub(crate) fn copy(&mut self, id: &str, parent: &str) -> Option<String> {
        let source = self.live(id)?.clone();
        let new_id = self.new_id();
        let now = OffsetDateTime::now_utc();
        let name = self.free_name(parent, &source.name);
        self.items.insert(
            new_id.clone(),
            Item {
                id: new_id.clone(),
                name,
                parent: Some(parent.to_owned()),
                content_version: 1,
                meta_version: 0,
                created_seq: self.seq + 1,
                created: now,
                modified: now,
                ..source
            },
        );
        let children: Vec<String> = self
            .items
            .values()
            .filter(|i| !i.deleted && i.parent.as_deref() == Some(id))
            .map(|i| i.id.clone())
            .collect();
        for child in children {
            self.copy_below(&child, &new_id);
        }
        self.record(&new_id);
        Some(new_id)
    }

    fn copy_below(&mut self, id: &str, parent: &str) {
        let Some(source) = self.live(id).cloned() else {
            return;
        };
        let new_id = self.new_id();
        self.items.insert(
            new_id.clone(),
            Item {
                id: new_id.clone(),
                parent: Some(parent.to_owned()),
                content_version: 1,
                meta_version: 0,
                created_seq: self.seq + 1,
                ..source
            },
        );
        let children: Vec<String> = self
            .items
            .values()
            .filter(|i| !i.deleted && i.parent.as_deref() == Some(id))
            .map(|i| i.id.clone())
            .collect();
        for child in children {
            self.copy_below(&child, &new_id);
        }
    }

    /// A unique name in `parent` for a rename on conflict: `a.txt` → `a 1.txt`.
    pub(crate) fn free_name(&self, parent: &str, name: &str) -> String {
        if self.child_named(parent, name).is_none() {
            return name.to_owned();
        }
        let (stem, ext) = match name.rfind('.') {
            Some(i) if i > 0 => (&name[..i], &name[i..]),
            _ => (name, ""),
        };
        (1..)
            .map(|n| format!("{stem} {n}{ext}"))
            .find(|candidate| self.child_named(parent, candidate).is_none())
            .unwrap_or_else(|| name.to_owned())
    }

    fn path_of(&self, id: &str) -> String {
        let mut parts = Vec::new();
        let mut current = self.items.get(id);
        while let Some(item) = current {
            match &item.parent {
                Some(parent) => {
                    parts.push(item.name.clone());
                    current = self.items.get(parent);
                }
                None => break,
            }
        }
        parts.reverse();
        parts.join("/")
    }

    /// An item as `GET …/items/{id}` (and uploads) answer it.
    pub(crate) fn json(&self, item: &Item) -> Value {
        self.render(item, false)
    }

    /// An item as delta lists it, in the drive's profile.
    pub(crate) fn delta_json(&self, item: &Item) -> Value {
        self.render(item, true)
    }

    fn render(&self, item: &Item, delta: bool) -> Value {
        let profile = self.profile;
        let mut parent = json!({ "driveId": self.id, "driveType": profile.drive_type() });
        if let Some(p) = &item.parent {
            parent["id"] = json!(p);
            if !delta || profile.path_in_delta() {
                let path = self.path_of(p);
                parent["path"] = json!(if path.is_empty() {
                    "/drive/root:".to_owned()
                } else {
                    format!("/drive/root:/{path}")
                });
            }
        }
        if item.deleted {
            let mut tombstone = json!({
                "id": item.id,
                "parentReference": parent,
                "deleted": { "state": "deleted" },
            });
            if profile.name_in_tombstones() {
                tombstone["name"] = json!(item.name);
            }
            return tombstone;
        }
        let listed_size = match item.oddity {
            Oddity::SizeSkew(skew) => (item.content.len() as i64 + skew).max(0),
            Oddity::None | Oddity::Malware | Oddity::Package | Oddity::Remote => {
                item.content.len() as i64
            }
        };
        let mut value = json!({
            "id": item.id,
            "name": item.name,
            "eTag": item.etag(),
            "size": listed_size,
            "createdDateTime": rfc3339(item.created),
            "lastModifiedDateTime": rfc3339(item.modified),
            "parentReference": parent,
        });
        if !delta || profile.ctag_in_delta() {
            value["cTag"] = json!(item.ctag());
        }
        if item.folder {
            let children = self
                .items
                .values()
                .filter(|c| !c.deleted && c.parent.as_deref() == Some(item.id.as_str()))
                .count();
            value["folder"] = json!({ "childCount": children });
            if item.parent.is_none() {
                value["root"] = json!({});
            }
            return value;
        }
        let file = json!({
            "mimeType": mime_for(&item.name),
            "hashes": profile.hashes(&item.content),
        });
        match item.oddity {
            Oddity::Package => value["package"] = json!({ "type": "oneNote" }),
            Oddity::Remote => {
                value["remoteItem"] = json!({
                    "id": format!("{}!remote", item.id),
                    "name": item.name,
                    "size": listed_size,
                    "file": file,
                    "parentReference": { "driveId": "b!another-drive", "driveType": profile.drive_type() },
                });
            }
            Oddity::None | Oddity::SizeSkew(_) | Oddity::Malware => value["file"] = file,
        }
        value
    }

    fn depth(&self, id: &str) -> usize {
        let mut depth = 0;
        let mut current = self.items.get(id).and_then(|i| i.parent.clone());
        while let Some(parent) = current {
            depth += 1;
            current = self.items.get(&parent).and_then(|i| i.parent.clone());
        }
        depth
    }

    /// The newest sequence number a delta may see, given the injected lag.
    pub(crate) fn visible_upto(&self, lag: Duration) -> u64 {
        let now = Instant::now();
        self.log
            .iter()
            .rev()
            .find(|c| now.duration_since(c.at) >= lag)
            .map_or(0, |c| c.seq)
    }

    /// Every item a paging from `from` up to `upto` shows, in order.
    /// (Rendered page by page, so a large drive costs the fake one page.)
    fn changed(&self, from: u64, upto: u64) -> Vec<&Item> {
        if from == 0 {
            let mut items: Vec<(usize, &Item)> = self
                .items
                .values()
                .filter(|i| !i.deleted && i.created_seq <= upto)
                .map(|i| (self.depth(&i.id), i))
                .collect();
            items.sort_by(|(da, a), (db, b)| {
                (da, a.created_seq, &a.id).cmp(&(db, b.created_seq, &b.id))
            });
            return items.into_iter().map(|(_, i)| i).collect();
        }
        let mut last: HashMap<&str, u64> = HashMap::new();
        for change in self.log.iter().filter(|c| c.seq > from && c.seq <= upto) {
            last.insert(change.item.as_str(), change.seq);
        }
        let mut ordered: Vec<(&str, u64)> = last.into_iter().collect();
        ordered.sort_by_key(|(_, seq)| *seq);
        let mut out = Vec::new();
        for item in ordered.into_iter().filter_map(|(id, _)| self.items.get(id)) {
            if self.profile.repeats_in_delta() && !item.deleted {
                // ODB lists the ancestors of a changed item again, root first.
                let mut chain = Vec::new();
                let mut up = item.parent.as_deref().and_then(|p| self.live(p));
                while let Some(folder) = up {
                    chain.push(folder);
                    up = folder.parent.as_deref().and_then(|p| self.live(p));
                }
                out.extend(chain.into_iter().rev());
            }
            out.push(item);
        }
        out
    }

    pub(crate) fn delta(&self, token: DeltaToken, lag: Duration, page_size: usize) -> DeltaAnswer {
        let (from, upto, offset) = match token {
            DeltaToken::Since(from) => (from, self.visible_upto(lag).max(from), 0),
            DeltaToken::Page { from, upto, offset } => (from, upto, offset),
        };
        let all = self.changed(from, upto);
        let page_size = page_size.max(1);
        let end = (offset + page_size).min(all.len());
        let items = all
            .get(offset..end)
            .unwrap_or_default()
            .iter()
            .map(|i| self.delta_json(i))
            .collect();
        if end < all.len() {
            DeltaAnswer::Page {
                items,
                next: Some(DeltaToken::Page {
                    from,
                    upto,
                    offset: end,
                }),
                delta: None,
            }
        } else {
            DeltaAnswer::Page {
                items,
                next: None,
                delta: Some(DeltaToken::Since(upto)),
            }
        }
    }
}

impl State {
    pub(crate) fn new() -> Self {
        Self {
            faults: Faults {
                page_size: 200,
                token_lifetime: 3599,
                copies: 1,
                ..Faults::default()
            },
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta_items(drive: &Drive, from: u64) -> Vec<Value> {
        match drive.delta(DeltaToken::Since(from), Duration::ZERO, 1000) {
            DeltaAnswer::Page { items, .. } => items,
        }
    }

    #[test]
    fn business_delta_is_as_odb_sends_it() {
        let mut drive = Drive::new("b!d", "t", Profile::Business);
        let root = drive.root.clone();
        let folder = drive.create(&root, "f", true, Bytes::new());
        let file = drive.create(&folder, "a.txt", false, Bytes::from_static(b"hello world"));
        let seq = drive.seq;
        let first = delta_items(&drive, 0);
        let listed = first.iter().find(|i| i["id"] == file.as_str()).unwrap();
        assert!(listed.get("cTag").is_none());
        assert!(listed["parentReference"].get("path").is_none());
        assert_eq!(
            listed["file"]["hashes"]["quickXorHash"],
            "aCgDG9jwBhDc4Q1yawMZAAAAAAA="
        );
        // GET item still carries cTag and path.
        let got = drive.json(drive.live(&file).unwrap());
        assert!(got.get("cTag").is_some() && got["parentReference"].get("path").is_some());

        drive.rename(&file, "b.txt");
        let changed = delta_items(&drive, seq);
        // Ancestors first (root, folder), then the item.
        let ids: Vec<&str> = changed.iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [root.as_str(), folder.as_str(), file.as_str()]);

        let seq = drive.seq;
        drive.delete(&folder);
        let gone = delta_items(&drive, seq);
        assert_eq!(gone.len(), 1, "the folder alone: {gone:?}");
        let keys: Vec<&String> = gone[0].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["deleted", "id", "parentReference"]);
    }

    #[test]
    fn personal_delta_keeps_ctag_names_and_sha_hashes() {
        let mut drive = Drive::new("d", "t", Profile::Personal);
        let root = drive.root.clone();
        let folder = drive.create(&root, "f", true, Bytes::new());
        let file = drive.create(&folder, "a.txt", false, Bytes::from_static(b"abc"));
        let seq = drive.seq;
        let first = delta_items(&drive, 0);
        let listed = first.iter().find(|i| i["id"] == file.as_str()).unwrap();
        assert!(listed.get("cTag").is_some());
        assert_eq!(
            listed["file"]["hashes"]["sha1Hash"],
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
        drive.delete(&folder);
        let gone = delta_items(&drive, seq);
        assert_eq!(gone.len(), 2, "each item below too");
        assert!(gone.iter().all(|g| g.get("name").is_some()));
    }
}
