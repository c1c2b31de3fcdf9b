//! The access request endpoints: each parses, calls one use case of
//! [`crate::services::requests`], and renders.

mod dto;
mod fulfilment;
mod review;

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use portcullis_domain::directory::User;
use portcullis_domain::request::{self, AccessRequest, Verdict};
use portcullis_domain::{DeviceId, FlowId, RequestId, UserId};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extractors::{OptionalJson, ValidJson};
use crate::openapi::*;
use crate::services::requests::{self, DecisionInput, NewRequest};
use crate::state::AppState;
use crate::tx::Tx;
use crate::v1::access::SessionResponse;

pub use self::dto::*;
pub use self::fulfilment::{complete_fulfilment_task, reassign_fulfilment_task};
pub use self::review::review_access_request;

pub(crate) async fn respond(
    state: &AppState,
    request: AccessRequest,
    viewer: UserId,
) -> Result<RequestResponse, ApiError> {
    let show = state.settings().await?.settings.show_approval_progress;
    let hide = request.hides_steps_from(viewer, show);
    Ok(RequestResponse::new(request, hide))
}

/// Create an access request
///
/// Send `Idempotency-Key` to make retries safe: the same key and body return the first request; the
/// same key with another body is a 422. One open request per requester and flow (409 with
/// `existing_id`). A flow the requester cannot see is a 404; with requests turned off, 403. Through a
/// break-glass flow the request is approved at once (`break_glass: true`, its review open for the
/// administrators), with a reason of at least 40 characters, and at most 2 per person per rolling 24
/// hours: beyond, 429 with `Retry-After` (seconds until the oldest of the two is 24 hours old).
#[utoipa::path(
    tag = "access-requests",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the creation safe to retry (at most 200 characters)")),
    request_body = CreateRequestBody,
    responses(
        (status = 201, description = "The request (already approved for automatic flows)", body = RequestResponse,
            headers(("Location" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = BreakGlassTooMany),
    )
)]
#[post("/access-requests")]
pub async fn create_access_request(
    state: web::Data<AppState>,
    principal: Principal,
    http: HttpRequest,
    ValidJson(body): ValidJson<CreateRequestBody>,
) -> Result<HttpResponse, ApiError> {
    let key = crate::text::header(&http, "Idempotency-Key")?.map(|k| k.trim().to_owned());
    if key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 200) {
        return Err(ApiError::bad_field(
            "Idempotency-Key",
            "must be 1 to 200 characters",
        ));
    }
    let canonical = serde_json::to_vec(&body).map_err(ApiError::internal)?;
    let idempotency = key.map(|k| (k, format!("{:x}", Sha256::digest(&canonical))));
    let input = NewRequest {
        flow_id: FlowId::from(body.flow_id),
        reason: body.reason,
        duration_seconds: body.duration_seconds,
        device_id: body.device_id.map(DeviceId::from),
        requester_id: body.requester_id.map(UserId::from),
        resubmitted_from: None,
        form: body.form,
        extends_grant: None,
        starts_at: body.starts_at,
    };
    let (caller, now) = (Arc::clone(&principal.0), state.now());
    let settings = state.settings().await?.settings;
    let ask = Arc::new((input, idempotency, settings));
    let (created, _replayed) = state
        .read_then_write(
            {
                let ask = ask.clone();
                move |conn, recheck| {
                    requests::prepare_create(conn, &caller, &ask.0, &ask.1, &ask.2, recheck, now)
                }
            },
            move |conn, plan, recheck| requests::commit_create(conn, plan, recheck, now),
        )
        .await?;
    let location = format!("/v1/access-requests/{}", created.id());
    let hide = created.hides_steps_from(principal.user().id, ask.2.show_approval_progress);
    let response = RequestResponse::new(created, hide);
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
        .json(response))
}

