//! The shapes of the AuthZEN surface, as the contract documents them. Bodies are read leniently
//! (`crate::authzen::body`): members Portcullis does not know are ignored, as both specifications
//! require.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The PDP's metadata (`/.well-known/authzen-configuration`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "policy_decision_point": "https://access.example.com",
    "access_evaluation_endpoint": "https://access.example.com/access/v1/evaluation",
    "access_evaluations_endpoint": "https://access.example.com/access/v1/evaluations",
    "access_request_endpoint": "https://access.example.com/access/v1/requests",
    "jwks_uri": "https://access.example.com/access/v1/jwks",
    "capabilities": ["urn:openid:authzen:capability:access-request"]
}))]
pub struct AuthzenConfiguration {
    /// The PDP's identifier: `PORTCULLIS_PUBLIC_URL`.
    pub policy_decision_point: String,
    pub access_evaluation_endpoint: String,
    pub access_evaluations_endpoint: String,
    /// Where requestable denials are submitted (the Access Request and Approval Profile).
    pub access_request_endpoint: String,
    /// The keys that verify the `binding_token`s of requestable denials.
    pub jwks_uri: String,
    pub capabilities: Vec<String>,
}

/// A subject or a resource: `{"type": "user", "id": <email or id>}`, `{"type": "group", "id": <group
/// id>}` or `{"type": "device", "id": <device id>}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthzenEntity {
    #[serde(rename = "type")]
    pub entity_type: String,
    pub id: String,
    /// Ignored by Portcullis (except `act`, which never binds).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub properties: Option<Value>,
}

/// `{"name": "member"}` (of a group) or `{"name": "admin"}` (of a device).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthzenAction {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub properties: Option<Value>,
}

/// May this subject do this action on this resource?
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "subject": {"type": "user", "id": "ada@example.com"},
    "resource": {"type": "group", "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"},
    "action": {"name": "member"}
}))]
pub struct EvaluationRequest {
    pub subject: AuthzenEntity,
    pub resource: AuthzenEntity,
    pub action: AuthzenAction,
    /// `approval`: the approval of a completed access request, on re-evaluation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub context: Option<Value>,
}

/// The decision, with a denial's `context` (`access_request` when it can be requested).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "decision": false,
    "context": {
        "evaluation_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e81",
        "evaluated_at": "2026-12-02T10:00:00Z",
        "reason": "approval_required",
        "access_request": {
            "endpoint": "https://access.example.com/access/v1/requests",
            "template": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e82",
            "expires_at": "2026-12-02T10:10:00Z",
            "binding_token": "eyJhbGciOiJFZERTQSJ9.e30.c2ln",
            "display": {"title": "Request access", "description": "GitHub Admin: admin rights on the GitHub organisation"}
        }
    }
}))]
pub struct EvaluationResponse {
    pub decision: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub context: Option<Value>,
}

/// One evaluation of a boxcar: members it leaves out come from the request's top level.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthzenEvaluationItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<AuthzenEntity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<AuthzenEntity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<AuthzenAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub context: Option<Value>,
}

/// How the evaluations run: `execute_all` (default), `deny_on_first_deny`, `permit_on_first_permit`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthzenEvaluationsOptions {
    #[schema(pattern = "^(execute_all|deny_on_first_deny|permit_on_first_permit)$")]
    pub evaluations_semantic: Option<String>,
}

/// Several evaluations at once (boxcar); without `evaluations`, one evaluation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "subject": {"type": "user", "id": "ada@example.com"},
    "action": {"name": "member"},
    "options": {"evaluations_semantic": "execute_all"},
    "evaluations": [
        {"resource": {"type": "group", "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"}},
        {"resource": {"type": "group", "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e81"}}
    ]
}))]
pub struct EvaluationsRequest {
    pub subject: Option<AuthzenEntity>,
    pub resource: Option<AuthzenEntity>,
    pub action: Option<AuthzenAction>,
    #[schema(value_type = Option<Object>)]
    pub context: Option<Value>,
    /// At most 100.
    pub evaluations: Option<Vec<AuthzenEvaluationItem>>,
    pub options: Option<AuthzenEvaluationsOptions>,
}

/// The decisions, in the order asked (cut short by the short-circuit semantics).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "evaluations": [
        {"decision": true},
        {"decision": false}
    ]
}))]
pub struct EvaluationsResponse {
    pub evaluations: Vec<EvaluationResponse>,
}

/// The boxcar's answer: its `evaluations`; or, for a body without `evaluations` (one evaluation,
/// as the Authorization API allows for backwards compatibility), that one decision.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(example = json!({
    "evaluations": [
        {"decision": true},
        {"decision": false}
    ]
}))]
pub enum EvaluationsAnswer {
    Boxcar(EvaluationsResponse),
    Single(EvaluationResponse),
}

