//! Directory sync: a SCIM 2.0 service provider (RFC 7643/7644) at `/scim/v2`, for identity
//! providers (Okta, Microsoft Entra ID, JumpCloud, Google…) to push people, managers and groups.
//!
//! SCIM has its own protocol, so it lives apart from `/v1`: its own media type
//! (`application/scim+json`), its own error documents, and its own bearer tokens (one per identity
//! provider, made by an admin with `POST /v1/scim-tokens`); a user's JWT is refused here and a SCIM
//! token is refused under `/v1`. Changes go through the directory's services, so every rule and
//! effect of the API applies (a manager change or a deactivation puts pending requests in `error`),
//! and every change is audited with the identity provider named in the event.

mod discovery;
pub mod filter;
mod groups;
mod list;
mod patch;
mod search;
mod user_document;
mod users;

pub use list::{ListParams, list_response};

use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::services::Changer;
use crate::state::AppState;

pub const MEDIA_TYPE: &str = "application/scim+json";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The largest body accepted: a group pushed with thousands of members is larger than `/v1`'s 64 KiB.
const BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Items per page when the identity provider does not say, and at most.
const DEFAULT_COUNT: i64 = 100;
pub const MAX_COUNT: i64 = 1_000;

/// Any method a resource does not support: 405 (RFC 7644 §3.2).
async fn not_allowed() -> HttpResponse {
    ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "this method is not supported here",
    )
    .error_response()
}

/// The routes under `/scim/v2`.
pub fn scope() -> actix_web::Scope {
    let resource = |path: &str| web::resource(path).default_service(web::to(not_allowed));
    web::scope("/scim/v2")
        .service(
            resource("/ServiceProviderConfig")
                .route(web::get().to(discovery::service_provider_config)),
        )
        .service(resource("/ResourceTypes").route(web::get().to(discovery::resource_types)))
        .service(resource("/ResourceTypes/{name}").route(web::get().to(discovery::resource_type)))
        .service(resource("/Schemas").route(web::get().to(discovery::schemas)))
        .service(resource("/Schemas/{id}").route(web::get().to(discovery::schema)))
        .service(resource("/.search").route(web::post().to(search::search)))
        .service(resource("/Users/.search").route(web::post().to(users::search)))
        .service(
            resource("/Users")
                .route(web::get().to(users::list))
                .route(web::post().to(users::create)),
        )
        .service(
            resource("/Users/{id}")
                .route(web::get().to(users::get))
                .route(web::put().to(users::replace))
                .route(web::patch().to(users::patch))
                .route(web::delete().to(users::delete)),
        )
        .service(resource("/Groups/.search").route(web::post().to(groups::search)))
        .service(
            resource("/Groups")
                .route(web::get().to(groups::list))
                .route(web::post().to(groups::create)),
        )
        .service(
            resource("/Groups/{id}")
                .route(web::get().to(groups::get))
                .route(web::put().to(groups::replace))
                .route(web::patch().to(groups::patch))
                .route(web::delete().to(groups::delete)),
        )
        .default_service(web::to(|| async {
            ScimError::new(StatusCode::NOT_FOUND, None, "no such SCIM endpoint").error_response()
        }))
}

/// A SCIM error document (RFC 7644 §3.12).
#[derive(Debug)]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidValue"), detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidSyntax"), detail)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            None,
            format!("no {what} with this id"),
        )
    }
}

impl std::fmt::Display for ScimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.detail)
    }
}

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        let mut response = HttpResponse::build(self.status)
            .content_type(MEDIA_TYPE)
            .body(body.to_string());
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        response
    }
}

/// The API's errors, from the directory's services, as SCIM reports them.
impl From<ApiError> for ScimError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::NotFound(detail) => Self::new(StatusCode::NOT_FOUND, None, detail),
            ApiError::Conflict { detail, .. } => {
                Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
            }
            ApiError::Validation(errors) => Self::invalid_value(errors.to_string()),
            ApiError::BadRequest { detail, .. } => Self::invalid_syntax(detail),
            ApiError::PreconditionFailed(detail) => {
                Self::new(StatusCode::PRECONDITION_FAILED, None, detail)
            }
            ApiError::Forbidden(detail) => Self::new(StatusCode::FORBIDDEN, None, detail),
            ApiError::Unavailable(detail) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, None, detail)
            }
            ApiError::PayloadTooLarge(detail) => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, None, detail)
            }
            other => {
                tracing::error!(error = %other, "SCIM request failed");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, "internal error")
            }
        }
    }
}

