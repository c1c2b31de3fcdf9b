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
    /// `*`, or a list of entity tags (`"3"`, `W/"3"`) separated by commas; tags that are not versions
    /// of ours can never match. Anything else is not an `If-Match` value at all. The contract's
    /// pattern for the header says exactly this (`crate::openapi_rules`).
    fn parse(value: &str) -> Result<Self, ()> {
        let is_space = |c: char| c == ' ' || c == '\t';
        let value = value.trim_matches(is_space);
        if value == "*" {
            return Ok(Self::Any);
        }
        let mut versions = Vec::new();
        let mut rest = value;
        loop {
            let tag = rest.strip_prefix("W/").unwrap_or(rest);
            let tag = tag.strip_prefix('"').ok_or(())?;
            // RFC 9110 etagc: visible ASCII but `"`.
            let end = tag
                .find(|c: char| !(c == '!' || ('#'..='~').contains(&c)))
                .ok_or(())?;
            let (opaque, after) = tag.split_at(end);
            rest = after
                .strip_prefix('"')
                .ok_or(())?
                .trim_start_matches(is_space);
            if let Ok(version) = opaque.parse() {
                versions.push(version);
            }
            if rest.is_empty() {
                return Ok(Self::Versions(versions));
            }
            rest = rest
                .strip_prefix(',')
                .ok_or(())?
                .trim_start_matches(is_space);
        }
    }

    /// Adds the `version` a body carries (an object read and sent back): both preconditions must
    /// hold, so a `version` that differs from every tag of `If-Match` matches nothing (412).
    pub fn and_version(self, version: Option<i64>) -> Self {
        match (self, version) {
            (precondition, None) => precondition,
            (Self::Absent | Self::Any, Some(version)) => Self::Versions(vec![version]),
            (Self::Versions(accepted), Some(version)) => {
                Self::Versions(accepted.into_iter().filter(|v| *v == version).collect())
            }
        }
    }

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
        let value = match crate::text::header(req, "If-Match") {
            Ok(value) => value.map(Self::parse),
            Err(error) => return ready(Err(error)),
        };
        ready(match value {
            None => Ok(Self::Absent),
            Some(Ok(parsed)) => Ok(parsed),
            Some(Err(())) => Err(ApiError::bad_field(
                "If-Match",
                "must be * or entity tags as ETag gives them, e.g. \"3\"",
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
        assert_eq!(IfMatch::parse("\"3\""), Ok(IfMatch::Versions(vec![3])));
        assert_eq!(
            IfMatch::parse("W/\"3\", \"4\""),
            Ok(IfMatch::Versions(vec![3, 4]))
        );
        assert_eq!(IfMatch::parse("*"), Ok(IfMatch::Any));
        assert_eq!(
            IfMatch::parse("\"a,b\" ,\t W/\"3\\\"\t,\"4\""),
            Ok(IfMatch::Versions(vec![4]))
        );
    }

    #[test]
    fn a_stale_or_foreign_tag_fails_the_precondition() {
        let parsed = |value| IfMatch::parse(value).unwrap();
        assert!(parsed("\"3\"").check(4).is_err());
        assert!(parsed("\"abc\"").check(3).is_err());
        assert!(parsed("\"3\"").check(3).is_ok());
        assert!(IfMatch::Absent.check(9).is_ok());
        assert!(IfMatch::Any.check(9).is_ok());
    }

    #[test]
    fn a_version_in_the_body_is_a_precondition_too() {
        assert!(IfMatch::Absent.and_version(Some(3)).check(3).is_ok());
        assert!(IfMatch::Absent.and_version(Some(3)).check(4).is_err());
        assert!(IfMatch::Any.and_version(Some(3)).check(4).is_err());
        assert!(IfMatch::Absent.and_version(None).check(4).is_ok());
        let tagged = || IfMatch::parse("\"3\", \"4\"").unwrap();
        assert!(tagged().and_version(Some(4)).check(4).is_ok());
        // If-Match and the body disagree: neither version is accepted.
        assert!(tagged().and_version(Some(5)).check(5).is_err());
        assert!(tagged().and_version(Some(5)).check(3).is_err());
    }

    #[test]
    fn a_value_that_is_no_entity_tag_is_malformed() {
        for garbled in [
            "",
            "3",
            "\"3",
            "abc",
            "\"3\", x",
            "\"a\"b\"",
            "\"a b\"",
            "\"3\",",
            "\"3\"\"4\"",
        ] {
            assert_eq!(IfMatch::parse(garbled), Err(()), "{garbled}");
        }
    }
}
