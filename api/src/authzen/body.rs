//! Reading an AuthZEN body: JSON (`application/json`), at most 64 KiB, an object. Members Portcullis
//! does not know are ignored (both specifications say so), so the body is read as a JSON value and
//! each operation picks what it needs, answering 400 for what is missing or mistyped.

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
    // Text the API refuses everywhere (control characters...) is malformed input here: a 400.
    crate::text::check_json(&body).map_err(|e| match e {
        ApiError::Validation(errors) => ApiError::BadRequest {
            detail: errors
                .errors()
                .first()
                .map(|e| format!("{}: {}", e.field, e.message))
                .unwrap_or_default(),
            errors: errors.errors().to_vec(),
        },
        other => other,
    })?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_field("body", "must be a JSON object"));
    }
    Ok(value)
}
