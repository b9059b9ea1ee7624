//! The Graph API host: token endpoint, drives, delta, content redirects,
//! simple uploads, upload session creation and subscriptions.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::{any, post},
};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::{
    GRAPH_SCOPE, Shared, notify, rfc3339,
    state::{
        Conflict, DeltaAnswer, DeltaToken, Drive, GoneLocation, Host, LinkFault, MAX_SIMPLE_UPLOAD,
        MAX_SUBSCRIPTION_MINUTES, Oddity, State as World, Subscription, Token, UploadSession,
        UploadTarget,
    },
};

/// Answers 429 with a verbatim `Retry-After` when `host` is being throttled.
pub(crate) fn throttled(state: &mut World, host: Host) -> Option<Response> {
    let (left, value) = state.faults.throttle_raw.get(&host).cloned()?;
    if left <= 1 {
        state.faults.throttle_raw.remove(&host);
    } else if let Some(entry) = state.faults.throttle_raw.get_mut(&host) {
        entry.0 = left - 1;
    }
    state.stats.throttled += 1;
    let mut response = if host == Host::Token {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, "application/json")],
            json!({ "error": "temporarily_unavailable", "error_description": "AADSTS50196: throttled" })
                .to_string(),
        )
            .into_response()
    } else {
        error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Please retry again later.",
        )
    };
    if let Ok(v) = value.parse() {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Some(response)
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/v1.0/{*rest}", any(graph))
        .layer(DefaultBodyLimit::max(64 << 20))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            crate::record_traceparent,
        ))
        .with_state(shared)
}

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "error": { "code": code, "message": message } }).to_string(),
    )
        .into_response()
}

fn ok_json(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut state = shared.lock();
    state.stats.token_requests += 1;
    if let Some(response) = throttled(&mut state, Host::Token) {
        return response;
    }
    let oauth_error = |code: &str| {
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            json!({ "error": code, "error_description": format!("AADSTS: {code}") }).to_string(),
        )
            .into_response()
    };
    if field("grant_type") != Some("client_credentials") {
        return oauth_error("unsupported_grant_type");
    }
    let scope = state
        .faults
        .scope
        .clone()
        .unwrap_or_else(|| GRAPH_SCOPE.to_owned());
    if field("scope") != Some(scope.as_str()) {
        return oauth_error("invalid_scope");
    }
    let known = state.apps.iter().any(|a| {
        a.tenant == tenant
            && Some(a.client_id.as_str()) == field("client_id")
            && Some(a.secret.as_str()) == field("client_secret")
    });
    let grant = crate::state::TokenRequest {
        tenant: tenant.clone(),
        client_id: field("client_id").unwrap_or_default().to_owned(),
        client_secret: field("client_secret").unwrap_or_default().to_owned(),
        granted: known,
    };
    state.stats.token_grants.push(grant);
    if !known {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            json!({ "error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided." }).to_string(),
        )
            .into_response();
    }
    let lifetime = state.faults.token_lifetime;
    let access_token = format!("fake.{}", uuid::Uuid::new_v4().simple());
    state.tokens.insert(
        access_token.clone(),
        Token {
            tenant,
            expires: Instant::now() + Duration::from_secs(lifetime),
        },
    );
    ok_json(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        }),
    )
}

