//! `POST /access/v1/evaluation` and `/access/v1/evaluations` (the boxcar, with its three semantics).

use actix_web::{HttpRequest, post, web};
use portcullis_domain::authzen::{Semantic, merge_defaults};
use serde_json::Value;

use super::body::read_object;
use super::decide::{self, Question};
use super::dto::{
    EvaluationRequest, EvaluationResponse, EvaluationsAnswer, EvaluationsRequest,
    EvaluationsResponse,
};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::*;
use crate::state::AppState;

/// The most evaluations one boxcar may hold.
const MAX_EVALUATIONS: usize = 100;

/// Evaluate access (AuthZEN)
///
/// May this subject do this action on this resource now? A permit is one indexed read of the
/// current memberships (or device-admin sessions): a grant that ends or is revoked stops permitting
/// at once. A denial that the subject can request carries `context.access_request` (with a signed
/// `binding_token`, valid 10 minutes); a re-evaluation carrying `context.approval` is decided on that
/// approval. Callers: integration accounts (PEPs) and admins ask about anyone, a person about
/// themselves. Unknown members are ignored; unknown subjects, resources and actions are denied.
#[utoipa::path(
    tag = "authzen",
    params(("X-Request-ID" = Option<String>, Header, description = "Echoed in the response")),
    request_body = EvaluationRequest,
    responses(
        (status = 200, description = "The decision", body = EvaluationResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
    )
)]
#[post("/evaluation")]
pub async fn evaluate_access(
    state: web::Data<AppState>,
    principal: Principal,
    http: HttpRequest,
    payload: web::Payload,
) -> Result<web::Json<EvaluationResponse>, ApiError> {
    let body = read_object(&http, payload).await?;
    let question = Question::parse(&body, "")?;
    let decision = decide::evaluate(&state, principal.user(), question).await?;
    Ok(web::Json(EvaluationResponse {
        decision: decision.decision,
        context: decision.context,
    }))
}

/// Evaluate several accesses (AuthZEN boxcar)
///
/// Up to 100 `evaluations`, each taking the top-level `subject`, `action`, `resource` and `context`
/// as defaults; without `evaluations`, one evaluation. `options.evaluations_semantic`:
/// `execute_all` (default: every decision, in order), `deny_on_first_deny` (stops after the first
/// denial), `permit_on_first_permit` (stops after the first permit).
#[utoipa::path(
    tag = "authzen",
    params(("X-Request-ID" = Option<String>, Header, description = "Echoed in the response")),
    request_body = EvaluationsRequest,
    responses(
        (status = 200, description = "The decisions, in order (one decision for a body without `evaluations`)", body = EvaluationsAnswer),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
    )
)]
#[post("/evaluations")]
pub async fn evaluate_accesses(
    state: web::Data<AppState>,
    principal: Principal,
    http: HttpRequest,
    payload: web::Payload,
) -> Result<web::Json<EvaluationsAnswer>, ApiError> {
    let body = read_object(&http, payload).await?;
    let options = match body.get("options") {
        None | Some(Value::Null) => None,
        Some(options) if options.is_object() => Some(options),
        Some(_) => return Err(ApiError::bad_field("options", "must be an object")),
    };
    let semantic = match options.and_then(|o| o.get("evaluations_semantic")) {
        None | Some(Value::Null) => Semantic::ExecuteAll,
        Some(value) => value.as_str().and_then(Semantic::parse).ok_or_else(|| {
            ApiError::bad_field(
                "options.evaluations_semantic",
                "must be execute_all, deny_on_first_deny or permit_on_first_permit",
            )
        })?,
    };
    let items = match body.get("evaluations") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) if items.len() > MAX_EVALUATIONS => {
            return Err(ApiError::bad_field(
                "evaluations",
                format!("at most {MAX_EVALUATIONS} evaluations at once"),
            ));
        }
        Some(Value::Array(items)) if !items.is_empty() => Some(items.clone()),
        Some(Value::Array(_)) => None,
        Some(_) => return Err(ApiError::bad_field("evaluations", "must be an array")),
    };
    let Some(items) = items else {
        // Backwards compatible: the body is one evaluation.
        let question = Question::parse(&body, "")?;
        let decision = decide::evaluate(&state, principal.user(), question).await?;
        return Ok(web::Json(EvaluationsAnswer::Single(EvaluationResponse {
            decision: decision.decision,
            context: decision.context,
        })));
    };
    Question::check_defaults(&body)?;
    let defaults = body.as_object().cloned().unwrap_or_default();
    // Every evaluation is read before any is decided: a malformed one fails the whole request.
    let mut questions = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        if !item.is_object() {
            return Err(ApiError::bad_field(
                &format!("evaluations[{index}]"),
                "must be an object",
            ));
        }
        let merged = merge_defaults(&defaults, item);
        questions.push(Question::parse(&merged, &format!("evaluations[{index}]."))?);
    }
    let mut evaluations = Vec::with_capacity(questions.len());
    for question in questions {
        let decision = decide::evaluate(&state, principal.user(), question).await?;
        let stop = semantic.stops_after(decision.decision);
        evaluations.push(EvaluationResponse {
            decision: decision.decision,
            context: decision.context,
        });
        if stop {
            break;
        }
    }
    Ok(web::Json(EvaluationsAnswer::Boxcar(EvaluationsResponse {
        evaluations,
    })))
}
