use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use portcullis_domain::access::{Grant, GrantStatus, Session};
use portcullis_domain::flow::DisplayDraft;
use portcullis_domain::{GrantId, SessionId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::{Admin, Principal};
use crate::error::ApiError;
use crate::extractors::ValidQuery;
use crate::list_response;
use crate::openapi::*;
use crate::pagination::PageParams;
use crate::services::access::{GrantWithFlow, GrantedFlow};
use crate::services::{access, requests};
use crate::state::AppState;

/// The flow a grant came from: what a portal shows as the application.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantFlow {
    pub id: Uuid,
    /// The flow's name (as it was requested, if the flow was deleted since).
    pub name: String,
    /// The flow's logo or colour; `null` when the flow was deleted since.
    pub display: Option<DisplayDraft>,
}

impl From<GrantedFlow> for GrantFlow {
    fn from(flow: GrantedFlow) -> Self {
        Self {
            id: flow.id.as_uuid(),
            name: flow.name,
            display: flow.display,
        }
    }
}

/// Access given by an approved resource request: a membership of the target group, possibly timed,
/// with the flow it came from (seeds 000/001: the approved resource appears among the requester's
/// applications).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ec0", "user_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80",
    "group_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e81", "request_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ea0",
    "flow": { "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e90", "name": "GitHub Admin", "display": { "logo": "github" } },
    "status": "active", "granted_at": "2026-11-23T10:00:00Z", "expires_at": "2026-11-23T11:00:00Z", "ended_at": null,
    "extension_count": 0, "extended_seconds": 0, "starts_at": null, "activate_by": null, "duration_seconds": 3600
}))]
pub struct GrantResponse {
    pub id: Uuid,
    pub user_id: Uuid,
    pub group_id: Uuid,
    pub request_id: Uuid,
    pub flow: GrantFlow,
    /// `active`: the membership is in force; `scheduled`: it is added at `starts_at`;
    /// `awaiting_activation`: its holder starts it (`POST /v1/grants/{id}/activate`) before
    /// `activate_by`; `expired`, `revoked`: ended (a grant that never started never had one).
    pub status: GrantStatus,
    /// When the request was approved.
    pub granted_at: DateTime<Utc>,
    /// When the access ends (`null`: no time limit, or not started yet when awaiting activation).
    pub expires_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// How many approved extensions moved `expires_at`, and how many seconds they added in all.
    pub extension_count: i64,
    pub extended_seconds: i64,
    /// When the access starts (scheduled; awaiting activation: the earliest activation) or started
    /// (once a scheduled or activated grant started); `null` when it started at approval.
    pub starts_at: Option<DateTime<Utc>>,
    /// Awaiting activation: the end of the window to start it (after it, the grant ends `expired`).
    pub activate_by: Option<DateTime<Utc>>,
    /// How long the access lasts once started (`null`: no time limit, or a grant from before
    /// scheduled starts existed).
    pub duration_seconds: Option<i64>,
}

impl GrantResponse {
    pub fn new(g: Grant, flow: GrantedFlow) -> Self {
        Self {
            id: g.id.as_uuid(),
            user_id: g.user_id.as_uuid(),
            group_id: g.group_id.as_uuid(),
            request_id: g.request_id.as_uuid(),
            flow: flow.into(),
            status: g.status,
            granted_at: g.granted_at,
            expires_at: g.expires_at,
            ended_at: g.ended_at,
            extension_count: g.extension_count,
            extended_seconds: g.extended_seconds,
            starts_at: g.starts_at,
            activate_by: g.activate_by,
            duration_seconds: g.duration_seconds,
        }
    }
}

impl From<GrantWithFlow> for GrantResponse {
    fn from(g: GrantWithFlow) -> Self {
        Self::new(g.grant, g.flow)
    }
}

list_response!(GrantList, GrantResponse, "A page of grants, newest first.");

