//! The requester's and approver's lists.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use portcullis_domain::request::TaskType;
use portcullis_persistence::repo::requests::{Action, OpenOrClosed, Subject};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extractors::ValidQuery;
use crate::list_response;
use crate::openapi::*;
use crate::pagination::PageParams;
use crate::services::views;
use crate::state::AppState;
use crate::v1::help::HelpRequestResponse;
use crate::v1::requests::RequestResponse;

list_response!(
    RequestList,
    RequestResponse,
    "A page of access requests, newest first."
);

/// `open`: pending, in error, or approved with a fulfilment task still to do; `closed`: the others.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Open,
    Closed,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyRequestsParams {
    /// Only open or only closed requests (default: both).
    pub state: Option<RequestState>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

impl MyRequestsParams {
    /// The page asked for and the open-or-closed filter, as the store takes them.
    pub fn page_and_state(
        self,
    ) -> Result<(portcullis_persistence::PageRequest, Option<OpenOrClosed>), ApiError> {
        let page = PageParams {
            limit: self.limit,
            page_token: self.page_token,
        }
        .to_request()?;
        let state = self.state.map(|s| match s {
            RequestState::Open => OpenOrClosed::Open,
            RequestState::Closed => OpenOrClosed::Closed,
        });
        Ok((page, state))
    }
}

/// My access requests
///
/// The caller's requests with their progress, newest first.
#[utoipa::path(
    tag = "access-requests",
    params(MyRequestsParams),
    responses(
        (status = 200, description = "A page of the caller's requests", body = RequestList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
    )
)]
#[get("/me/access-requests")]
pub async fn list_my_access_requests(
    state: web::Data<AppState>,
    principal: Principal,
    ValidQuery(params): ValidQuery<MyRequestsParams>,
) -> Result<web::Json<RequestList>, ApiError> {
    let (page, filter) = params.page_and_state()?;
    let me = principal.user().id;
    let (page, show) = state
        .read(move |conn| views::my_requests(conn, me, filter, &page))
        .await?;
    Ok(web::Json(RequestList::from_page(page, |r| {
        RequestResponse::listed(r, !show)
    })))
}

/// What an Action Required item asks of the caller: decide on a step (`approve`), complete a
/// fulfilment task (`provision`, `assign`, `deprovision`), answer a help request (`answer`), or
/// review a break-glass request (`review`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Approve,
    Provision,
    Assign,
    Deprovision,
    Answer,
    Review,
}

impl ActionKind {
    fn of(action: Action) -> Self {
        match action {
            Action::Approve => Self::Approve,
            Action::Task(TaskType::Provisioning) => Self::Provision,
            Action::Task(TaskType::Assignment) => Self::Assign,
            Action::Task(TaskType::Deprovisioning) => Self::Deprovision,
            Action::Task(TaskType::Review) => Self::Review,
            Action::Answer => Self::Answer,
        }
    }

    fn to_action(self) -> Action {
        match self {
            Self::Approve => Action::Approve,
            Self::Provision => Action::Task(TaskType::Provisioning),
            Self::Assign => Action::Task(TaskType::Assignment),
            Self::Deprovision => Action::Task(TaskType::Deprovisioning),
            Self::Review => Action::Task(TaskType::Review),
            Self::Answer => Action::Answer,
        }
    }
}

/// One action waiting on the caller.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "action": "provision", "since": "2026-11-23T10:00:00Z",
    "access_request": {
        "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ea0", "flow_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e90",
        "flow_name": "Figma", "flow_version": 1, "kind": "resource_request", "approval_type": "manual",
        "approver_requirement": "any", "requester_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80",
        "status": "approved", "reason": "Design reviews for the new onboarding", "duration_seconds": null,
        "device_id": null, "steps": [], "created_at": "2026-11-23T09:30:00Z",
        "decided_at": "2026-11-23T10:00:00Z", "expires_at": null, "decision": null, "error": null,
        "resubmitted_from": null, "version": 2, "form": {}, "break_glass": false, "review": null,
        "fulfilment": { "state": "in_progress", "tasks": [
            { "type": "provisioning", "state": "open", "assignee_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e81"],
              "opened_at": "2026-11-23T10:00:00Z", "completed_by": null, "completed_at": null, "note": null }
        ] }
    },
    "help_request": null
}))]
pub struct ActionItemResponse {
    pub action: ActionKind,
    /// When it started waiting on the caller: a fulfilment task's opening; for `approve`, when the
    /// request was submitted; for `answer`, when the question was asked.
    pub since: DateTime<Utc>,
    /// The request the action is on: set for `approve`, `provision`, `assign`, `deprovision` and
    /// `review`, `null` for `answer`.
    pub access_request: Option<RequestResponse>,
    /// The help request to answer: set for `answer`, `null` for the others.
    pub help_request: Option<HelpRequestResponse>,
}

list_response!(
    ActionList,
    ActionItemResponse,
    "A page of the actions waiting on the caller, newest first."
);

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionRequiredParams {
    /// Only this kind of action (default: every kind).
    pub action: Option<ActionKind>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// Action Required
///
/// Every action that waits on the caller (seed 004's Action Required), newest first: `approve` for a
/// pending request in which they approve an active step and have not decided yet (steps still waiting
/// for an earlier one are not listed), `provision` and `deprovision` for the IT Admins' (administrators')
/// open fulfilment tasks, `assign` for the App Admins' (the flow's owners'), `answer` for an open help
/// request the caller is asked to answer (with `help_request` instead of `access_request`), `review`
/// for a break-glass request an administrator is to confirm or revoke (`POST
/// /v1/access-requests/{id}/review`). Filter with `action`.
#[utoipa::path(
    tag = "access-requests",
    params(ActionRequiredParams),
    responses(
        (status = 200, description = "A page of the actions waiting on the caller", body = ActionList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
    )
)]
#[get("/me/tasks")]
pub async fn list_my_tasks(
    state: web::Data<AppState>,
    principal: Principal,
    ValidQuery(params): ValidQuery<ActionRequiredParams>,
) -> Result<web::Json<ActionList>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        page_token: params.page_token,
    }
    .to_request()?;
    let me = principal.user().id;
    let only = params.action.map(ActionKind::to_action);
    let page = state
        .read(move |conn| views::my_tasks(conn, me, only, &page))
        .await?;
    Ok(web::Json(ActionList::from_page(page, |item| {
        let (access_request, help_request) = match item.subject {
            Subject::Request(listed) => (Some(RequestResponse::from(*listed)), None),
            Subject::Help(help) => (None, Some(HelpRequestResponse::from(*help))),
        };
        ActionItemResponse {
            action: ActionKind::of(item.action),
            since: portcullis_persistence::time::from_db(item.since),
            access_request,
            help_request,
        }
    })))
}
