//! What Slack messages say about a request's progress and outcome (pure: from the request and a
//! way to name people).

use portcullis_domain::UserId;
use portcullis_domain::request::{AccessRequest, RequestStatus, StepState, Verdict};

use crate::slack::blocks::OutcomeSummary;

/// One line per step: who approves, and how far they got.
pub(super) fn progress(request: &AccessRequest, name: &dyn Fn(UserId) -> String) -> Vec<String> {
    request
        .steps()
        .iter()
        .map(|step| {
            let who = match step.approver_type.as_str() {
                "administrator" => "Administrators",
                "requester_manager" => "The requester's manager",
                "resource_owner" => "The resource owners",
                _ if step.require_all => "Every member of the group",
                _ => "A member of the group",
            };
            let decided: Vec<String> = step
                .decisions
                .iter()
                .map(|d| format!("{} {}", name(d.approver_id), past(d.decision)))
                .collect();
            let state = match step.state {
                StepState::Waiting => "waiting for the step before",
                StepState::Active => "waiting for a decision",
                StepState::Approved => "approved",
                StepState::Denied => "denied",
                StepState::Skipped => "no longer needed",
            };
            if decided.is_empty() {
                format!("{who}: {state}")
            } else {
                format!("{who}: {state} ({})", decided.join(", "))
            }
        })
        .collect()
}

pub(super) fn past(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Approve => "approved",
        Verdict::Deny => "denied",
    }
}

/// How a request stands, for the messages that show it.
pub(super) fn outcome(request: &AccessRequest, name: &dyn Fn(UserId) -> String) -> OutcomeSummary {
    let decided = request.outcome();
    let status = match request.status() {
        RequestStatus::Approved if decided.is_some_and(|o| o.is_override) => "Approved (override)",
        RequestStatus::Denied if decided.is_some_and(|o| o.is_override) => "Denied (override)",
        RequestStatus::Approved => "Approved",
        RequestStatus::Denied => "Denied",
        RequestStatus::Canceled => "Canceled",
        RequestStatus::Expired => "Expired without a decision",
        RequestStatus::Error => "On hold: the request needs an administrator",
        RequestStatus::Pending => "Pending",
    };
    let status = match (request.status(), decided) {
        (RequestStatus::Approved, Some(o)) if o.decided_by.is_none() => "Approved automatically",
        _ => status,
    };
    OutcomeSummary {
        status: status.to_owned(),
        decided_by: decided.and_then(|o| o.decided_by).map(name),
        reason: decided.and_then(|o| o.reason.clone()),
        next_steps: decided.and_then(|o| o.next_steps.clone()),
    }
}

/// What a pending request's message says to an approver who can no longer act on it.
pub(super) fn own_decision(
    request: &AccessRequest,
    recipient: UserId,
    pending: &OutcomeSummary,
) -> OutcomeSummary {
    let mine = request
        .steps()
        .iter()
        .flat_map(|s| s.decisions.iter())
        .find(|d| d.approver_id == recipient);
    let status = match mine {
        Some(d) => format!(
            "You {}; the request waits for the other approvers",
            past(d.decision)
        ),
        None => "No longer waiting for you".to_owned(),
    };
    OutcomeSummary {
        status,
        decided_by: None,
        ..pending.clone()
    }
}
