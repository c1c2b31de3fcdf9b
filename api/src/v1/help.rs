//! Help requests (seed 004's "ask for help" from an app's card): the handlers and their documents.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use portcullis_domain::help::{HelpComment, HelpRequest, HelpState};
use portcullis_domain::{FlowId, HelpRequestId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extractors::{ValidJson, ValidQuery};
use crate::list_response;
use crate::openapi::*;
use crate::pagination::PageParams;
use crate::services::help;
use crate::state::AppState;

/// What kind of ticket this is: always `help_request` here.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    HelpRequest,
}

/// A question about a flow for its App Admins (its owners; the IT Admins, administrators, when it
/// has none). It never grants access.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7eb0", "kind": "help_request",
    "flow_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e90", "flow_name": "Figma",
    "asker_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80", "message": "Which licence do I need to edit the design system?",
    "answerer_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87"], "state": "open",
    "created_at": "2026-12-02T09:30:00Z", "resolved_at": null, "resolved_by": null, "version": 1
}))]
pub struct HelpRequestResponse {
    pub id: Uuid,
    /// Tells it apart from access requests in a list of the caller's tickets.
    pub kind: TicketKind,
    pub flow_id: Uuid,
    /// The flow's name when the question was asked.
    pub flow_name: String,
    pub asker_id: Uuid,
    pub message: String,
    /// Who is asked to answer (fixed when asked): the flow's App Admins, or the administrators.
    pub answerer_ids: Vec<Uuid>,
    pub state: HelpState,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<Uuid>,
    pub version: i64,
}

impl From<HelpRequest> for HelpRequestResponse {
    fn from(h: HelpRequest) -> Self {
        Self {
            id: h.id.as_uuid(),
            kind: TicketKind::HelpRequest,
            flow_id: h.flow_id.as_uuid(),
            flow_name: h.flow_name,
            asker_id: h.asker_id.as_uuid(),
            message: h.message,
            answerer_ids: h.answerer_ids.iter().map(|u| u.as_uuid()).collect(),
            state: h.state,
            created_at: h.created_at,
            resolved_at: h.resolved_at,
            resolved_by: h.resolved_by.map(|u| u.as_uuid()),
            version: h.version,
        }
    }
}

/// A comment on a help request.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ec0", "author_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87",
    "body": "The Professional seat covers it; ask for Figma Editor.", "created_at": "2026-12-02T09:45:00Z"
}))]
pub struct HelpCommentResponse {
    pub id: Uuid,
    pub author_id: Uuid,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<HelpComment> for HelpCommentResponse {
    fn from(c: HelpComment) -> Self {
        Self {
            id: c.id.as_uuid(),
            author_id: c.author_id.as_uuid(),
            body: c.body,
            created_at: c.created_at,
        }
    }
}

/// A help request with its comments, oldest first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7eb0", "kind": "help_request",
    "flow_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e90", "flow_name": "Figma",
    "asker_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80", "message": "Which licence do I need to edit the design system?",
    "answerer_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87"], "state": "open",
    "created_at": "2026-12-02T09:30:00Z", "resolved_at": null, "resolved_by": null, "version": 2,
    "comments": [{ "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ec0", "author_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87",
        "body": "The Professional seat covers it; ask for Figma Editor.", "created_at": "2026-12-02T09:45:00Z" }]
}))]
pub struct HelpRequestDetail {
    #[serde(flatten)]
    pub help_request: HelpRequestResponse,
    pub comments: Vec<HelpCommentResponse>,
}

list_response!(
    HelpRequestList,
    HelpRequestResponse,
    "A page of help requests, newest first."
);

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "message": "Which licence do I need to edit the design system?" }))]
pub struct AskForHelpBody {
    /// The question (not blank).
    #[validate(length(min = 1))]
    pub message: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "body": "The Professional seat covers it; I have asked IT to assign one." }))]
