//! Single byte ranges (`Range: bytes=…`) and entity tags for downloads.

/// What a `Range` header asks of content of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeRequest {
    /// No usable range: send everything (RFC 9110 lets a server ignore
    /// multi-range and malformed requests).
    Full,
    /// Inclusive first and last byte.
    Partial {
        first: u64,
        last: u64,
    },
    Unsatisfiable,
}

pub(crate) fn parse_range(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let parse = |s: &str| s.parse::<u64>().ok();
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        // bytes=-N: the last N bytes.
        return match parse(end) {
            Some(n) if n > 0 && size > 0 => RangeRequest::Partial {
                first: size.saturating_sub(n),
                last: size - 1,
            },
            Some(_) => RangeRequest::Unsatisfiable,
            None => RangeRequest::Full,
        };
    }
    let Some(first) = parse(start) else {
        return RangeRequest::Full;
    };
    let last = if end.is_empty() {
        None
    } else {
        match parse(end) {
            Some(last) if last >= first => Some(last),
            Some(_) | None => return RangeRequest::Full,
        }
    };
    if first >= size {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Partial {
        first,
        last: last.map_or(size - 1, |l| l.min(size - 1)),
    }
}

/// The strong entity tag of a version: its SHA-256.
pub(crate) fn etag(sha256: &str) -> String {
    format!("\"{sha256}\"")
}

/// Whether an `If-None-Match` header matches `etag` (weak comparison).
pub(crate) fn none_match(header: Option<&str>, etag: &str) -> bool {
    header.is_some_and(|h| {
        h.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == etag)
    })
}

/// How a download answers, from the version's entity tag and size and the
/// request's conditional and range headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// `If-None-Match` matched: 304.
    NotModified,
    /// 200 with everything (`span` none) or 206 with the inclusive `span`.
    Content {
        span: Option<(u64, u64)>,
        /// The bytes the body carries.
        length: u64,
    },
    /// 416.
    Unsatisfiable,
}

/// The request headers a download reads.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Conditions<'a> {
    pub if_none_match: Option<&'a str>,
    pub if_range: Option<&'a str>,
    pub range: Option<&'a str>,
}

impl Delivery {
    pub(crate) fn plan(etag: &str, size: u64, conditions: Conditions<'_>) -> Self {
        if none_match(conditions.if_none_match, etag) {
            return Self::NotModified;
        }
        // A range applies only while the content is the one the client has (If-Range).
        let range = match conditions.if_range {
            Some(if_range) if if_range.trim() != etag => None,
            Some(_) | None => conditions.range,
        };
        match parse_range(range, size) {
            RangeRequest::Full => Self::Content {
                span: None,
                length: size,
            },
            RangeRequest::Partial { first, last } => Self::Content {
                span: Some((first, last)),
                length: last - first + 1,
            },
            RangeRequest::Unsatisfiable => Self::Unsatisfiable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_follow_the_conditions() {
        let tag = etag("ab");
        let plan = |if_none_match, if_range, range| {
            Delivery::plan(
                &tag,
                10,
                Conditions {
                    if_none_match,
                    if_range,
                    range,
                },
            )
        };
        assert_eq!(plan(Some("\"ab\""), None, None), Delivery::NotModified);
        assert_eq!(
            plan(None, None, Some("bytes=2-4")),
            Delivery::Content {
                span: Some((2, 4)),
                length: 3
            }
        );
        let full = Delivery::Content {
            span: None,
            length: 10,
        };
        assert_eq!(plan(None, Some("\"old\""), Some("bytes=2-4")), full);
        assert_eq!(plan(None, None, None), full);
        assert_eq!(plan(None, None, Some("bytes=10-")), Delivery::Unsatisfiable);
    }

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range(None, 10), Full);
        assert_eq!(
            parse_range(Some("bytes=0-4"), 10),
            Partial { first: 0, last: 4 }
        );
        assert_eq!(
            parse_range(Some("bytes=5-"), 10),
            Partial { first: 5, last: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=-3"), 10),
            Partial { first: 7, last: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=-30"), 10),
            Partial { first: 0, last: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=8-100"), 10),
            Partial { first: 8, last: 9 }
        );
        assert_eq!(parse_range(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=10-20"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-2"), 10), Full);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), Full);
        assert_eq!(parse_range(Some("items=0-1"), 10), Full);
        assert_eq!(parse_range(Some("bytes=x-y"), 10), Full);
    }

    #[test]
    fn etags() {
        let tag = etag("ab");
        assert!(none_match(Some("\"ab\""), &tag));
        assert!(none_match(Some("W/\"zz\", \"ab\""), &tag));
        assert!(none_match(Some("*"), &tag));
        assert!(!none_match(Some("\"zz\""), &tag));
        assert!(!none_match(None, &tag));
    }
}
