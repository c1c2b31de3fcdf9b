//! Reading an AuthZEN body: JSON (`application/json`), at most 64 KiB, an object. Members Portcullis
//! does not know are ignored (both specifications say so), so the body is read as a JSON value and
//! each operation picks what it needs, answering 400 for what is missing or mistyped. The text rule
//! (no control characters) holds for the strings Portcullis reads, as the contract's patterns say;
//! the PEP's own members (`properties`, `context`, `client`, members Portcullis does not know) are
//! not read for it (a `context` text that becomes a request's reason follows that reason's rules).

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use serde_json::Value;

use crate::error::ApiError;
use crate::extractors::JSON_BODY_LIMIT;

pub async fn read_object(req: &HttpRequest, mut payload: web::Payload) -> Result<Value, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large =
        || ApiError::PayloadTooLarge(format!("the body must be at most {JSON_BODY_LIMIT} bytes"));
    if declared.is_some_and(|len| len > JSON_BODY_LIMIT) {
        return Err(too_large());
    }
    let is_json = req.mime_type().ok().flatten().is_some_and(|mime| {
        mime.type_() == "application"
            && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
    });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType(
            "the body must be JSON (Content-Type: application/json)".to_owned(),
        ));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > JSON_BODY_LIMIT {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_field("body", "must be a JSON object"));
    }
    // Text the API refuses everywhere (control characters...) is malformed input here: a 400.
    if crate::text::json_may_hold_forbidden(&body)
        && let Some(field) = first_forbidden_read(&value)
    {
        return Err(ApiError::bad_field(&field, crate::text::MESSAGE));
    }
    Ok(value)
}

/// The strings of each member Portcullis reads, by member.
const ENTITIES: [(&str, &[&str]); 3] = [
    ("subject", &["type", "id"]),
    ("resource", &["type", "id"]),
    ("action", &["name"]),
];
const OTHERS: [(&str, &[&str]); 4] = [
    ("options", &["evaluations_semantic"]),
    (
        "denial",
        &[
            "expires_at",
            "evaluation_id",
            "evaluated_at",
            "reason",
            "template",
            "binding_token",
        ],
    ),
    ("requested_access", &["requested_until"]),
    ("callback", &["endpoint", "state"]),
];

/// The path (`evaluations[2].subject.id`) of the first string Portcullis reads that breaks the
/// text rule.
fn first_forbidden_read(body: &Value) -> Option<String> {
    fn among(object: &Value, at: &str, table: &[(&str, &[&str])]) -> Option<String> {
        table.iter().find_map(|(member, fields)| {
            fields.iter().find_map(|field| {
                let text = object.get(member)?.get(field)?.as_str()?;
                (!crate::text::is_allowed(text)).then(|| format!("{at}{member}.{field}"))
            })
        })
    }
    among(body, "", &ENTITIES)
        .or_else(|| among(body, "", &OTHERS))
        .or_else(|| {
            body.get("evaluations")?
                .as_array()?
                .iter()
                .enumerate()
                .find_map(|(index, item)| among(item, &format!("evaluations[{index}]."), &ENTITIES))
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_the_strings_portcullis_reads_follow_the_text_rule() {
        let clean = json!({
            "subject": {"type": "user", "id": "ada@example.com", "properties": {"k\u{1}": "v\u{2}"}},
            "context": {"note\u{7}": "\u{0}"},
            "extension\u{1b}": true
        });
        assert_eq!(first_forbidden_read(&clean), None);
        let bad = json!({"subject": {"type": "user", "id": "ada\u{1}"}});
        assert_eq!(first_forbidden_read(&bad).as_deref(), Some("subject.id"));
        let bad = json!({"evaluations": [{}, {"resource": {"type": "group", "id": "g\u{7f}"}}]});
        assert_eq!(
            first_forbidden_read(&bad).as_deref(),
            Some("evaluations[1].resource.id")
        );
        let bad = json!({"denial": {"binding_token": "t\u{8}"}});
        assert_eq!(
            first_forbidden_read(&bad).as_deref(),
            Some("denial.binding_token")
        );
    }
}
