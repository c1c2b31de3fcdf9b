//! The review of a break-glass request.

use actix_web::{post, web};
use portcullis_domain::RequestId;
use uuid::Uuid;

use super::{RequestResponse, ReviewBody, change_request};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extractors::ValidJson;
use crate::openapi::*;
use crate::services::requests;
use crate::state::AppState;

/// Review a break-glass request
///
/// An administrator (not the requester) reviews a break-glass request after the fact, once:
/// `confirm` keeps its access until its time; `revoke` ends its grant, and the membership with it,
/// now (nothing more to end if it already ended). Either way the review task leaves the
/// administrators' Action Required, the history records
/// `access_management_access_request_break_glass_review` (with the outcome and note), and the
/// requester is emailed. 403 for anyone but an administrator other than the requester; 409 for a
/// request that is not break-glass or is already reviewed.
#[utoipa::path(
    tag = "access-requests",
    params(("id" = Uuid, Path, description = "The request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    request_body = ReviewBody,
    responses(
        (status = 200, description = "The request with its review done", body = RequestResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[post("/access-requests/{id}/review")]
pub async fn review_access_request(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: Result<ValidJson<ReviewBody>, ApiError>,
) -> Result<web::Json<RequestResponse>, ApiError> {
    let id = id.into_inner();
    let ValidJson(body) = match body {
        Ok(body) => body,
        Err(invalid) => {
            // Who may review is answered before what is wrong with the body.
            let (actor, request) = (principal.0.clone(), RequestId::from(id));
            state
                .read(move |conn| requests::check_reviewer(conn, &actor, request))
                .await?;
            return Err(invalid);
        }
    };
    let (outcome, note) = (body.outcome, body.note);
    change_request(state, principal, id, move |conn, actor, id, now| {
        requests::review(conn, actor, id, outcome, note.as_deref(), now)
    })
    .await
}