/// The tenant of a valid bearer token.
fn authenticate(state: &World, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?;
    let found = state.tokens.get(token)?;
    (found.expires > Instant::now()).then(|| found.tenant.clone())
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// What a path below `/v1.0/drives/{drive}/` addresses.
#[derive(Debug)]
enum Address {
    Delta(Option<String>),
    /// An item by id.
    Item(String, String),
    /// A path below an item (`items/{id}:/a/b:` or `root:/a/b:`), then an action.
    Path(String, String, String),
}

fn parse_drive_path(rest: &str, root: &str) -> Option<Address> {
    if let Some(delta) = rest.strip_prefix("root/delta") {
        let token = delta
            .strip_prefix("(token='")
            .and_then(|t| t.strip_suffix("')"))
            .map(decode);
        return match (delta, token) {
            ("" | "()", _) => Some(Address::Delta(None)),
            (_, Some(token)) => Some(Address::Delta(Some(token))),
            _ => None,
        };
    }
    let (base, after) = if let Some(after) = rest.strip_prefix("root") {
        (root.to_owned(), after.to_owned())
    } else {
        let after = rest.strip_prefix("items/")?;
        let end = after.find([':', '/']).unwrap_or(after.len());
        (decode(&after[..end]), after[end..].to_owned())
    };
    if let Some(path) = after.strip_prefix(":/") {
        // `:/a/b:` then optionally `/action`
        let (path, action) = match path.split_once(":/") {
            Some((p, a)) => (p, a),
            None => (path.trim_end_matches(':'), ""),
        };
        return Some(Address::Path(base, decode(path), action.to_owned()));
    }
    let action = after.strip_prefix('/').unwrap_or(&after);
    Some(Address::Item(base, action.to_owned()))
}

async fn graph(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let delay = shared.lock().faults.api_delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let path = uri
        .path()
        .strip_prefix("/v1.0/")
        .unwrap_or_default()
        .to_owned();
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };

    let tenant = {
        let mut state = shared.lock();
        if let Some((left, retry_after, status)) = state.faults.throttle
            && left > 0
        {
            {
                state.faults.throttle = (left > 1).then_some((left - 1, retry_after, status));
                state.stats.throttled += 1;
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
                let mut response = error(status, "activityLimitReached", "throttled");
                if let Ok(value) = retry_after.to_string().parse() {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return response;
            }
        }
        if let Some(response) = throttled(&mut state, Host::Api) {
            return response;
        }
        if let Some((left, status, code)) = state.faults.refuse.clone()
            && left > 0
        {
            state.faults.refuse = (left > 1).then(|| (left - 1, status, code.clone()));
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(status, &code, "injected refusal");
        }
        match authenticate(&state, &headers) {
            Some(tenant) => tenant,
            None => {
                state.stats.unauthorized += 1;
                return error(
                    StatusCode::UNAUTHORIZED,
                    "InvalidAuthenticationToken",
                    "Access token is empty or invalid.",
                );
            }
        }
    };

    if path == "subscriptions" || path.starts_with("subscriptions/") {
        let id = path.strip_prefix("subscriptions/").map(str::to_owned);
        return subscriptions(&shared, &tenant, method, id, &body).await;
    }
    let Some(rest) = path.strip_prefix("drives/") else {
        return error(StatusCode::NOT_FOUND, "itemNotFound", "unknown resource");
    };
    let (drive_id, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let drive_id = decode(drive_id);
    let root = {
        let state = shared.lock();
        match state.drives.get(&drive_id) {
            Some(d) if d.tenant == tenant => d.root.clone(),
            Some(_) => return error(StatusCode::FORBIDDEN, "accessDenied", "wrong tenant"),
            None => return error(StatusCode::NOT_FOUND, "itemNotFound", "no such drive"),
        }
    };
    let Some(address) = parse_drive_path(rest, &root) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            "unsupported path",
        );
    };
    match (method, address) {
        (Method::GET, Address::Delta(token)) => {
            let token = token.or_else(|| param("token"));
            delta(&shared, &drive_id, token.as_deref())
        }
        (Method::GET, Address::Item(id, action)) => {
            get_item(&shared, &drive_id, &id, &action, param("$skiptoken"))
        }
        (Method::GET, Address::Path(base, rel, action)) => {
            let id = {
                let state = shared.lock();
                state
                    .drives
                    .get(&drive_id)
                    .and_then(|d| d.resolve(&base, &rel))
                    .map(|i| i.id.clone())
            };
            match id {
                Some(id) => get_item(&shared, &drive_id, &id, &action, param("$skiptoken")),
                None => error(StatusCode::NOT_FOUND, "itemNotFound", "no such item"),
            }
        }
        (Method::PUT, Address::Item(id, action)) if action == "content" => {
            simple_upload(
                &shared,
                &drive_id,
                &UploadTarget::Existing(id),
                &body,
                if_match(&headers),
            )
            .await
        }
        (Method::PUT, Address::Path(parent, name, action)) if action == "content" => {
            let Some(conflict) = Conflict::parse(
                param("@microsoft.graph.conflictBehavior").as_deref(),
                Conflict::Replace,
            ) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidRequest",
                    "bad conflictBehavior",
                );
            };
            simple_upload(
                &shared,
                &drive_id,
                &UploadTarget::Named {
                    parent,
                    name,
                    conflict,
                },
                &body,
                if_match(&headers),
            )
            .await
        }
        (Method::POST, Address::Item(id, action)) if action == "createUploadSession" => {
            create_session(
                &shared,
                &drive_id,
                UploadTarget::Existing(id),
                &body,
                if_match(&headers),
            )
        }
        (Method::POST, Address::Path(parent, name, action)) if action == "createUploadSession" => {
            let conflict = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
                v["item"]["@microsoft.graph.conflictBehavior"]
                    .as_str()
                    .map(str::to_owned)
            });
            let Some(conflict) = Conflict::parse(conflict.as_deref(), Conflict::Fail) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidRequest",
                    "bad conflictBehavior",
                );
            };
            create_session(
                &shared,
                &drive_id,
                UploadTarget::Named {
                    parent,
                    name,
                    conflict,
                },
                &body,
                if_match(&headers),
            )
        }
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalidRequest",
            "unsupported method",
        ),
    }
}

