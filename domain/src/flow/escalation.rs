//! Escalation (issue 27): a manual flow may name fallback approvers, added to the steps still
//! waiting for a decision once a request has been pending `after_hours`. Expiry stays the last resort.

use serde::{Deserialize, Serialize};

use super::{ApprovalType, ApproverDraft, ApproverSpec, ApproverType};
use crate::validation::ValidationErrors;

/// The longest wait a flow may set before escalating: 90 days.
pub const MAX_ESCALATION_HOURS: i64 = 2160;

/// Escalation as sent: after how many hours, and to whom (one approver spec without
/// `require_all` or `required_if`: any one of the fallback approvers may decide).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({ "after_hours": 48, "to": { "type": "administrator" } })))]
#[serde(deny_unknown_fields)]
pub struct EscalationDraft {
    /// Hours a request waits without a decision before the fallback approvers are added (1 to 2160).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 2160))]
    pub after_hours: i64,
    /// The fallback approvers.
    pub to: ApproverDraft,
}

/// A validated escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    after_hours: i64,
    to: ApproverSpec,
}

impl Escalation {
    pub fn after_hours(&self) -> i64 {
        self.after_hours
    }

    /// Who the fallback approvers are.
    pub fn to(&self) -> &ApproverSpec {
        &self.to
    }

    /// An escalation as a flow would hold it (for the domain's tests).
    #[cfg(test)]
    pub(crate) fn new_unchecked(after_hours: i64, to: ApproverSpec) -> Self {
        Self { after_hours, to }
    }

    pub fn to_draft(&self) -> EscalationDraft {
        EscalationDraft {
            after_hours: self.after_hours,
            to: ApproverDraft {
                // Fallback approvers are always "any one of them".
                require_all: None,
                ..self.to.to_draft()
            },
        }
    }

    /// Checks `draft` for a flow approved as `approval_type` (errors under `escalation.*`).
    pub(super) fn parse(
        draft: &EscalationDraft,
        approval_type: ApprovalType,
        owners: bool,
        errors: &mut ValidationErrors,
    ) -> Option<Self> {
        let before = errors.errors().len();
        if approval_type == ApprovalType::Automatic {
            errors.push(
                "escalation",
                "an automatic flow approves at once; escalation is for manual flows",
            );
        }
        if !(1..=MAX_ESCALATION_HOURS).contains(&draft.after_hours) {
            errors.push(
                "escalation.after_hours",
                format!("must be between 1 and {MAX_ESCALATION_HOURS}"),
            );
        }
        let to = &draft.to;
        let kind = to.approver_type;
        if to.require_all.is_some() {
            errors.push(
                "escalation.to.require_all",
                "any one fallback approver may decide; require_all is not taken here",
            );
        }
        if to.required_if.is_some() {
            errors.push(
                "escalation.to.required_if",
                "a fallback approver spec has no condition",
            );
        }
        if to.group_id.is_some() != (kind == ApproverType::UserGroup) {
            errors.push(
                "escalation.to.group_id",
                "a user_group fallback needs the group; other types take none",
            );
        }
        if to.admin_ids.is_some() && kind != ApproverType::Administrator {
            errors.push(
                "escalation.to.admin_ids",
                "only administrator approvers take admin_ids",
            );
        }
        if kind == ApproverType::ResourceOwner && !owners {
            errors.push(
                "escalation.to.type",
                "a resource_owner fallback needs the flow to have owners",
            );
        }
        let spec = match (kind, to.group_id) {
            (ApproverType::Administrator, _) => ApproverSpec::Administrator {
                admin_ids: to.admin_ids.clone().unwrap_or_default(),
            },
            (ApproverType::RequesterManager, _) => ApproverSpec::RequesterManager,
            (ApproverType::ResourceOwner, _) => ApproverSpec::ResourceOwner,
            (ApproverType::UserGroup, Some(group_id)) => ApproverSpec::UserGroup {
                group_id,
                require_all: false,
            },
            (ApproverType::UserGroup, None) => return None,
        };
        (errors.errors().len() == before).then_some(Self {
            after_hours: draft.after_hours,
            to: spec,
        })
    }
}
