//! The access request, the aggregate every rule of the request engine lives in: its status
//! machine, the approval evaluator, who may act (see [`Actor`]), what a submission must be, and what
//! the approver index and the one-open-request rule store. Its fields are private: a request is made
//! by [`AccessRequest::submit`] (or restored as stored) and changed only by its commands, each of
//! which takes `now` and returns a [`Change`] (the next state, its events and what it creates) or
//! the [`RequestError`] that refuses it. Pure and clock-free.

mod actor;
mod break_glass;
mod change;
mod create;
mod decide;
mod escalate;
mod events;
mod extension;
mod fulfilment;
mod index;
mod lifecycle;
mod policy;
mod tasks;

pub use actor::{Actor, Role};
pub use break_glass::{BreakGlass, BreakGlassInput, ReviewOutcome, check_allowance, window_start};
pub use change::{Change, Comment, Write};
pub use create::{
    Draft, check_enabled, check_requester, choose_device, choose_duration, choose_start,
};
pub use decide::{DecisionCommand, Via};
pub use events::{DecisionRecord, RequestEvent, RequestEventKind};
pub use fulfilment::{FulfilmentPlan, FulfilmentState, Task, TaskEntry, TaskState, TaskType};
pub use index::{ApproverEntry, QueueTab};
pub use lifecycle::Resubmission;
pub use policy::{PolicyInput, condition_context, evaluate as evaluate_conditions};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::flow::{
    ApprovalType, ApproverRequirement, ApproverType, ConditionOutcome, FlowKind, FormAnswers,
};
use crate::ids::{DeviceId, FlowId, GrantId, RequestId, UserId};
use crate::text_enum;

text_enum!(
    /// `pending` → `approved` | `denied` | `canceled` | `expired` | `error`; `error` → `pending` (retry) |
    /// `approved` | `denied` | `canceled`. The other states are terminal.
    RequestStatus {
        Pending => "pending",
        Approved => "approved",
        Denied => "denied",
        Canceled => "canceled",
        Expired => "expired",
        Error => "error",
    }
);
text_enum!(
    /// A step's progress: `waiting` (an earlier step must finish first), `active` (its approvers can act),
    /// `approved`, `denied`, or `skipped` (no longer needed).
    StepState { Waiting => "waiting", Active => "active", Approved => "approved", Denied => "denied", Skipped => "skipped" }
);
text_enum!(
    /// What an approver decided.
    Verdict { Approve => "approve", Deny => "deny" }
);

impl RequestStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Approved | Self::Denied | Self::Canceled | Self::Expired
        )
    }
}

/// The shortest and longest reason a requester may give.
pub const REASON_CHARS: (usize, usize) = (10, 2000);
// A break-glass flow's minimum is stricter than every reason's, never looser.
const _: () = assert!(crate::flow::BREAK_GLASS_REASON_MIN_CHARS > REASON_CHARS.0);
/// The longest comment, denial reason or next steps.
pub const TEXT_MAX_CHARS: usize = 2000;

/// One approver's decision on a step (or an admin's override of the whole request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    pub approver_id: UserId,
    pub decision: Verdict,
    pub comment: Option<String>,
    pub decided_at: DateTime<Utc>,
    #[serde(rename = "override")]
    pub is_override: bool,
}

/// One approver spec resolved for this request: who may act, and what they did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Step {
    pub position: usize,
    #[serde(rename = "type")]
    pub approver_type: ApproverType,
    pub state: StepState,
    pub approver_ids: Vec<UserId>,
    pub require_all: bool,
    pub decisions: Vec<Decision>,
}

impl Step {
    pub(crate) fn satisfied(&self) -> bool {
        let approvals = |id: &UserId| {
            self.decisions
                .iter()
                .any(|d| d.approver_id == *id && d.decision == Verdict::Approve)
        };
        if self.require_all {
            self.approver_ids.iter().all(approvals)
        } else {
            self.approver_ids.iter().any(approvals)
        }
    }

