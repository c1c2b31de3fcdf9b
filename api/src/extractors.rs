//! Request extractors whose failures are problem documents naming the offending field.
//!
//! `ValidJson<T>` reads a bounded JSON body, deserializes it with the path of any wrong field
//! (`assigned_user_ids[1]`), then runs `validator` rules; `ValidQuery<T>` does the same for query
//! strings. Path segments that are not UUIDs answer 404: such an id cannot name anything.

use actix_web::dev::Payload;
use actix_web::error::PathError;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::{LocalBoxFuture, Ready, ready};
use portcullis_domain::FieldError;
use serde::de::DeserializeOwned;
use validator::Validate;

use crate::error::ApiError;
use crate::text;

/// The largest JSON body accepted.
pub const JSON_BODY_LIMIT: usize = 64 * 1024;

/// A JSON body, deserialized and validated.
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = read_json(req, payload, None);
        Box::pin(async move { read.await.map(Self) })
    }
}

/// The body of an action whose fields are all optional (approve, deny): no body at all (no
/// `Content-Type`, nothing sent) means `{}`, the common case of a decision without a comment. A body
/// that is sent follows [`ValidJson`]'s rules.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Validate + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = read_json(req, payload, Some(T::default));
        Box::pin(async move { read.await.map(Self) })
    }
}

/// Reads a bounded JSON body; with `if_empty`, an empty body (whatever its declared type) is that value.
fn read_json<T: DeserializeOwned + Validate + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    if_empty: Option<fn() -> T>,
) -> LocalBoxFuture<'static, Result<T, ApiError>> {
    let declared_empty = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim() == "0");
    let precheck = match (if_empty, declared_empty) {
        // Without a Content-Type the body must turn out empty; checked once it is read.
        (Some(_), true) if !req.headers().contains_key(header::CONTENT_TYPE) => Ok(false),
        _ => check_json_headers(req).map(|()| true),
    };
    let mut payload = payload.take();
    Box::pin(async move {
        let declared_json = precheck?;
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk
                .map_err(|e| ApiError::bad_request(format!("the body could not be read: {e}")))?;
            if body.len() + chunk.len() > JSON_BODY_LIMIT {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let value: T = match if_empty {
            Some(default) if body.is_empty() => default(),
            _ if !declared_json => return Err(not_json()),
            _ => parse_json(&body)?,
        };
        value.validate()?;
        Ok(value)
    })
}

fn not_json() -> ApiError {
    ApiError::UnsupportedMediaType(
        "the body must be JSON (Content-Type: application/json)".to_owned(),
    )
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!("the body must be at most {JSON_BODY_LIMIT} bytes"))
}

fn check_json_headers(req: &HttpRequest) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > JSON_BODY_LIMIT) {
        return Err(too_large());
    }
    let is_json = req.mime_type().ok().flatten().is_some_and(|mime| {
        mime.type_() == "application"
            && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
    });
    if !is_json {
        return Err(not_json());
    }
    Ok(())
}

/// Deserializes `body`: unreadable JSON is a 400; readable JSON of the wrong shape, or text that
/// breaks the API's text rule (`crate::text`), is a 422 naming the field.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(ApiError::bad_request("a JSON body is required")),
        // serde would also read a struct from an array; the API only takes objects.
        Some(b'[') => return Err(ApiError::invalid_field("body", "must be a JSON object")),
        Some(_) => {}
    }
    text::check_json(body)?;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(value) => value,
        // JSON Schema counts `3.0` as an integer, so the API does too (the slow path, taken only then).
        Err(e) if e.inner().is_data() && e.inner().to_string().contains("floating point `") => {
            return parse_with_integral_floats(body);
        }
        Err(e) => return Err(json_error(e)),
    };
    deserializer
        .end()
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = e.inner();
    if inner.is_data() {
        let field = field_path(e.path(), inner.to_string().as_str());
        ApiError::invalid_field(&field, strip_position(&inner.to_string()))
    } else {
        ApiError::bad_request(format!("the body is not valid JSON: {inner}"))
    }
}

