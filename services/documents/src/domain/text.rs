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
    Ok(value.to_owned())
}

/// Like [`clean`], for one-line values: no line breaks or tabs either.
pub(crate) fn clean_line(field: &'static str, raw: &str, max: usize) -> Result<String, Error> {
    let value = clean(field, raw, max, true)?;
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must be a single line"));
    }
    Ok(value)
}
