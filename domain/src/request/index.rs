//! What a store keeps beside a request so that lists are fast, derived here from the request's
//! state so that the store stores and does not decide: the approver index (whose tasks a request
//! is in), the admin queue's tab, and the key of the one-open-request rule.

use super::{AccessRequest, RequestStatus, StepState};
use crate::flow::{ApprovalType, ApproverType};
use crate::ids::{FlowId, UserId};
use crate::text_enum;

text_enum!(
    /// The admin queue's tab a request is listed under: decided by administrators, assigned to
    /// other approvers, or neither (automatic flows).
    QueueTab { Administrator => "administrator", Assigned => "assigned", None => "none" }
);

/// One approver of one step of a pending request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApproverEntry {
    pub user_id: UserId,
    pub position: usize,
    /// Whether the request is in this approver's tasks through this step.
    pub awaiting: bool,
}

impl AccessRequest {
    /// The queue tab.
    pub fn queue_tab(&self) -> QueueTab {
        if self.approval_type == ApprovalType::Automatic {
            QueueTab::None
        } else if self
            .steps
            .iter()
            .any(|s| s.approver_type == ApproverType::Administrator)
        {
            QueueTab::Administrator
        } else {
            QueueTab::Assigned
        }
    }

    /// A requester has one open ticket (pending, failed, or approved with a fulfilment task still
    /// to do) per flow at most: while this request is open, it holds that place, and a store
    /// refuses a second holder.
    pub fn open_place(&self) -> Option<(UserId, FlowId)> {
        self.is_open().then_some((self.requester_id, self.flow_id))
    }

    /// While the request is pending, one entry per step and approver; `awaiting` on the first step
    /// where the approver still has to decide (so a request is in someone's tasks once, whatever
    /// the number of their steps). None once it is not pending: only pending requests are looked
    /// up by approver.
    pub fn approver_index(&self) -> Vec<ApproverEntry> {
        let mut entries = Vec::new();
        if self.status != RequestStatus::Pending {
            return entries;
        }
        let mut awaited = Vec::new();
        for step in &self.steps {
            for approver in &step.approver_ids {
                let awaits = step.state == StepState::Active
                    && !step.has_decided(*approver)
                    && !awaited.contains(approver);
                if awaits {
                    awaited.push(*approver);
                }
                entries.push(ApproverEntry {
                    user_id: *approver,
                    position: step.position,
                    awaiting: awaits,
                });
            }
        }
        entries
    }
}
