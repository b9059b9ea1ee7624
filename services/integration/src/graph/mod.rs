//! Microsoft Graph, as the integration uses it: app-only tokens (client
//! credentials, cached), drive items, delta, content, uploads and
//! subscriptions.
//!
//! Requests are made with `graph-rs-sdk` (its `test-util` feature lets a
//! configured endpoint such as the fake Graph replace graph.microsoft.com).
//! Three things the SDK cannot do are done with a plain `reqwest` client,
//! as docs/adr/0021 explains: the token request (its token endpoint is not
//! configurable), following a pre-authenticated `302` without the
//! `Authorization` header, and the upload session fragments.

mod auth;
#[cfg(test)]
mod contract;
mod upload;

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use folio_platform::{secrets::Secret, telemetry::current_trace_headers};
use futures::{Stream, TryStreamExt};
use graph_rs_sdk::{GraphClient, GraphClientConfiguration};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use url::Url;

pub(crate) use upload::{SIMPLE_LIMIT, UploadError, upload_session};

/// Where Graph is when not configured otherwise.
pub(crate) const GRAPH_URL: &str = "https://graph.microsoft.com/v1.0";

/// Microsoft's clouds: a Graph host and the sign-in host that issues its
/// tokens (learn.microsoft.com/graph/deployments). The token's scope is the
/// Graph host's `/.default`, so both follow the configured Graph URL.
const CLOUDS: [(&str, &str); 4] = [
    ("graph.microsoft.com", "login.microsoftonline.com"),
    // US Government L4 and L5 (DoD) share a sign-in host.
    ("graph.microsoft.us", "login.microsoftonline.us"),
    ("dod-graph.microsoft.us", "login.microsoftonline.us"),
    // Operated by 21Vianet.
    ("microsoftgraph.chinacloudapi.cn", "login.chinacloudapi.cn"),
];

fn cloud(graph_url: Option<&Url>) -> (&'static str, &'static str) {
    graph_url
        .and_then(Url::host_str)
        .and_then(|host| {
            CLOUDS
                .iter()
                .find(|(graph, _)| graph.eq_ignore_ascii_case(host))
        })
        .copied()
        // Any other host (a proxy, the fake) stands for the global cloud.
        .unwrap_or(CLOUDS[0])
}

/// The scope app-only tokens are requested with for Graph at `graph_url`.
pub(crate) fn scope_for(graph_url: Option<&Url>) -> String {
    format!("https://{}/.default", cloud(graph_url).0)
}

/// The client-credentials token endpoint (with `{tenant}`) of the cloud
/// Graph at `graph_url` is in.
pub(crate) fn token_url_for(graph_url: Option<&Url>) -> String {
    format!(
        "https://{}/{{tenant}}/oauth2/v2.0/token",
        cloud(graph_url).1
    )
}

/// The longest we ever wait for a `Retry-After`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("Graph refused the app credentials ({0})")]
    Credentials(String),
    #[error("Graph asks to retry after {0:?}")]
    Throttled(Duration),
    /// 401 on a request with a token: it expired or was revoked early.
    #[error("Graph refused the access token")]
    Unauthorized,
    #[error("Graph requires a resync")]
    Gone { location: Option<String> },
    #[error("not found in Graph")]
    NotFound,
    #[error("Graph refused the request: {status} {code}")]
    Refused { status: u16, code: String },
    #[error("Graph is unavailable: {0}")]
    Unavailable(String),
    #[error("Graph answered something unexpected: {0}")]
    Malformed(&'static str),
}

impl From<reqwest::Error> for GraphError {
    fn from(e: reqwest::Error) -> Self {
        // Never the URL: pre-authenticated URLs are credentials.
        Self::Unavailable(if e.is_timeout() {
            "timed out".to_owned()
        } else if e.is_connect() {
            "cannot connect".to_owned()
        } else {
            "transport error".to_owned()
        })
    }
}

impl From<graph_rs_sdk::GraphFailure> for GraphError {
    fn from(_: graph_rs_sdk::GraphFailure) -> Self {
        Self::Unavailable("request failed".to_owned())
    }
}

