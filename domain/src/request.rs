//! The access request: its status machine and the approval evaluator. Pure and clock-free: every
//! transition takes `now` and returns the new state or the reason it is refused.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::flow::{ApprovalType, ApproverRequirement, ApproverType, FlowKind, ResolvedStep};
use crate::ids::{DeviceId, FlowId, UserId};
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
    fn satisfied(&self) -> bool {
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

    fn has_decided(&self, user: UserId) -> bool {
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

/// Why a transition is refused.
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
    #[error("{0}")]
    Invalid(&'static str),
}

/// What a new request is made of, after the caller's input was checked against the flow.
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
    pub resubmitted_from: Option<crate::ids::RequestId>,
}

/// An access request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    pub id: crate::ids::RequestId,
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
    pub steps: Vec<Step>,
    pub outcome: Option<Outcome>,
    /// Why the request is in `error`.
    pub error: Option<String>,
    pub resubmitted_from: Option<crate::ids::RequestId>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// When a pending request expires without a decision.
    pub expires_at: Option<DateTime<Utc>>,
    pub version: i64,
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

fn build_steps(
    resolved: Vec<ResolvedStep>,
    requirement: Option<ApproverRequirement>,
) -> Result<Vec<Step>, RequestError> {
    if let Some(empty) = resolved.iter().find(|s| s.approver_ids.is_empty()) {
        return Err(RequestError::NoEligibleApprover(empty.position));
    }
    Ok(resolved
        .into_iter()
        .enumerate()
        .map(|(index, step)| Step {
            position: step.position,
            approver_type: step.spec.approver_type(),
            state: if requirement == Some(ApproverRequirement::AllInOrder) && index > 0 {
                StepState::Waiting
            } else {
                StepState::Active
            },
            approver_ids: step.approver_ids,
            require_all: step.require_all,
            decisions: Vec::new(),
        })
        .collect())
}

impl AccessRequest {
    /// Creates the request with its steps resolved now. Automatic flows are approved at once; a
    /// manual flow with a step nobody can approve is refused.
    pub fn submit(
        id: crate::ids::RequestId,
        submission: Submission,
        resolved: Vec<ResolvedStep>,
        expiry_days: i64,
        now: DateTime<Utc>,
    ) -> Result<Self, RequestError> {
        let automatic = submission.approval_type == ApprovalType::Automatic;
        let steps = if automatic {
            Vec::new()
        } else {
            build_steps(resolved, submission.approver_requirement)?
        };
        Ok(Self {
            id,
            flow_id: submission.flow_id,
            flow_name: submission.flow_name,
            flow_version: submission.flow_version,
            kind: submission.kind,
            approval_type: submission.approval_type,
            approver_requirement: submission.approver_requirement,
            requester_id: submission.requester_id,
            status: if automatic {
                RequestStatus::Approved
            } else {
                RequestStatus::Pending
            },
            reason: submission.reason,
            duration_seconds: submission.duration_seconds,
            device_id: submission.device_id,
            steps,
            outcome: automatic.then_some(Outcome {
                decision: Verdict::Approve,
                decided_by: None,
                comment: None,
                reason: None,
                next_steps: None,
                is_override: false,
            }),
            error: None,
            resubmitted_from: submission.resubmitted_from,
            created_at: now,
            decided_at: automatic.then_some(now),
            expires_at: (!automatic).then(|| now + Duration::days(expiry_days)),
            version: 1,
        })
    }

    /// The active steps in which `user` may still decide.
    fn open_steps_of(&self, user: UserId) -> Vec<usize> {
        self.steps
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.state == StepState::Active
                    && s.approver_ids.contains(&user)
                    && !s.has_decided(user)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Whether `user` can act on the request now (it is in their tasks).
    pub fn awaits(&self, user: UserId) -> bool {
        self.status == RequestStatus::Pending && !self.open_steps_of(user).is_empty()
    }

    /// Whether `user` is one of the request's approvers, in any step.
    pub fn involves(&self, user: UserId) -> bool {
        self.steps.iter().any(|s| s.approver_ids.contains(&user))
    }

    fn require_pending(&self) -> Result<(), RequestError> {
        if self.status == RequestStatus::Pending {
            Ok(())
        } else {
            Err(RequestError::NotPending(self.status))
        }
    }

    fn settle(&mut self, outcome: Outcome, now: DateTime<Utc>) {
        self.status = match outcome.decision {
            Verdict::Approve => RequestStatus::Approved,
            Verdict::Deny => RequestStatus::Denied,
        };
        for step in &mut self.steps {
            if matches!(step.state, StepState::Active | StepState::Waiting) {
                step.state = StepState::Skipped;
            }
        }
        self.outcome = Some(outcome);
        self.decided_at = Some(now);
        self.expires_at = None;
        self.error = None;
    }

    /// An approver's decision. Deny wins; approval completes the request when the requirement
    /// holds. `shorten_to` lets the approval that completes the request shorten (never lengthen)
    /// the duration. Returns whether the request is now settled.
    #[allow(clippy::too_many_arguments)]
    pub fn decide(
        &mut self,
        actor: UserId,
        verdict: Verdict,
        comment: Option<String>,
        denial: (Option<String>, Option<String>),
        shorten_to: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<bool, RequestError> {
        self.require_pending()?;
        if actor == self.requester_id {
            return Err(RequestError::SelfDecision);
        }
        let open = self.open_steps_of(actor);
        if open.is_empty() {
            let decided_already = self
                .steps
                .iter()
                .any(|s| s.state == StepState::Active && s.has_decided(actor));
            return Err(if decided_already {
                RequestError::AlreadyDecided
            } else {
                RequestError::NotAnApprover
            });
        }
        if shorten_to.is_some() && verdict == Verdict::Deny {
            return Err(RequestError::Invalid(
                "only an approval can shorten the duration",
            ));
        }
        let decision = Decision {
            approver_id: actor,
            decision: verdict,
            comment: comment.clone(),
            decided_at: now,
            is_override: false,
        };
        let mut candidate = self.clone();
        for index in &open {
            candidate.steps[*index].decisions.push(decision.clone());
        }
        let outcome = |is_override| Outcome {
            decision: verdict,
            decided_by: Some(actor),
            comment: comment.clone(),
            reason: denial.0.clone(),
            next_steps: denial.1.clone(),
            is_override,
        };
        if verdict == Verdict::Deny {
            for index in &open {
                candidate.steps[*index].state = StepState::Denied;
            }
            candidate.settle(outcome(false), now);
            *self = candidate;
            return Ok(true);
        }
        for index in &open {
            if candidate.steps[*index].satisfied() {
                candidate.steps[*index].state = StepState::Approved;
            }
        }
        let complete = match candidate
            .approver_requirement
            .unwrap_or(ApproverRequirement::Any)
        {
            ApproverRequirement::Any => candidate
                .steps
                .iter()
                .any(|s| s.state == StepState::Approved),
            ApproverRequirement::All | ApproverRequirement::AllInOrder => candidate
                .steps
                .iter()
                .all(|s| s.state == StepState::Approved),
        };
        if candidate.approver_requirement == Some(ApproverRequirement::AllInOrder) && !complete {
            let current_done = !candidate.steps.iter().any(|s| s.state == StepState::Active);
            if current_done
                && let Some(next) = candidate
                    .steps
                    .iter_mut()
                    .find(|s| s.state == StepState::Waiting)
            {
                next.state = StepState::Active;
            }
        }
        if let Some(shorter) = shorten_to {
            if !complete {
                return Err(RequestError::Invalid(
                    "only the approval that completes the request can shorten the duration",
                ));
            }
            match candidate.duration_seconds {
                Some(current) if shorter > 0 && shorter <= current => {
                    candidate.duration_seconds = Some(shorter)
                }
                Some(_) => {
                    return Err(RequestError::Invalid(
                        "the duration can only be shortened, to a positive number of seconds",
                    ));
                }
                None => {
                    return Err(RequestError::Invalid(
                        "this request has no duration to shorten",
                    ));
                }
            }
        }
        if complete {
            candidate.settle(outcome(false), now);
        }
        *self = candidate;
        Ok(complete)
    }

    /// An administrator's override: approves or denies whatever the steps say, from `pending` or `error`.
    pub fn override_decision(
        &mut self,
        admin: UserId,
        is_admin: bool,
        verdict: Verdict,
        comment: Option<String>,
        denial: (Option<String>, Option<String>),
        now: DateTime<Utc>,
    ) -> Result<(), RequestError> {
        if !is_admin {
            return Err(RequestError::AdminOnly);
        }
        if !matches!(self.status, RequestStatus::Pending | RequestStatus::Error) {
            return Err(RequestError::NotPending(self.status));
        }
        if admin == self.requester_id && verdict == Verdict::Approve {
            return Err(RequestError::SelfDecision);
        }
        self.settle(
            Outcome {
                decision: verdict,
                decided_by: Some(admin),
                comment,
                reason: denial.0,
                next_steps: denial.1,
                is_override: true,
            },
            now,
        );
        Ok(())
    }

    /// The requester withdraws a pending request; an administrator may cancel a pending or failed one.
    pub fn cancel(
        &mut self,
        actor: UserId,
        is_admin: bool,
        now: DateTime<Utc>,
    ) -> Result<(), RequestError> {
        if !matches!(self.status, RequestStatus::Pending | RequestStatus::Error) {
            return Err(RequestError::NotPending(self.status));
        }
        let requester_cancels = actor == self.requester_id && self.status == RequestStatus::Pending;
        if !requester_cancels && !is_admin {
            return Err(RequestError::RequesterOnly);
        }
        self.close(RequestStatus::Canceled, now);
        Ok(())
    }

    /// Cancels because the flow is gone (no actor check).
    pub fn cancel_for_deleted_flow(&mut self, now: DateTime<Utc>) -> Result<(), RequestError> {
        if !matches!(self.status, RequestStatus::Pending | RequestStatus::Error) {
            return Err(RequestError::NotPending(self.status));
        }
        self.close(RequestStatus::Canceled, now);
        Ok(())
    }

    /// A pending request nobody decided in time.
    pub fn expire(&mut self, now: DateTime<Utc>) -> Result<(), RequestError> {
        self.require_pending()?;
        if self.expires_at.is_none_or(|at| at > now) {
            return Err(RequestError::Invalid(
                "the request has not reached its expiry time",
            ));
        }
        self.close(RequestStatus::Expired, now);
        Ok(())
    }

    fn close(&mut self, status: RequestStatus, now: DateTime<Utc>) {
        self.status = status;
        for step in &mut self.steps {
            if matches!(step.state, StepState::Active | StepState::Waiting) {
                step.state = StepState::Skipped;
            }
        }
        self.decided_at = Some(now);
        self.expires_at = None;
    }

    /// Something the request depends on changed (its approvers, the requester's manager, the target
    /// group): an administrator must retry, deny or cancel it.
    pub fn fail(&mut self, why: String) -> Result<(), RequestError> {
        self.require_pending()?;
        self.status = RequestStatus::Error;
        self.error = Some(why);
        Ok(())
    }

    /// An administrator retries a failed request with approvers resolved from the current flow.
    pub fn retry(
        &mut self,
        is_admin: bool,
        flow_version: i64,
        resolved: Vec<ResolvedStep>,
        requirement: Option<ApproverRequirement>,
        expiry_days: i64,
        now: DateTime<Utc>,
    ) -> Result<(), RequestError> {
        if !is_admin {
            return Err(RequestError::AdminOnly);
        }
        if self.status != RequestStatus::Error {
            return Err(RequestError::NotInError(self.status));
        }
        self.steps = build_steps(resolved, requirement)?;
        self.approver_requirement = requirement;
        self.flow_version = flow_version;
        self.status = RequestStatus::Pending;
        self.error = None;
        self.expires_at = Some(now + Duration::days(expiry_days));
        Ok(())
    }

    /// An approver hands their place in an active step to someone else (an active person who is
    /// neither the requester nor already in the step).
    pub fn reassign(&mut self, actor: UserId, to: UserId) -> Result<(), RequestError> {
        self.require_pending()?;
        let open = self.open_steps_of(actor);
        if open.is_empty() {
            return Err(RequestError::NotAnApprover);
        }
        if to == self.requester_id {
            return Err(RequestError::Invalid(
                "the requester cannot approve their own request",
            ));
        }
        if open
            .iter()
            .any(|index| self.steps[*index].approver_ids.contains(&to))
        {
            return Err(RequestError::Invalid(
                "that person is already an approver of this step",
            ));
        }
        for index in open {
            let step = &mut self.steps[index];
            for id in &mut step.approver_ids {
                if *id == actor {
                    *id = to;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
