//! Extensions: the holder of an active timed grant asks for more time with a request through the
//! grant's flow (its own approvals unless the flow's `extensions` say otherwise); the approval
//! moves the grant's end later, never earlier, and the request records which grant it extended.

use chrono::{DateTime, Utc};

use super::change::Change;
use super::events::RequestEventKind;
use super::{RequestError, RequestStatus, Submission};
use crate::access::Grant;
use crate::flow::{ApprovalFlow, ApprovalType, ExtensionApproval, FlowKind};

impl Submission {
    /// This submission as an extension of `grant` (held by the requester, made through `flow`):
    /// refused with a 409 when the grant cannot be extended now or the flow allows none, and with a
    /// 422 when it would go past the flow's limits.
    pub fn extending(
        mut self,
        grant: &Grant,
        flow: &ApprovalFlow,
        now: DateTime<Utc>,
    ) -> Result<Self, RequestError> {
        if grant.user_id != self.requester_id {
            return Err(RequestError::Forbidden(
                "only the grant's holder can extend it",
            ));
        }
        grant
            .check_extendable(now)
            .map_err(RequestError::conflict)?;
        if flow.break_glass() {
            return Err(break_glass_not_extended());
        }
        if flow.kind() != FlowKind::ResourceRequest {
            return Err(RequestError::conflict(
                "only a resource request's grant can be extended",
            ));
        }
        let rules = flow.extensions();
        let seconds = self.duration_seconds.unwrap_or_default();
        if let Some(rules) = rules {
            if rules.approval == ExtensionApproval::None {
                return Err(RequestError::conflict(
                    "this flow's grants cannot be extended",
                ));
            }
            if let Some(max) = rules.max_count
                && grant.extension_count >= max
            {
                return Err(RequestError::invalid(
                    "body",
                    format!(
                        "the grant was already extended {} times, the most this flow allows",
                        grant.extension_count
                    ),
                ));
            }
            if let Some(max) = rules.max_total_seconds
                && grant.extended_seconds + seconds > max
            {
                return Err(RequestError::invalid(
                    "duration_seconds",
                    format!(
                        "extensions may add at most {max} seconds to a grant; {} are left",
                        (max - grant.extended_seconds).max(0)
                    ),
                ));
            }
            if rules.approval == ExtensionApproval::Automatic {
                self.approval_type = ApprovalType::Automatic;
            }
        }
        self.extends_grant = Some(grant.id);
        Ok(self)
    }
}

fn break_glass_not_extended() -> RequestError {
    RequestError::conflict(
        "break-glass access cannot be extended; make another break-glass request if the emergency lasts",
    )
}

impl super::AccessRequest {
    /// Whether the grant this request gave may be extended at all: not a break-glass one (its flow
    /// keeps it short).
    pub fn check_extension_source(&self) -> Result<(), RequestError> {
        if self.break_glass {
            return Err(break_glass_not_extended());
        }
        Ok(())
    }
}

impl Change {
    /// Completes the approval of an extension request with its grant as stored now (`None` if it
    /// is gone): the grant's end moves later by the request's duration, recorded on the request;
    /// a grant that ended meanwhile sends the request to `error` instead, its approval not kept.
    pub fn extend_grant(
        self,
        grant: Option<Grant>,
        now: DateTime<Utc>,
    ) -> Result<Self, RequestError> {
        if !self.needs_target_group() || self.request.extends_grant.is_none() {
            return Ok(self);
        }
        let seconds = self.request.duration_seconds.unwrap_or_default();
        let mut extended = grant.filter(|g| Some(g.id) == self.request.extends_grant);
        let moved = extended
            .as_mut()
            .map(|g| g.extend(seconds, now))
            .transpose()
            .ok()
            .flatten();
        match (extended, moved) {
            (Some(grant), Some(())) => {
                let actor = self.approving_actor();
                let kind = RequestEventKind::AccessExtended {
                    grant_id: grant.id,
                    group_id: grant.group_id,
                    user_id: grant.user_id,
                    expires_at: grant.expires_at,
                    extension_count: grant.extension_count,
                };
                let mut done = self.settled();
                done.extended_grant = Some(grant);
                Ok(done.event(kind, actor, Some(RequestStatus::Approved)))
            }
            _ => self.fail_approval("the grant this request extends has ended"),
        }
    }
}
