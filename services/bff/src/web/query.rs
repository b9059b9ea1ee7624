//! The query string of a list endpoint, as name → value.

use std::collections::HashMap;

use axum::{
    extract::{FromRequestParts, Query},
    http::request::Parts,
};

use crate::error::ApiError;

/// The query string's parameters; a malformed one is a 400 naming `query`.
#[derive(Debug, Default)]
pub(crate) struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Query(query)| Self(query))
            .map_err(|_| ApiError::invalid("query", "the query string is malformed"))
    }
}
