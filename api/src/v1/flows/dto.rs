//! The documents of the approval-flow endpoints: a flow, its changes, and the preview of its approvers.

use chrono::{DateTime, Utc};
use portcullis_domain::flow::{
    Activation, ApprovalFlow, ApprovalType, ApproverDraft, ApproverRequirement, ApproverType,
    ConditionOutcome, DisplayDraft, EscalationDraft, Extensions, FlowDraft, FlowKind, FormField,
    Fulfilment, Scheduling, SlackApprovals, TimedAccess,
};
use portcullis_domain::{GroupId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::list_response;
use crate::services::double_option;
use crate::v1::users::dto::UserResponse;

/// An approval flow: who may request, who approves, in which order, for how long.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e90", "kind": "resource_request", "name": "GitHub Admin",
    "description": "Admin rights on the GitHub organisation", "enabled": true, "display": { "color": "#24292f" },
    "target_group_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e81", "owner_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e84"],
    "visibility_group_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e85"],
    "timed_access": { "mode": "choices", "durations_seconds": [3600, 86400] }, "session_durations_seconds": [],
    "approval_type": "manual",
    "approvers": [{ "type": "requester_manager" },
                  { "type": "user_group", "group_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e86", "require_all": true }],
    "approver_requirement": "all_in_order",
    "form": [{ "key": "ticket", "label": "Change ticket", "type": "ticket", "required": true }],
    "auto_approve_if": "request.duration_seconds <= 3600 && \"oncall\" in requester.groups",
    "break_glass": false,
    "version": 1, "created_at": "2026-11-23T09:30:00Z", "updated_at": "2026-11-23T09:30:00Z"
}))]
pub struct FlowResponse {
    #[schema(read_only)]
    pub id: Uuid,
    pub kind: FlowKind,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub display: DisplayDraft,
    pub target_group_id: Option<Uuid>,
    pub owner_ids: Vec<Uuid>,
    pub visibility_group_ids: Vec<Uuid>,
    pub timed_access: Option<TimedAccess>,
    pub session_durations_seconds: Vec<i64>,
    pub approval_type: ApprovalType,
    pub approvers: Vec<ApproverDraft>,
    pub approver_requirement: Option<ApproverRequirement>,
    /// Slack approvals; `null` when off.
    pub slack: Option<SlackApprovals>,
    /// `resource_request` only: what follows an approval (`null`: the membership is added at once).
    /// The flow's owners are its App Admins (seed 004); they do the `assignment`.
    pub fulfilment: Option<Fulfilment>,
    /// Extra fields requesters fill in.
    pub form: Vec<FormField>,
    /// Manual flows: a CEL condition approving a request at submission (see the README's context).
    pub auto_approve_if: Option<String>,
    /// `resource_request` flows with timed access: how grants are extended (`null`: through the
    /// flow's own approvals, without limits).
    pub extensions: Option<Extensions>,
    /// Manual flows: fallback approvers added to a request left undecided `after_hours`; `null` when off.
    pub escalation: Option<EscalationDraft>,
    /// Break-glass (emergency) access: requests are approved at once with a reason of at least 40
    /// characters, alerted to the administrators and reviewed by them after (see the README).
    pub break_glass: bool,
    /// `resource_request` flows: how far ahead a request's `starts_at` may be (`null`: requests
    /// take no `starts_at`; access starts on approval).
    pub scheduling: Option<Scheduling>,
    /// `resource_request` flows: approved access waits for its holder to activate it within
    /// `window_seconds` (`null`: it starts on approval, or at `starts_at`).
    pub activation: Option<Activation>,
    /// Increments on every change; also the `ETag`.
    #[schema(read_only)]
    pub version: i64,
    #[schema(read_only)]
    pub created_at: DateTime<Utc>,
    #[schema(read_only)]
    pub updated_at: DateTime<Utc>,
}