    pub(crate) fn has_decided(&self, user: UserId) -> bool {
        self.decisions.iter().any(|d| d.approver_id == user)
    }
}

/// How the request was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Outcome {
    pub decision: Verdict,
    /// The approver whose decision settled it; `null` for automatic approval.
    pub decided_by: Option<UserId>,
    pub comment: Option<String>,
    /// Denials: why.
    pub reason: Option<String>,
    /// Denials: what the requester can do next.
    pub next_steps: Option<String>,
    #[serde(rename = "override")]
    pub is_override: bool,
}

/// Why a command is refused. Each says what an API client gets: [`RequestError::status`] and
/// [`RequestError::field`] say how it is answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the request is {0}, so it can no longer change")]
    NotPending(RequestStatus),
    #[error("the requester cannot approve or deny their own request")]
    SelfDecision,
    #[error("only an eligible approver of an active step can decide (admins may override)")]
    NotAnApprover,
    #[error("you have already decided on this step")]
    AlreadyDecided,
    #[error("only administrators can do this")]
    AdminOnly,
    #[error("only the requester can do this")]
    RequesterOnly,
    #[error("step {0} has nobody who can approve it for this requester")]
    NoEligibleApprover(usize),
    #[error("the request is {0}: only a request in error can be retried")]
    NotInError(RequestStatus),
    /// A rule about the body as a whole.
    #[error("{0}")]
    Invalid(&'static str),
    /// Answers to the flow's form that break its rules (each under `form.<key>`).
    #[error("{0}")]
    InvalidForm(crate::validation::ValidationErrors),
    /// The actor used up an allowance (break-glass requests): retry after that many seconds.
    #[error("{message}")]
    TooMany {
        message: String,
        retry_after_seconds: i64,
    },
    /// A rule about one field of what was sent.
    #[error("{message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    /// The actor may see the request (or the flow) but not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The request (or what it depends on) is not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    #[error("there is already an open request for this flow")]
    AlreadyOpen(Option<RequestId>),
    #[error("no approval flow with id {0} is available to you")]
    FlowUnavailable(FlowId),
    #[error("no access request with id {0}")]
    NotFound(RequestId),
    /// A stored request breaks an invariant (a server error, not the caller's).
    #[error("{0}")]
    Inconsistent(&'static str),
}

/// How a refusal is answered, in HTTP's terms (the API maps it to a problem document).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 404: the actor may not see it (or it does not exist).
    NotFound,
    /// 403: the actor may see it but not do this.
    Forbidden,
    /// 409: the state does not allow it now.
    Conflict,
    /// 422: what was sent breaks a rule.
    Invalid,
    /// 429: the actor must wait before doing this again.
    TooMany,
    /// 500: the stored state is wrong.
    Internal,
}

impl RequestError {
    pub fn refusal(&self) -> Refusal {
        match self {
            Self::NotPending(_)
            | Self::NotInError(_)
            | Self::AlreadyDecided
            | Self::Conflict(_)
            | Self::AlreadyOpen(_) => Refusal::Conflict,
            Self::SelfDecision
            | Self::NotAnApprover
            | Self::AdminOnly
            | Self::RequesterOnly
            | Self::Forbidden(_) => Refusal::Forbidden,
            Self::NoEligibleApprover(_)
            | Self::Invalid(_)
            | Self::InvalidField { .. }
            | Self::InvalidForm(_) => Refusal::Invalid,
            Self::FlowUnavailable(_) | Self::NotFound(_) => Refusal::NotFound,
            Self::TooMany { .. } => Refusal::TooMany,
            Self::Inconsistent(_) => Refusal::Internal,
        }
    }

    /// The field an invalid input is about (`body` when it is the body as a whole).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::NoEligibleApprover(_) => Some("flow_id"),
            Self::Invalid(_) => Some("body"),
            Self::InvalidField { field, .. } => Some(field),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidField {
            field,
            message: message.into(),
        }
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }
}