/// The app-only credentials of one connection.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub tenant: String,
    pub app_id: String,
    pub secret: Secret,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ParentReference {
    pub id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FileFacet {
    #[serde(rename = "mimeType")]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub hashes: Option<Hashes>,
}

/// `file.hashes`: ODB sends quickXorHash; personal OneDrive sends sha1Hash
/// (and sometimes sha256Hash) too.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Hashes {
    #[serde(rename = "quickXorHash", default)]
    pub quick_xor: Option<String>,
    #[serde(rename = "sha256Hash", default)]
    pub sha256: Option<String>,
    #[serde(rename = "sha1Hash", default)]
    pub sha1: Option<String>,
}

/// A drive item as delta and item requests return it.
#[derive(Debug, Clone, Deserialize)]
pub struct DriveItem {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "cTag", default)]
    pub ctag: Option<String>,
    #[serde(rename = "eTag", default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(rename = "parentReference", default)]
    pub parent: Option<ParentReference>,
    #[serde(default)]
    pub folder: Option<serde_json::Value>,
    #[serde(default)]
    pub root: Option<serde_json::Value>,
    #[serde(default)]
    pub file: Option<FileFacet>,
    #[serde(default)]
    pub deleted: Option<serde_json::Value>,
    /// OneNote notebooks and other packages: no `file` facet, no content.
    #[serde(default)]
    pub package: Option<serde_json::Value>,
    /// A shortcut to an item that lives in another drive.
    #[serde(rename = "remoteItem", default)]
    pub remote_item: Option<serde_json::Value>,
}

impl DriveItem {
    /// The content hash to compare versions by, tagged with its algorithm so
    /// hashes of different kinds never compare equal (docs/adr/0030). The
    /// same drive always sends the same kinds, so the choice is stable.
    pub fn content_hash(&self) -> Option<String> {
        let hashes = self.file.as_ref()?.hashes.as_ref()?;
        let pick = |tag: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| format!("{tag}:{v}"))
        };
        pick("quickXorHash", &hashes.quick_xor)
            .or_else(|| {
                pick(
                    "sha256",
                    &hashes.sha256.as_ref().map(|h| h.to_ascii_lowercase()),
                )
            })
            .or_else(|| {
                pick(
                    "sha1",
                    &hashes.sha1.as_ref().map(|h| h.to_ascii_lowercase()),
                )
            })
    }

    pub fn is_folder(&self) -> bool {
        self.folder.is_some() || self.root.is_some()
    }
    pub fn is_deleted(&self) -> bool {
        self.deleted.is_some()
    }
    pub fn parent_id(&self) -> Option<&str> {
        self.parent.as_ref().and_then(|p| p.id.as_deref())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeltaPage {
    #[serde(default)]
    pub value: Vec<DriveItem>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", default)]
    pub delta_link: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SubscriptionInfo {
    pub id: String,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Deserialize)]
struct SubscriptionBody {
    id: String,
    #[serde(rename = "expirationDateTime")]
    expiration: String,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    code: String,
}

/// Characters escaped in a value put into a URL path by hand (the tenant
/// in the token URL); the SDK escapes the path segments it builds itself.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b':')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    // Sub-delimiters are legal in a path, but servers differ in what they
    // make of them; escaped, a name arrives in OneDrive exactly as named.
    .add(b'&')
    .add(b'+')
    .add(b'\'')
    .add(b';')
    .add(b'=')
    .add(b',')
    .add(b'@')
    .add(b'$')
    .add(b'[')
    .add(b']');

pub(crate) fn segment(name: &str) -> String {
    utf8_percent_encode(name, SEGMENT).to_string()
}

/// `Retry-After` as Graph sends it: seconds, possibly fractional (`2.128`),
/// or an HTTP date; 10 s when absent or unreadable.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()))
        .unwrap_or(Duration::from_secs(10))
        .min(MAX_RETRY_AFTER)
}

fn parse_retry_after(raw: &str, now: std::time::SystemTime) -> Option<Duration> {
    let raw = raw.trim();
    if let Ok(secs) = raw.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())));
    }
    let at = httpdate::parse_http_date(raw).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Turns a non-success answer into the error it means.
