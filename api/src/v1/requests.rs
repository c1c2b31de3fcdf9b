use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use portcullis_domain::flow::{ApprovalType, ApproverRequirement, FlowKind};
use portcullis_domain::request::{self, AccessRequest, Outcome, RequestStatus, Step, Verdict};
use portcullis_domain::{DeviceId, FlowId, RequestId, UserId};
use portcullis_persistence::repo::{events, grants, requests as request_repo, settings, users};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extractors::{OptionalJson, ValidJson};
use crate::openapi::*;
use crate::services::requests::{self, DecisionInput, NewRequest};
use crate::state::AppState;
use crate::v1::access::{GrantResponse, SessionResponse};
use crate::v1::events::EventResponse;

/// An access request with its approval progress.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ea0", "flow_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e90",
    "flow_name": "GitHub Admin", "flow_version": 1, "kind": "resource_request", "approval_type": "manual",
    "approver_requirement": "all_in_order", "requester_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80",
    "status": "pending", "reason": "Review pull requests for the 3.2 release", "duration_seconds": 3600,
    "device_id": null,
    "steps": [
        { "position": 0, "type": "requester_manager", "state": "active",
          "approver_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87"], "require_all": false, "decisions": [] },
        { "position": 1, "type": "user_group", "state": "waiting",
          "approver_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e88", "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e89"],
          "require_all": true, "decisions": [] }
    ],
    "created_at": "2026-11-23T09:30:00Z", "decided_at": null, "expires_at": "2026-12-23T09:30:00Z",
    "decision": null, "error": null, "resubmitted_from": null, "version": 1
}))]
pub struct RequestResponse {
    pub id: Uuid,
    pub flow_id: Uuid,
    /// The flow's name when the request was made.
    pub flow_name: String,
    /// The flow's version the request was created (or last retried) under.
    pub flow_version: i64,
    pub kind: FlowKind,
    pub approval_type: ApprovalType,
    pub approver_requirement: Option<ApproverRequirement>,
    pub requester_id: Uuid,
    pub status: RequestStatus,
    pub reason: String,
    pub duration_seconds: Option<i64>,
    pub device_id: Option<Uuid>,
    /// The approval progress (empty for the requester when the organisation hides it).
    #[schema(value_type = Vec<Step>)]
    pub steps: Steps,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// When a pending request expires without a decision.
    pub expires_at: Option<DateTime<Utc>>,
    pub decision: Option<Outcome>,
    /// Why the request is in `error`.
    pub error: Option<String>,
    pub resubmitted_from: Option<Uuid>,
    pub version: i64,
}

impl RequestResponse {
    pub fn new(request: AccessRequest, hide_steps: bool) -> Self {
        let r = request.into_stored();
        Self {
            id: r.id.as_uuid(),
            flow_id: r.flow_id.as_uuid(),
            flow_name: r.flow_name,
            flow_version: r.flow_version,
            kind: r.kind,
            approval_type: r.approval_type,
            approver_requirement: r.approver_requirement,
            requester_id: r.requester_id.as_uuid(),
            status: r.status,
            reason: r.reason,
            duration_seconds: r.duration_seconds,
            device_id: r.device_id.map(|d| d.as_uuid()),
            steps: Steps::Parsed(if hide_steps { Vec::new() } else { r.steps }),
            created_at: r.created_at,
            decided_at: r.decided_at,
            expires_at: r.expires_at,
            decision: r.outcome,
            error: r.error,
            resubmitted_from: r.resubmitted_from.map(|r| r.as_uuid()),
            version: r.version,
        }
    }
}

impl From<AccessRequest> for RequestResponse {
    fn from(request: AccessRequest) -> Self {
        Self::new(request, false)
    }
}

impl RequestResponse {
    /// A request of a list page, its steps copied as stored (see [`request_repo::Listed`]).
    pub fn listed(listed: request_repo::Listed, hide_steps: bool) -> Self {
        let mut response = Self::new(listed.request, true);
        if !hide_steps {
            response.steps = Steps::Stored(listed.steps);
        }
        response
    }
}

impl From<request_repo::Listed> for RequestResponse {
    fn from(listed: request_repo::Listed) -> Self {
        Self::listed(listed, false)
    }
}

