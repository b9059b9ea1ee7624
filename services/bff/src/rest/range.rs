//! Single byte ranges (`Range: bytes=…`) and entity tags for downloads.

/// What a `Range` header asks of content of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
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

pub fn parse_range(header: Option<&str>, size: u64) -> RangeRequest {
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
pub fn etag(sha256: &str) -> String {
    format!("\"{sha256}\"")
}

/// Whether an `If-None-Match` header matches `etag` (weak comparison).
pub fn none_match(header: Option<&str>, etag: &str) -> bool {
    header.is_some_and(|h| {
        h.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == etag)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