fn get_item(
    shared: &Arc<Shared>,
    drive_id: &str,
    id: &str,
    action: &str,
    skiptoken: Option<String>,
) -> Response {
    let mut state = shared.lock();
    let page_size = state.faults.page_size.max(1);
    let Some(drive) = state.drives.get(drive_id) else {
        return error(StatusCode::NOT_FOUND, "itemNotFound", "no such drive");
    };
    let Some(item) = drive.live(id) else {
        return error(StatusCode::NOT_FOUND, "itemNotFound", "no such item");
    };
    match action {
        "" => ok_json(StatusCode::OK, &drive.json(item)),
        "children" if item.folder => {
            let mut children: Vec<_> = drive
                .items
                .values()
                .filter(|c| !c.deleted && c.parent.as_deref() == Some(id))
                .collect();
            children.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
            let offset: usize = skiptoken.and_then(|t| t.parse().ok()).unwrap_or(0);
            let end = (offset + page_size).min(children.len());
            let value: Vec<Value> = children
                .get(offset..end)
                .unwrap_or_default()
                .iter()
                .map(|c| drive.json(c))
                .collect();
            let mut body = json!({ "value": value });
            if end < children.len() {
                body["@odata.nextLink"] = json!(format!(
                    "{}/v1.0/drives/{drive_id}/items/{id}/children?$skiptoken={end}",
                    shared.api_base
                ));
            }
            state.stats.children_requests += 1;
            ok_json(StatusCode::OK, &body)
        }
        "content" if item.oddity == Oddity::Package => error(
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            "a package has no content stream",
        ),
        "content" if !item.folder => {
            let content = item.content.clone();
            let malware = item.oddity == Oddity::Malware;
            *state.stats.downloads.entry(id.to_owned()).or_default() += 1;
            if malware {
                return error(
                    StatusCode::FORBIDDEN,
                    "malwareDetected",
                    "Malware was detected in the requested file.",
                );
            }
            let key = uuid::Uuid::new_v4().simple().to_string();
            state.downloads.insert(
                key.clone(),
                (content, Instant::now() + Duration::from_secs(3600)),
            );
            let location = format!("{}/download/{key}?tempauth=1", shared.content_base);
            (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            "unsupported action",
        ),
    }
}

fn delta(shared: &Arc<Shared>, drive_id: &str, token: Option<&str>) -> Response {
    let base = format!("{}/v1.0/drives/{drive_id}/root/delta", shared.api_base);
    let mut state = shared.lock();
    state.stats.delta_requests += 1;
    if token.is_none() {
        state.stats.full_enumerations += 1;
    }
    let token = match token {
        None => DeltaToken::Since(0),
        Some(raw) => match DeltaToken::decode(raw) {
            Some(token) => token,
            None => return error(StatusCode::BAD_REQUEST, "invalidRequest", "bad token"),
        },
    };
    let page_index = match token {
        DeltaToken::Since(_) => 0,
        DeltaToken::Page { offset, .. } => offset.div_ceil(state.faults.page_size.max(1)),
    };
    if let Some(&(page, target)) = state.faults.gone_at_page.get(drive_id)
        && page == page_index
    {
        state.faults.gone_at_page.remove(drive_id);
        state.stats.gone += 1;
        let location = match target {
            GoneLocation::Graph => Some(format!("{base}?token={}", DeltaToken::Since(0).encode())),
            GoneLocation::Foreign => Some(format!(
                "https://attacker.example/v1.0/drives/{drive_id}/root/delta"
            )),
            GoneLocation::Missing => None,
        };
        let mut response = error(
            StatusCode::GONE,
            "resyncChangesApplyDifferences",
            "Resync required. Replace any local items with the server's version.",
        );
        if let Some(value) = location.and_then(|l| l.parse().ok()) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        return response;
    }
    match state.faults.link_faults.get(drive_id) {
        Some(LinkFault::Loop) => {
            // The same page again and again, pointing at itself.
            let here = match token {
                DeltaToken::Since(from) => DeltaToken::Page {
                    from,
                    upto: from,
                    offset: 0,
                },
                page => page,
            };
            return ok_json(
                StatusCode::OK,
                &json!({
                    "value": [],
                    "@odata.nextLink": format!("{base}?token={}", here.encode()),
                }),
            );
        }
        Some(LinkFault::Endless) => {
            let next = match token {
                DeltaToken::Since(from) => DeltaToken::Page {
                    from,
                    upto: from,
                    offset: 1,
                },
                DeltaToken::Page { from, upto, offset } => DeltaToken::Page {
                    from,
                    upto,
                    offset: offset + 1,
                },
            };
            return ok_json(
                StatusCode::OK,
                &json!({
                    "value": [],
                    "@odata.nextLink": format!("{base}?token={}", next.encode()),
                }),
            );
        }
        None => {}
    }
    let (lag, page_size) = (state.faults.delta_lag, state.faults.page_size);
    let Some(drive): Option<&Drive> = state.drives.get(drive_id) else {
        return error(StatusCode::NOT_FOUND, "itemNotFound", "no such drive");
    };
    match drive.delta(token, lag, page_size) {
        DeltaAnswer::Page { items, next, delta } => {
            let mut body = json!({ "value": items });
            if let Some(next) = next {
                body["@odata.nextLink"] = json!(format!("{base}?token={}", next.encode()));
            }
            if let Some(delta) = delta {
                body["@odata.deltaLink"] = json!(format!("{base}?token={}", delta.encode()));
            }
            ok_json(StatusCode::OK, &body)
        }
    }
}

/// `412` unless `If-Match` (when given) names the item's current eTag or cTag.
pub(crate) fn check_if_match(
    state: &mut World,
    drive_id: &str,
    item_id: &str,
    if_match: Option<&str>,
) -> Result<(), Box<Response>> {
    let (Some(wanted), Some(item)) = (
        if_match,
        state.drives.get(drive_id).and_then(|d| d.live(item_id)),
    ) else {
        return Ok(());
    };
    let (etag, ctag) = (item.etag(), item.ctag());
    if wanted == "*" || wanted == etag || wanted == ctag {
        return Ok(());
    }
    state.stats.refusals.push(crate::state::Refusal {
        item_id: item_id.to_owned(),
        if_match: wanted.to_owned(),
        current_etag: etag,
    });
    Err(Box::new(error(
        StatusCode::PRECONDITION_FAILED,
        "resourceModified",
        "The resource has changed since the caller last read it; usually an eTag mismatch",
    )))
}

pub(crate) fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// How an upload arrived, for the record of what the fake saw.
pub(crate) struct Arrival {
    pub(crate) if_match: Option<String>,
    pub(crate) session: bool,
}

/// Stores content as a new or existing file; `Err` is the error response.
pub(crate) fn store(
    state: &mut World,
    drive_id: &str,
    target: &UploadTarget,
    content: Bytes,
    arrival: Arrival,
) -> Result<(StatusCode, Value), Box<Response>> {
    let received = content.clone();
    let Some(drive) = state.drives.get_mut(drive_id) else {
        return Err(Box::new(error(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            "no such drive",
        )));
    };
    let (status, id) = match target {
        UploadTarget::Existing(id) => {
            if !drive.set_content(id, content) {
                return Err(Box::new(error(
                    StatusCode::NOT_FOUND,
                    "itemNotFound",
                    "no such file",
                )));
            }
            (StatusCode::OK, id.clone())
        }
        UploadTarget::Named {
            parent,
            name,
            conflict,
        } => {
            if drive.live(parent).is_none_or(|p| !p.folder) {
                return Err(Box::new(error(
                    StatusCode::NOT_FOUND,
                    "itemNotFound",
                    "no such folder",
                )));
            }
            if name.is_empty() || name.contains(['/', '\\', ':', '*', '?', '"', '<', '>', '|']) {
                return Err(Box::new(error(
                    StatusCode::BAD_REQUEST,
                    "invalidRequest",
                    "bad name",
                )));
            }
            let existing = drive
                .child_named(parent, name)
                .map(|i| (i.id.clone(), i.folder));
            match (existing, conflict) {
                (Some((id, false)), Conflict::Replace) => {
                    drive.set_content(&id, content);
                    (StatusCode::OK, id)
                }
                (Some(_), Conflict::Fail) | (Some((_, true)), Conflict::Replace) => {
                    return Err(Box::new(error(
                        StatusCode::CONFLICT,
                        "nameAlreadyExists",
                        "an item with this name exists",
                    )));
                }
                (Some(_), Conflict::Rename) => {
                    let free = drive.free_name(parent, name);
                    (
                        StatusCode::CREATED,
                        drive.create(parent, &free, false, content),
                    )
                }
                (None, _) => (
                    StatusCode::CREATED,
                    drive.create(parent, name, false, content),
                ),
            }
        }
    };
    let name = drive.live(&id).map(|i| i.name.clone()).unwrap_or_default();
    if drive.profile.rewrites_upload(&name) {
        // Same change, same sequence number: the rewrite is part of the upload.
        if let Some(item) = drive.items.get_mut(&id) {
            let mut rewritten = item.content.to_vec();
            rewritten.extend_from_slice(format!("\n<!-- sharepoint item {id} -->\n").as_bytes());
            item.content = Bytes::from(rewritten);
        }
    }
    let stored = drive
        .live(&id)
        .map(|i| i.content.clone())
        .unwrap_or_default();
    let json = drive
        .live(&id)
        .map(|i| drive.json(i))
        .unwrap_or(Value::Null);
    state.stats.uploads.push(crate::state::Upload {
        item_id: id,
        name,
        received,
        stored,
        if_match: arrival.if_match,
        session: arrival.session,
    });
    Ok((status, json))
}

async fn simple_upload(
    shared: &Arc<Shared>,
    drive_id: &str,
    target: &UploadTarget,
    body: &Bytes,
    if_match: Option<String>,
) -> Response {
    if body.len() > MAX_SIMPLE_UPLOAD {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "requestBodyTooLarge",
            "simple upload is limited to 4 MiB; use an upload session",
        );
    }
    let (stored, delay) = {
        let mut state = shared.lock();
        state.stats.simple_uploads += 1;
        let checked = match target {
            UploadTarget::Existing(id) => {
                check_if_match(&mut state, drive_id, id, if_match.as_deref())
            }
            UploadTarget::Named { .. } => Ok(()),
        };
        let stored = checked.and_then(|()| {
            store(
                &mut state,
                drive_id,
                target,
                body.clone(),
                Arrival {
                    if_match,
                    session: false,
                },
            )
        });
        (stored, state.faults.upload_answer_delay)
    };
    match stored {
        Ok((status, json)) => {
            notify::changed(shared, drive_id);
            tokio::time::sleep(delay).await;
            lost_answer(shared).unwrap_or_else(|| ok_json(status, &json))
        }
        Err(response) => *response,
    }
}

