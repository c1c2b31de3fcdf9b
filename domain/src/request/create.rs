//! Submitting a request: who may ask, for whom, what the flow allows, and the request made of it.

use chrono::{DateTime, Duration, SubsecRound, Utc};

use super::break_glass::{self, BreakGlass, BreakGlassInput};
use super::events::RequestEventKind;
use super::policy::{self, PolicyInput};
use super::{
    AccessRequest, Actor, Change, Outcome, RequestError, RequestStatus, Role, Step, StepState,
    Submission, Verdict, Write, parse_reason,
};
use crate::directory::{Device, User, UserKind};
use crate::flow::{
    ApprovalFlow, ApprovalType, ApproverRequirement, FlowKind, FormAnswers, ResolvedStep,
};
use crate::ids::{DeviceId, FlowId, RequestId, UserId};
use crate::settings::Settings;

/// What a caller asks for, with what the store found for it.
#[derive(Debug, Clone, Copy)]
pub struct Draft<'a> {
    /// The flow asked for.
    pub flow_id: FlowId,
    /// The flow, if it exists.
    pub flow: Option<&'a ApprovalFlow>,
    /// Whether the flow is offered to the requester (its visibility).
    pub visible: bool,
    /// The requester's open request for this flow, if any.
    pub open_request: Option<RequestId>,
    pub requester: &'a User,
    pub reason: &'a str,
    pub duration_seconds: Option<i64>,
    pub device_id: Option<DeviceId>,
    /// The device named by `device_id`, if it exists.
    pub device: Option<&'a Device>,
    pub resubmitted_from: Option<RequestId>,
    /// The answers to the flow's form, as sent.
    pub form: &'a FormAnswers,
    /// What the flow's conditions need (the requester's groups, the time); required when the
    /// flow has conditions.
    pub policy: Option<&'a PolicyInput>,
    /// What a break-glass flow needs (the requester's recent break-glass requests, the
    /// administrators, the time); required when the flow is break-glass.
    pub break_glass: Option<&'a BreakGlassInput>,
    /// When the access should start, as asked (flows with `scheduling` only).
    pub starts_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// Resource requests can be turned off by an administrator.
pub fn check_enabled(settings: &Settings) -> Result<(), RequestError> {
    if settings.resource_requests_enabled {
        Ok(())
    } else {
        Err(RequestError::Forbidden(
            "resource requests are turned off by an administrator",
        ))
    }
}

impl Actor {
    /// Whom the actor requests for: `Some(id)` for someone else (to be looked up and checked with
    /// [`check_requester`]), `None` for themselves. Only administrators and integration accounts
    /// request on behalf of others; an integration account always names the person.
    pub fn requests_for(&self, asked: Option<UserId>) -> Result<Option<UserId>, RequestError> {
        match asked.filter(|id| *id != self.id) {
            Some(id) if matches!(self.role, Role::Admin | Role::Integration) => Ok(Some(id)),
            Some(_) => Err(RequestError::Forbidden(
                "only administrators and integration accounts may request on behalf of someone",
            )),
            None if self.role == Role::Integration => Err(RequestError::invalid(
                "requester_id",
                "an integration account never holds access; name the person it requests for",
            )),
            None => Ok(None),
        }
    }
}

/// The person a request is made for on their behalf: they exist, are active and are a person.
pub fn check_requester(id: UserId, found: Option<User>) -> Result<User, RequestError> {
    let user = found
        .ok_or_else(|| RequestError::invalid("requester_id", format!("no user with id {id}")))?;
    if !user.active || user.kind != UserKind::Person {
        return Err(RequestError::invalid(
            "requester_id",
            "must be an active person",
        ));
    }
    Ok(user)
}

/// The duration a request gets: one the flow offers (its only one when none is asked).
pub fn choose_duration(
    flow: &ApprovalFlow,
    asked: Option<i64>,
) -> Result<Option<i64>, RequestError> {
    let choices = flow.duration_choices();
    match (asked, choices) {
        (None, []) => Ok(None),
        (Some(_), []) => Err(RequestError::invalid(
            "duration_seconds",
            "this flow grants access without a time limit",
        )),
        (None, [only]) => Ok(Some(*only)),
        (None, _) => Err(RequestError::invalid(
            "duration_seconds",
            format!("choose one of {choices:?}"),
        )),
        (Some(seconds), _) if choices.contains(&seconds) => Ok(Some(seconds)),
        (Some(_), _) => Err(RequestError::invalid(
            "duration_seconds",
            format!("must be one of {choices:?}"),
        )),
    }
}

