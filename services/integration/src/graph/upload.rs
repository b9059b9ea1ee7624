//! The upload session uploader: fragments that are multiples of 320 KiB,
//! PUT in order with `Content-Range` and no `Authorization` header, resumed
//! from `nextExpectedRanges` after a failure.

use std::{future::Future, time::Duration};

use bytes::{Bytes, BytesMut};
use folio_platform::telemetry::current_trace_headers;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use url::Url;

use super::{DriveItem, GraphError, check};

/// Graph requires fragments in multiples of 320 KiB.
pub const UNIT: u64 = 327_680;
/// Our fragment: 10 × 320 KiB (3.125 MiB), well under Graph's 60 MiB cap,
/// and what one upload keeps in memory.
pub const FRAGMENT: u64 = 10 * UNIT;
/// Up to this size a single PUT is used.
pub const SIMPLE_LIMIT: u64 = 4 << 20;

const ATTEMPTS: u32 = 5;

#[derive(Debug, Deserialize)]
struct Progress {
    #[serde(rename = "nextExpectedRanges", default)]
    next_expected_ranges: Vec<String>,
}

/// Reads exactly `want` bytes (fewer only at the end of the stream).
async fn read<S, E>(stream: &mut S, pending: &mut BytesMut, want: usize) -> Result<Bytes, E>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    while pending.len() < want {
        match stream.next().await {
            Some(Ok(chunk)) => pending.extend_from_slice(&chunk),
            Some(Err(e)) => return Err(e),
            None => break,
        }
    }
    let take = want.min(pending.len());
    Ok(pending.split_to(take).freeze())
}

enum Put {
    More,
    Done(Box<DriveItem>),
}

async fn put(
    http: &reqwest::Client,
    url: &Url,
    start: u64,
    fragment: Bytes,
    total: u64,
) -> Result<Put, GraphError> {
    let end = start + fragment.len() as u64 - 1;
    let response = http
        .put(url.clone())
        .header(
            reqwest::header::CONTENT_RANGE,
            format!("bytes {start}-{end}/{total}"),
        )
        .header(reqwest::header::CONTENT_LENGTH, fragment.len())
        .headers(current_trace_headers())
        .body(fragment)
        .timeout(Duration::from_secs(300))
        .send()
        .await?;
    let status = response.status();
    let response = check(response).await?;
    if status == reqwest::StatusCode::ACCEPTED {
        return Ok(Put::More);
    }
    let item: DriveItem = response
        .json()
        .await
        .map_err(|_| GraphError::Malformed("upload result"))?;
    Ok(Put::Done(Box::new(item)))
}

/// Where the session wants the next byte, from `nextExpectedRanges`.
async fn next_expected(http: &reqwest::Client, url: &Url) -> Result<u64, GraphError> {
    let progress: Progress = check(
        http.get(url.clone())
            .headers(current_trace_headers())
            .send()
            .await?,
    )
    .await?
    .json()
    .await
    .map_err(|_| GraphError::Malformed("upload status"))?;
    progress
        .next_expected_ranges
        .first()
        .and_then(|r| r.split('-').next())
        .and_then(|n| n.parse().ok())
        .ok_or(GraphError::Malformed("upload status without a next range"))
}

/// Uploads `total` bytes to a session. `open(offset)` gives the content from
/// `offset` on; it is called again to resume after a failed fragment.
pub async fn upload_session<O, F, S, E>(
    http: &reqwest::Client,
    url: &Url,
    total: u64,
    mut open: O,
) -> Result<DriveItem, UploadError<E>>
where
    O: FnMut(u64) -> F,
    F: Future<Output = Result<S, E>>,
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut offset = 0;
    let mut stream = open(0).await.map_err(UploadError::Source)?;
    let mut pending = BytesMut::new();
    let mut failures = 0;
    loop {
        let want = FRAGMENT.min(total - offset) as usize;
        let fragment = read(&mut stream, &mut pending, want)
            .await
            .map_err(UploadError::Source)?;
        if fragment.len() != want || want == 0 {
            return Err(UploadError::SizeMismatch);
        }
        match put(http, url, offset, fragment, total).await {
            Ok(Put::Done(item)) => return Ok(*item),
            Ok(Put::More) => {
                offset += want as u64;
                if offset >= total {
                    return Err(UploadError::Graph(GraphError::Malformed(
                        "upload session wants more than the content",
                    )));
                }
            }
            Err(error @ (GraphError::Unavailable(_) | GraphError::Throttled(_)))
            | Err(error @ GraphError::Refused { status: 416, .. }) => {
                failures += 1;
                if failures >= ATTEMPTS {
                    return Err(UploadError::Graph(error));
                }
                let pause = if let GraphError::Throttled(d) = &error {
                    *d
                } else {
                    Duration::from_millis(200 * 2u64.pow(failures))
                };
                tokio::time::sleep(pause).await;
                let next = next_expected(http, url).await.map_err(UploadError::Graph)?;
                if next > total || next % UNIT != 0 {
                    return Err(UploadError::Graph(GraphError::Malformed(
                        "bad resume point",
                    )));
                }
                tracing::info!(next, "resuming upload session");
                offset = next;
                pending.clear();
                stream = open(next).await.map_err(UploadError::Source)?;
            }
            Err(error) => return Err(UploadError::Graph(error)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError<E> {
    #[error("reading the content failed")]
    Source(E),
    #[error("the content was not as long as announced")]
    SizeMismatch,
    #[error(transparent)]
    Graph(GraphError),
}
