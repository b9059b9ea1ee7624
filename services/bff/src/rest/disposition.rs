//! `Content-Disposition` that is safe and correct for any file name (RFC 6266
//! with an RFC 5987 `filename*`): an ASCII fallback, and the exact name
//! percent-encoded. Nothing of the name can break out of the header.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 5987's `attr-char` is encoded.
const NOT_ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

pub(crate) fn attachment(file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '_',
        })
        .collect();
    let encoded = utf8_percent_encode(file_name, NOT_ATTR_CHAR);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::attachment;

    #[test]
    fn hostile_and_foreign_names_stay_inside_the_header() {
        assert_eq!(
            attachment("résumé.pdf"),
            "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
        );
        let evil = attachment("a\"b\\c\r\nSet-Cookie: x=1;.txt");
        assert!(!evil.contains('\r') && !evil.contains('\n'));
        assert!(evil.starts_with("attachment; filename=\"a_b_c__Set-Cookie: x=1;.txt\"; "));
        assert!(evil.ends_with("filename*=UTF-8''a%22b%5Cc%0D%0ASet-Cookie%3A%20x%3D1%3B.txt"));
        assert_eq!(
            attachment("報告.docx"),
            "attachment; filename=\"__.docx\"; filename*=UTF-8''%E5%A0%B1%E5%91%8A.docx"
        );
    }
}
