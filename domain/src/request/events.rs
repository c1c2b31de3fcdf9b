//! What a request's commands record: one [`RequestEvent`] per thing that happened, named as the
//! audit log and webhooks name it ([`crate::events`]), with the data each carries.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{RequestStatus, TaskType, Verdict};
use crate::access::GrantStatus;
use crate::events as names;
use crate::ids::{CommentId, DeviceId, GrantId, GroupId, SessionId, UserId};

/// One event of a request's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEvent {
    pub kind: RequestEventKind,
    /// Who caused it; `None` when the server did (an automatic approval, an expiry).
    pub actor: Option<UserId>,
    pub status_before: Option<RequestStatus>,
    pub status_after: RequestStatus,
}

/// An approver's or an administrator's decision as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRecord {
    pub decision: Verdict,
    pub is_override: bool,
    pub comment: Option<String>,
    /// Visible to administrators only (in the audit log).
    pub internal_note: Option<String>,
    /// Where the decision was made.
    pub via: super::Via,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestEventKind {
    Created {
        reason: String,
        /// How the flow's conditions came out (recorded only when the flow has some).
        conditions: Vec<crate::flow::ConditionOutcome>,
    },
    StepDecided(DecisionRecord),
    /// `None`: approved at once by an automatic flow.
    Approved(Option<DecisionRecord>),
    Denied {
        decision: DecisionRecord,
        reason: Option<String>,
        next_steps: Option<String>,
    },
    Canceled {
        cause: Option<&'static str>,
    },
    Expired,
    Failed {
        error: String,
    },
    Retried,
    /// An approver's place in a step, or an assignee's in a fulfilment task (`task`), went to `to`.
    Reassigned {
        from: UserId,
        to: UserId,
        task: Option<TaskType>,
    },
    /// The request waited `after_hours` without a decision: the flow's fallback approvers (`added`)
    /// joined the undecided steps at `positions`.
    Escalated {
        after_hours: i64,
        positions: Vec<usize>,
        added: Vec<UserId>,
    },
    /// A request through a break-glass flow was approved at once: the administrators are alerted,
    /// and `reviewer_ids` have its review task.
    BreakGlass {
        reason: String,
        duration_seconds: Option<i64>,
        reviewer_ids: Vec<UserId>,
    },
    /// An administrator reviewed a break-glass request; a revocation ended `revoked_grant`.
    Reviewed {
        outcome: super::ReviewOutcome,
        note: Option<String>,
        revoked_grant: Option<GrantId>,
    },
    /// A fulfilment task opened for its assignees.
    TaskOpened {
        task: TaskType,
        assignee_ids: Vec<UserId>,
    },
    /// A fulfilment task was completed.
    TaskDone {
        task: TaskType,
        note: Option<String>,
    },
    Commented {
        comment_id: CommentId,
    },
    SessionStarted {
        session_id: SessionId,
        device_id: DeviceId,
        ends_at: DateTime<Utc>,
    },
    SessionEnded {
        session_id: SessionId,
        early: bool,
    },
    AccessAdded {
        grant_id: GrantId,
        group_id: GroupId,
        user_id: UserId,
        expires_at: Option<DateTime<Utc>>,
    },
    /// An approved extension moved the grant's end to `expires_at`.
    AccessExtended {
        grant_id: GrantId,
        group_id: GroupId,
        user_id: UserId,
        expires_at: Option<DateTime<Utc>>,
        extension_count: i64,
    },
    AccessRemoved {
        grant_id: GrantId,
        group_id: GroupId,
        user_id: UserId,
        grant_status: GrantStatus,
    },
    /// The approval gave access that starts later (`grant_status` `scheduled` or
    /// `awaiting_activation`); no membership yet.
    AccessScheduled {
        grant_id: GrantId,
        group_id: GroupId,
        user_id: UserId,
        grant_status: GrantStatus,
        starts_at: Option<DateTime<Utc>>,
        activate_by: Option<DateTime<Utc>>,
        expires_at: Option<DateTime<Utc>>,
    },
    /// A waiting grant started (`activated`: by its holder; otherwise at its `starts_at`): its
    /// membership was added.
    AccessStarted {
        grant_id: GrantId,
        group_id: GroupId,
        user_id: UserId,
        expires_at: Option<DateTime<Utc>>,
        activated: bool,
    },
    /// A waiting grant ended without ever starting (`revoked`, or `expired`: not activated in
    /// time, or its whole time passed first).
    AccessNeverStarted {
        grant_id: GrantId,
        group_id: GroupId,
        user_id: UserId,
        grant_status: GrantStatus,
    },
}

fn decision_data(d: &DecisionRecord) -> Value {
    json!({
        "decision": d.decision,
        "override": d.is_override,
        "comment": d.comment,
        "internal_note": d.internal_note,
        "via": d.via,
    })
}