/// A request's steps in an answer: as the domain has them (after a change), or as stored, the JSON
/// text `Vec<Step>` serialises to (list pages copy it rather than parse and write it again).
#[derive(Debug)]
pub enum Steps {
    Parsed(Vec<Step>),
    Stored(Box<serde_json::value::RawValue>),
}

impl Serialize for Steps {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Steps::Parsed(steps) => steps.serialize(serializer),
            Steps::Stored(text) => text.serialize(serializer),
        }
    }
}

/// A person on a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonSummary {
    pub id: Uuid,
    pub display_name: String,
    pub email: String,
}

/// A comment on a request.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7eb0", "author_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87",
    "body": "Which repositories do you need?", "created_at": "2026-11-23T09:35:00Z"
}))]
pub struct CommentResponse {
    pub id: Uuid,
    pub author_id: Uuid,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<request_repo::CommentRow> for CommentResponse {
    fn from(row: request_repo::CommentRow) -> Self {
        Self {
            id: row.id.parse().unwrap_or_default(),
            author_id: row.author_id.parse().unwrap_or_default(),
            body: row.body,
            created_at: portcullis_persistence::time::from_db(row.created_at),
        }
    }
}

/// A request with everything around it: requester and manager, comments, history, grant or session.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ea0", "flow_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e90",
    "flow_name": "GitHub Admin", "flow_version": 1, "kind": "resource_request", "approval_type": "manual",
    "approver_requirement": "all_in_order", "requester_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80",
    "status": "pending", "reason": "Review pull requests for the 3.2 release", "duration_seconds": 3600,
    "device_id": null,
    "steps": [
        { "position": 0, "type": "requester_manager", "state": "active",
          "approver_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87"], "require_all": false, "decisions": [] }
    ],
    "created_at": "2026-11-23T09:30:00Z", "decided_at": null, "expires_at": "2026-12-23T09:30:00Z",
    "decision": null, "error": null, "resubmitted_from": null, "version": 1,
    "requester": { "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80", "display_name": "Rita Requester",
                   "email": "requester@example.com" },
    "manager": { "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87", "display_name": "Max Manager",
                 "email": "manager@example.com" },
    "approvers": [
        { "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87", "display_name": "Max Manager",
          "email": "manager@example.com" }
    ],
    "comments": [
        { "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7eb0", "author_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87",
          "body": "Which repositories do you need?", "created_at": "2026-11-23T09:35:00Z" }
    ],
    "history": [
        { "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e99", "type": "access_management_access_request",
          "occurred_at": "2026-11-23T09:30:00Z", "actor_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80",
          "subject_type": "access_request", "subject_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ea0",
          "data": { "flow_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e90", "flow_version": 1, "status_after": "pending" } }
    ],
    "grant": null, "session": null
}))]
pub struct RequestDetail {
    #[serde(flatten)]
    pub request: RequestResponse,
    pub requester: Option<PersonSummary>,
    pub manager: Option<PersonSummary>,
    /// Everyone the steps name (eligible approvers, and whoever decided), so that a portal can show
    /// who approves without a call per person; in the order the steps name them. Empty when the
    /// steps are hidden from the caller (the requester, with `show_approval_progress` off).
    pub approvers: Vec<PersonSummary>,
    pub comments: Vec<CommentResponse>,
    /// The request's audit events, oldest first (internal notes only for administrators).
    pub history: Vec<EventResponse>,
    pub grant: Option<GrantResponse>,
    pub session: Option<SessionResponse>,
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "flow_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e90", "reason": "Review pull requests for the 3.2 release",
    "duration_seconds": 3600
}))]
pub struct CreateRequestBody {
    pub flow_id: Uuid,
    /// Why you need access (10–2000 characters).
    #[validate(custom(function = "valid_reason"))]
    pub reason: String,
    /// One of the flow's durations: required when it offers several, may be omitted when it offers
    /// exactly one, refused when its access has no time limit.
    pub duration_seconds: Option<i64>,
    /// Device-admin requests: a device assigned to the requester.
    pub device_id: Option<Uuid>,
    /// Admins and integration accounts: request on behalf of this person.
    pub requester_id: Option<Uuid>,
}

