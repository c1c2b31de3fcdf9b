//! The one error type of the HTTP layer and its RFC 9457 rendering.
//!
//! Policy: handlers and services return `ApiError`. Client mistakes become 4xx problem documents
//! that say what to fix (`errors[]` names each invalid field). Anything unexpected becomes a 500
//! whose cause is logged with the request id and never sent to the client.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use portcullis_domain::{FieldError, ValidationErrors};
use portcullis_persistence::DatabaseError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::request_id;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:portcullis:problem:validation",
    "title": "Invalid input",
    "status": 422,
    "detail": "2 fields are invalid",
    "errors": [{ "field": "email", "message": "'ada' is not a valid email address" }],
    "request_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"
}))]
pub struct Problem {
    /// A URI identifying the kind of problem.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short, human-readable summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence, for people.
    pub detail: String,
    /// The id of the request (also in the `X-Request-Id` header and the server logs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Invalid fields, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(default = json!([]))]
    pub errors: Vec<ProblemFieldError>,
    /// For conflicts with an existing resource: its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<String>,
}

/// One invalid field of the input.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemFieldError {
    /// The field's path in the input, e.g. `manager_id` or `assigned_user_ids[1]`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl From<FieldError> for ProblemFieldError {
    fn from(e: FieldError) -> Self {
        Self {
            field: e.field,
            message: e.message,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed: unreadable JSON, bad query parameters, a garbage page token.
    #[error("bad request: {detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("authentication required: {0}")]
    Unauthorized(&'static str),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed(Vec<Method>),
    #[error("conflict: {detail}")]
    Conflict {
        detail: String,
        existing_id: Option<String>,
    },
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// Well-formed input that breaks a rule.
    #[error("invalid input: {0}")]
    Validation(ValidationErrors),
    /// The caller used up an allowance: requests a minute (see `rate_limit`), or a rule's (`detail`
    /// says which, e.g. break-glass requests a day).
    #[error("too many requests")]
    TooManyRequests {
        retry_after_seconds: u64,
        detail: Option<String>,
    },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::BadRequest {
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn bad_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::BadRequest {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError::new(field, message)],
        }
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(ValidationErrors::single(field, message))
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::Conflict {
            detail: detail.into(),
            existing_id: None,
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            Self::BadRequest { .. } => ("bad-request", "Malformed request"),
            Self::Unauthorized(_) => ("unauthorized", "Authentication required"),
            Self::Forbidden(_) => ("forbidden", "Not allowed"),
            Self::NotFound(_) => ("not-found", "Not found"),
            Self::MethodNotAllowed(_) => ("method-not-allowed", "Method not allowed"),
            Self::Conflict { .. } => ("conflict", "Conflict"),
            Self::PreconditionFailed(_) => ("precondition-failed", "Precondition failed"),
            Self::PayloadTooLarge(_) => ("payload-too-large", "Payload too large"),
            Self::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            Self::Validation(_) => ("validation", "Invalid input"),
            Self::TooManyRequests { .. } => ("rate-limited", "Too many requests"),
            Self::Unavailable(_) => ("unavailable", "Service unavailable"),
            Self::Internal(_) => ("internal", "Internal error"),
        }
    }

    /// The problem document for this error (details of 500s are replaced by a generic text).
    pub fn problem(&self) -> Problem {
        let (slug, title) = self.slug_and_title();
        let status = self.status_code();
        let (detail, errors, existing_id) = match self {
            Self::BadRequest { detail, errors } => (detail.clone(), errors.clone(), None),
            Self::Validation(errors) => {
                let count = errors.errors().len();
                let detail = match errors.errors() {
                    [only] => format!("{}: {}", only.field, only.message),
                    _ => format!("{count} fields are invalid"),
                };
                (detail, errors.errors().to_vec(), None)
            }
            Self::Conflict {
                detail,
                existing_id,
            } => (detail.clone(), Vec::new(), existing_id.clone()),
            Self::MethodNotAllowed(allowed) => {
                let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
                (
                    format!("this resource supports {}", names.join(", ")),
                    Vec::new(),
                    None,
                )
            }
            Self::Unauthorized(detail) => ((*detail).to_owned(), Vec::new(), None),
            Self::TooManyRequests {
                retry_after_seconds,
                detail,
            } => (
                detail.clone().unwrap_or_else(|| {
                    format!("this account made too many requests; retry in {retry_after_seconds} s")
                }),
                Vec::new(),
                None,
            ),
            Self::Forbidden(d)
            | Self::NotFound(d)
            | Self::PreconditionFailed(d)
            | Self::PayloadTooLarge(d) => (d.clone(), Vec::new(), None),
            Self::UnsupportedMediaType(d) | Self::Unavailable(d) => (d.clone(), Vec::new(), None),
            Self::Internal(_) => (
                "An unexpected error occurred. Quote the request id when reporting it.".to_owned(),
                Vec::new(),
                None,
            ),
        };
        Problem {
            problem_type: format!("urn:portcullis:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            request_id: request_id::current(),
            errors: errors.into_iter().map(Into::into).collect(),
            existing_id,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => tracing::error!(%cause, "request failed"),
            Self::Unavailable(cause) => tracing::warn!(%cause, "service unavailable"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE));
        match self {
            Self::Unauthorized(_) => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            Self::MethodNotAllowed(allowed) => {
                let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
                response.insert_header((header::ALLOW, names.join(", ")));
            }
            Self::TooManyRequests {
                retry_after_seconds,
                ..
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
            }
            _ => {}
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut fields = ValidationErrors::new();
        collect_validator_errors("", &errors, &mut fields);
        Self::Validation(fields)
    }
}

fn collect_validator_errors(
    prefix: &str,
    errors: &validator::ValidationErrors,
    out: &mut ValidationErrors,
) {
    use validator::ValidationErrorsKind;
    let mut entries: Vec<_> = errors.errors().iter().collect();
    entries.sort_by_key(|(field, _)| field.to_string());
    for (field, kind) in entries {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for error in list {
                    let message = error
                        .message
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_else(|| format!("is invalid ({})", error.code));
                    out.push(path.clone(), message);
                }
            }
            ValidationErrorsKind::Struct(inner) => collect_validator_errors(&path, inner, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect_validator_errors(&format!("{path}[{index}]"), inner, out);
                }
            }
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Internal(format!("database: {error}"))
    }
}

impl From<DatabaseError> for ApiError {
    fn from(error: DatabaseError) -> Self {
        match error {
            DatabaseError::Pool(e) => {
                Self::Unavailable(format!("no database connection available: {e}"))
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Self::Internal(format!("blocking task failed: {error}"))
    }
}