impl RequestEventKind {
    /// The event's name in the audit log and webhooks.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Created { .. } => names::REQUEST_CREATED,
            Self::StepDecided(_) => names::STEP_DECISION,
            Self::Approved(_) => names::REQUEST_APPROVED,
            Self::Denied { .. } => names::REQUEST_DENIED,
            Self::Canceled { .. } => names::REQUEST_CANCELED,
            Self::Expired => names::REQUEST_EXPIRED,
            Self::Failed { .. } => names::REQUEST_ERROR,
            Self::Retried => names::REQUEST_RETRIED,
            Self::Reassigned { .. } => names::REQUEST_REASSIGNED,
            Self::Escalated { .. } => names::REQUEST_ESCALATED,
            Self::Commented { .. } => names::REQUEST_COMMENTED,
            Self::BreakGlass { .. } => names::REQUEST_BREAK_GLASS,
            Self::Reviewed { .. } => names::REQUEST_BREAK_GLASS_REVIEW,
            Self::TaskOpened { .. } => names::FULFILMENT_TASK_OPEN,
            Self::TaskDone { .. } => names::FULFILMENT_TASK_DONE,
            Self::SessionStarted { .. } => names::SESSION_START,
            Self::SessionEnded { .. } => names::SESSION_END,
            Self::AccessAdded { .. } | Self::AccessExtended { .. } | Self::AccessRemoved { .. } => {
                names::ASSOCIATION_CHANGE
            }
            Self::AccessScheduled { .. } => names::GRANT_SCHEDULE,
            Self::AccessStarted { .. } => names::GRANT_START,
            Self::AccessNeverStarted { .. } => names::GRANT_CANCEL,
        }
    }

    /// What the event carries besides the request's own fields (an object).
    pub fn data(&self) -> Value {
        match self {
            Self::Created { reason, conditions } if conditions.is_empty() => {
                json!({ "reason": reason })
            }
            Self::Created { reason, conditions } => json!({
                "reason": reason,
                "conditions": conditions.iter().map(|c| c.to_json()).collect::<Vec<_>>(),
            }),
            Self::StepDecided(decision) | Self::Approved(Some(decision)) => decision_data(decision),
            Self::Approved(None) => json!({ "automatic": true }),
            Self::Denied {
                decision,
                reason,
                next_steps,
            } => {
                let mut data = decision_data(decision);
                data["reason"] = json!(reason);
                data["next_steps"] = json!(next_steps);
                data
            }
            Self::Canceled { cause: None } | Self::Expired | Self::Retried => json!({}),
            Self::Canceled { cause: Some(cause) } => json!({ "cause": cause }),
            Self::Failed { error } => json!({ "error": error }),
            Self::Reassigned { from, to, task } => {
                json!({ "from_user_id": from, "to_user_id": to, "task": task })
            }
            Self::Escalated {
                after_hours,
                positions,
                added,
            } => json!({
                "after_hours": after_hours, "step_positions": positions, "added_approver_ids": added,
            }),
            Self::BreakGlass {
                reason,
                duration_seconds,
                reviewer_ids,
            } => json!({
                "reason": reason, "duration_seconds": duration_seconds, "reviewer_ids": reviewer_ids,
            }),
            Self::Reviewed {
                outcome,
                note,
                revoked_grant,
            } => json!({
                "outcome": outcome, "note": note, "revoked_grant_id": revoked_grant,
            }),
            Self::TaskOpened { task, assignee_ids } => {
                json!({ "task": task, "assignee_ids": assignee_ids })
            }
            Self::TaskDone { task, note } => json!({ "task": task, "note": note }),
            Self::Commented { comment_id } => json!({ "comment_id": comment_id }),
            Self::SessionStarted {
                session_id,
                device_id,
                ends_at,
            } => json!({ "session_id": session_id, "device_id": device_id, "ends_at": ends_at }),
            Self::SessionEnded { session_id, early } => {
                json!({ "session_id": session_id, "early": early })
            }
            Self::AccessAdded {
                grant_id,
                group_id,
                user_id,
                expires_at,
            } => json!({
                "change": "added", "grant_id": grant_id, "group_id": group_id, "user_id": user_id,
                "expires_at": expires_at,
            }),
            Self::AccessExtended {
                grant_id,
                group_id,
                user_id,
                expires_at,
                extension_count,
            } => json!({
                "change": "extended", "grant_id": grant_id, "group_id": group_id, "user_id": user_id,
                "expires_at": expires_at, "extension_count": extension_count,
            }),
            Self::AccessRemoved {
                grant_id,
                group_id,
                user_id,
                grant_status,
            } => json!({
                "change": "removed", "grant_id": grant_id, "group_id": group_id, "user_id": user_id,
                "grant_status": grant_status,
            }),
            Self::AccessScheduled {
                grant_id,
                group_id,
                user_id,
                grant_status,
                starts_at,
                activate_by,
                expires_at,
            } => json!({
                "grant_id": grant_id, "group_id": group_id, "user_id": user_id,
                "grant_status": grant_status, "starts_at": starts_at, "activate_by": activate_by,
                "expires_at": expires_at,
            }),
            Self::AccessStarted {
                grant_id,
                group_id,
                user_id,
                expires_at,
                activated,
            } => json!({
                "change": "added", "grant_id": grant_id, "group_id": group_id, "user_id": user_id,
                "expires_at": expires_at, "via": if *activated { "activation" } else { "schedule" },
            }),
            Self::AccessNeverStarted {
                grant_id,
                group_id,
                user_id,
                grant_status,
            } => json!({
                "grant_id": grant_id, "group_id": group_id, "user_id": user_id,
                "grant_status": grant_status,
            }),
        }
    }
}

impl RequestEvent {
    pub fn event_type(&self) -> &'static str {
        self.kind.event_type()
    }
}