impl From<ApprovalFlow> for FlowResponse {
    fn from(flow: ApprovalFlow) -> Self {
        let draft = flow.to_draft();
        Self {
            id: flow.id().as_uuid(),
            kind: draft.kind,
            name: draft.name,
            description: draft.description,
            enabled: draft.enabled,
            display: draft.display,
            target_group_id: draft.target_group_id.map(|g| g.as_uuid()),
            owner_ids: draft.owner_ids.iter().map(UserId::as_uuid).collect(),
            visibility_group_ids: draft
                .visibility_group_ids
                .iter()
                .map(GroupId::as_uuid)
                .collect(),
            timed_access: draft.timed_access,
            session_durations_seconds: draft.session_durations_seconds,
            approval_type: draft.approval_type,
            approvers: draft.approvers,
            approver_requirement: draft.approver_requirement,
            slack: draft.slack,
            fulfilment: draft.fulfilment,
            form: draft.form,
            auto_approve_if: draft.auto_approve_if,
            extensions: draft.extensions,
            escalation: draft.escalation,
            break_glass: draft.break_glass,
            scheduling: draft.scheduling,
            activation: draft.activation,
            version: flow.version(),
            created_at: flow.created_at(),
            updated_at: flow.updated_at(),
        }
    }
}

list_response!(
    FlowList,
    FlowResponse,
    "A page of approval flows, newest first."
);

/// The body of `POST /v1/approval-flows` (validated as a whole by the domain).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct CreateFlowRequest(pub FlowDraft);

impl Validate for CreateFlowRequest {
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        Ok(())
    }
}

/// Fields to change; omitted fields stay. The whole flow is validated again after the change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "enabled": false, "approver_requirement": "all" }))]
pub struct UpdateFlowRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub display: Option<DisplayDraft>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub target_group_id: Option<Option<GroupId>>,
    #[schema(value_type = Option<Vec<Uuid>>)]
    pub owner_ids: Option<Vec<UserId>>,
    #[schema(value_type = Option<Vec<Uuid>>)]
    pub visibility_group_ids: Option<Vec<GroupId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<TimedAccess>, nullable)]
    pub timed_access: Option<Option<TimedAccess>>,
    pub session_durations_seconds: Option<Vec<i64>>,
    pub approval_type: Option<ApprovalType>,
    pub approvers: Option<Vec<ApproverDraft>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<ApproverRequirement>, nullable)]
    pub approver_requirement: Option<Option<ApproverRequirement>>,
    /// Slack approvals; `null` turns them off.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<SlackApprovals>, nullable)]
    pub slack: Option<Option<SlackApprovals>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Fulfilment>, nullable)]
    pub fulfilment: Option<Option<Fulfilment>>,
    #[schema(max_items = 20)]
    pub form: Option<Vec<FormField>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable, max_length = 1000)]
    pub auto_approve_if: Option<Option<String>>,
    /// How grants are extended; `null`: through the flow's own approvals, without limits.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Extensions>, nullable)]
    pub extensions: Option<Option<Extensions>>,
    /// Escalation to fallback approvers; `null` turns it off.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<EscalationDraft>, nullable)]
    pub escalation: Option<Option<EscalationDraft>>,
    /// Break-glass (emergency) access on or off (the flow's other rules must then allow it).
    pub break_glass: Option<bool>,
    /// Scheduled starts; `null` turns them off (requests already made keep their `starts_at`).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Scheduling>, nullable)]
    pub scheduling: Option<Option<Scheduling>>,
    /// Activation by the holder; `null` turns it off (for approvals from then on).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Activation>, nullable)]
    pub activation: Option<Option<Activation>>,
    /// Read-only, ignored: the GET's own field, accepted so that a read object can be sent back.
    #[schema(read_only)]
    pub id: Option<Uuid>,
    /// Read-only: a flow's kind cannot change (422 if it differs).
    #[schema(read_only)]
    pub kind: Option<FlowKind>,
    /// Read-only: when given, the version this change applies to, checked as `If-Match` is (412 if
    /// stale; with `If-Match` too, both must match).
    #[schema(read_only)]
    pub version: Option<i64>,
    /// Read-only, ignored.
    #[schema(read_only)]
    pub created_at: Option<DateTime<Utc>>,
    /// Read-only, ignored.
    #[schema(read_only)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Validate for UpdateFlowRequest {
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        Ok(())
    }
}

