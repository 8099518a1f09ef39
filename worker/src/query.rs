//! Query parameters: decoded once, read by name, and the one pagination rule.

use crate::request::Request;

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
                    field: "limit".into(),
                    message: "must be a whole number from 1 to 1000".into(),
                }),
        }
    }

    /// `?name=true` or `?name=false` (absent: false); anything else is refused.
    pub(crate) fn flag(&self, name: &'static str) -> Result<bool, ApiError> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(ApiError::InvalidField {
                field: name.into(),
                message: "must be true or false".into(),
            }),
        }
    }

    /// `?cursor=`: a previous page's `next_cursor`, opaque.
    pub(crate) fn cursor(&self) -> Option<&str> {
        self.get("cursor").filter(|c| !c.is_empty())
    }

    /// `?name=` as Unix seconds, if given.
    pub(crate) fn time(&self, name: &'static str) -> Result<Option<u64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>()
                    .ok()
                    .filter(|t| *t <= tessera_engine::MAX_TIMESTAMP)
                    .ok_or(ApiError::InvalidField {
                        field: name.into(),
                        message: "must be a time in Unix seconds".into(),
                    })
            })
            .transpose()
    }

    /// `?name=`, if given and not empty, at most `max` bytes.
    pub(crate) fn text(&self, name: &'static str, max: usize) -> Result<Option<&str>, ApiError> {
        match self.get(name).filter(|v| !v.is_empty()) {
            Some(v) if v.len() > max || v.chars().any(char::is_control) => {
                Err(ApiError::InvalidField {
                    field: name.into(),
                    message: format!("must be at most {max} bytes, without control characters"),
                })
            }
            other => Ok(other),
        }
    }

    /// `?from` and `?to` (Unix seconds, `to` exclusive): by default the 30 days up to now.
    pub(crate) fn range(&self, now: u64) -> Result<(u64, u64), ApiError> {
        const DEFAULT_SPAN: u64 = 30 * 86_400;
        let to = self.time("to")?.unwrap_or(now + 1);
        let from = self
            .time("from")?
            .unwrap_or(to.saturating_sub(DEFAULT_SPAN));
        if from >= to {
            return Err(ApiError::InvalidField {
                field: "from".into(),
                message: "must be before to".into(),
            });
        }
        Ok((from, to))
    }
}
