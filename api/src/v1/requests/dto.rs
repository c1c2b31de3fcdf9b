//! What the request endpoints read and answer: bodies, responses and their examples.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use portcullis_domain::directory::User;
use portcullis_domain::flow::{ApprovalType, ApproverRequirement, FlowKind};
use portcullis_domain::request::{
    self, AccessRequest, FulfilmentState, Outcome, RequestStatus, ReviewOutcome, Step, Task,
    TaskType,
};
use portcullis_persistence::repo::requests as request_repo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::services::requests::RequestView;
use crate::v1::access::{GrantResponse, SessionResponse};
use crate::v1::events::EventResponse;

/// An access request with its approval progress.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ea0", "flow_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e90",
    "flow_name": "GitHub Admin", "flow_version": 1, "kind": "resource_request", "approval_type": "manual",
    "approver_requirement": "all_in_order", "requester_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80",
    "status": "pending", "reason": "Review pull requests for the 3.2 release", "duration_seconds": 3600,
    "device_id": null, "form": { "ticket": "OPS-1234" },
    "steps": [
        { "position": 0, "type": "requester_manager", "state": "active",
          "approver_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87"], "require_all": false, "decisions": [] },
        { "position": 1, "type": "user_group", "state": "waiting",
          "approver_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e88", "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e89"],
          "require_all": true, "decisions": [] }
    ],
    "created_at": "2026-11-23T09:30:00Z", "decided_at": null, "expires_at": "2026-12-23T09:30:00Z",
    "decision": null, "error": null, "resubmitted_from": null, "starts_at": null, "fulfilment": null,
    "break_glass": false, "review": null, "version": 1
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
    /// The answers to the flow's request form, by field key (answered fields only).
    pub form: BTreeMap<String, String>,
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
    /// An extension request (`POST /v1/grants/{id}/extend`): the grant whose end its approval moves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extends_grant_id: Option<Uuid>,
    /// When the requester asked the access to start (`null`: on approval). Approved before then,
    /// the grant is `scheduled` for it; approved at or after it, the access starts at once.
    pub starts_at: Option<DateTime<Utc>>,
    /// What follows the approval when the flow has a fulfilment (`null` otherwise): its state and
    /// tasks. The ticket is closed once it is `done` (or `canceled`).
    pub fulfilment: Option<FulfilmentResponse>,
    /// Made through a break-glass flow: approved at once, the administrators alerted, reviewed after.
    pub break_glass: bool,
    /// A break-glass request's review (`null` otherwise): `open` for its reviewers (the
    /// administrators but the requester) until one confirms or revokes it (`outcome`).
    pub review: Option<Task>,
    pub version: i64,
}

/// A request's fulfilment: provisioning by the IT Admins, then assignment by the App Admins.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "state": "in_progress",
    "tasks": [
        { "type": "provisioning", "state": "open", "assignee_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"],
          "opened_at": "2026-11-23T10:00:00Z", "completed_by": null, "completed_at": null, "note": null },
        { "type": "assignment", "state": "waiting", "assignee_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e84"],
          "opened_at": null, "completed_by": null, "completed_at": null, "note": null }
    ]
}))]
pub struct FulfilmentResponse {
    pub state: FulfilmentState,
    pub tasks: Vec<Task>,
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
            form: r.form,
            steps: Steps::Parsed(if hide_steps { Vec::new() } else { r.steps }),
            created_at: r.created_at,
            decided_at: r.decided_at,
            expires_at: r.expires_at,
            decision: r.outcome,
            error: r.error,
            resubmitted_from: r.resubmitted_from.map(|r| r.as_uuid()),
            extends_grant_id: r.extends_grant.map(|g| g.as_uuid()),
            review: r
                .tasks
                .iter()
                .find(|t| t.task_type == TaskType::Review)
                .cloned(),
            starts_at: r.starts_at,
            fulfilment: fulfilment_of(r.tasks),
            break_glass: r.break_glass,
            version: r.version,
        }
    }
}