impl UpdateFlowRequest {
    pub(super) fn apply(self, mut draft: FlowDraft) -> Result<FlowDraft, ApiError> {
        // Accepted so that a flow read can be sent back, but a kind is for life.
        if self.kind.is_some_and(|kind| kind != draft.kind) {
            return Err(ApiError::invalid_field(
                "kind",
                "cannot change; create a flow of the other kind instead",
            ));
        }
        macro_rules! set {
            ($($field:ident),+) => {$(
                if let Some(value) = self.$field {
                    draft.$field = value;
                }
            )+};
        }
        set!(
            name,
            description,
            enabled,
            display,
            target_group_id,
            owner_ids,
            visibility_group_ids,
            timed_access,
            session_durations_seconds,
            approval_type,
            approvers,
            approver_requirement,
            slack,
            fulfilment,
            form,
            auto_approve_if,
            extensions,
            escalation,
            break_glass,
            scheduling,
            activation
        );
        Ok(draft)
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlowListParams {
    pub kind: Option<FlowKind>,
    pub enabled: Option<bool>,
    pub approval_type: Option<ApprovalType>,
    /// Case-insensitive substring of the name or description.
    #[validate(length(max = 200))]
    #[param(max_length = 200)]
    pub q: Option<String>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// One step of a preview: an approver spec and the people it resolves to today.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewStep {
    pub position: usize,
    #[serde(rename = "type")]
    pub approver_type: ApproverType,
    pub require_all: bool,
    pub approvers: Vec<UserResponse>,
    /// Set when nobody can approve this step for this requester (a request would be refused).
    pub problem: Option<String>,
    /// Whether a request would have this step: false when its `required_if` is false for this
    /// requester (for a request with the flow's first duration and no form answers).
    pub included: bool,
}

/// How one of the flow's conditions comes out for the previewed requester.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConditionPreview {
    /// `auto_approve_if` or `approvers[i].required_if`.
    pub member: String,
    pub expression: String,
    /// `null` when it cannot be evaluated (see `error`).
    pub result: Option<bool>,
    pub error: Option<String>,
    /// `auto_approved`, `not_auto_approved`, `step_required` or `step_left_out`.
    pub effect: String,
}

/// Who would approve a request through the flow, for one requester, today.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "flow_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e90", "requester_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80",
    "approval_type": "manual", "approver_requirement": "all_in_order",
    "auto_approved": false, "conditions": [],
    "steps": [{ "position": 0, "type": "requester_manager", "require_all": false, "problem": null, "included": true,
        "approvers": [{ "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87", "email": "manager@example.com",
            "display_name": "Max Manager", "manager_id": null, "is_admin": false, "active": true, "kind": "person",
            "external_id": null, "version": 1, "created_at": "2026-11-23T09:30:00Z", "updated_at": "2026-11-23T09:30:00Z" }] }]
}))]
pub struct FlowPreview {
    pub flow_id: Uuid,
    pub requester_id: Uuid,
    pub approval_type: ApprovalType,
    pub approver_requirement: Option<ApproverRequirement>,
    pub steps: Vec<PreviewStep>,
    /// Whether a request would be approved at submission by `auto_approve_if`.
    pub auto_approved: bool,
    /// The flow's conditions evaluated for this requester (empty without conditions).
    pub conditions: Vec<ConditionPreview>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewParams {
    /// The requester to resolve for (default: the caller). Only admins may name someone else.
    pub requester_id: Option<Uuid>,
}

pub(super) fn preview_response(
    flow: &ApprovalFlow,
    requester: UserId,
    steps: Vec<portcullis_domain::flow::ResolvedStep>,
    people: &[portcullis_domain::directory::User],
    conditions: &[ConditionOutcome],
) -> FlowPreview {
    let left_out = |position: usize| {
        conditions
            .iter()
            .any(|c| c.step == Some(position) && c.result == Ok(false))
    };
    FlowPreview {
        auto_approved: conditions
            .iter()
            .any(|c| c.step.is_none() && c.result == Ok(true)),
        conditions: conditions
            .iter()
            .map(|c| ConditionPreview {
                member: c.member.clone(),
                expression: c.expression.clone(),
                result: c.result.clone().ok(),
                error: c.result.clone().err(),
                effect: c.effect().to_owned(),
            })
            .collect(),
        flow_id: flow.id().as_uuid(),
        requester_id: requester.as_uuid(),
        approval_type: flow.approval_type(),
        approver_requirement: flow.approver_requirement(),
        steps: steps
            .into_iter()
            .map(|step| PreviewStep {
                position: step.position,
                approver_type: step.spec.approver_type(),
                require_all: step.require_all,
                included: !left_out(step.position),
                problem: step
                    .approver_ids
                    .is_empty()
                    .then(|| "nobody can approve this step for this requester".to_owned()),
                approvers: step
                    .approver_ids
                    .iter()
                    .filter_map(|id| people.iter().find(|p| p.id == *id))
                    .cloned()
                    .map(UserResponse::from)
                    .collect(),
            })
            .collect(),
    }
}