fn valid_reason(value: &str) -> Result<(), validator::ValidationError> {
    crate::services::rule(request::parse_reason(value))
}

fn valid_text(value: &str) -> Result<(), validator::ValidationError> {
    crate::services::rule(request::parse_text(Some(value)))
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "comment": "Approved for the release week", "duration_seconds": 3600 }))]
pub struct ApproveBody {
    #[validate(custom(function = "valid_text"))]
    pub comment: Option<String>,
    /// The approval that completes the request may shorten the duration (never lengthen it).
    pub duration_seconds: Option<i64>,
    /// Administrators: approve regardless of the steps.
    #[serde(default, rename = "override")]
    pub is_override: bool,
    /// Administrators: a note kept in the audit log only.
    #[validate(custom(function = "valid_text"))]
    pub internal_note: Option<String>,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "reason": "Admin rights are not needed to review pull requests", "next_steps": "Ask for GitHub Write instead",
    "comment": "Happy to discuss"
}))]
pub struct DenyBody {
    #[validate(custom(function = "valid_text"))]
    pub reason: Option<String>,
    #[validate(custom(function = "valid_text"))]
    pub next_steps: Option<String>,
    #[validate(custom(function = "valid_text"))]
    pub comment: Option<String>,
    #[serde(default, rename = "override")]
    pub is_override: bool,
    #[validate(custom(function = "valid_text"))]
    pub internal_note: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "to_user_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e89" }))]
pub struct ReassignBody {
    pub to_user_id: Uuid,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "reason": "I need admin rights to configure the release workflow" }))]
pub struct ResubmitBody {
    #[validate(custom(function = "valid_reason"))]
    pub reason: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "body": "Which repositories do you need?" }))]
pub struct CommentBody {
    #[validate(custom(function = "valid_text"), length(min = 1))]
    pub body: String,
}

fn hide_steps_for(state_show: bool, request: &AccessRequest, viewer: UserId) -> bool {
    !state_show && request.requester_id() == viewer
}

async fn respond(
    state: &AppState,
    request: AccessRequest,
    viewer: UserId,
) -> Result<RequestResponse, ApiError> {
    let show = state.settings().await?.settings.show_approval_progress;
    let hide = hide_steps_for(show, &request, viewer);
    Ok(RequestResponse::new(request, hide))
}

/// Create an access request
///
/// Send `Idempotency-Key` to make retries safe: the same key and body return the first request; the
/// same key with another body is a 422. One open request per requester and flow (409 with
/// `existing_id`). A flow the requester cannot see is a 404; with requests turned off, 403.
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
    };
    let (caller, now) = (Arc::new(principal.0.clone()), state.now());
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
    let hide = hide_steps_for(ask.2.show_approval_progress, &created, principal.user().id);
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
    let detail = state
        .read(move |conn| {
            let request = requests::get_visible(conn, id, &viewer)?;
            let show = settings::get(conn)?.settings.show_approval_progress;
            let hide = hide_steps_for(show, &request, viewer.id);
            // The requester and everyone the steps name, in one lookup; the manager is usually
            // among them (the first step's approver).
            let named = if hide {
                Vec::new()
            } else {
                named_in_steps(&request)
            };
            let mut people = users::find_many(
                conn,
                &[request.requester_id()]
                    .into_iter()
                    .chain(named.iter().copied())
                    .collect::<Vec<_>>(),
            )?;
            let find = |people: &[portcullis_domain::directory::User], id: UserId| {
                people.iter().find(|u| u.id == id).cloned()
            };
            let requester = find(&people, request.requester_id());
            let manager = match requester.as_ref().and_then(|r| r.manager_id) {
                Some(manager) => match find(&people, manager) {
                    Some(found) => Some(found),
                    None => users::find(conn, manager)?,
                },
                None => None,
            };
            people.retain(|u| named.contains(&u.id));
            people.sort_by_key(|user| named.iter().position(|id| *id == user.id));
            let summary = |u: portcullis_domain::directory::User| PersonSummary {
                id: u.id.as_uuid(),
                display_name: u.display_name.into_inner(),
                email: u.email.as_str().to_owned(),
            };
            let comments = request_repo::comments(conn, id)?
                .into_iter()
                .map(CommentResponse::from)
                .collect();
            let admin = viewer.acts_as_admin();
            let history = events::for_subject(conn, &id.to_string())?
                .into_iter()
                .map(|row| {
                    let mut event = crate::v1::events::EventResponse::from(row);
                    if !admin && let Some(data) = event.data.as_object_mut() {
                        data.remove("internal_note");
                    }
                    event
                })
                .collect();
            let grant = grants::for_request(conn, id)?.map(GrantResponse::from);
            let session = grants::session_for_request(conn, id)?.map(SessionResponse::from);
            let approvers = people.into_iter().map(summary).collect();
            Ok(RequestDetail {
                request: RequestResponse::new(request, hide),
                requester: requester.map(summary),
                manager: manager.map(summary),
                approvers,
                comments,
                history,
                grant,
                session,
            })
        })
        .await?;
    Ok(web::Json(detail))
}