async fn check(response: reqwest::Response) -> Result<reqwest::Response, GraphError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let code = status.as_u16();
    match code {
        429 | 503 => Err(GraphError::Throttled(retry_after(response.headers()))),
        410 => Err(GraphError::Gone {
            location: response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        }),
        404 => Err(GraphError::NotFound),
        401 => Err(GraphError::Unauthorized),
        // 507 Insufficient Storage (`quotaLimitReached`) is about the file, not Graph's health.
        500..=506 | 508..=599 => Err(GraphError::Unavailable(format!("status {code}"))),
        _ => {
            let body = response.bytes().await.unwrap_or_default();
            let code_text = serde_json::from_slice::<ErrorBody>(&body)
                .map(|b| b.error.code)
                .unwrap_or_default();
            Err(GraphError::Refused {
                status: code,
                code: code_text.chars().take(80).collect(),
            })
        }
    }
}

async fn json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, GraphError> {
    let body = check(response).await?.bytes().await?;
    serde_json::from_slice(&body).map_err(|_| GraphError::Malformed("unexpected JSON"))
}

fn parse_time(raw: &str) -> Result<OffsetDateTime, GraphError> {
    OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map_err(|_| GraphError::Malformed("bad date"))
}

fn format_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Microsoft Graph for every connection; cheap to clone.
#[derive(Debug, Clone)]
pub struct Graph {
    endpoint: Option<Url>,
    origin: url::Origin,
    tokens: Arc<auth::Tokens>,
    /// No redirects, no default `Authorization`: for pre-authenticated URLs.
    plain: reqwest::Client,
}

impl Graph {
    /// Graph at `endpoint` (global Graph when `None`), its tokens from
    /// `token_url` with `scope` (see [`token_url_for`] and [`scope_for`]).
    pub fn new(
        endpoint: Option<Url>,
        token_url: String,
        scope: String,
    ) -> Result<Self, GraphError> {
        let origin = endpoint
            .clone()
            .unwrap_or_else(|| Url::parse(GRAPH_URL).unwrap_or_else(|_| unreachable_url()))
            .origin();
        let plain = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .build()?;
        Ok(Self {
            endpoint,
            origin,
            tokens: Arc::new(auth::Tokens::new(token_url, scope, plain.clone())),
            plain,
        })
    }

    /// An SDK client holding a valid token for these credentials.
    async fn sdk(&self, credentials: &Credentials) -> Result<GraphClient, GraphError> {
        let endpoint = self.endpoint.clone();
        self.tokens
            .client(credentials, move |token| {
                let mut config = GraphClientConfiguration::new()
                    .access_token(token)
                    .timeout(Duration::from_secs(120))
                    .connect_timeout(Duration::from_secs(10));
                if endpoint.as_ref().is_some_and(|e| e.scheme() == "http") {
                    config = config.https_only(false);
                }
                let mut client = GraphClient::from(config);
                if let Some(endpoint) = &endpoint {
                    client.use_test_endpoint(endpoint);
                }
                client
            })
            .await
    }

    /// Checks that a link Graph gave us points at Graph (a token must never
    /// be sent elsewhere).
    pub(crate) fn graph_link(&self, link: &str) -> Result<Url, GraphError> {
        let url = Url::parse(link).map_err(|_| GraphError::Malformed("bad link"))?;
        if url.origin() == self.origin {
            Ok(url)
        } else {
            Err(GraphError::Malformed("link to another host"))
        }
    }

    /// Verifies the credentials by obtaining a token.
    pub async fn check_credentials(&self, credentials: &Credentials) -> Result<(), GraphError> {
        self.sdk(credentials).await.map(drop)
    }

    /// Runs `call` with a client holding a cached token; when Graph answers
    /// 401 (the token expired or was revoked before we expected), gets a new
    /// token once and runs it again.
    async fn with_token<T, F, Fut>(
        &self,
        credentials: &Credentials,
        mut call: F,
    ) -> Result<T, GraphError>
    where
        F: FnMut(GraphClient) -> Fut,
        Fut: std::future::Future<Output = Result<T, GraphError>>,
    {
        match call(self.sdk(credentials).await?).await {
            Err(GraphError::Unauthorized) => {
                tracing::info!("Graph refused a cached token; getting a new one");
                self.tokens.forget(credentials).await;
                call(self.sdk(credentials).await?).await
            }
            other => other,
        }
    }

