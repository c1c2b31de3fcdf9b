//! The requester's catalog: what the caller may request through, who would approve, and where the
//! caller's own request through each flow stands.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use portcullis_domain::UserId;
use portcullis_domain::flow::{
    ApprovalFlow, ApprovalType, ApproverType, BREAK_GLASS_REASON_MIN_CHARS, DisplayDraft, FlowKind,
    FormField, TimedAccessMode,
};
use portcullis_domain::request::{AccessRequest, REASON_CHARS, RequestStatus, Step};
use portcullis_persistence::repo::catalog::{self as catalog_repo, CatalogFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extractors::ValidQuery;
use crate::openapi::*;
use crate::pagination::{PageParams, encode};
use crate::services::catalog::{self, CatalogItem};
use crate::state::AppState;
use crate::v1::devices::dto::DeviceResponse;

/// Someone who would approve the caller's request.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogApprover {
    pub id: Uuid,
    pub display_name: String,
}

/// One approver spec of a catalog entry. `approvers` is `null` when the organisation hides approval progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogApproverStep {
    #[serde(rename = "type")]
    pub approver_type: ApproverType,
    pub require_all: bool,
    pub approvers: Option<Vec<CatalogApprover>>,
}

/// The caller's current request through a catalog entry's flow: their latest one (the open one while
/// it is open), seed 000's "expand the resource to view the status of your request".
#[derive(Debug, Serialize, ToSchema)]
pub struct MyCatalogRequest {
    pub id: Uuid,
    pub status: RequestStatus,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The approval progress, step by step; `null` when the organisation hides approval progress
    /// (`show_approval_progress` off).
    pub steps: Option<Vec<Step>>,
}

impl MyCatalogRequest {
    fn new(request: AccessRequest, caller: UserId, show_progress: bool) -> Self {
        let hidden = request.hides_steps_from(caller, show_progress);
        let r = request.into_stored();
        Self {
            id: r.id.as_uuid(),
            status: r.status,
            created_at: r.created_at,
            decided_at: r.decided_at,
            steps: (!hidden).then_some(r.steps),
        }
    }
}

/// A flow the caller may request through.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogEntry {
    pub flow_id: Uuid,
    pub kind: FlowKind,
    pub name: String,
    pub description: String,
    pub display: DisplayDraft,
    pub approval_type: ApprovalType,
    /// Durations to choose from, in seconds; empty means access without a time limit.
    pub durations_seconds: Vec<i64>,
    /// `fixed`: the single duration applies; `choices`: pick one; `null`: no time limit.
    pub duration_mode: Option<TimedAccessMode>,
    pub approvers: Vec<CatalogApproverStep>,
    /// Device-admin flows: the caller's devices to choose from.
    pub devices: Option<Vec<DeviceResponse>>,
    /// The caller's current request through this flow; `null` when they never made one.
    pub my_request: Option<MyCatalogRequest>,
    /// The fields a request through this flow answers in its `form`.
    pub form: Vec<FormField>,
    /// Emergency access: a request is granted at once, needs a reason of at least
    /// `reason_min_chars`, alerts every administrator and is reviewed by one after; at most 2 per
    /// person per 24 hours.
    pub break_glass: bool,
    /// The shortest reason a request through this flow takes, once trimmed (10; 40 for break-glass).
    pub reason_min_chars: usize,
}

/// The requester's catalog: enabled flows visible to the caller.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "requests_enabled": true,
    "items": [{
        "flow_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e90", "kind": "resource_request", "name": "GitHub Admin",
        "description": "Admin rights on the GitHub organisation", "display": { "color": "#24292f" },
        "approval_type": "manual", "durations_seconds": [3600, 86400], "duration_mode": "choices",
        "approvers": [{ "type": "requester_manager", "require_all": false,
            "approvers": [{ "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87", "display_name": "Max Manager" }] }],
        "devices": null,
        "my_request": { "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ea0", "status": "pending",
            "created_at": "2026-11-23T09:30:00Z", "decided_at": null,
            "steps": [{ "position": 0, "type": "requester_manager", "state": "active",
                "approver_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87"], "require_all": false, "decisions": [] }] },
        "form": [{ "key": "ticket", "label": "Change ticket", "type": "ticket", "required": true }],
        "break_glass": false, "reason_min_chars": 10
    }],
    "next_page_token": null
}))]
pub struct Catalog {
    /// `false` when an admin has turned resource requests off: the catalog is then empty.
    pub requests_enabled: bool,
    pub items: Vec<CatalogEntry>,
    pub next_page_token: Option<String>,
}

