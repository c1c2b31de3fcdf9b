//! Manage Requests (seed 004): the Open, Closed and Action Required views of the tickets of the
//! apps the caller helps manage.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use portcullis_domain::FlowId;
use portcullis_domain::flow::ApprovalType;
use portcullis_persistence::repo::requests::{QueueFilter, View};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extractors::ValidQuery;
use crate::openapi::*;
use crate::pagination::{PageParams, encode};
use crate::services::manage;
use crate::state::AppState;
use crate::v1::events::EventResponse;
use crate::v1::requests::RequestResponse;

/// `open`: pending, in error, or approved with a fulfilment task still to do; `closed`: the others;
/// `action_required`: those waiting on the caller (a decision or a fulfilment task).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ManageView {
    #[default]
    Open,
    Closed,
    ActionRequired,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ManageParams {
    /// Which tickets (default `open`).
    pub view: Option<ManageView>,
    /// Only requests of this approval type (default: both).
    pub approval_type: Option<ApprovalType>,
    /// Case-insensitive substring of the requester's name or email.
    #[validate(length(max = 200))]
    #[param(max_length = 200)]
    pub requester: Option<String>,
    pub flow_id: Option<Uuid>,
    /// Requests created at or after this instant.
    pub created_after: Option<DateTime<Utc>>,
    /// Requests created before this instant.
    pub created_before: Option<DateTime<Utc>>,
    /// Free text over the requester's name and email, the flow's name and the reason.
    #[validate(length(max = 200))]
    #[param(max_length = 200)]
    pub q: Option<String>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// A ticket with its activity timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManagedRequest {
    #[serde(flatten)]
    pub request: RequestResponse,
    /// The ticket's activity, oldest first: submission, decisions, comments, reassignments,
    /// fulfilment tasks (internal notes for administrators only).
    pub history: Vec<EventResponse>,
}

/// How many tickets each view holds, with the same filters (for the tabs).
#[derive(Debug, Serialize, ToSchema)]
pub struct ManageCounts {
    pub open: i64,
    pub closed: i64,
    pub action_required: i64,
}

/// A page of a Manage Requests view.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "items": [], "next_page_token": null, "counts": { "open": 3, "closed": 12, "action_required": 1 }
}))]
pub struct ManagePage {
    pub items: Vec<ManagedRequest>,
    /// Pass as `page_token` to get the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_page_token: Option<String>,
    pub counts: ManageCounts,
}

/// Manage Requests
///
/// The tickets of the apps the caller helps manage (seed 004), newest first, each with its activity
/// timeline: administrators (IT Admins) see every ticket; App Admins (a flow's owners) the tickets of
/// their flows; App Approvers those whose steps named them (and assignees those whose tasks did).
/// `view` picks Open, Closed or Action Required; the admin queue's filters narrow it; `counts` gives
/// each view's size for the same filters. Basic members get 403.
#[utoipa::path(
    tag = "access-requests",
    params(ManageParams),
    responses(
        (status = 200, description = "A page of the view", body = ManagePage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
#[get("/manage/requests")]
pub async fn list_managed_requests(
    state: web::Data<AppState>,
    principal: Principal,
    ValidQuery(p): ValidQuery<ManageParams>,
) -> Result<web::Json<ManagePage>, ApiError> {
    let page = PageParams {
        limit: p.limit,
        page_token: p.page_token,
    }
    .to_request()?;
    let view = match p.view.unwrap_or_default() {
        ManageView::Open => View::Open,
        ManageView::Closed => View::Closed,
        ManageView::ActionRequired => View::ActionRequired,
    };
    let filter = QueueFilter {
        tab: None,
        statuses: Vec::new(),
        approval_type: p.approval_type,
        requester: p.requester,
        flow_id: p.flow_id.map(FlowId::from),
        created_after: p.created_after,
        created_before: p.created_before,
        q: p.q,
    };
    let viewer = principal.0.clone();
    let views = state
        .read(move |conn| manage::list(conn, &viewer, view, &filter, &page))
        .await?;
    let notes = views.internal_notes;
    Ok(web::Json(ManagePage {
        next_page_token: views.page.next.as_ref().map(encode),
        items: (views.page.items.into_iter())
            .map(|ticket| ManagedRequest {
                request: RequestResponse::from(ticket.request),
                history: (ticket.history.into_iter())
                    .map(|row| EventResponse::without_internal_note(row, !notes))
                    .collect(),
            })
            .collect(),
        counts: ManageCounts {
            open: views.open,
            closed: views.closed,
            action_required: views.action_required,
        },
    }))
}
