//! The requester's and approver's lists.

use actix_web::{get, web};
use portcullis_persistence::repo::requests::OpenOrClosed;
use serde::Deserialize;
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
use crate::v1::requests::RequestResponse;

list_response!(
    RequestList,
    RequestResponse,
    "A page of access requests, newest first."
);

/// `open`: pending or in error; `closed`: approved, denied, canceled or expired.
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
    let page = PageParams {
        limit: params.limit,
        page_token: params.page_token,
    }
    .to_request()?;
    let filter = params.state.map(|s| match s {
        RequestState::Open => OpenOrClosed::Open,
        RequestState::Closed => OpenOrClosed::Closed,
    });
    let me = principal.user().id;
    let (page, show) = state
        .read(move |conn| views::my_requests(conn, me, filter, &page))
        .await?;
    Ok(web::Json(RequestList::from_page(page, |r| {
        RequestResponse::listed(r, !show)
    })))
}

/// My tasks
///
/// Pending requests in which the caller approves an active step and has not decided yet. Steps still
/// waiting for an earlier one (`all_in_order`) are not listed, nor requests once the caller decided.
#[utoipa::path(
    tag = "access-requests",
    params(PageParams),
    responses(
        (status = 200, description = "A page of requests awaiting the caller", body = RequestList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
    )
)]
#[get("/me/tasks")]
pub async fn list_my_tasks(
    state: web::Data<AppState>,
    principal: Principal,
    ValidQuery(params): ValidQuery<PageParams>,
) -> Result<web::Json<RequestList>, ApiError> {
    let page = params.to_request()?;
    let me = principal.user().id;
    let page = state
        .read(move |conn| views::my_tasks(conn, me, &page))
        .await?;
    Ok(web::Json(RequestList::from_page(
        page,
        RequestResponse::from,
    )))
}