/// The people a request's steps name, each once, in the order the steps name them.
fn named_in_steps(request: &AccessRequest) -> Vec<UserId> {
    let mut ids: Vec<UserId> = Vec::new();
    let named = request.steps().iter().flat_map(|step| {
        let deciders = step.decisions.iter().map(|d| d.approver_id);
        step.approver_ids.iter().copied().chain(deciders)
    });
    for id in named {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
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
        comment: request::parse_text(body.comment.as_deref())
            .map_err(|m| ApiError::invalid_field("comment", m))?,
        reason: None,
        next_steps: None,
        is_override: body.is_override,
        internal_note: request::parse_text(body.internal_note.as_deref())
            .map_err(|m| ApiError::invalid_field("internal_note", m))?,
        duration_seconds: body.duration_seconds,
    };
    decide(state, principal, id.into_inner(), input).await
}

/// Deny an access request
///
/// Any eligible approver of an active step can deny: deny wins. Give a `reason` and `next_steps` for
/// the requester. Administrators may `override`.
#[utoipa::path(
    tag = "access-requests",
    params(("id" = Uuid, Path, description = "The request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    request_body(content = Option<DenyBody>, description = "Optional: no body at all means `{}`"),
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
    body: Result<OptionalJson<DenyBody>, ApiError>,
) -> Result<web::Json<RequestResponse>, ApiError> {
    let body = body_of(&state, &principal, *id, body).await?;
    let text = |field: &str, value: Option<&str>| {
        request::parse_text(value).map_err(|m| ApiError::invalid_field(field, m))
    };
    let input = DecisionInput {
        verdict: Verdict::Deny,
        comment: text("comment", body.comment.as_deref())?,
        reason: text("reason", body.reason.as_deref())?,
        next_steps: text("next_steps", body.next_steps.as_deref())?,
        is_override: body.is_override,
        internal_note: text("internal_note", body.internal_note.as_deref())?,
        duration_seconds: None,
    };
    decide(state, principal, id.into_inner(), input).await
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
    let (actor, now, id) = (
        principal.0.clone(),
        state.now(),
        RequestId::from(id.into_inner()),
    );
    let request = state
        .write(move |conn| requests::cancel(conn, &actor, id, now))
        .await?;
    Ok(web::Json(
        respond(&state, request, principal.user().id).await?,
    ))
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
    let (actor, now, id) = (
        principal.0.clone(),
        state.now(),
        RequestId::from(id.into_inner()),
    );
    let request = state
        .write(move |conn| requests::retry(conn, &actor, id, now))
        .await?;
    Ok(web::Json(
        respond(&state, request, principal.user().id).await?,
    ))
}

/// Reassign your approval
///
/// An approver of an active step hands their place to another active person.
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
    let (actor, now, id, to) = (
        principal.0.clone(),
        state.now(),
        RequestId::from(id.into_inner()),
        UserId::from(body.to_user_id),
    );
    let request = state
        .write(move |conn| requests::reassign(conn, &actor, id, to, now))
        .await?;
    Ok(web::Json(
        respond(&state, request, principal.user().id).await?,
    ))
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
        .read(move |conn| {
            requests::get_visible(conn, id, &viewer)?;
            Ok(request_repo::comments(conn, id)?)
        })
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
