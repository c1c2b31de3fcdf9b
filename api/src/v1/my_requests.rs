//! My requests: everything the caller asked for in one list (seed 004's Open and Closed Requests):
//! their access requests and the help requests they asked from an app's card, each with its kind.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use portcullis_persistence::repo::requests::Subject;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extractors::ValidQuery;
use crate::list_response;
use crate::openapi::*;
use crate::services::views;
use crate::state::AppState;
use crate::v1::help::HelpRequestResponse;
use crate::v1::requests::RequestResponse;
use crate::v1::views::MyRequestsParams;

/// What kind of request an item of "My requests" is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MyRequestKind {
    AccessRequest,
    HelpRequest,
}

/// One of the caller's requests: an access request or a help request.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "kind": "help_request", "created_at": "2026-12-02T09:30:00Z", "access_request": null,
    "help_request": {
        "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7eb0", "kind": "help_request",
        "flow_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e90", "flow_name": "Figma",
        "asker_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80",
        "message": "Which licence do I need to edit the design system?",
        "answerer_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87"], "state": "open",
        "created_at": "2026-12-02T09:30:00Z", "resolved_at": null, "resolved_by": null, "version": 1
    }
}))]
pub struct MyRequestItem {
    pub kind: MyRequestKind,
    /// When it was made (the list's order, newest first).
    pub created_at: DateTime<Utc>,
    /// Set for `access_request`, `null` for `help_request`.
    pub access_request: Option<RequestResponse>,
    /// Set for `help_request`, `null` for `access_request`.
    pub help_request: Option<HelpRequestResponse>,
}

list_response!(
    MyRequestList,
    MyRequestItem,
    "A page of the caller's access and help requests, newest first."
);

/// My requests
///
/// Everything the caller asked for, newest first: their access requests (as
/// `GET /v1/me/access-requests` lists them) and the help requests they asked from an app's card
/// (`POST /v1/catalog/{flow_id}/help`), each with its `kind`. `state=open`: access requests still
/// pending, in error or being fulfilled, and help requests not yet resolved; `state=closed`: the
/// others.
#[utoipa::path(
    tag = "access-requests",
    params(MyRequestsParams),
    responses(
        (status = 200, description = "A page of the caller's requests of both kinds", body = MyRequestList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
    )
)]
#[get("/me/requests")]
pub async fn list_my_requests(
    state: web::Data<AppState>,
    principal: Principal,
    ValidQuery(params): ValidQuery<MyRequestsParams>,
) -> Result<web::Json<MyRequestList>, ApiError> {
    let (page, filter) = params.page_and_state()?;
    let me = principal.user().id;
    let (page, show) = state
        .read(move |conn| views::my_tickets(conn, me, filter, &page))
        .await?;
    Ok(web::Json(MyRequestList::from_page(page, |item| {
        let created_at = portcullis_persistence::time::from_db(item.created_at);
        match item.subject {
            Subject::Request(listed) => MyRequestItem {
                kind: MyRequestKind::AccessRequest,
                created_at,
                access_request: Some(RequestResponse::listed(*listed, !show)),
                help_request: None,
            },
            Subject::Help(help) => MyRequestItem {
                kind: MyRequestKind::HelpRequest,
                created_at,
                access_request: None,
                help_request: Some(HelpRequestResponse::from(*help)),
            },
        }
    })))
}