fn parse_with_integral_floats<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    fn integral(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Number(n) if n.is_f64() => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                // Exactly representable integers only (|f| < 2^53), so nothing is rounded.
                if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                    *value = serde_json::Value::from(f as i64);
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(integral),
            serde_json::Value::Object(members) => members.values_mut().for_each(integral),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    integral(&mut value);
    serde_path_to_error::deserialize(value).map_err(json_error)
}

/// The JSON path of the failing field. The path ends at the object for a missing field, which serde
/// names in backticks instead.
fn field_path(path: &serde_path_to_error::Path, message: &str) -> String {
    let mut field = path.to_string();
    let named = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    if let Some(name) = named {
        field = if field == "." {
            name.to_owned()
        } else {
            format!("{field}.{name}")
        };
    }
    if field == "." {
        "body".to_owned()
    } else {
        field
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Query-string parameters, deserialized and validated; mistakes are 400s naming the parameter.
#[derive(Debug)]
pub struct ValidQuery<T>(pub T);

impl<T: DeserializeOwned + Validate> FromRequest for ValidQuery<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(Self))
    }
}

fn parse_query<T: DeserializeOwned + Validate>(query: &str) -> Result<T, ApiError> {
    // Every parameter, including those a handler reads from the raw query string (`status`).
    text::check_query(query)?;
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    let value: T = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let message = e.inner().to_string();
        let field = field_path(e.path(), &message);
        ApiError::BadRequest {
            detail: format!("invalid query parameter {field}: {message}"),
            errors: vec![FieldError::new(field, message)],
        }
    })?;
    value
        .validate()
        .map_err(|errors| match ApiError::from(errors) {
            ApiError::Validation(fields) => ApiError::BadRequest {
                detail: fields.to_string(),
                errors: fields.into_errors(),
            },
            other => other,
        })?;
    Ok(value)
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, _req| {
        let message = match &error {
            PathError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        ApiError::NotFound(format!("no such resource: {message}")).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        #[serde(default)]
        ids: Vec<uuid::Uuid>,
        #[validate(range(min = 1, max = 200))]
        limit: Option<u32>,
    }

    fn field_of(result: Result<Sample, ApiError>) -> String {
        match result.unwrap_err() {
            ApiError::Validation(e) => e.errors()[0].field.clone(),
            ApiError::BadRequest { errors, .. } => errors[0].field.clone(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_wrong_type_names_its_path() {
        assert_eq!(
            field_of(parse_json(br#"{"name": "a", "ids": ["x"]}"#)),
            "ids[0]"
        );
        assert_eq!(field_of(parse_json(br#"{"name": 5}"#)), "name");
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        assert_eq!(field_of(parse_json(br#"{}"#)), "name");
        assert_eq!(field_of(parse_json(br#"{"name": "a", "nmae": 1}"#)), "nmae");
    }

    #[test]
    fn broken_json_is_a_bad_request() {
        assert!(matches!(
            parse_json::<Sample>(b"{\"name\":"),
            Err(ApiError::BadRequest { .. })
        ));
        assert!(matches!(
            parse_json::<Sample>(b"  "),
            Err(ApiError::BadRequest { .. })
        ));
        assert!(matches!(
            parse_json::<Sample>(b"{\"name\":\"a\"} x"),
            Err(ApiError::BadRequest { .. })
        ));
    }

    #[test]
    fn integral_floats_are_integers_as_json_schema_says() {
        let sample: Sample = parse_json(br#"{"name": "a", "limit": 20.0}"#).unwrap();
        assert_eq!(sample.limit, Some(20));
        assert_eq!(
            field_of(parse_json(br#"{"name": "a", "limit": 2.5}"#)),
            "limit"
        );
    }

    #[test]
    fn query_mistakes_name_the_parameter() {
        assert_eq!(field_of(parse_query("name=a&limit=abc")), "limit");
        assert_eq!(field_of(parse_query("name=a&limit=0")), "limit");
    }
}
