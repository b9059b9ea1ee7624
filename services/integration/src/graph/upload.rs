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
pub(crate) const UNIT: u64 = 327_680;
/// Our fragment: 10 × 320 KiB (3.125 MiB), well under Graph's 60 MiB cap,
/// and what one upload keeps in memory.
pub(crate) const FRAGMENT: u64 = 10 * UNIT;
/// Up to this size a single PUT is used.
pub(crate) const SIMPLE_LIMIT: u64 = 4 << 20;

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

/// The byte ranges a session still wants, half-open, from its
/// `nextExpectedRanges` (`"12345-55232"`, `"77829-"`): unaligned and several
/// ranges are normal.
pub(crate) fn missing_ranges(ranges: &[String], total: u64) -> Result<Vec<(u64, u64)>, GraphError> {
    let bad = || GraphError::Malformed("bad nextExpectedRanges");
    let mut out: Vec<(u64, u64)> = Vec::new();
    for range in ranges {
        let (a, b) = range.trim().split_once('-').ok_or_else(bad)?;
        let start: u64 = a.parse().map_err(|_| bad())?;
        let end = if b.is_empty() {
            total
        } else {
            b.parse::<u64>().map_err(|_| bad())?.saturating_add(1)
        };
        if start >= end || end > total || out.last().is_some_and(|(_, e)| start < *e) {
            return Err(bad());
        }
        out.push((start, end));
    }
    if out.is_empty() {
        return Err(GraphError::Malformed("upload status without a next range"));
    }
    Ok(out)
}

/// What the session still wants, asked with `GET uploadUrl`.
async fn next_expected(
    http: &reqwest::Client,
    url: &Url,
    total: u64,
) -> Result<Vec<(u64, u64)>, GraphError> {
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
    missing_ranges(&progress.next_expected_ranges, total)
}

/// Uploads `total` bytes to a session. `open(offset)` gives the content from
/// `offset` on; it is called for each range the session asks for, and again
/// after a failed fragment, when the session's `nextExpectedRanges` say
/// what is still missing (any offset, several ranges).
pub(crate) async fn upload_session<O, F, S, E>(
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
    if total == 0 {
        return Err(UploadError::SizeMismatch);
    }
    let mut ranges = vec![(0, total)];
    let mut failures = 0;
    'session: loop {
        for (from, to) in ranges.clone() {
            let mut stream = open(from).await.map_err(UploadError::Source)?;
            let mut pending = BytesMut::new();
            let mut offset = from;
            while offset < to {
                // Whole 320 KiB multiples, except where the range ends.
                let want = FRAGMENT.min(to - offset) as usize;
                let fragment = read(&mut stream, &mut pending, want)
                    .await
                    .map_err(UploadError::Source)?;
                if fragment.len() != want {
                    return Err(UploadError::SizeMismatch);
                }
                match put(http, url, offset, fragment, total).await {
                    Ok(Put::Done(item)) => return Ok(*item),
                    Ok(Put::More) => offset += want as u64,
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
                        ranges = next_expected(http, url, total)
                            .await
                            .map_err(UploadError::Graph)?;
                        tracing::info!(?ranges, "resuming upload session");
                        continue 'session;
                    }
                    Err(error) => return Err(UploadError::Graph(error)),
                }
            }
        }
        // Everything asked for was sent and the session still waits: ask
        // it what it lacks (bounded like failures, so it cannot loop).
        failures += 1;
        if failures >= ATTEMPTS {
            return Err(UploadError::Graph(GraphError::Malformed(
                "upload session wants more than the content",
            )));
        }
        ranges = next_expected(http, url, total)
            .await
            .map_err(UploadError::Graph)?;
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum UploadError<E> {
    #[error("reading the content failed")]
    Source(E),
    #[error("the content was not as long as announced")]
    SizeMismatch,
    #[error(transparent)]
    Graph(GraphError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn documented_ranges_parse() {
        // Microsoft's examples: unaligned, and several at once.
        let fixture: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/graph/upload-fragment-202-multiple-ranges.json"
        ))
        .unwrap();
        let progress: Progress = serde_json::from_value(fixture).unwrap();
        assert_eq!(
            missing_ranges(&progress.next_expected_ranges, 99_376).unwrap(),
            vec![(12_345, 55_233), (77_829, 99_376)]
        );
        let resume: Progress = serde_json::from_str(include_str!(
            "../../tests/fixtures/graph/upload-session-status-resume.json"
        ))
        .unwrap();
        assert_eq!(
            missing_ranges(&resume.next_expected_ranges, 20_000).unwrap(),
            vec![(12_345, 20_000)]
        );
    }

    #[test]
    fn impossible_ranges_are_refused() {
        for bad in [
            &["100-"][..],
            &["x-"],
            &["10-5"],
            &["0-99", "50-"],
            &["0-200"],
            &[],
        ] {
            assert!(missing_ranges(&ranges(bad), 100).is_err(), "{bad:?}");
        }
        assert_eq!(
            missing_ranges(&ranges(&["0-"]), 100).unwrap(),
            vec![(0, 100)]
        );
    }
}
