//! A Portcullis request as an ARAP task: its status, and the approval a completed one gives.

use chrono::{DateTime, Duration, Utc};

use super::{OPEN_ENDED_APPROVAL_SECONDS, Target};
use crate::ids::UserId;
use crate::request::RequestStatus;

/// ARAP's task statuses (`failed` and `partial` are never given: a Portcullis request in `error` is
/// retried by an admin, so for a PEP it is still `pending`; there are no bulk tasks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    Pending,
    Approved,
    Denied,
    Expired,
    Cancelled,
}

impl TaskStatus {
    /// The task status of a request in `status`; `access_given` says whether its grant (or
    /// device-admin session) exists: an approved request whose access is not given yet (fulfilment
    /// still to do) is still `pending`, since ARAP's `approved` needs an enforceable result.
    pub fn of(status: RequestStatus, access_given: bool) -> Self {
        match status {
            RequestStatus::Pending | RequestStatus::Error => Self::Pending,
            RequestStatus::Approved if access_given => Self::Approved,
            RequestStatus::Approved => Self::Pending,
            RequestStatus::Denied => Self::Denied,
            RequestStatus::Canceled => Self::Cancelled,
            RequestStatus::Expired => Self::Expired,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        self != Self::Pending
    }
}

/// `approved_until`: the grant's end, or, for a grant without an end, a year after the approval (the
/// PDP stays authoritative: a re-evaluation answers from the current membership either way).
pub fn approved_until(
    grant_ends_at: Option<DateTime<Utc>>,
    approved_at: DateTime<Utc>,
) -> DateTime<Utc> {
    grant_ends_at.unwrap_or(approved_at + Duration::seconds(OPEN_ENDED_APPROVAL_SECONDS))
}

/// An approval as the PDP finds it when a re-evaluation presents `context.approval`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The subject the request was made for.
    pub subject: UserId,
    pub target: Target,
    /// The task's status (only an `approved` task's approval is applicable).
    pub status: TaskStatus,
    /// While the grant is active: `approved_until` and whether it was revoked or has ended.
    pub until: Option<DateTime<Utc>>,
    pub access_active: bool,
}

/// Why a re-evaluation with `context.approval` is denied, as ARAP's `reason` and `next_action`; `None`
/// when the approval applies to this evaluation (`found` is `None` when no approval has the
/// presented id: a forged or mistyped one).
pub fn reevaluation_denial(
    found: Option<&Approval>,
    subject: UserId,
    target: Target,
    now: DateTime<Utc>,
) -> Option<(&'static str, &'static str)> {
    let Some(approval) = found else {
        return Some(("approval_unverifiable", "none"));
    };
    if approval.subject != subject || approval.status != TaskStatus::Approved {
        // Another person's approval proves nothing about this one.
        return Some(("approval_unverifiable", "none"));
    }
    if approval.target != target {
        return Some(("out_of_scope", "request"));
    }
    match approval.until {
        Some(until) if now < until && approval.access_active => None,
        _ => Some(("approval_expired", "request")),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::ids::GroupId;

    #[test]
    fn states_map_to_the_profiles() {
        assert_eq!(
            TaskStatus::of(RequestStatus::Error, false),
            TaskStatus::Pending
        );
        assert_eq!(
            TaskStatus::of(RequestStatus::Canceled, false).as_str(),
            "cancelled"
        );
        assert_eq!(
            TaskStatus::of(RequestStatus::Approved, false),
            TaskStatus::Pending
        );
        assert_eq!(
            TaskStatus::of(RequestStatus::Approved, true),
            TaskStatus::Approved
        );
        assert_eq!(
            TaskStatus::of(RequestStatus::Denied, false),
            TaskStatus::Denied
        );
        assert_eq!(
            TaskStatus::of(RequestStatus::Expired, false),
            TaskStatus::Expired
        );
    }

    #[test]
    fn an_approval_applies_only_to_its_subject_and_target_while_access_lasts() {
        let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let (ada, bob) = (UserId::new_v7(), UserId::new_v7());
        let group = Target::GroupMember(GroupId::new_v7());
        let other = Target::GroupMember(GroupId::new_v7());
        let approval = Approval {
            subject: ada,
            target: group,
            status: TaskStatus::Approved,
            until: Some(now + Duration::hours(1)),
            access_active: true,
        };
        assert_eq!(reevaluation_denial(Some(&approval), ada, group, now), None);
        assert_eq!(
            reevaluation_denial(Some(&approval), bob, group, now),
            Some(("approval_unverifiable", "none"))
        );
        assert_eq!(
            reevaluation_denial(Some(&approval), ada, other, now),
            Some(("out_of_scope", "request"))
        );
        assert_eq!(
            reevaluation_denial(Some(&approval), ada, group, now + Duration::hours(1)),
            Some(("approval_expired", "request"))
        );
        let revoked = Approval {
            access_active: false,
            ..approval.clone()
        };
        assert_eq!(
            reevaluation_denial(Some(&revoked), ada, group, now),
            Some(("approval_expired", "request"))
        );
        assert_eq!(
            reevaluation_denial(None, ada, group, now),
            Some(("approval_unverifiable", "none"))
        );
    }

    #[test]
    fn an_open_ended_grant_is_approved_for_a_year() {
        let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        assert_eq!(approved_until(None, now), now + Duration::days(365));
        let end = now + Duration::hours(2);
        assert_eq!(approved_until(Some(end), now), end);
    }
}