pub struct HelpCommentBody {
    #[validate(length(min = 1))]
    pub body: String,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HelpRequestParams {
    /// Only open or only resolved help requests (default: both).
    pub state: Option<HelpState>,
    /// `true`: only those waiting on the caller's answer (open, and the caller is asked), by when
    /// they were asked, newest first: the `answer` items of the caller's Action Required.
    pub waiting_on_me: Option<bool>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// Ask for help about a flow
///
/// From an app's card (seed 004): a question for the flow's App Admins (its owners), or the IT
/// Admins (administrators) when it has none; they are emailed and it waits in their Action
/// Required until resolved. It grants no access. A flow the caller cannot see is a 404;
/// integration accounts never ask (403).
#[utoipa::path(
    tag = "help-requests",
    params(("flow_id" = Uuid, Path, description = "The flow's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e90")),
    request_body = AskForHelpBody,
    responses(
        (status = 201, description = "The help request", body = HelpRequestResponse, headers(("Location" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[post("/catalog/{flow_id}/help")]
pub async fn ask_for_help(
    state: web::Data<AppState>,
    principal: Principal,
    flow_id: web::Path<Uuid>,
    body: Result<ValidJson<AskForHelpBody>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let (asker, now, flow_id) = (principal.0, state.now(), FlowId::from(flow_id.into_inner()));
    let body = match body {
        Ok(ValidJson(body)) => body,
        Err(invalid) => {
            // Who may not ask is told so whatever they sent.
            state
                .read(move |conn| help::check_may_ask(conn, &asker, flow_id, now))
                .await?;
            return Err(invalid);
        }
    };
    let opened = state
        .write(move |conn| help::open(conn, &asker, flow_id, &body.message, now))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/help-requests/{}", opened.id)))
        .json(HelpRequestResponse::from(opened)))
}

/// List my help requests
///
/// The help requests the caller asked or is asked to answer, newest first; with `waiting_on_me=true`,
/// those waiting on the caller's answer.
#[utoipa::path(
    tag = "help-requests",
    params(HelpRequestParams),
    responses(
        (status = 200, description = "A page of help requests", body = HelpRequestList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
    )
)]
#[get("/help-requests")]
pub async fn list_help_requests(
    state: web::Data<AppState>,
    principal: Principal,
    ValidQuery(params): ValidQuery<HelpRequestParams>,
) -> Result<web::Json<HelpRequestList>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        page_token: params.page_token,
    }
    .to_request()?;
    let (viewer, filter) = (principal.0, params.state);
    let waiting = params.waiting_on_me.unwrap_or(false);
    let page = state
        .read(move |conn| match (waiting, filter) {
            (true, Some(HelpState::Resolved)) => Ok(portcullis_persistence::Page {
                items: Vec::new(),
                next: None,
            }),
            (true, _) => help::waiting_on(conn, viewer.id, &page),
            (false, _) => help::list(conn, &viewer, filter, &page),
        })
        .await?;
    Ok(web::Json(HelpRequestList::from_page(
        page,
        HelpRequestResponse::from,
    )))
}

/// Get a help request
///
/// With its comments. Visible to the asker, its answerers and administrators (404 otherwise).
#[utoipa::path(
    tag = "help-requests",
    params(("id" = Uuid, Path, description = "The help request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7eb0")),
    responses(
        (status = 200, description = "The help request", body = HelpRequestDetail),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
#[get("/help-requests/{id}")]
pub async fn get_help_request(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<web::Json<HelpRequestDetail>, ApiError> {
    let (viewer, id) = (principal.0, HelpRequestId::from(id.into_inner()));
    let (found, comments) = state.read(move |conn| help::get(conn, id, &viewer)).await?;
    Ok(web::Json(HelpRequestDetail {
        help_request: found.into(),
        comments: comments.into_iter().map(Into::into).collect(),
    }))
}

/// Comment on a help request
///
/// The asker, its answerers and administrators talk it through while it is open (409 once resolved);
/// the other side is emailed.
#[utoipa::path(
    tag = "help-requests",
    params(("id" = Uuid, Path, description = "The help request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7eb0")),
    request_body = HelpCommentBody,
    responses(
        (status = 201, description = "The comment", body = HelpCommentResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[post("/help-requests/{id}/comments")]
pub async fn comment_on_help_request(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: Result<ValidJson<HelpCommentBody>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let (author, now, id) = (
        principal.0,
        state.now(),
        HelpRequestId::from(id.into_inner()),
    );
    let body = match body {
        Ok(ValidJson(body)) => body,
        Err(invalid) => {
            // Who may not see it gets its 404 whatever they sent.
            state
                .read(move |conn| help::check_visible(conn, id, &author))
                .await?;
            return Err(invalid);
        }
    };
    let comment = state
        .write(move |conn| help::comment(conn, id, &author, &body.body, now))
        .await?;
    Ok(HttpResponse::Created().json(HelpCommentResponse::from(comment)))
}

/// Resolve a help request
///
/// The asker, an answerer (App Admin) or an administrator (IT Admin) closes it; it leaves the
/// answerers' Action Required. 409 when already resolved.
#[utoipa::path(
    tag = "help-requests",
    params(("id" = Uuid, Path, description = "The help request's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7eb0")),
    responses(
        (status = 200, description = "The resolved help request", body = HelpRequestResponse),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/help-requests/{id}/resolve")]
pub async fn resolve_help_request(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<web::Json<HelpRequestResponse>, ApiError> {
    let (by, now, id) = (
        principal.0,
        state.now(),
        HelpRequestId::from(id.into_inner()),
    );
    let resolved = state
        .write(move |conn| help::resolve(conn, id, &by, now))
        .await?;
    Ok(web::Json(resolved.into()))
}