impl From<diesel::result::Error> for ScimError {
    fn from(error: diesel::result::Error) -> Self {
        ApiError::from(error).into()
    }
}

/// A SCIM answer with its media type.
pub fn scim_json(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(MEDIA_TYPE)
        .body(body.to_string())
}

/// The identity provider behind a request: a valid, unrevoked SCIM token.
pub struct IdentityProvider(pub Changer);

impl FromRequest for IdentityProvider {
    type Error = ScimError;
    type Future = LocalBoxFuture<'static, Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|v| v.trim().to_owned());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let unauthorized = || {
                ScimError::new(
                    StatusCode::UNAUTHORIZED,
                    None,
                    "a valid SCIM bearer token is required",
                )
            };
            let (Some(token), Some(state)) = (token, state) else {
                return Err(unauthorized());
            };
            let now = state.now();
            let found = state
                .read(move |conn| crate::services::scim::authenticate(conn, &token, now))
                .await?;
            let (token, stale) = found.ok_or_else(unauthorized)?;
            if stale {
                let id = token.id.clone();
                // Best effort: a failed note of the last use does not fail the request.
                if let Err(error) = state
                    .write(move |conn| crate::services::scim::touch(conn, &id, now))
                    .await
                {
                    tracing::warn!(%error, "could not record a SCIM token's use");
                }
            }
            Ok(IdentityProvider(Changer::IdentityProvider {
                token_id: token.id,
                name: token.name,
            }))
        })
    }
}

/// A SCIM request body: JSON (`application/scim+json` or `application/json`) up to [`BODY_LIMIT`].
pub struct ScimBody(pub Value);

impl FromRequest for ScimBody {
    type Error = ScimError;
    type Future = LocalBoxFuture<'static, Result<Self, ScimError>>;

    fn from_request(_: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let mut payload = payload.take();
        Box::pin(async move {
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ScimError::invalid_syntax(format!("the body could not be read: {e}"))
                })?;
                if body.len() + chunk.len() > BODY_LIMIT {
                    return Err(ScimError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        None,
                        format!("the body must be at most {BODY_LIMIT} bytes"),
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            let value: Value = serde_json::from_slice(&body).map_err(|e| {
                ScimError::invalid_syntax(format!("the body is not valid JSON: {e}"))
            })?;
            if !value.is_object() {
                return Err(ScimError::invalid_syntax("the body must be a JSON object"));
            }
            if let Some(path) = control_character(&value, "") {
                return Err(ScimError::invalid_value(format!(
                    "{path}: control characters are not allowed"
                )));
            }
            Ok(Self(value))
        })
    }
}

/// The path of the first string (or key) holding a control character other than tab, LF or CR.
fn control_character(value: &Value, path: &str) -> Option<String> {
    let bad = |text: &str| {
        text.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    };
    match value {
        Value::String(text) if bad(text) => Some(if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| control_character(item, &format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let here = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if bad(key) {
                Some(here)
            } else {
                control_character(item, &here)
            }
        }),
        _ => None,
    }
}

/// The `meta` of a resource.
pub fn meta(
    kind: &str,
    location: String,
    created: chrono::DateTime<chrono::Utc>,
    modified: chrono::DateTime<chrono::Utc>,
    version: i64,
) -> Value {
    json!({
        "resourceType": kind,
        "created": created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "lastModified": modified.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "location": location,
        "version": format!("W/\"{version}\""),
    })
}

/// The base URL of this server's SCIM endpoints, as the caller reached it.
pub fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}/scim/v2", info.scheme(), info.host())
}

/// Parses a path id: anything that is not one of our ids names nothing.
pub fn parse_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, ScimError> {
    raw.parse().map_err(|_| ScimError::not_found(what))
}

/// SCIM booleans as identity providers send them: `true`, or Entra ID's `"True"`/`"False"` strings.
pub fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_with_their_path() {
        let body = json!({ "name": { "givenName": "A\u{0}" }, "emails": [{ "value": "ok" }] });
        assert_eq!(
            control_character(&body, "").as_deref(),
            Some("name.givenName")
        );
        let fine = json!({ "displayName": "Line\none\ttab" });
        assert_eq!(control_character(&fine, ""), None);
    }

    #[test]
    fn entra_booleans_are_read() {
        assert_eq!(boolean(&json!("False")), Some(false));
        assert_eq!(boolean(&json!(true)), Some(true));
        assert_eq!(boolean(&json!("no")), None);
    }
}
