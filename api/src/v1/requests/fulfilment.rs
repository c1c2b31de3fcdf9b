//! The fulfilment tasks' endpoints: complete a task, reassign it.

use actix_web::{post, web};
use portcullis_domain::request::TaskType;
use portcullis_domain::{RequestId, UserId};
use uuid::Uuid;

use super::{CompleteTaskBody, ReassignBody, RequestResponse, change_request};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extractors::{OptionalJson, ValidJson};
use crate::openapi::*;
use crate::services::requests;
use crate::state::AppState;

/// A bad body is answered after the caller's right to act on the task is checked.
async fn checked<T>(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    task_type: TaskType,
    body: Result<T, ApiError>,
) -> Result<T, ApiError> {
    match body {
        Ok(body) => Ok(body),
        Err(invalid) => {
            let (actor, id) = (principal.0.clone(), RequestId::from(id));
            state
                .read(move |conn| requests::check_task_actor(conn, &actor, id, task_type))
                .await?;
            Err(invalid)
        }
    }
}

/// Complete a fulfilment task
///
/// An assignee of the open task (or an administrator) completes it, with an optional note: the IT
/// Admins' `provisioning` (the requester then joins the flow's target group, if it has one, and a
/// timed grant's clock starts now), the App Admins' `assignment`, or the IT Admins'
/// `deprovisioning`. When no task is left, the fulfilment is `done`, the ticket closes and the
/// requester is told their access is ready. 403 for anyone else; 409 when the task is not open.
#[utoipa::path(
    tag = "access-requests",
    params(
        ("id" = Uuid, Path, description = "The request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"),
        ("type" = TaskType, Path, description = "The task", example = "provisioning"),
    ),
    request_body(content = Option<CompleteTaskBody>, description = "Optional: a note"),
    responses(
        (status = 200, description = "The request with the task done", body = RequestResponse),
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
#[post("/access-requests/{id}/fulfilment/{type}/complete")]
pub async fn complete_fulfilment_task(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, TaskType)>,
    body: Result<OptionalJson<CompleteTaskBody>, ApiError>,
) -> Result<web::Json<RequestResponse>, ApiError> {
    let (id, task_type) = path.into_inner();
    let body = checked(&state, &principal, id, task_type, body).await?;
    let note = body.0.note;
    change_request(state, principal, id, move |conn, actor, id, now| {
        requests::complete_task(conn, actor, id, task_type, note.as_deref(), now)
    })
    .await
}

/// Reassign a fulfilment task
///
/// An assignee hands their place in the open task to another active person; the flow's App Admins
/// and administrators may move anyone's place (`from_user_id`). The IT Admins' tasks go to another
/// administrator. Recorded in the history (`access_management_access_request_reassign` with its
/// `task`); the new assignee is emailed.
#[utoipa::path(
    tag = "access-requests",
    params(
        ("id" = Uuid, Path, description = "The request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"),
        ("type" = TaskType, Path, description = "The task", example = "assignment"),
    ),
    request_body = ReassignBody,
    responses(
        (status = 200, description = "The request with the task reassigned", body = RequestResponse),
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
#[post("/access-requests/{id}/fulfilment/{type}/reassign")]
pub async fn reassign_fulfilment_task(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Uuid, TaskType)>,
    body: Result<ValidJson<ReassignBody>, ApiError>,
) -> Result<web::Json<RequestResponse>, ApiError> {
    let (id, task_type) = path.into_inner();
    let ValidJson(body) = checked(&state, &principal, id, task_type, body).await?;
    let (from, to) = (
        body.from_user_id.map(UserId::from),
        UserId::from(body.to_user_id),
    );
    change_request(state, principal, id, move |conn, actor, id, now| {
        requests::reassign_task(conn, actor, id, task_type, from, to, now)
    })
    .await
}
