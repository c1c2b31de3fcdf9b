//! The errors of the Access Request and Approval Profile's surface (submission, task status,
//! cancellation): `application/problem+json` with the profile's problem types and statuses. What
//! the profile does not define (authentication, rate limits, media types, server errors) keeps
//! Portcullis's own problem documents.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use portcullis_domain::FieldError;
use portcullis_domain::authzen::BindingError;

use crate::error::{ApiError, PROBLEM_CONTENT_TYPE, Problem};
use crate::request_id;

const PREFIX: &str = "urn:openid:authzen:access-request:error:";

#[derive(Debug, thiserror::Error)]
pub enum ArapError {
    /// The submission is malformed (Portcullis's `invalid_request`: a problem type the profile leaves
    /// to implementations), with the fields at fault.
    #[error("invalid request: {detail}")]
    InvalidRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("not requestable: {0}")]
    NotRequestable(String),
    #[error("expired denial")]
    ExpiredDenial,
    #[error("invalid denial binding: {0}")]
    InvalidDenialBinding(String),
    #[error("duplicate request: {0}")]
    DuplicateRequest(String),
    #[error("unknown task")]
    UnknownTask,
    #[error("invalid task state: {0}")]
    InvalidTaskState(String),
    /// Anything else: Portcullis's own problem document.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl ArapError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::InvalidRequest {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError::new(field, message)],
        }
    }

    fn kind(&self) -> Option<(&'static str, &'static str, StatusCode)> {
        Some(match self {
            Self::InvalidRequest { .. } => (
                "invalid_request",
                "Malformed access request",
                StatusCode::BAD_REQUEST,
            ),
            Self::NotRequestable(_) => (
                "not_requestable",
                "Access is not requestable",
                StatusCode::BAD_REQUEST,
            ),
            Self::ExpiredDenial => ("expired_denial", "Denial expired", StatusCode::GONE),
            Self::InvalidDenialBinding(_) => (
                "invalid_denial_binding",
                "Invalid denial binding",
                StatusCode::BAD_REQUEST,
            ),
            Self::DuplicateRequest(_) => (
                "duplicate_request",
                "Duplicate request",
                StatusCode::CONFLICT,
            ),
            Self::UnknownTask => ("unknown_task", "Unknown task", StatusCode::NOT_FOUND),
            Self::InvalidTaskState(_) => (
                "invalid_task_state",
                "Invalid task state",
                StatusCode::CONFLICT,
            ),
            Self::Api(_) => return None,
        })
    }

    fn detail(&self) -> String {
        match self {
            Self::InvalidRequest { detail, .. } => detail.clone(),
            Self::NotRequestable(d) | Self::InvalidDenialBinding(d) | Self::DuplicateRequest(d) => {
                d.clone()
            }
            Self::InvalidTaskState(d) => d.clone(),
            Self::ExpiredDenial => BindingError::Expired.to_string(),
            Self::UnknownTask => "no such task, or it is not visible to the caller".to_owned(),
            Self::Api(e) => e.to_string(),
        }
    }
}

impl From<BindingError> for ArapError {
    fn from(error: BindingError) -> Self {
        match error {
            BindingError::Invalid(detail) => Self::InvalidDenialBinding(detail.to_owned()),
            BindingError::Expired => Self::ExpiredDenial,
        }
    }
}

impl From<diesel::result::Error> for ArapError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Api(error.into())
    }
}

impl ResponseError for ArapError {
    fn status_code(&self) -> StatusCode {
        match (self, self.kind()) {
            (Self::Api(error), _) => error.status_code(),
            (_, Some((_, _, status))) => status,
            (_, None) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let Some((slug, title, status)) = self.kind() else {
            return match self {
                Self::Api(error) => error.error_response(),
                _ => ApiError::internal("unreachable").error_response(),
            };
        };
        let errors = match self {
            Self::InvalidRequest { errors, .. } => errors.iter().cloned().map(Into::into).collect(),
            _ => Vec::new(),
        };
        let problem = Problem {
            problem_type: format!("{PREFIX}{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            request_id: request_id::current(),
            errors,
            existing_id: None,
        };
        HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE))
            .body(serde_json::to_string(&problem).unwrap_or_default())
    }
}