/// Get an access request
///
/// The request with its approval progress, the requester and their manager, comments, history and
/// the grant or session it produced. Visible to its requester, its approvers, admins and integrations.
#[utoipa::path(
    tag = "access-requests",
    params(("id" = Uuid, Path, description = "The request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 200, description = "The request", body = RequestDetail),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
#[get("/access-requests/{id}")]
pub async fn get_access_request(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<web::Json<RequestDetail>, ApiError> {
    let (viewer, id) = (principal.0, RequestId::from(id.into_inner()));
    let view = state
        .read(move |conn| requests::detail(conn, id, &viewer))
        .await?;
    Ok(web::Json(RequestDetail::from(view)))
}

/// A body read by [`ValidJson`] or [`OptionalJson`].
struct Body<T>(T);

impl<T> From<ValidJson<T>> for Body<T> {
    fn from(ValidJson(body): ValidJson<T>) -> Self {
        Self(body)
    }
}

impl<T> From<OptionalJson<T>> for Body<T> {
    fn from(OptionalJson(body): OptionalJson<T>) -> Self {
        Self(body)
    }
}

/// The body of an action on the request `id`. A caller who may not see the request gets its 404
/// whatever the body, so a bad body tells them no more than a good one. A caller who sees it learns
/// first what is wrong with the body: its schema is public, and whether they may act can depend on
/// it (`override`). The request is read only when the body is bad.
async fn body_of<T>(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    body: Result<impl Into<Body<T>>, ApiError>,
) -> Result<T, ApiError> {
    match body.map(Into::into) {
        Ok(Body(body)) => Ok(body),
        Err(invalid) => {
            let (viewer, id) = (principal.0.clone(), RequestId::from(id));
            state
                .read(move |conn| requests::get_visible(conn, id, &viewer).map(drop))
                .await?;
            Err(invalid)
        }
    }
}

async fn decide(
    state: web::Data<AppState>,
    principal: Principal,
    id: Uuid,
    input: DecisionInput,
) -> Result<web::Json<RequestResponse>, ApiError> {
    let (actor, now, id) = (principal.0.clone(), state.now(), RequestId::from(id));
    let asked = Arc::new((actor, input));
    let request = state
        .read_then_write(
            move |conn, _| requests::prepare_decision(conn, &asked.0, id, &asked.1, now),
            move |conn, plan, _| requests::commit_decision(conn, plan, now),
        )
        .await?;
    Ok(web::Json(
        respond(&state, request, principal.user().id).await?,
    ))
}

/// A decision's optional text, checked and trimmed (a problem names `field`).
fn text(field: &str, value: Option<&str>) -> Result<Option<String>, ApiError> {
    request::parse_text(value).map_err(|m| ApiError::invalid_field(field, m))
}

/// Approve an access request
///
/// An eligible approver of an active step approves; the request is approved when the flow's
/// requirement holds (the completing approval may shorten the duration). Administrators may
/// `override`. Concurrent approvals never grant twice.
#[utoipa::path(
    tag = "access-requests",
    params(("id" = Uuid, Path, description = "The request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    request_body(content = Option<ApproveBody>, description = "Optional: no body at all means `{}`"),
    responses(
        (status = 200, description = "The updated request", body = RequestResponse),
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
#[post("/access-requests/{id}/approve")]
pub async fn approve_access_request(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: Result<OptionalJson<ApproveBody>, ApiError>,
) -> Result<web::Json<RequestResponse>, ApiError> {
    let body = body_of(&state, &principal, *id, body).await?;
    let input = DecisionInput {
        verdict: Verdict::Approve,
        comment: text("comment", body.comment.as_deref())?,
        reason: None,
        next_steps: None,
        is_override: body.is_override,
        internal_note: text("internal_note", body.internal_note.as_deref())?,
        duration_seconds: body.duration_seconds,
        via: request::Via::Api,
    };
    decide(state, principal, id.into_inner(), input).await
}

/// Deny an access request
///
/// Any eligible approver of an active step can deny: deny wins. A denial needs a `reason` for the
/// requester (seed 001); `next_steps` are optional. Administrators may `override` (with a reason too).
#[utoipa::path(
    tag = "access-requests",
    params(("id" = Uuid, Path, description = "The request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    request_body = DenyBody,
    responses(
        (status = 200, description = "The denied request", body = RequestResponse),
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
#[post("/access-requests/{id}/deny")]
pub async fn deny_access_request(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    // No body at all reads as `{}`, which lacks the reason: a 422 naming it, rather than a 415.
    body: Result<OptionalJson<DenyBody>, ApiError>,
) -> Result<web::Json<RequestResponse>, ApiError> {
    let body = body_of(&state, &principal, *id, body).await?;
    let input = DecisionInput {
        verdict: Verdict::Deny,
        comment: text("comment", body.comment.as_deref())?,
        reason: text("reason", Some(&body.reason))?,
        next_steps: text("next_steps", body.next_steps.as_deref())?,
        is_override: body.is_override,
        internal_note: text("internal_note", body.internal_note.as_deref())?,
        duration_seconds: None,
        via: request::Via::Api,
    };
    decide(state, principal, id.into_inner(), input).await
}

/// Runs a use case on request `id` as the caller, in one write, and renders the request it returns.
pub(super) async fn change_request(
    state: web::Data<AppState>,
    principal: Principal,
    id: Uuid,
    use_case: impl FnOnce(&mut Tx, &User, RequestId, DateTime<Utc>) -> Result<AccessRequest, ApiError>
    + Send
    + 'static,
) -> Result<web::Json<RequestResponse>, ApiError> {
    let (actor, now, id) = (principal.0.clone(), state.now(), RequestId::from(id));
    let request = state
        .write(move |conn| use_case(conn, &actor, id, now))
        .await?;
    Ok(web::Json(
        respond(&state, request, principal.user().id).await?,
    ))
}

/// Cancel an access request
///
/// The requester withdraws their pending request; administrators may cancel pending or failed ones.
#[utoipa::path(
    tag = "access-requests",
    params(("id" = Uuid, Path, description = "The request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 200, description = "The canceled request", body = RequestResponse),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/access-requests/{id}/cancel")]
pub async fn cancel_access_request(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<web::Json<RequestResponse>, ApiError> {
    change_request(state, principal, id.into_inner(), requests::cancel).await
}

/// Retry a failed access request
///
/// Administrators: re-resolve the approvers from the current flow and return the request to `pending`.
#[utoipa::path(
    tag = "access-requests",
    params(("id" = Uuid, Path, description = "The request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 200, description = "The pending request", body = RequestResponse),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[post("/access-requests/{id}/retry")]
pub async fn retry_access_request(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<web::Json<RequestResponse>, ApiError> {
    change_request(state, principal, id.into_inner(), requests::retry).await
}

/// Reassign an approval
///
/// An approver of an active step hands their place to another active person. The flow's App Admins
/// (its owners) and administrators may move any approver's place (`from_user_id`) to someone better
/// suited (seed 004); an administrator step goes to another administrator. Recorded in the history
/// (`access_management_access_request_reassign`) and the new approver is emailed.
#[utoipa::path(
    tag = "access-requests",
    params(("id" = Uuid, Path, description = "The request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    request_body = ReassignBody,
    responses(
        (status = 200, description = "The updated request", body = RequestResponse),
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
#[post("/access-requests/{id}/reassign")]
pub async fn reassign_access_request(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: Result<ValidJson<ReassignBody>, ApiError>,
) -> Result<web::Json<RequestResponse>, ApiError> {
    let body = body_of(&state, &principal, *id, body).await?;
    let to = UserId::from(body.to_user_id);
    let from = body.from_user_id.map(UserId::from);
    change_request(
        state,
        principal,
        id.into_inner(),
        move |conn, actor, id, now| requests::reassign(conn, actor, id, from, to, now),
    )
    .await
}

/// Resubmit a denied request
///
/// The requester asks again with a new reason: a new request linked by `resubmitted_from`.
#[utoipa::path(
    tag = "access-requests",
    params(("id" = Uuid, Path, description = "The denied request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    request_body = ResubmitBody,
    responses(
        (status = 201, description = "The new request", body = RequestResponse, headers(("Location" = String))),
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
#[post("/access-requests/{id}/resubmit")]
pub async fn resubmit_access_request(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: Result<ValidJson<ResubmitBody>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let body = body_of(&state, &principal, *id, body).await?;
    let (actor, now, id) = (
        principal.0.clone(),
        state.now(),
        RequestId::from(id.into_inner()),
    );
    let created = state
        .write(move |conn| requests::resubmit(conn, &actor, id, body.reason, now))
        .await?;
    let location = format!("/v1/access-requests/{}", created.id());
    let response = respond(&state, created, principal.user().id).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
        .json(response))
}

/// List a request's comments
///
/// Everyone who may see the request (its requester, its approvers, administrators) reads its comments,
/// oldest first.
#[utoipa::path(
    tag = "access-requests",
    params(("id" = Uuid, Path, description = "The request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 200, description = "The comments, oldest first", body = Vec<CommentResponse>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
#[get("/access-requests/{id}/comments")]
pub async fn list_access_request_comments(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<web::Json<Vec<CommentResponse>>, ApiError> {
    let (viewer, id) = (principal.0, RequestId::from(id.into_inner()));
    let comments = state
        .read(move |conn| requests::comments(conn, id, &viewer))
        .await?;
    Ok(web::Json(
        comments.into_iter().map(CommentResponse::from).collect(),
    ))
}

/// Comment on a request
///
/// Everyone on the request (requester, approvers, admins) can comment; comments never change the status.
#[utoipa::path(
    tag = "access-requests",
    params(("id" = Uuid, Path, description = "The request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    request_body = CommentBody,
    responses(
        (status = 201, description = "The comment", body = CommentResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[post("/access-requests/{id}/comments")]
pub async fn comment_on_access_request(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: Result<ValidJson<CommentBody>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let body = body_of(&state, &principal, *id, body).await?;
    let (actor, now, id) = (principal.0, state.now(), RequestId::from(id.into_inner()));
    let row = state
        .write(move |conn| requests::comment(conn, &actor, id, &body.body, now))
        .await?;
    Ok(HttpResponse::Created().json(CommentResponse::from(row)))
}

/// Start the device-admin session
///
/// The requester of an approved device-admin request starts its session once; it lasts the
/// request's duration.
#[utoipa::path(
    tag = "access-requests",
    params(("id" = Uuid, Path, description = "The request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 201, description = "The session", body = SessionResponse),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/access-requests/{id}/start-session")]
pub async fn start_device_admin_session(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (actor, now, id) = (principal.0, state.now(), RequestId::from(id.into_inner()));
    let session = state
        .write(move |conn| requests::start_session(conn, &actor, id, now))
        .await?;
    Ok(HttpResponse::Created().json(SessionResponse::from(session)))
}