/// What a new request is made of, after the caller's input was checked against the flow (see
/// [`Draft::check`]).
#[derive(Debug, Clone)]
pub struct Submission {
    pub flow_id: FlowId,
    /// The flow's name when the request was made (kept if the flow is renamed or deleted).
    pub flow_name: String,
    pub flow_version: i64,
    pub kind: FlowKind,
    pub approval_type: ApprovalType,
    pub approver_requirement: Option<ApproverRequirement>,
    pub requester_id: UserId,
    pub reason: String,
    pub duration_seconds: Option<i64>,
    pub device_id: Option<DeviceId>,
    pub resubmitted_from: Option<RequestId>,
    /// The answers to the flow's form, checked.
    pub form: FormAnswers,
    /// How the flow's conditions came out for this submission (empty without conditions).
    pub conditions: Vec<ConditionOutcome>,
    /// An extension request: the grant it asks more time for (see [`Submission::extending`]).
    pub extends_grant: Option<GrantId>,
    /// A break-glass request: who reviews it (see [`Draft::check`]).
    pub break_glass: Option<BreakGlass>,
    /// When the access should start (flows with `scheduling`); `None`: on approval.
    pub starts_at: Option<DateTime<Utc>>,
}

/// An access request. Read through its accessors; changed only through its commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    id: RequestId,
    flow_id: FlowId,
    flow_name: String,
    flow_version: i64,
    kind: FlowKind,
    approval_type: ApprovalType,
    approver_requirement: Option<ApproverRequirement>,
    requester_id: UserId,
    status: RequestStatus,
    reason: String,
    duration_seconds: Option<i64>,
    device_id: Option<DeviceId>,
    form: FormAnswers,
    steps: Vec<Step>,
    outcome: Option<Outcome>,
    error: Option<String>,
    resubmitted_from: Option<RequestId>,
    created_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    tasks: Vec<fulfilment::Task>,
    extends_grant: Option<GrantId>,
    break_glass: bool,
    starts_at: Option<DateTime<Utc>>,
    version: i64,
}

/// A request as a store holds it: every field, to write it and to restore it
/// ([`AccessRequest::restore`]). Restoring is not a transition: no rule runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRequest {
    pub id: RequestId,
    pub flow_id: FlowId,
    pub flow_name: String,
    pub flow_version: i64,
    pub kind: FlowKind,
    pub approval_type: ApprovalType,
    pub approver_requirement: Option<ApproverRequirement>,
    pub requester_id: UserId,
    pub status: RequestStatus,
    pub reason: String,
    pub duration_seconds: Option<i64>,
    pub device_id: Option<DeviceId>,
    /// The answers to the flow's form.
    pub form: FormAnswers,
    pub steps: Vec<Step>,
    pub outcome: Option<Outcome>,
    /// Why the request is in `error`.
    pub error: Option<String>,
    pub resubmitted_from: Option<RequestId>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// When a pending request expires without a decision.
    pub expires_at: Option<DateTime<Utc>>,
    /// The fulfilment's tasks (empty when there is no fulfilment).
    pub tasks: Vec<Task>,
    /// An extension request: the grant it asks more time for.
    pub extends_grant: Option<GrantId>,
    /// Made through a break-glass flow (its review is one of `tasks`).
    pub break_glass: bool,
    /// When the requester asked the access to start (`None`: on approval).
    pub starts_at: Option<DateTime<Utc>>,
    pub version: i64,
}

