//! PATCH paths (RFC 7644 §3.5.2): `attribute`, `attribute.sub`, `attribute[sub eq "value"]` and
//! `attribute[sub eq "value"].sub`, optionally behind a schema URN; the enterprise extension's URN
//! alone names the extension as a whole.

use crate::scim::filter::Resource;
use crate::scim::{ENTERPRISE_SCHEMA, ScimError};

pub(super) fn invalid_path(detail: impl Into<String>) -> ScimError {
    ScimError::new(
        actix_web::http::StatusCode::BAD_REQUEST,
        Some("invalidPath"),
        detail,
    )
}

/// Where a path points: an attribute of the document or of the enterprise extension, possibly a
/// sub-attribute, possibly only the elements of a multi-valued one that match `attr eq "value"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Path {
    pub(super) extension: bool,
    pub(super) attribute: String,
    pub(super) selector: Option<(String, String)>,
    pub(super) sub_attribute: Option<String>,
}

pub(super) fn parse_path(raw: &str, resource: Resource) -> Result<Path, ScimError> {
    let raw = raw.trim();
    // The enterprise extension as a whole: an attribute of the document named by its URN.
    if raw.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) && resource == Resource::User {
        return Ok(Path {
            extension: false,
            attribute: ENTERPRISE_SCHEMA.to_owned(),
            selector: None,
            sub_attribute: None,
        });
    }
    let (extension, rest) = if let Some(rest) = raw
        .get(..ENTERPRISE_SCHEMA.len())
        .filter(|prefix| prefix.eq_ignore_ascii_case(ENTERPRISE_SCHEMA))
        .map(|_| &raw[ENTERPRISE_SCHEMA.len()..])
    {
        if resource != Resource::User {
            return Err(invalid_path(format!(
                "{raw}: groups have no enterprise extension"
            )));
        }
        (true, rest.trim_start_matches(':'))
    } else if raw.to_ascii_lowercase().starts_with("urn:") {
        // A core schema URN before the attribute: `urn:…:core:2.0:User:userName`.
        let core = match resource {
            Resource::User => crate::scim::USER_SCHEMA,
            Resource::Group => crate::scim::GROUP_SCHEMA,
        };
        match raw
            .get(..core.len())
            .filter(|p| p.eq_ignore_ascii_case(core))
        {
            Some(_) => (false, raw[core.len()..].trim_start_matches(':')),
            None => return Err(invalid_path(format!("{raw}: unknown schema"))),
        }
    } else {
        (false, raw)
    };
    let (attribute, selector, after) = match rest.find('[') {
        Some(open) => {
            let close = rest[open..]
                .find(']')
                .map(|i| open + i)
                .ok_or_else(|| invalid_path(format!("{raw}: the filter is not closed")))?;
            let filter = &rest[open + 1..close];
            let (attr, value) = filter
                .split_once(char::is_whitespace)
                .and_then(|(attr, rest)| {
                    let rest = rest.trim_start();
                    let value = rest
                        .get(..2)
                        .filter(|op| op.eq_ignore_ascii_case("eq"))
                        .map(|_| rest[2..].trim())?;
                    let value = value.strip_prefix('"')?.strip_suffix('"')?;
                    Some((attr.trim().to_owned(), value.replace("\\\"", "\"")))
                })
                .ok_or_else(|| {
                    invalid_path(format!(
                        "{raw}: only `[attribute eq \"value\"]` filters are supported"
                    ))
                })?;
            (&rest[..open], Some((attr, value)), &rest[close + 1..])
        }
        None => (rest, None, ""),
    };
    let (attribute, mut sub_attribute) = match attribute.split_once('.') {
        Some((a, sub)) => (a.to_owned(), Some(sub.to_owned())),
        None => (attribute.to_owned(), None),
    };
    if let Some(sub) = after.strip_prefix('.') {
        sub_attribute = Some(sub.to_owned());
    } else if !after.is_empty() {
        return Err(invalid_path(format!("{raw}: unexpected {after:?}")));
    }
    if attribute.is_empty() {
        return Err(invalid_path(format!("{raw}: no attribute")));
    }
    Ok(Path {
        extension,
        attribute,
        selector,
        sub_attribute,
    })
}
