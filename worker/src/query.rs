//! Query parameters: decoded once, read by name, and the one pagination rule.

use worker::Request;

use crate::error::ApiError;

/// A request's query parameters, percent-decoded.
#[derive(Debug)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn of(req: &Request) -> Result<Query, ApiError> {
        Ok(Query(
            req.url()?
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }

    /// The first value of `name`, if given.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `?limit=`: 1 to 1000, default 100.
    pub(crate) fn limit(&self) -> Result<u32, ApiError> {
        match self.get("limit") {
            None => Ok(100),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or(ApiError::InvalidField {
                    field: "limit",
                    message: "must be a whole number from 1 to 1000".into(),
                }),
        }
    }

    /// `?cursor=`: a previous page's `next_cursor`, opaque.
    pub(crate) fn cursor(&self) -> Option<&str> {
        self.get("cursor").filter(|c| !c.is_empty())
    }
}
