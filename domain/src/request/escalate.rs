//! Escalation (issue 27): a request left undecided for its flow's `after_hours` gets the fallback
//! approvers added to its active steps that have no decision yet. Done once per request by the jobs.

use chrono::{DateTime, Duration, Utc};

use super::events::RequestEventKind;
use super::{AccessRequest, ApprovalType, Change, RequestError, StepState};
use crate::flow::Escalation;
use crate::ids::UserId;

impl AccessRequest {
    /// When the request becomes due for escalation under `escalation`.
    pub fn escalation_due_at(&self, escalation: &Escalation) -> DateTime<Utc> {
        self.created_at + Duration::hours(escalation.after_hours())
    }

    /// Adds `fallback` (the escalation's approvers, resolved for this requester) to every active
    /// step without a decision. Steps where every approver must approve (`require_all`) are left as
    /// they are: adding people there would only make approval harder. Refused before the time, on a
    /// request that is no longer pending, and when nobody new would be added.
    pub fn escalate(
        &self,
        escalation: &Escalation,
        fallback: &[UserId],
        now: DateTime<Utc>,
    ) -> Result<Change, RequestError> {
        self.require_pending()?;
        if self.approval_type != ApprovalType::Manual {
            return Err(RequestError::conflict(
                "an automatically approved request has no approvers to escalate from",
            ));
        }
        if now < self.escalation_due_at(escalation) {
            return Err(RequestError::conflict(
                "the request is not due for escalation",
            ));
        }
        let mut after = self.clone();
        let mut added: Vec<UserId> = Vec::new();
        let mut positions = Vec::new();
        for step in after
            .steps
            .iter_mut()
            .filter(|s| s.state == StepState::Active && s.decisions.is_empty() && !s.require_all)
        {
            let new: Vec<UserId> = fallback
                .iter()
                .filter(|id| **id != self.requester_id && !step.approver_ids.contains(id))
                .copied()
                .collect();
            if new.is_empty() {
                continue;
            }
            positions.push(step.position);
            step.approver_ids.extend(new.iter().copied());
            for id in new {
                if !added.contains(&id) {
                    added.push(id);
                }
            }
        }
        if added.is_empty() {
            return Err(RequestError::conflict(
                "no undecided step would gain a fallback approver",
            ));
        }
        Ok(Change::update(self, after).event(
            RequestEventKind::Escalated {
                after_hours: escalation.after_hours(),
                positions,
                added,
            },
            None,
            Some(self.status),
        ))
    }
}