/// The start a request asks for: only through a flow with `scheduling`, not in the past (a
/// minute's tolerance), at most the flow's `max_lead_seconds` ahead. Kept to the microsecond (what
/// the stores keep).
pub fn choose_start(
    flow: &ApprovalFlow,
    asked: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, RequestError> {
    let Some(asked) = asked else {
        return Ok(None);
    };
    let Some(rule) = flow.scheduling() else {
        return Err(RequestError::invalid(
            "starts_at",
            "this flow does not take a scheduled start (it has no scheduling)",
        ));
    };
    rule.check_start(asked, now)
        .map_err(|m| RequestError::invalid("starts_at", m))?;
    Ok(Some(asked.trunc_subsecs(6)))
}

/// The device of a device-admin request: a managed one assigned to the requester. Resource
/// requests name none.
pub fn choose_device(
    kind: FlowKind,
    asked: Option<DeviceId>,
    device: Option<&Device>,
    requester: UserId,
) -> Result<Option<DeviceId>, RequestError> {
    match (kind, asked) {
        (FlowKind::ResourceRequest, None) => Ok(None),
        (FlowKind::ResourceRequest, Some(_)) => Err(RequestError::invalid(
            "device_id",
            "only device-admin requests name a device",
        )),
        (FlowKind::DeviceAdmin, None) => Err(RequestError::invalid(
            "device_id",
            "a device-admin request needs the device",
        )),
        (FlowKind::DeviceAdmin, Some(id)) => {
            let Some(device) =
                device.filter(|d| d.id == id && d.assigned_user_ids.contains(&requester))
            else {
                return Err(RequestError::invalid(
                    "device_id",
                    "must be a device assigned to the requester",
                ));
            };
            if !device.managed() {
                // Seed 003: admin rights are only for devices that proved they are managed.
                return Err(RequestError::invalid(
                    "device_id",
                    "the device is not managed: it has presented no device certificate, so admin rights on it cannot be requested",
                ));
            }
            Ok(Some(id))
        }
    }
}

impl Draft<'_> {
    /// Checks the draft against the flow, in the order a client is told what is wrong: the flow
    /// (missing, disabled and hidden look the same), the reason (longer through a break-glass
    /// flow), the duration, the device, the start, the form, then an open request for the same
    /// flow and a break-glass flow's per-person allowance. The flow's conditions are then evaluated.
    pub fn check(&self) -> Result<Submission, RequestError> {
        let flow = self
            .flow
            .filter(|f| f.enabled() && self.visible)
            .ok_or(RequestError::FlowUnavailable(self.flow_id))?;
        let reason = parse_reason(self.reason).map_err(|m| RequestError::invalid("reason", m))?;
        if flow.break_glass() {
            break_glass::check_reason(&reason)?;
        }
        let duration_seconds = choose_duration(flow, self.duration_seconds)?;
        let device_id = choose_device(flow.kind(), self.device_id, self.device, self.requester.id)?;
        let starts_at = choose_start(flow, self.starts_at, self.now)?;
        let form = flow
            .form()
            .check(self.form)
            .map_err(RequestError::InvalidForm)?;
        if let Some(existing) = self.open_request {
            return Err(RequestError::AlreadyOpen(Some(existing)));
        }
        let break_glass = match (flow.break_glass(), self.break_glass) {
            (false, _) => None,
            (true, Some(input)) => {
                break_glass::check_allowance(&input.recent, self.now)?;
                Some(BreakGlass {
                    reviewer_ids: input.admins.clone(),
                })
            }
            (true, None) => {
                return Err(RequestError::Inconsistent(
                    "a break-glass flow needs the requester's recent break-glass requests",
                ));
            }
        };
        let conditions = match (flow.has_conditions(), self.policy) {
            (false, _) => Vec::new(),
            (true, Some(input)) => {
                let context = policy::condition_context(
                    flow,
                    self.requester,
                    duration_seconds,
                    starts_at,
                    &form,
                    input,
                );
                policy::evaluate(flow, &context)
            }
            (true, None) => {
                return Err(RequestError::Inconsistent(
                    "the flow's conditions need the requester's groups",
                ));
            }
        };
        Ok(Submission {
            flow_id: flow.id(),
            flow_name: flow.name().to_owned(),
            flow_version: flow.version(),
            kind: flow.kind(),
            approval_type: flow.approval_type(),
            approver_requirement: flow.approver_requirement(),
            requester_id: self.requester.id,
            reason,
            duration_seconds,
            device_id,
            resubmitted_from: self.resubmitted_from,
            form,
            conditions,
            extends_grant: None,
            break_glass,
            starts_at,
        })
    }
}