/// `requestable`: the caller could submit a request now (no open request through the flow, no
/// access from it); `have_access`: the caller holds access from the flow (an active grant, or a
/// running device-admin session).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Requestable,
    HaveAccess,
}

impl From<Availability> for catalog_repo::Availability {
    fn from(availability: Availability) -> Self {
        match availability {
            Availability::Requestable => Self::Requestable,
            Availability::HaveAccess => Self::HaveAccess,
        }
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatalogParams {
    /// Case-insensitive substring of the name or description.
    #[validate(length(max = 200))]
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only flows of this kind.
    pub kind: Option<FlowKind>,
    /// Only automatic or only manual flows.
    pub approval_type: Option<ApprovalType>,
    /// Only the flows the caller could request through now, or only those they already have access from.
    pub availability: Option<Availability>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// The requester's catalog
///
/// Enabled flows whose visibility groups include the caller, with what they grant, the durations to
/// choose from, who approves (names only when approval progress is shown), the caller's current
/// request through each (`my_request`, its steps only when approval progress is shown), and for
/// device-admin flows the caller's devices. Filters: `q`, `kind`, `approval_type`, `availability`.
#[utoipa::path(
    tag = "catalog",
    params(CatalogParams),
    responses(
        (status = 200, description = "The caller's catalog", body = Catalog),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
    )
)]
#[get("/catalog")]
pub async fn get_catalog(
    state: web::Data<AppState>,
    principal: Principal,
    ValidQuery(params): ValidQuery<CatalogParams>,
) -> Result<web::Json<Catalog>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        page_token: params.page_token,
    }
    .to_request()?;
    let filter = CatalogFilter {
        q: params.q,
        kind: params.kind,
        approval_type: params.approval_type,
        availability: params.availability.map(Into::into),
    };
    let (caller, now) = (principal.0, state.now());
    let caller_id = caller.id;
    let catalog = state
        .read(move |conn| catalog::catalog(conn, &caller, &filter, now, &page))
        .await?;
    let Some(catalog) = catalog else {
        return Ok(web::Json(Catalog {
            requests_enabled: false,
            items: Vec::new(),
            next_page_token: None,
        }));
    };
    let show_approvers = catalog.show_approvers;
    Ok(web::Json(Catalog {
        requests_enabled: true,
        next_page_token: catalog.next.as_ref().map(encode),
        items: (catalog.items.into_iter())
            .map(|item| entry(item, caller_id, show_approvers))
            .collect(),
    }))
}

fn entry(item: CatalogItem, caller: UserId, show_approvers: bool) -> CatalogEntry {
    let CatalogItem {
        flow,
        steps,
        people,
        devices,
        my_request,
    } = item;
    let approvers = steps
        .into_iter()
        .map(|step| CatalogApproverStep {
            approver_type: step.spec.approver_type(),
            require_all: step.require_all,
            approvers: show_approvers.then(|| {
                step.approver_ids
                    .iter()
                    .filter_map(|id| people.iter().find(|p| p.id == *id))
                    .map(|p| CatalogApprover {
                        id: p.id.as_uuid(),
                        display_name: p.display_name.to_string(),
                    })
                    .collect()
            }),
        })
        .collect();
    let devices = devices.map(|devices| devices.into_iter().map(DeviceResponse::from).collect());
    let mut entry = describe(&flow, approvers, devices);
    entry.my_request = my_request.map(|r| MyCatalogRequest::new(r, caller, show_approvers));
    entry
}

fn describe(
    flow: &ApprovalFlow,
    approvers: Vec<CatalogApproverStep>,
    devices: Option<Vec<DeviceResponse>>,
) -> CatalogEntry {
    let draft = flow.to_draft();
    let duration_mode = match flow.kind() {
        FlowKind::DeviceAdmin if flow.duration_choices().len() == 1 => Some(TimedAccessMode::Fixed),
        FlowKind::DeviceAdmin => Some(TimedAccessMode::Choices),
        FlowKind::ResourceRequest => flow.timed_access().map(|t| t.mode),
    };
    CatalogEntry {
        flow_id: flow.id().as_uuid(),
        kind: flow.kind(),
        name: draft.name,
        description: draft.description,
        display: draft.display,
        approval_type: flow.approval_type(),
        durations_seconds: flow.duration_choices().to_vec(),
        duration_mode,
        approvers,
        devices,
        my_request: None,
        form: draft.form,
        break_glass: flow.break_glass(),
        reason_min_chars: if flow.break_glass() {
            BREAK_GLASS_REASON_MIN_CHARS
        } else {
            REASON_CHARS.0
        },
    }
}