/// `504` instead of a committed upload's answer, while
/// [`crate::FakeGraph::lose_next_upload_answers`] lasts.
pub(crate) fn lost_answer(shared: &Shared) -> Option<Response> {
    let mut state = shared.lock();
    if state.faults.lose_upload_answers == 0 {
        return None;
    }
    state.faults.lose_upload_answers -= 1;
    Some(error(
        StatusCode::GATEWAY_TIMEOUT,
        "gatewayTimeout",
        "The operation timed out.",
    ))
}

fn create_session(
    shared: &Arc<Shared>,
    drive_id: &str,
    target: UploadTarget,
    body: &Bytes,
    if_match: Option<String>,
) -> Response {
    if !body.is_empty() && serde_json::from_slice::<Value>(body).is_err() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            "body is not JSON",
        );
    }
    let mut state = shared.lock();
    let Some(drive) = state.drives.get(drive_id) else {
        return error(StatusCode::NOT_FOUND, "itemNotFound", "no such drive");
    };
    match &target {
        UploadTarget::Existing(id) => {
            if drive.live(id).is_none_or(|i| i.folder) {
                return error(StatusCode::NOT_FOUND, "itemNotFound", "no such file");
            }
            let id = id.clone();
            if let Err(refused) = check_if_match(&mut state, drive_id, &id, if_match.as_deref()) {
                return *refused;
            }
        }
        UploadTarget::Named {
            parent,
            name,
            conflict,
        } => {
            if drive.live(parent).is_none_or(|p| !p.folder) {
                return error(StatusCode::NOT_FOUND, "itemNotFound", "no such folder");
            }
            if *conflict == Conflict::Fail && drive.child_named(parent, name).is_some() {
                return error(StatusCode::CONFLICT, "nameAlreadyExists", "exists");
            }
        }
    }
    let key = uuid::Uuid::new_v4().simple().to_string();
    let expires = OffsetDateTime::now_utc() + time::Duration::hours(24);
    state.sessions.insert(
        key.clone(),
        UploadSession {
            drive: drive_id.to_owned(),
            target,
            parts: std::collections::BTreeMap::new(),
            total: None,
            expires,
            if_match,
        },
    );
    ok_json(
        StatusCode::OK,
        &json!({
            "uploadUrl": format!("{}/upload/{key}", shared.content_base),
            "expirationDateTime": rfc3339(expires),
            "nextExpectedRanges": ["0-"],
        }),
    )
}