pub(crate) fn build_steps(
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
    /// Submits a request with its steps resolved now, `by` the caller (the requester, or whoever
    /// asks on their behalf). Steps whose `required_if` came out false are left out; a manual flow
    /// with a remaining step nobody can approve is refused. An automatic flow's request, or one
    /// whose `auto_approve_if` came out true, is approved at once: recorded as created (pending,
    /// version 1, with the conditions' outcomes), then approved (version 2); a resource request's
    /// approval then needs [`Change::grant_in`]. A break-glass request is approved so too, and is
    /// recorded as break-glass (the administrators' alert) with its review task open from the start.
    pub fn submit(
        id: RequestId,
        mut submission: Submission,
        resolved: Vec<ResolvedStep>,
        expiry_days: i64,
        by: UserId,
        now: DateTime<Utc>,
    ) -> Result<Change, RequestError> {
        let approving = policy::approving(&submission.conditions)
            .map(|c| format!("auto-approved by condition {}: {}", c.member, c.expression));
        let break_glass = submission.break_glass.take();
        let automatic = submission.approval_type == ApprovalType::Automatic
            || approving.is_some()
            || break_glass.is_some();
        let steps = if automatic {
            Vec::new()
        } else {
            let required = resolved
                .into_iter()
                .filter(|step| !policy::left_out(&submission.conditions, step.position))
                .collect();
            build_steps(required, submission.approver_requirement)?
        };
        let conditions = submission.conditions;
        let mut created = Self {
            id,
            flow_id: submission.flow_id,
            flow_name: submission.flow_name,
            flow_version: submission.flow_version,
            kind: submission.kind,
            approval_type: submission.approval_type,
            approver_requirement: submission.approver_requirement,
            requester_id: submission.requester_id,
            status: RequestStatus::Pending,
            reason: submission.reason,
            duration_seconds: submission.duration_seconds,
            device_id: submission.device_id,
            form: submission.form,
            steps,
            outcome: None,
            error: None,
            resubmitted_from: submission.resubmitted_from,
            created_at: now,
            decided_at: None,
            expires_at: Some(now + Duration::days(expiry_days)),
            tasks: Vec::new(),
            extends_grant: submission.extends_grant,
            break_glass: false,
            starts_at: submission.starts_at,
            version: 1,
        };
        if let Some(review) = &break_glass {
            created.open_review(review, by, now);
        }
        let reason = created.reason.clone();
        if !automatic {
            return Ok(Change::new(None, created, Write::Insert).event(
                RequestEventKind::Created { reason, conditions },
                Some(by),
                None,
            ));
        }
        let mut approved = created.clone();
        approved.settle(
            Outcome {
                decision: Verdict::Approve,
                decided_by: None,
                comment: approving,
                reason: None,
                next_steps: None,
                is_override: false,
            },
            now,
        );
        approved.version = created.version + 1;
        let alert = approved
            .review_task()
            .map(|review| RequestEventKind::BreakGlass {
                reason: reason.clone(),
                duration_seconds: approved.duration_seconds,
                reviewer_ids: review.assignee_ids.clone(),
            });
        let mut change = Change::new(Some(created), approved, Write::Insert).event_to(
            RequestEventKind::Created { reason, conditions },
            Some(by),
            None,
            RequestStatus::Pending,
        );
        // The alert comes with the submission, whatever then happens to the approval.
        if let Some(alert) = alert {
            let pending = Some(RequestStatus::Pending);
            change = change.event_to(alert, Some(by), pending, RequestStatus::Pending);
        }
        Ok(change
            .event(
                RequestEventKind::Approved(None),
                None,
                Some(RequestStatus::Pending),
            )
            .approval())
    }
}
