use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::error::Error;

/// Where a page of documents ends: the last row's (updated_at, id). Opaque to callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListCursor {
    pub updated_at: i64,
    pub id: Uuid,
}

impl ListCursor {
    pub(crate) fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.updated_at, self.id))
    }

    pub(crate) fn decode(raw: &str) -> Result<Self, Error> {
        let bad = || Error::invalid("cursor", "is not a cursor from a previous page");
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (at, id) = text.split_once(':').ok_or_else(bad)?;
        Ok(Self {
            updated_at: at.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let cursor = ListCursor {
            updated_at: 42,
            id: Uuid::now_v7(),
        };
        assert_eq!(ListCursor::decode(&cursor.encode()).unwrap(), cursor);
        assert!(ListCursor::decode("garbage!").is_err());
        assert!(ListCursor::decode(&URL_SAFE_NO_PAD.encode("x:y")).is_err());
    }
}