macro_rules! accessors {
    ($($(#[$doc:meta])* $name:ident: $type:ty),* $(,)?) => {
        impl AccessRequest {
            $($(#[$doc])* pub fn $name(&self) -> $type { self.$name })*
        }
    };
}

accessors!(
    id: RequestId,
    flow_id: FlowId,
    flow_version: i64,
    kind: FlowKind,
    approval_type: ApprovalType,
    approver_requirement: Option<ApproverRequirement>,
    requester_id: UserId,
    status: RequestStatus,
    duration_seconds: Option<i64>,
    device_id: Option<DeviceId>,
    resubmitted_from: Option<RequestId>,
    created_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    /// When a pending request expires without a decision.
    expires_at: Option<DateTime<Utc>>,
    /// An extension request: the grant it asks more time for.
    extends_grant: Option<GrantId>,
    /// When the requester asked the access to start (`None`: on approval).
    starts_at: Option<DateTime<Utc>>,
    /// Bumped by every command that changes the request; stores check it on write.
    version: i64,
);

/// `restore` and `into_stored`: a store's copy of a request, field for field (each named once here;
/// a field missing from either struct does not compile).
macro_rules! stored_fields {
    ($($field:ident),* $(,)?) => {
        impl AccessRequest {
            /// A request as stored, with no rule run.
            pub fn restore(stored: StoredRequest) -> Self {
                Self { $($field: stored.$field),* }
            }

            /// Every field, moved out (to render or store the request without copying it).
            pub fn into_stored(self) -> StoredRequest {
                StoredRequest { $($field: self.$field),* }
            }
        }
    };
}

stored_fields!(
    id,
    flow_id,
    flow_name,
    flow_version,
    kind,
    approval_type,
    approver_requirement,
    requester_id,
    status,
    reason,
    duration_seconds,
    device_id,
    form,
    steps,
    outcome,
    error,
    resubmitted_from,
    created_at,
    decided_at,
    expires_at,
    tasks,
    extends_grant,
    break_glass,
    starts_at,
    version,
);

impl AccessRequest {
    /// The flow's name when the request was made.
    pub fn flow_name(&self) -> &str {
        &self.flow_name
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The answers to the flow's form (answered fields only).
    pub fn form(&self) -> &FormAnswers {
        &self.form
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Why the request is in `error`.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The same request with `steps` in place of its own (a store that keeps the steps apart).
    pub fn with_steps(mut self, steps: Vec<Step>) -> Self {
        self.steps = steps;
        self
    }

    /// The same request with `tasks` in place of its own (a store that keeps the tasks apart).
    pub fn with_tasks(mut self, tasks: Vec<Task>) -> Self {
        self.tasks = tasks;
        self
    }

    /// The requester and every approver, each once (in a stable order).
    pub fn people(&self) -> Vec<UserId> {
        let mut ids: Vec<UserId> = self
            .steps
            .iter()
            .flat_map(|step| step.approver_ids.iter().copied())
            .collect();
        ids.push(self.requester_id);
        ids.sort_unstable_by_key(ToString::to_string);
        ids.dedup();
        ids
    }
}

/// Checks and trims a requester's reason.
pub fn parse_reason(raw: &str) -> Result<String, String> {
    let reason = raw.trim();
    // The minimum counts what is left once trimmed; the maximum, as the API's schema says, what was sent.
    if reason.chars().count() < REASON_CHARS.0 || raw.chars().count() > REASON_CHARS.1 {
        return Err(format!(
            "must be {} to {} characters (at least {} once trimmed)",
            REASON_CHARS.0, REASON_CHARS.1, REASON_CHARS.0
        ));
    }
    Ok(reason.to_owned())
}

/// Checks and trims an optional free text (comment, denial reason, next steps).
pub fn parse_text(raw: Option<&str>) -> Result<Option<String>, String> {
    // The maximum holds for the text as sent, as the API's schema says, not only once trimmed.
    if raw.is_some_and(|raw| raw.chars().count() > TEXT_MAX_CHARS) {
        return Err(format!("must be at most {TEXT_MAX_CHARS} characters"));
    }
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    Ok(Some(text.to_owned()))
}

#[cfg(test)]
mod tests;
