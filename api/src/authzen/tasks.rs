//! A submitted request's task: its status (read from the Portcullis request), the approval a
//! completed one gives, and its cancellation. Every call is authorized: the submitter, the subject
//! and admins see a task; anyone else gets the same 404 as for a task that does not exist.

use actix_web::{HttpRequest, get, post, web};
use portcullis_domain::authzen::{self, TaskStatus};
use portcullis_domain::directory::User;
use portcullis_domain::request::RequestStatus;
use portcullis_persistence::DbConnection;
use portcullis_persistence::repo::authzen::{self as repo, TaskProgress, TaskRow};
use portcullis_persistence::repo::users;

use super::decide::rfc3339;
use super::dto::{
    AuthzenApprovalResult, AuthzenTask, AuthzenTaskLinks, AuthzenTaskResponse, AuthzenTaskResult,
};
use super::{ArapError, Pdp};
use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::openapi::*;
use crate::services::requests;
use crate::state::AppState;

/// The response for `task` in the state `progress` describes.
pub fn view(pdp: &Pdp, task: &TaskRow, progress: &TaskProgress) -> AuthzenTaskResponse {
    let status = TaskStatus::of(progress.status, progress.access.is_some());
    let pending = status == TaskStatus::Pending;
    let result = match (status, progress.access) {
        (TaskStatus::Approved, Some((_, end))) => {
            let approved_at = progress.decided_at.unwrap_or_default();
            Some(AuthzenTaskResult {
                mode: "reevaluate".to_owned(),
                approval: AuthzenApprovalResult {
                    id: task.approval_id.clone(),
                    approved_at: progress.decided_at.map(rfc3339),
                    approved_until: rfc3339(authzen::approved_until(end, approved_at)),
                },
            })
        }
        _ => None,
    };
    AuthzenTaskResponse {
        task: AuthzenTask {
            id: task.id.clone(),
            status: status.as_str().to_owned(),
            status_endpoint: pdp.task_endpoint(&task.id),
            expires_at: progress.expires_at.filter(|_| pending).map(rfc3339),
            links: AuthzenTaskLinks {
                cancel: pending.then(|| format!("{}/cancel", pdp.task_endpoint(&task.id))),
            },
        },
        result,
    }
}

/// The task `id` with its progress, if the caller may see it.
fn visible_task(
    conn: &mut DbConnection,
    id: &str,
    caller: &User,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(TaskRow, TaskProgress), ArapError> {
    let task = repo::find_task(conn, id)?.ok_or(ArapError::UnknownTask)?;
    let caller_id = caller.id.to_string();
    if task.submitter_id != caller_id && task.subject_id != caller_id && !caller.acts_as_admin() {
        return Err(ArapError::UnknownTask);
    }
    let request = task.request_id.parse().map_err(ApiError::internal)?;
    let progress = repo::progress(conn, request, now)?.ok_or(ArapError::UnknownTask)?;
    Ok((task, progress))
}

/// Longest task id accepted (ours are 47 characters).
const MAX_TASK_ID: usize = 100;

fn checked_id(id: &str) -> Result<String, ArapError> {
    if id.is_empty() || id.len() > MAX_TASK_ID {
        return Err(ArapError::UnknownTask);
    }
    Ok(id.to_owned())
}

/// Get an access request's task (AuthZEN)
///
/// The task of a request submitted through `access_request_endpoint`: `pending` (also while
/// Portcullis retries a request in `error`, or fulfilment is still to do), `approved` (with `result`:
/// evaluate again with `context.approval`), `denied`, `expired` or `cancelled`. Visible to its
/// submitter, its subject and admins; to anyone else it does not exist.
#[utoipa::path(
    tag = "authzen",
    params(("id" = String, Path, description = "The task's id", example = "arq_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0")),
    responses(
        (status = 200, description = "The task", body = AuthzenTaskResponse),
        (status = 401, response = Unauthorized),
        (status = 404, description = "`urn:openid:authzen:access-request:error:unknown_task`", body = Problem, content_type = "application/problem+json"),
        (status = 429, response = TooManyRequests),
    )
)]
#[get("/requests/{id}")]
pub async fn get_access_request_task(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<web::Json<AuthzenTaskResponse>, ArapError> {
    let (caller, id, now) = (principal.0, checked_id(&id)?, state.now());
    let found = state
        .read(move |conn| Ok(visible_task(conn, &id, &caller, now)))
        .await??;
    Ok(web::Json(view(&state.pdp, &found.0, &found.1)))
}

/// Cancel an access request's task (AuthZEN)
///
/// `links.cancel` of a pending task: the requester's own cancel, by the subject, by the integration
/// that submitted it for them, or by an admin. A task already completed is a 409
/// (`invalid_task_state`). A body (ARAP's optional `reason` and `comment`) is accepted and ignored: the
/// cancellation itself is audited.
#[utoipa::path(
    tag = "authzen",
    params(("id" = String, Path, description = "The task's id", example = "arq_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0")),
    responses(
        (status = 200, description = "The cancelled task", body = AuthzenTaskResponse),
        (status = 401, response = Unauthorized),
        (status = 404, description = "`urn:openid:authzen:access-request:error:unknown_task`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`urn:openid:authzen:access-request:error:invalid_task_state`", body = Problem, content_type = "application/problem+json"),
        (status = 429, response = TooManyRequests),
    )
)]
#[post("/requests/{id}/cancel")]
pub async fn cancel_access_request_task(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    _http: HttpRequest,
) -> Result<web::Json<AuthzenTaskResponse>, ArapError> {
    let (caller, id, now) = (principal.0, checked_id(&id)?, state.now());
    let outcome = state
        .write(move |tx| {
            let (task, progress) = match visible_task(tx, &id, &caller, now) {
                Ok(found) => found,
                Err(error) => return Ok(Err(error)),
            };
            if TaskStatus::of(progress.status, progress.access.is_some()).is_terminal()
                || progress.status == RequestStatus::Approved && progress.access.is_some()
            {
                return Ok(Err(ArapError::InvalidTaskState(
                    "the task is already completed".to_owned(),
                )));
            }
            // The integration that submitted for the subject cancels for them, as it created for them.
            let actor = if task.submitter_id == caller.id.to_string()
                && task.subject_id != caller.id.to_string()
                && !caller.acts_as_admin()
            {
                let subject = task.subject_id.parse().map_err(ApiError::internal)?;
                users::find(tx, subject)?
                    .ok_or_else(|| ApiError::internal("the subject is gone"))?
            } else {
                (*caller).clone()
            };
            let request = task.request_id.parse().map_err(ApiError::internal)?;
            match requests::cancel(tx, &actor, request, now) {
                Ok(_) => {}
                Err(ApiError::Conflict { detail, .. }) => {
                    return Ok(Err(ArapError::InvalidTaskState(detail)));
                }
                Err(other) => return Err(other),
            }
            let progress = repo::progress(tx, request, now)?
                .ok_or_else(|| ApiError::internal("the request is gone"))?;
            Ok(Ok((task, progress)))
        })
        .await??;
    Ok(web::Json(view(&state.pdp, &outcome.0, &outcome.1)))
}
