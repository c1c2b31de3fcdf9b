//! Optimistic concurrency for mutable admin objects: `ETag: "<version>"` on reads, `If-Match` on writes.

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::{Ready, ready};

use crate::error::ApiError;

/// The `If-Match` precondition of a write. Absent means "last write wins".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    Absent,
    Any,
    /// The versions the caller accepts; an unparsable entity tag matches nothing.
    Versions(Vec<i64>),
}

impl IfMatch {
    fn parse(value: &str) -> Self {
        let value = value.trim();
        if value == "*" {
            return Self::Any;
        }
        Self::Versions(
            value
                .split(',')
                .filter_map(|tag| {
                    let tag = tag.trim();
                    let tag = tag.strip_prefix("W/").unwrap_or(tag);
                    tag.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
                })
                .collect(),
        )
    }

    /// Fails with 412 when the stored `current` version is not one the caller accepts.
    pub fn check(&self, current: i64) -> Result<(), ApiError> {
        match self {
            Self::Versions(accepted) if !accepted.contains(&current) => {
                Err(ApiError::PreconditionFailed(format!(
                    "the resource has changed (current ETag \"{current}\"); fetch it again and retry"
                )))
            }
            _ => Ok(()),
        }
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let value = req
            .headers()
            .get(header::IF_MATCH)
            .map(|v| v.to_str().map(Self::parse));
        ready(match value {
            None => Ok(Self::Absent),
            Some(Ok(parsed)) => Ok(parsed),
            Some(Err(_)) => Err(ApiError::bad_field(
                "If-Match",
                "is not a valid header value",
            )),
        })
    }
}

pub fn etag(version: i64) -> (header::HeaderName, HeaderValue) {
    let value = HeaderValue::from_str(&format!("\"{version}\""))
        .unwrap_or(HeaderValue::from_static("\"0\""));
    (header::ETAG, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strong_weak_and_listed_tags_are_understood() {
        assert_eq!(IfMatch::parse("\"3\""), IfMatch::Versions(vec![3]));
        assert_eq!(
            IfMatch::parse("W/\"3\", \"4\""),
            IfMatch::Versions(vec![3, 4])
        );
        assert_eq!(IfMatch::parse("*"), IfMatch::Any);
    }

    #[test]
    fn a_stale_or_garbled_tag_fails_the_precondition() {
        assert!(IfMatch::parse("\"3\"").check(4).is_err());
        assert!(IfMatch::parse("3").check(3).is_err());
        assert!(IfMatch::parse("\"3\"").check(3).is_ok());
        assert!(IfMatch::Absent.check(9).is_ok());
        assert!(IfMatch::Any.check(9).is_ok());
    }
}
