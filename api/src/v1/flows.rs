//! Approval flows: the handlers (the documents are in `flows/dto.rs`).

use actix_web::{HttpResponse, delete, get, patch, post, web};
use portcullis_domain::{FlowId, UserId};
use portcullis_persistence::repo::flows::FlowFilter;
use uuid::Uuid;

use crate::auth::Admin;
use crate::error::ApiError;
use crate::etag::{IfMatch, etag};
use crate::extractors::{ValidJson, ValidQuery};
use crate::openapi::*;
use crate::pagination::PageParams;
use crate::services::{flow_preview, flows};
use crate::state::AppState;

mod dto;

use dto::preview_response;
pub use dto::{
    CreateFlowRequest, FlowList, FlowListParams, FlowPreview, FlowResponse, PreviewParams,
    PreviewStep, UpdateFlowRequest,
};

/// List approval flows
///
/// Administrators list the flows, newest first, filtered by `kind`, `enabled`, `approval_type` and `q`.
#[utoipa::path(
    tag = "approval-flows",
    params(FlowListParams),
    responses(
        (status = 200, description = "A page of flows", body = FlowList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
#[get("/approval-flows")]
pub async fn list_approval_flows(
    state: web::Data<AppState>,
    _admin: Admin,
    ValidQuery(params): ValidQuery<FlowListParams>,
) -> Result<web::Json<FlowList>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        page_token: params.page_token,
    }
    .to_request()?;
    let filter = FlowFilter {
        kind: params.kind,
        enabled: params.enabled,
        approval_type: params.approval_type,
        q: params.q,
    };
    let flows = state
        .read(move |conn| flows::list(conn, &filter, &page))
        .await?;
    Ok(web::Json(FlowList::from_page(flows, FlowResponse::from)))
}

/// Create an approval flow
///
/// The flow is validated as a whole; every broken rule comes back in `errors[]` with its field
/// (`display.color`, `approvers[1].require_all`, `timed_access.durations_seconds[0]`, …).
#[utoipa::path(
    tag = "approval-flows",
    request_body(content = CreateFlowRequest, examples(
        ("resource_request" = (summary = "A manual, two-step, time-limited resource request flow", value = json!({
        "kind": "resource_request", "name": "GitHub Admin", "description": "Admin rights on the GitHub organisation",
        "enabled": true, "display": { "color": "#24292f" },
        "target_group_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e81", "owner_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e84"],
        "visibility_group_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e85"],
        "timed_access": { "mode": "choices", "durations_seconds": [3600, 86400] },
        "approval_type": "manual",
        "approvers": [{ "type": "requester_manager" },
                      { "type": "user_group", "group_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e86", "require_all": true }],
        "approver_requirement": "all_in_order"
    }))),
        ("device_admin" = (summary = "A device-admin flow approved by any administrator", value = json!({
        "kind": "device_admin", "name": "Laptop admin", "description": "Local admin rights on your laptop",
        "enabled": true, "display": { "logo": "apple" },
        "visibility_group_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e85"],
        "session_durations_seconds": [900, 3600], "approval_type": "manual",
        "approvers": [{ "type": "administrator" }]
    })))
    )),
    responses(
        (status = 201, description = "The flow was created", body = FlowResponse,
            headers(("ETag" = String, description = "The flow's version"), ("Location" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[post("/approval-flows")]
pub async fn create_approval_flow(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    ValidJson(body): ValidJson<CreateFlowRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, now) = (Some(principal.user().id), state.now());
    let flow = state
        .write(move |conn| flows::create(conn, actor, body.0, now))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(flow.version()))
        .insert_header(("Location", format!("/v1/approval-flows/{}", flow.id())))
        .json(FlowResponse::from(flow)))
}

/// Get an approval flow
///
/// Administrators read a flow. The `ETag` header carries its version.
#[utoipa::path(
    tag = "approval-flows",
    params(("id" = Uuid, Path, description = "The flow's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 200, description = "The flow", body = FlowResponse,
            headers(("ETag" = String, description = "The flow's version"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
#[get("/approval-flows/{id}")]
pub async fn get_approval_flow(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = FlowId::from(id.into_inner());
    let flow = state.read(move |conn| flows::get(conn, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(flow.version()))
        .json(FlowResponse::from(flow)))
}

/// Update an approval flow
///
/// `If-Match` is optional: without it the last write wins; with a stale `ETag` the answer is 412.
/// The version increments on every change (an update that changes nothing keeps it).
#[utoipa::path(
    tag = "approval-flows",
    params(
        ("id" = Uuid, Path, description = "The flow's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read; the update fails with 412 if it changed"),
    ),
    request_body = UpdateFlowRequest,
    responses(
        (status = 200, description = "The updated flow", body = FlowResponse,
            headers(("ETag" = String, description = "The flow's new version"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[patch("/approval-flows/{id}")]
pub async fn update_approval_flow(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    ValidJson(body): ValidJson<UpdateFlowRequest>,
) -> Result<HttpResponse, ApiError> {
    let if_match = if_match.and_version(body.version);
    let (actor, now, id) = (
        Some(principal.user().id),
        state.now(),
        FlowId::from(id.into_inner()),
    );
    let flow = state
        .write(move |conn| {
            flows::update(conn, actor, id, |draft| body.apply(draft), &if_match, now)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(flow.version()))
        .json(FlowResponse::from(flow)))
}

/// Delete an approval flow
///
/// Administrators delete a flow; its open requests are canceled.
#[utoipa::path(
    tag = "approval-flows",
    params(("id" = Uuid, Path, description = "The flow's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 204, description = "The flow was deleted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
#[delete("/approval-flows/{id}")]
pub async fn delete_approval_flow(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (actor, now, id) = (
        Some(principal.user().id),
        state.now(),
        FlowId::from(id.into_inner()),
    );
    state
        .write(move |conn| flows::delete(conn, actor, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Preview a flow's approvers
///
/// Resolves who would approve a request through the flow for `requester_id` today: their manager,
/// the owners, the members of approver groups, the admins. The requester is never their own approver;
/// a step nobody can approve carries a `problem`.
#[utoipa::path(
    tag = "approval-flows",
    params(("id" = Uuid, Path, description = "The flow's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"), PreviewParams),
    responses(
        (status = 200, description = "The resolved approvers, step by step", body = FlowPreview),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[get("/approval-flows/{id}/preview")]
pub async fn preview_approval_flow(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    id: web::Path<Uuid>,
    ValidQuery(params): ValidQuery<PreviewParams>,
) -> Result<web::Json<FlowPreview>, ApiError> {
    let (id, now) = (FlowId::from(id.into_inner()), state.now());
    let requester = params
        .requester_id
        .map_or(principal.user().id, UserId::from);
    let preview = state
        .read(move |conn| flow_preview::preview(conn, id, requester, now))
        .await?;
    Ok(web::Json(preview_response(
        &preview.flow,
        preview.requester.id,
        preview.steps,
        &preview.people,
        &preview.conditions,
    )))
}
