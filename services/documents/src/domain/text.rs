use crate::error::Error;

/// Trims `raw` and checks it is within `max` characters without control
/// characters (which would let a name forge lines in logs or headers).
pub(crate) fn clean(
    field: &'static str,
    raw: &str,
    max: usize,
    required: bool,
) -> Result<String, Error> {
    let value = raw.trim();
    if required && value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(Error::invalid(
            field,
            &format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    if let Some(c) = value.chars().find(|&c| is_format(c)) {
        return Err(Error::invalid(
            field,
            &format!(
                "must not contain invisible formatting characters such as U+{:04X} \
                 (they can make a name read as something else, e.g. \"fdp.exe\" as \"exe.pdf\")",
                u32::from(c)
            ),
        ));
    }
    Ok(value.to_owned())
}

/// Unicode's format characters (general category Cf, Unicode 15): the
/// bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E/F, U+061C)
/// that can reverse how a name reads, and the other invisible ones (zero
/// width spaces and joiners, soft hyphen, BOM, tags).
pub(crate) fn is_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// Like [`clean`], for one-line values: no line breaks or tabs either.
pub(crate) fn clean_line(field: &'static str, raw: &str, max: usize) -> Result<String, Error> {
    let value = clean(field, raw, max, true)?;
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must be a single line"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_characters_are_refused_and_ordinary_text_is_not() {
        for disguised in [
            "invoice\u{202E}fdp.exe",
            "a\u{2066}b",
            "zero\u{200B}width",
            "\u{FEFF}bom",
            "soft\u{00AD}hyphen",
            "tag\u{E0041}",
        ] {
            assert!(
                clean("title", disguised, 200, true).is_err(),
                "{disguised:?}"
            );
        }
        for plain in [
            "Résumé",
            "日本語の文書",
            "مرحبا",
            "a - b (c).pdf",
            "emoji 📄",
        ] {
            assert_eq!(clean("title", plain, 200, true).unwrap(), plain);
        }
    }
}