/// Temporary admin rights on a device.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ed0", "request_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ea0",
    "device_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e83", "user_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80",
    "started_at": "2026-11-23T10:00:00Z", "ends_at": "2026-11-23T10:15:00Z", "ended_at": null
}))]
pub struct SessionResponse {
    pub id: Uuid,
    pub request_id: Uuid,
    pub device_id: Uuid,
    pub user_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl From<Session> for SessionResponse {
    fn from(s: Session) -> Self {
        Self {
            id: s.id.as_uuid(),
            request_id: s.request_id.as_uuid(),
            device_id: s.device_id.as_uuid(),
            user_id: s.user_id.as_uuid(),
            started_at: s.started_at,
            ends_at: s.ends_at,
            ended_at: s.ended_at,
        }
    }
}

list_response!(
    SessionList,
    SessionResponse,
    "A page of device-admin sessions, newest first."
);

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GrantParams {
    /// `true`: only grants in force now (`active`; not those `scheduled` or `awaiting_activation`).
    pub active: Option<bool>,
    /// Administrators: only this user's grants.
    pub user_id: Option<Uuid>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionParams {
    /// `true`: running sessions only; `false`: ended ones only.
    pub active: Option<bool>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// My grants
///
/// The caller's own grants (scheduled, awaiting activation, active, expired and revoked), newest
/// first, each with the flow it came from (its name and display: the caller's applications).
#[utoipa::path(
    tag = "access",
    params(GrantParams),
    responses(
        (status = 200, description = "The caller's grants", body = GrantList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
    )
)]
#[get("/me/grants")]
pub async fn list_my_grants(
    state: web::Data<AppState>,
    principal: Principal,
    ValidQuery(params): ValidQuery<GrantParams>,
) -> Result<web::Json<GrantList>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        page_token: params.page_token,
    }
    .to_request()?;
    let (me, active) = (principal.user().id, params.active.unwrap_or(false));
    let page = state
        .read(move |conn| access::grants(conn, Some(me), active, &page))
        .await?;
    Ok(web::Json(GrantList::from_page(page, GrantResponse::from)))
}

/// List grants
///
/// Administrators list every grant, newest first.
#[utoipa::path(
    tag = "access",
    params(GrantParams),
    responses(
        (status = 200, description = "Grants", body = GrantList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
#[get("/grants")]
pub async fn list_grants(
    state: web::Data<AppState>,
    _admin: Admin,
    ValidQuery(params): ValidQuery<GrantParams>,
) -> Result<web::Json<GrantList>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        page_token: params.page_token,
    }
    .to_request()?;
    let (user, active) = (
        params.user_id.map(Into::into),
        params.active.unwrap_or(false),
    );
    let page = state
        .read(move |conn| access::grants(conn, user, active, &page))
        .await?;
    Ok(web::Json(GrantList::from_page(page, GrantResponse::from)))
}

/// Revoke a grant
///
/// An administrator revokes access, or its holder gives it up early. The membership it gave ends at
/// once; a membership from another source (direct, another grant) stays. A grant that has not
/// started yet (`scheduled`, `awaiting_activation`) is revoked too, and then never starts.
#[utoipa::path(
    tag = "access",
    params(("id" = Uuid, Path, description = "The grant's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 204, description = "The grant was revoked"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[delete("/grants/{id}")]
pub async fn revoke_grant(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (actor, now, id) = (principal.0, state.now(), GrantId::from(id.into_inner()));
    let ended = state
        .write(move |conn| requests::end_grant(conn, Some(&actor), id, GrantStatus::Revoked, now))
        .await?;
    match ended {
        Some(_) => Ok(HttpResponse::NoContent().finish()),
        None => Err(ApiError::conflict(
            "the grant changed at the same time; fetch it again",
        )),
    }
}

/// List device-admin sessions
///
/// Administrators see every session; others see their own.
#[utoipa::path(
    tag = "access",
    params(SessionParams),
    responses(
        (status = 200, description = "Sessions", body = SessionList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
    )
)]
#[get("/device-admin-sessions")]
pub async fn list_device_admin_sessions(
    state: web::Data<AppState>,
    principal: Principal,
    ValidQuery(params): ValidQuery<SessionParams>,
) -> Result<web::Json<SessionList>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        page_token: params.page_token,
    }
    .to_request()?;
    let user = (!principal.is_admin()).then(|| principal.user().id);
    let (active, now) = (params.active, state.now());
    let page = state
        .read(move |conn| access::sessions(conn, active, user, now, &page))
        .await?;
    Ok(web::Json(SessionList::from_page(
        page,
        SessionResponse::from,
    )))
}

/// End a device-admin session early
///
/// The session's holder or an administrator ends an active session before its time is up (409 if it
/// has already ended).
#[utoipa::path(
    tag = "access",
    params(("id" = Uuid, Path, description = "The session's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 200, description = "The ended session", body = SessionResponse),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/device-admin-sessions/{id}/end")]
pub async fn end_device_admin_session(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<web::Json<SessionResponse>, ApiError> {
    let (actor, now, id) = (principal.0, state.now(), SessionId::from(id.into_inner()));
    let session = state
        .write(move |conn| requests::end_session(conn, &actor, id, now))
        .await?;
    Ok(web::Json(SessionResponse::from(session)))
}