/// What a submission echoes of the requestable denial.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthzenDenialEcho {
    /// `context.access_request.expires_at`, unchanged.
    pub expires_at: String,
    /// `context.access_request.binding_token`, unchanged (required: Portcullis binds by token).
    pub binding_token: Option<String>,
    /// `context.evaluation_id`, unchanged.
    pub evaluation_id: Option<String>,
    pub evaluated_at: Option<String>,
    pub reason: Option<String>,
    pub template: Option<String>,
}

/// `requested_until`: the access asked for ends then (the flow's duration that covers it is chosen).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthzenRequestedAccess {
    pub requested_until: Option<String>,
}

/// An access request for a requestable denial (ARAP's submission).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "subject": {"type": "user", "id": "ada@example.com"},
    "resource": {"type": "group", "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"},
    "action": {"name": "member"},
    "context": {"business_justification": "Review pull requests for the 3.2 release"},
    "requested_access": {"requested_until": "2026-12-02T11:00:00Z"},
    "denial": {"expires_at": "2026-12-02T10:10:00Z", "binding_token": "eyJhbGciOiJFZERTQSJ9.e30.c2ln"}
}))]
pub struct AccessRequestSubmission {
    pub subject: AuthzenEntity,
    pub resource: AuthzenEntity,
    pub action: AuthzenAction,
    /// `business_justification` (10–2000 characters): the request's reason.
    #[schema(value_type = Option<Object>)]
    pub context: Option<Value>,
    pub denial: AuthzenDenialEcho,
    pub requested_access: Option<AuthzenRequestedAccess>,
    /// Recorded in nothing and never trusted: the caller's token says who submits.
    #[schema(value_type = Option<Object>)]
    pub client: Option<Value>,
    pub callback: Option<AuthzenCallback>,
}

/// ARAP's callback completion: when the task completes (approved with its access given, denied,
/// expired or cancelled), `endpoint` gets a POST `{"state"?, "task": {"id", "status",
/// "status_endpoint"}}` (a notification: the status endpoint stays authoritative), signed the
/// Standard Webhooks way with the PDP's Ed25519 key (`webhook-signature: v1a,…` over
/// `{webhook-id}.{webhook-timestamp}.{body}`; the key is at `jwks_uri`), retried with backoff.
/// Loopback, link-local, private and other internal destinations are refused unless allow-listed
/// (`PORTCULLIS_CALLBACK_ALLOWED_HOSTS`). A submission answered `201` (completed at once) is not
/// called back.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthzenCallback {
    /// An https URL (plain http only to an allow-listed host), without credentials or fragment.
    #[schema(max_length = 2000)]
    pub endpoint: String,
    /// Returned unchanged in every notification (at most 1024 characters).
    #[schema(max_length = 1024)]
    pub state: Option<String>,
    /// The completions to be told of (default: all): `approved`, `denied`, `expired`, `cancelled`
    /// (`failed` and `partial` are accepted and never happen here).
    #[schema(min_items = 1)]
    pub events: Option<Vec<AuthzenCallbackEvent>>,
}

/// A task completion a callback may ask for.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthzenCallbackEvent {
    Approved,
    Denied,
    Expired,
    Cancelled,
    Failed,
    Partial,
}

/// Links of a task: `cancel` while it is pending.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthzenTaskLinks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel: Option<String>,
}

/// A submitted access request's task handle.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthzenTask {
    /// Opaque and unguessable.
    pub id: String,
    #[schema(pattern = "^(pending|approved|denied|expired|cancelled)$")]
    pub status: String,
    pub status_endpoint: String,
    /// While pending: when the request expires undecided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    pub links: AuthzenTaskLinks,
}

/// The approval a completed task gives, for `context.approval` of a re-evaluation.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthzenApprovalResult {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<String>,
    /// The grant's end.
    pub approved_until: String,
}

/// `mode` is always `reevaluate`: evaluate again with `context.approval`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthzenTaskResult {
    pub mode: String,
    pub approval: AuthzenApprovalResult,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "task": {
        "id": "arq_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0",
        "status": "pending",
        "status_endpoint": "https://access.example.com/access/v1/requests/arq_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0",
        "expires_at": "2027-01-01T10:00:00Z",
        "links": {"cancel": "https://access.example.com/access/v1/requests/arq_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0/cancel"}
    }
}))]
pub struct AuthzenTaskResponse {
    pub task: AuthzenTask,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<AuthzenTaskResult>,
}
