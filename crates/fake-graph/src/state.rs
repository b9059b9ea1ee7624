//! The fake's world: apps and tokens, drives with their items and change
//! log, subscriptions, upload sessions, injected faults and what happened.

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

use bytes::Bytes;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::rfc3339;

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

#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// Per drive: answer `410 Gone` on this page index (0 = first page) of the next delta paging.
    pub(crate) gone_at_page: HashMap<String, usize>,
    /// The next n Graph API requests answer 429 with this Retry-After (seconds).
    pub(crate) throttle: Option<(u32, u64, u16)>,
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
    /// SharePoint's rewrite of uploaded Office, PDF, HTML and JPEG files
    /// (on by default: OneDrive for Business does it).
    pub(crate) keep_uploads_verbatim: bool,
    /// The next n Graph API requests answer this status and error code.
    pub(crate) refuse: Option<(u32, u16, String)>,
    /// The scope tokens must be asked for (a national cloud's); `None`:
    /// global Graph's.
    pub(crate) scope: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) token_requests: u64,
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
    pub(crate) content_requests: u64,
    /// The `traceparent` of every request that carried one.
    pub(crate) traceparents: Vec<String>,
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
    pub(crate) fn new(id: &str, tenant: &str) -> Self {
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
            },
        );
        Self {
            id: id.to_owned(),
            tenant: tenant.to_owned(),
            root,
            items,
            log: Vec::new(),
            seq: 0,
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
            self.delete(&child);
        }
        if let Some(item) = self.items.get_mut(id) {
            item.deleted = true;
        }
        self.record(id);
        true
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

    pub(crate) fn json(&self, item: &Item) -> Value {
        let mut parent = json!({ "driveId": self.id, "driveType": "business" });
        if let Some(p) = &item.parent {
            parent["id"] = json!(p);
            let path = self.path_of(p);
            parent["path"] = json!(if path.is_empty() {
                "/drive/root:".to_owned()
            } else {
                format!("/drive/root:/{path}")
            });
        }
        if item.deleted {
            return json!({
                "id": item.id,
                "name": item.name,
                "parentReference": parent,
                "deleted": { "state": "deleted" },
            });
        }
        let mut value = json!({
            "id": item.id,
            "name": item.name,
            "eTag": item.etag(),
            "cTag": item.ctag(),
            "size": item.content.len(),
            "createdDateTime": rfc3339(item.created),
            "lastModifiedDateTime": rfc3339(item.modified),
            "parentReference": parent,
        });
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
        } else {
            value["file"] = json!({ "mimeType": mime_for(&item.name) });
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
    fn changed(&self, from: u64, upto: u64) -> Vec<Value> {
        if from == 0 {
            let mut items: Vec<&Item> = self
                .items
                .values()
                .filter(|i| !i.deleted && i.created_seq <= upto)
                .collect();
            items.sort_by_key(|i| (self.depth(&i.id), i.created_seq, i.id.clone()));
            return items.into_iter().map(|i| self.json(i)).collect();
        }
        let mut last: HashMap<&str, u64> = HashMap::new();
        for change in self.log.iter().filter(|c| c.seq > from && c.seq <= upto) {
            last.insert(change.item.as_str(), change.seq);
        }
        let mut ordered: Vec<(&str, u64)> = last.into_iter().collect();
        ordered.sort_by_key(|(_, seq)| *seq);
        ordered
            .into_iter()
            .filter_map(|(id, _)| self.items.get(id))
            .map(|i| self.json(i))
            .collect()
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
            .map(<[Value]>::to_vec)
            .unwrap_or_default();
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