fn parse_time(value: &Value) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(
        value.as_str()?,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()
}

fn subscription_json(s: &Subscription) -> Value {
    json!({
        "id": s.id,
        "resource": s.resource,
        "changeType": "updated",
        "notificationUrl": s.notification_url,
        "lifecycleNotificationUrl": s.lifecycle_url,
        "expirationDateTime": rfc3339(s.expires),
        "clientState": s.client_state,
        "applicationId": "fake",
    })
}

fn check_expiry(value: &Value) -> Result<OffsetDateTime, Box<Response>> {
    let Some(expires) = parse_time(value) else {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "ExtensionError",
            "expirationDateTime is missing or not a date",
        )));
    };
    let now = OffsetDateTime::now_utc();
    if expires <= now {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "ExtensionError",
            "expirationDateTime must be in the future",
        )));
    }
    if expires > now + time::Duration::minutes(MAX_SUBSCRIPTION_MINUTES) {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "ExtensionError",
            "Subscription expiration can only be 42300 minutes in the future.",
        )));
    }
    Ok(expires)
}

async fn subscriptions(
    shared: &Arc<Shared>,
    tenant: &str,
    method: Method,
    id: Option<String>,
    body: &Bytes,
) -> Response {
    let now = OffsetDateTime::now_utc();
    match (method, id) {
        (Method::POST, None) => {
            let Ok(request) = serde_json::from_slice::<Value>(body) else {
                return error(StatusCode::BAD_REQUEST, "BadRequest", "body is not JSON");
            };
            if request["changeType"] != "updated" {
                return error(
                    StatusCode::BAD_REQUEST,
                    "ExtensionError",
                    "drive items support only changeType updated",
                );
            }
            let resource = request["resource"].as_str().unwrap_or_default().to_owned();
            let drive = resource
                .trim_start_matches('/')
                .strip_prefix("drives/")
                .and_then(|r| r.strip_suffix("/root"))
                .map(str::to_owned);
            let Some(drive) = drive else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "ExtensionError",
                    "OneDrive for Business supports subscriptions on the drive root only",
                );
            };
            let known = shared
                .lock()
                .drives
                .get(&drive)
                .is_some_and(|d| d.tenant == tenant);
            if !known {
                return error(StatusCode::NOT_FOUND, "itemNotFound", "no such drive");
            }
            let expires = match check_expiry(&request["expirationDateTime"]) {
                Ok(e) => e,
                Err(response) => return *response,
            };
            let Some(notification_url) = request["notificationUrl"].as_str().map(str::to_owned)
            else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "notificationUrl is required",
                );
            };
            let lifecycle_url = request["lifecycleNotificationUrl"]
                .as_str()
                .map(str::to_owned);
            let client_state = request["clientState"].as_str().map(str::to_owned);
            if client_state.as_ref().is_some_and(|c| c.len() > 128) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "clientState too long",
                );
            }
            for url in std::iter::once(&notification_url).chain(lifecycle_url.iter()) {
                if !notify::validate(shared, url).await {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "ValidationError",
                        "Subscription validation request failed. Response must exactly match validationToken query parameter.",
                    );
                }
            }
            let subscription = Subscription {
                id: uuid::Uuid::new_v4().to_string(),
                drive,
                tenant: tenant.to_owned(),
                resource,
                notification_url,
                lifecycle_url,
                client_state,
                expires,
            };
            let json = subscription_json(&subscription);
            shared
                .lock()
                .subscriptions
                .insert(subscription.id.clone(), subscription);
            ok_json(StatusCode::CREATED, &json)
        }
        (method, Some(id)) => {
            let mut state = shared.lock();
            if method == Method::GET {
                state.stats.subscription_reads += 1;
            }
            let live = state
                .subscriptions
                .get(&id)
                .is_some_and(|s| s.expires > now && s.tenant == tenant);
            if !live {
                state.subscriptions.remove(&id);
                return error(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFound",
                    "subscription not found",
                );
            }
            match method {
                Method::GET => ok_json(
                    StatusCode::OK,
                    &subscription_json(&state.subscriptions[&id]),
                ),
                Method::DELETE => {
                    state.subscriptions.remove(&id);
                    StatusCode::NO_CONTENT.into_response()
                }
                Method::PATCH => {
                    let Ok(request) = serde_json::from_slice::<Value>(body) else {
                        return error(StatusCode::BAD_REQUEST, "BadRequest", "body is not JSON");
                    };
                    let expires = match check_expiry(&request["expirationDateTime"]) {
                        Ok(e) => e,
                        Err(response) => return *response,
                    };
                    let Some(sub) = state.subscriptions.get_mut(&id) else {
                        return error(StatusCode::NOT_FOUND, "ResourceNotFound", "gone");
                    };
                    sub.expires = expires;
                    ok_json(StatusCode::OK, &subscription_json(sub))
                }
                _ => error(StatusCode::METHOD_NOT_ALLOWED, "BadRequest", "unsupported"),
            }
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "BadRequest", "unsupported"),
    }
}