    /// An item by id, or by a path from the root when `item` starts with '/'.
    pub async fn item(
        &self,
        credentials: &Credentials,
        drive: &str,
        item: &str,
    ) -> Result<DriveItem, GraphError> {
        self.with_token(credentials, |client| async move {
            let drive = client.drive(drive);
            let request = if item.starts_with('/') {
                let path: Vec<&str> = item.split('/').filter(|p| !p.is_empty()).collect();
                if path.is_empty() {
                    drive.get_root()
                } else {
                    drive
                        .item_by_path(format!(":/{}:", path.join("/")))
                        .get_items()
                }
            } else {
                drive.item(item).get_items()
            };
            json(request.headers(current_trace_headers()).send().await?).await
        })
        .await
    }

    /// The child of `parent` named `name`, if there is one (a send whose
    /// answer was lost looks for what it may have created; docs/adr/0034).
    pub async fn child(
        &self,
        credentials: &Credentials,
        drive: &str,
        parent: &str,
        name: &str,
    ) -> Result<Option<DriveItem>, GraphError> {
        let url = self.api_url(&format!(
            "/drives/{}/items/{}:/{}:",
            segment(drive),
            segment(parent),
            segment(name)
        ))?;
        let found = self
            .with_token(credentials, |client| {
                let url = url.clone();
                async move {
                    let mut request = client.drive(drive).item("placeholder").get_items();
                    *request.as_mut() = url;
                    json(request.headers(current_trace_headers()).send().await?).await
                }
            })
            .await;
        match found {
            Ok(item) => Ok(Some(item)),
            Err(GraphError::NotFound) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Every child of a folder, following `@odata.nextLink` (a folder moved
    /// into the connected folder: delta does not list what is inside it).
    pub async fn children(
        &self,
        credentials: &Credentials,
        drive: &str,
        folder: &str,
    ) -> Result<Vec<DriveItem>, GraphError> {
        let mut all = Vec::new();
        let mut link: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let page: DeltaPage = self
                .with_token(credentials, |client| {
                    let link = link.clone();
                    async move {
                        let mut request = client.drive(drive).item(folder).list_children();
                        if let Some(link) = &link {
                            *request.as_mut() = self.graph_link(link)?;
                        }
                        json(request.headers(current_trace_headers()).send().await?).await
                    }
                })
                .await?;
            all.extend(page.value);
            match page.next_link {
                Some(next) if seen.insert(next.clone()) => link = Some(next),
                Some(_) => return Err(GraphError::Malformed("children paging loops")),
                None => return Ok(all),
            }
        }
    }

    /// One delta page: the first of a full enumeration when `link` is
    /// `None`, otherwise the page a stored next or delta link points at.
    pub async fn delta(
        &self,
        credentials: &Credentials,
        drive: &str,
        link: Option<&str>,
    ) -> Result<DeltaPage, GraphError> {
        self.with_token(credentials, |client| async move {
            let mut request = client.drive(drive).delta();
            if let Some(link) = link {
                *request.as_mut() = self.graph_link(link)?;
            }
            json(request.headers(current_trace_headers()).send().await?).await
        })
        .await
    }

    /// A file's content and its length as served: Graph answers 302 to a
    /// pre-authenticated URL, fetched without the `Authorization` header.
    /// The served length is the truth (a sensitivity label can make it
    /// differ from the listed `size`).
    pub async fn download(
        &self,
        credentials: &Credentials,
        drive: &str,
        item: &str,
    ) -> Result<
        (
            Option<u64>,
            impl Stream<Item = Result<Bytes, GraphError>> + Send + use<>,
        ),
        GraphError,
    > {
        let first = self
            .with_token(credentials, |client| async move {
                let request = client
                    .drive(drive)
                    .item(item)
                    .get_items_content()
                    .build()
                    .await?
                    .build()?;
                let first = self.plain.execute(request).await?;
                if first.status().is_redirection() {
                    Ok(first)
                } else {
                    check(first).await
                }
            })
            .await?;
        let response = if first.status().is_redirection() {
            let location = first
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| Url::parse(v).ok())
                .ok_or(GraphError::Malformed("redirect without a location"))?;
            check(
                self.plain
                    .get(location)
                    .headers(current_trace_headers())
                    .send()
                    .await?,
            )
            .await?
        } else {
            first
        };
        let length = response.content_length();
        Ok((length, response.bytes_stream().map_err(GraphError::from)))
    }

    pub async fn create_subscription(
        &self,
        credentials: &Credentials,
        drive: &str,
        notification_url: &Url,
        lifecycle_url: &Url,
        client_state: &str,
        lifetime: Duration,
    ) -> Result<SubscriptionInfo, GraphError> {
        let client = self.sdk(credentials).await?;
        let expires = OffsetDateTime::now_utc() + lifetime;
        let body = json!({
            "changeType": "updated",
            "notificationUrl": notification_url.as_str(),
            "lifecycleNotificationUrl": lifecycle_url.as_str(),
            "resource": format!("/drives/{drive}/root"),
            "expirationDateTime": format_time(expires),
            "clientState": client_state,
        });
        let created: SubscriptionBody = json(
            client
                .subscriptions()
                .create_subscription(&body)
                .headers(current_trace_headers())
                .send()
                .await?,
        )
        .await?;
        Ok(SubscriptionInfo {
            id: created.id,
            expires_at: parse_time(&created.expiration)?,
        })
    }

    /// The subscription as Graph has it; `NotFound` when Graph removed it.
    pub async fn get_subscription(
        &self,
        credentials: &Credentials,
        id: &str,
    ) -> Result<SubscriptionInfo, GraphError> {
        let client = self.sdk(credentials).await?;
        let found: SubscriptionBody = json(
            client
                .subscription(id)
                .get_subscription()
                .headers(current_trace_headers())
                .send()
                .await?,
        )
        .await?;
        Ok(SubscriptionInfo {
            id: found.id,
            expires_at: parse_time(&found.expiration)?,
        })
    }

    /// `NotFound` when the subscription no longer exists.
    pub async fn renew_subscription(
        &self,
        credentials: &Credentials,
        id: &str,
        lifetime: Duration,
    ) -> Result<SubscriptionInfo, GraphError> {
        let client = self.sdk(credentials).await?;
        let body = json!({
            "expirationDateTime": format_time(OffsetDateTime::now_utc() + lifetime),
        });
        let renewed: SubscriptionBody = json(
            client
                .subscription(id)
                .update_subscription(&body)
                .headers(current_trace_headers())
                .send()
                .await?,
        )
        .await?;
        Ok(SubscriptionInfo {
            id: renewed.id,
            expires_at: parse_time(&renewed.expiration)?,
        })
    }

    /// Deleting a subscription that no longer exists succeeds.
    pub async fn delete_subscription(
        &self,
        credentials: &Credentials,
        id: &str,
    ) -> Result<(), GraphError> {
        let client = self.sdk(credentials).await?;
        let response = client
            .subscription(id)
            .delete_subscription()
            .headers(current_trace_headers())
            .send()
            .await?;
        match check(response).await {
            Ok(_) | Err(GraphError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A URL below the Graph endpoint, built here rather than by the SDK:
    /// its path templates HTML-escape values (a name with `&` would arrive
    /// as `&amp;`), so names go in percent-encoded by [`segment`].
    fn api_url(&self, path: &str) -> Result<Url, GraphError> {
        let base = self
            .endpoint
            .as_ref()
            .map_or(GRAPH_URL, Url::as_str)
            .trim_end_matches('/');
        Url::parse(&format!("{base}{path}")).map_err(|_| GraphError::Malformed("bad item address"))
    }

    /// Where an upload goes, and the headers it needs (`If-Match` over an
    /// existing file, so nothing changed in OneDrive is overwritten).
    fn upload_address(
        &self,
        drive: &str,
        target: &UploadTarget,
        action: &str,
    ) -> Result<(Url, reqwest::header::HeaderMap), GraphError> {
        let mut headers = current_trace_headers();
        let drive = segment(drive);
        let url = match target {
            UploadTarget::Existing { item, if_match } => {
                if let Some(etag) = if_match {
                    let value = reqwest::header::HeaderValue::from_str(etag)
                        .map_err(|_| GraphError::Malformed("stored eTag"))?;
                    headers.insert(reqwest::header::IF_MATCH, value);
                }
                self.api_url(&format!("/drives/{drive}/items/{}/{action}", segment(item)))?
            }
            UploadTarget::New { parent, name } => self.api_url(&format!(
                "/drives/{drive}/items/{}:/{}:/{action}",
                segment(parent),
                segment(name)
            ))?,
        };
        Ok((url, headers))
    }

    /// Uploads ≤ [`SIMPLE_LIMIT`] bytes in one request: over `item` when
    /// given, else as `name` in `parent` (renamed by OneDrive on a conflict).
    pub async fn upload_small(
        &self,
        credentials: &Credentials,
        drive: &str,
        target: &UploadTarget,
        content: Bytes,
    ) -> Result<DriveItem, GraphError> {
        let client = self.sdk(credentials).await?;
        let (mut url, headers) = self.upload_address(drive, target, "content")?;
        if matches!(target, UploadTarget::New { .. }) {
            url.query_pairs_mut()
                .append_pair("@microsoft.graph.conflictBehavior", "rename");
        }
        let mut request = client
            .drive(drive)
            .item("placeholder")
            .update_items_content(reqwest::Body::from(content));
        *request.as_mut() = url;
        json(request.headers(headers).send().await?).await
    }

    /// Starts an upload session; returns its pre-authenticated upload URL.
    /// Over an existing file the session replaces it (under `If-Match`);
    /// a new file is renamed by OneDrive when the name is taken.
    pub async fn create_upload_session(
        &self,
        credentials: &Credentials,
        drive: &str,
        target: &UploadTarget,
    ) -> Result<Url, GraphError> {
        #[derive(Deserialize)]
        struct Session {
            #[serde(rename = "uploadUrl")]
            upload_url: String,
        }
        let client = self.sdk(credentials).await?;
        let (url, headers) = self.upload_address(drive, target, "createUploadSession")?;
        let behaviour = match target {
            UploadTarget::Existing { .. } => "replace",
            UploadTarget::New { .. } => "rename",
        };
        let mut request = client
            .drive(drive)
            .item("placeholder")
            .create_upload_session(
                &json!({ "item": { "@microsoft.graph.conflictBehavior": behaviour } }),
            );
        *request.as_mut() = url;
        let session: Session = json(request.headers(headers).send().await?).await?;
        Url::parse(&session.upload_url).map_err(|_| GraphError::Malformed("bad upload URL"))
    }

    pub(crate) fn plain(&self) -> &reqwest::Client {
        &self.plain
    }
}

/// Where an upload goes.
#[derive(Debug, Clone)]
pub enum UploadTarget {
    /// New content for a file that exists; refused with 412 unless the
    /// file's eTag is still `if_match` (when given).
    Existing {
        item: String,
        if_match: Option<String>,
    },
    /// A new file in a folder.
    New { parent: String, name: String },
}

fn unreachable_url() -> Url {
    Url::parse("http://localhost/").unwrap_or_else(|_| std::process::abort())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_paths() {
        assert_eq!(segment("a b:c/d#e?.txt"), "a%20b%3Ac%2Fd%23e%3F.txt");
        assert_eq!(segment("Übersicht.pdf"), "%C3%9Cbersicht.pdf");
        assert_eq!(
            segment("Q&A #2 100% + 'x'.docx"),
            "Q%26A%20%232%20100%25%20%2B%20%27x%27.docx"
        );
    }

    /// graph-rs-sdk renders path values through Handlebars, which
    /// HTML-escapes them: `&` would reach OneDrive as `&amp;` and `'` as
    /// `&#x27;`. Upload addresses are therefore built by `upload_address`.
    #[test]
    fn the_sdk_mangles_names_so_uploads_address_items_themselves() {
        let client = GraphClient::new("token");
        let request = client
            .drive("d")
            .item("p")
            .upload_items_content(":/Q&A 'x'.txt:", reqwest::Body::from(""));
        let sdk: &Url = request.as_ref();
        assert!(sdk.path().contains("&amp;"), "{sdk}");

        let graph = Graph::new(
            None,
            "http://127.0.0.1:9/{tenant}/token".into(),
            scope_for(None),
        )
        .unwrap();
        let target = UploadTarget::New {
            parent: "01PARENT".into(),
            name: "Q&A #2 100% + 'x'.txt".into(),
        };
        let (url, _) = graph.upload_address("b!drive", &target, "content").unwrap();
        assert_eq!(
            url.as_str(),
            "https://graph.microsoft.com/v1.0/drives/b!drive/items/01PARENT:/\
             Q%26A%20%232%20100%25%20%2B%20%27x%27.txt:/content"
        );
        let decoded = percent_encoding::percent_decode_str(url.path())
            .decode_utf8()
            .unwrap();
        assert!(decoded.ends_with(":/Q&A #2 100% + 'x'.txt:/content"));

        let existing = UploadTarget::Existing {
            item: "01ITEM".into(),
            if_match: Some("\"{E1},3\"".into()),
        };
        let (url, headers) = graph
            .upload_address("b!drive", &existing, "createUploadSession")
            .unwrap();
        assert!(
            url.path()
                .ends_with("/drives/b!drive/items/01ITEM/createUploadSession")
        );
        assert_eq!(headers[reqwest::header::IF_MATCH], "\"{E1},3\"");
    }

    #[test]
    fn scope_and_authority_follow_the_cloud() {
        let at = |s: &str| Some(Url::parse(s).unwrap());
        for (graph, scope, token) in [
            (
                "https://graph.microsoft.com/v1.0",
                "https://graph.microsoft.com/.default",
                "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
            ),
            (
                "https://graph.microsoft.us/v1.0",
                "https://graph.microsoft.us/.default",
                "https://login.microsoftonline.us/{tenant}/oauth2/v2.0/token",
            ),
            (
                "https://dod-graph.microsoft.us/v1.0",
                "https://dod-graph.microsoft.us/.default",
                "https://login.microsoftonline.us/{tenant}/oauth2/v2.0/token",
            ),
            (
                "https://microsoftgraph.chinacloudapi.cn/v1.0",
                "https://microsoftgraph.chinacloudapi.cn/.default",
                "https://login.chinacloudapi.cn/{tenant}/oauth2/v2.0/token",
            ),
        ] {
            assert_eq!(scope_for(at(graph).as_ref()), scope, "{graph}");
            assert_eq!(token_url_for(at(graph).as_ref()), token, "{graph}");
        }
        assert_eq!(scope_for(None), "https://graph.microsoft.com/.default");
        assert_eq!(
            scope_for(at("http://127.0.0.1:4000/v1.0").as_ref()),
            "https://graph.microsoft.com/.default"
        );
    }

    #[test]
    fn retry_after_as_graph_sends_it() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777);
        // The throttling doc's sample.
        assert_eq!(
            parse_retry_after("2.128", now),
            Some(Duration::from_millis(2128))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        // An HTTP date 7 s after now; one in the past means now.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:44 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:30 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("NaN", now), None);
        assert_eq!(parse_retry_after("later", now), None);
    }

    #[test]
    fn content_hash_prefers_quick_xor_and_tags_the_kind() {
        let item = |hashes: serde_json::Value| -> DriveItem {
            serde_json::from_value(json!({ "id": "a", "file": { "hashes": hashes } })).unwrap()
        };
        assert_eq!(
            item(json!({ "quickXorHash": "aCgDG9jwBhDc4Q1yawMZAAAAAAA=", "sha1Hash": "AB" }))
                .content_hash()
                .as_deref(),
            Some("quickXorHash:aCgDG9jwBhDc4Q1yawMZAAAAAAA=")
        );
        assert_eq!(
            item(json!({ "sha1Hash": "ABCD" }))
                .content_hash()
                .as_deref(),
            Some("sha1:abcd")
        );
        assert_eq!(item(json!({})).content_hash(), None);
        let folder: DriveItem = serde_json::from_value(json!({ "id": "f", "folder": {} })).unwrap();
        assert_eq!(folder.content_hash(), None);
    }

    #[test]
    fn retry_after_is_bounded() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Duration::from_secs(7));
        headers.insert(reqwest::header::RETRY_AFTER, "999999".parse().unwrap());
        assert_eq!(retry_after(&headers), MAX_RETRY_AFTER);
        headers.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), Duration::from_secs(10));
    }

    #[test]
    fn links_must_stay_on_graph() {
        let graph = Graph::new(
            Some(Url::parse("http://127.0.0.1:9/v1.0").unwrap()),
            "http://127.0.0.1:9/{tenant}/token".into(),
            scope_for(None),
        )
        .unwrap();
        assert!(
            graph
                .graph_link("http://127.0.0.1:9/v1.0/drives/x/root/delta?token=a")
                .is_ok()
        );
        assert!(
            graph
                .graph_link("http://evil.example/v1.0/drives/x")
                .is_err()
        );
        assert!(graph.graph_link("http://127.0.0.1:10/v1.0").is_err());
    }
}
