//! Deciding a request: an approver's approval or denial of their step, or an administrator's
//! override of the whole request.

use chrono::{DateTime, Utc};

use super::events::{DecisionRecord, RequestEventKind};
use super::{
    AccessRequest, Actor, Change, Decision, Outcome, RequestError, RequestStatus, Role, StepState,
    Verdict,
};
use crate::flow::ApproverRequirement;
use crate::ids::UserId;

/// A decision as an approver or an administrator sends it (texts already checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionCommand {
    pub verdict: Verdict,
    pub comment: Option<String>,
    /// Denials: why (required: a denial without a reason is refused).
    pub reason: Option<String>,
    /// Denials: what the requester can do next.
    pub next_steps: Option<String>,
    /// An administrator decides for the whole request, whatever its steps say.
    pub is_override: bool,
    /// Kept in the audit log only.
    pub internal_note: Option<String>,
    /// The approval that completes the request may shorten its duration.
    pub duration_seconds: Option<i64>,
    /// Where the decision was made (recorded in its event).
    pub via: Via,
}

crate::text_enum!(
    /// Where a decision was made: through the API (the portal) or with Slack's buttons.
    Via { Api => "api", Slack => "slack" }
);

impl AccessRequest {
    /// Decides on the request. Integration accounts never decide; only administrators override.
    /// An approval that settles a resource request then needs [`Change::grant_in`].
    pub fn decide(
        &self,
        command: &DecisionCommand,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change, RequestError> {
        if actor.role == Role::Integration {
            return Err(RequestError::Forbidden(
                "integration accounts never approve or deny",
            ));
        }
        if command.is_override && !actor.is_admin() {
            return Err(RequestError::Forbidden("only administrators can override"));
        }
        if command.verdict == Verdict::Deny && command.reason.is_none() {
            // Seed 001: a denial gives the requester a reason; next steps are optional.
            return Err(RequestError::invalid(
                "reason",
                "a denial needs a reason for the requester",
            ));
        }
        let mut after = self.clone();
        let denial = (command.reason.clone(), command.next_steps.clone());
        let settled = if command.is_override {
            after
                .apply_override(
                    actor.id,
                    true,
                    command.verdict,
                    command.comment.clone(),
                    denial,
                    now,
                )
                .map(|()| true)?
        } else {
            after.apply_decision(
                actor.id,
                command.verdict,
                command.comment.clone(),
                denial,
                command.duration_seconds,
                now,
            )?
        };
        let record = DecisionRecord {
            decision: command.verdict,
            is_override: command.is_override,
            comment: command.comment.clone(),
            internal_note: command.internal_note.clone(),
            via: command.via,
        };
        let change = Change::update(self, after);
        let kind = match (settled, change.request.status) {
            (true, RequestStatus::Approved) => RequestEventKind::Approved(Some(record)),
            (true, _) => RequestEventKind::Denied {
                decision: record,
                reason: command.reason.clone(),
                next_steps: command.next_steps.clone(),
            },
            (false, _) => RequestEventKind::StepDecided(record),
        };
        Ok(change
            .event(kind, Some(actor.id), Some(self.status))
            .approval())
    }

    pub(crate) fn require_pending(&self) -> Result<(), RequestError> {
        if self.status == RequestStatus::Pending {
            Ok(())
        } else {
            Err(RequestError::NotPending(self.status))
        }
    }

    pub(crate) fn settle(&mut self, outcome: Outcome, now: DateTime<Utc>) {
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
    fn apply_decision(
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
    fn apply_override(
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
}