fn fulfilment_of(mut tasks: Vec<Task>) -> Option<FulfilmentResponse> {
    let state = AccessRequest::fulfilment_state_of(&tasks)?;
    tasks.retain(|t| t.task_type.is_fulfilment());
    Some(FulfilmentResponse { state, tasks })
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
    "device_id": null, "form": { "ticket": "OPS-1234" },
    "steps": [
        { "position": 0, "type": "requester_manager", "state": "active",
          "approver_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e87"], "require_all": false, "decisions": [] }
    ],
    "created_at": "2026-11-23T09:30:00Z", "decided_at": null, "expires_at": "2026-12-23T09:30:00Z",
    "decision": null, "error": null, "resubmitted_from": null, "starts_at": null, "fulfilment": null,
    "break_glass": false, "review": null, "version": 1,
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
    "duration_seconds": 3600, "form": { "ticket": "OPS-1234", "environment": "prod" }
}))]
pub struct CreateRequestBody {
    pub flow_id: Uuid,
    /// Why you need access (10–2000 characters; through a break-glass flow at least 40 once
    /// trimmed, a 422 naming `reason` otherwise: see the catalog's `reason_min_chars`).
    #[validate(custom(function = "valid_reason"))]
    pub reason: String,
    /// One of the flow's durations: required when it offers several, may be omitted when it offers
    /// exactly one, refused when its access has no time limit.
    pub duration_seconds: Option<i64>,
    /// Device-admin requests: a device assigned to the requester.
    pub device_id: Option<Uuid>,
    /// Admins and integration accounts: request on behalf of this person.
    pub requester_id: Option<Uuid>,
    /// Answers to the flow's request form (its `form`), by field key: required fields must be
    /// answered, a `choice` with one of its choices, a `text` or `ticket` matching its pattern
    /// (422 under `form.<key>` otherwise). Keys the form does not have are refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub form: BTreeMap<String, String>,
    /// Flows with `scheduling` only: when the access should start, at most the flow's
    /// `scheduling.max_lead_seconds` ahead and not in the past (a minute's tolerance); 422
    /// otherwise. Approved before then, the grant is `scheduled` and its membership is added at
    /// `starts_at`, its clock running from then; approved later, the access starts at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
}

pub(crate) fn valid_reason(value: &str) -> Result<(), validator::ValidationError> {
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
    /// Why the request is denied, for the requester (required, seed 001).
    #[validate(custom(function = "valid_text"), length(min = 1))]
    pub reason: String,
    /// Optional: what the requester can do next.
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
    /// Whose place moves (default: the caller's own). Another approver's or assignee's place may be
    /// moved by the flow's App Admins (its owners) and administrators.
    #[serde(default)]
    pub from_user_id: Option<Uuid>,
}

/// The body of completing a fulfilment task.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "note": "Account created in the vendor's console" }))]
pub struct CompleteTaskBody {
    /// What was done (kept on the task and in its event).
    #[validate(custom(function = "valid_text"))]
    pub note: Option<String>,
}

/// The body of reviewing a break-glass request.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "outcome": "revoke", "note": "No incident was open; use the normal flow" }))]
pub struct ReviewBody {
    /// `confirm`: the emergency was genuine, the access stays until its time; `revoke`: the access
    /// ends now.
    pub outcome: ReviewOutcome,
    /// Why (kept on the review and in its event; the requester is told).
    #[validate(custom(function = "valid_text"))]
    pub note: Option<String>,
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

impl From<User> for PersonSummary {
    fn from(u: User) -> Self {
        Self {
            id: u.id.as_uuid(),
            display_name: u.display_name.into_inner(),
            email: u.email.as_str().to_owned(),
        }
    }
}

impl From<RequestView> for RequestDetail {
    fn from(view: RequestView) -> Self {
        let history = view
            .history
            .into_iter()
            .map(|row| EventResponse::without_internal_note(row, !view.internal_notes))
            .collect();
        Self {
            request: RequestResponse::new(view.request, view.hide_steps),
            requester: view.requester.map(PersonSummary::from),
            manager: view.manager.map(PersonSummary::from),
            approvers: view
                .approvers
                .into_iter()
                .map(PersonSummary::from)
                .collect(),
            comments: view
                .comments
                .into_iter()
                .map(CommentResponse::from)
                .collect(),
            history,
            grant: view.grant.map(GrantResponse::from),
            session: view.session.map(SessionResponse::from),
        }
    }
}
