//! Escalation: fallback approvers join the undecided steps once the flow's time has passed.

use chrono::Duration;

use super::*;
use crate::flow::Escalation;

fn after_a_day() -> Escalation {
    Escalation::new_unchecked(24, ApproverSpec::RequesterManager)
}

#[test]
fn escalation_is_refused_before_its_time() {
    let p = people();
    let request = two_step(&p, ApproverRequirement::All);
    let early = request.escalate(&after_a_day(), &[p.admin], now() + Duration::hours(23));
    assert!(matches!(early, Err(RequestError::Conflict(_))));
}

#[test]
fn fallback_approvers_join_undecided_steps_but_not_those_needing_everyone() {
    let p = people();
    let request = two_step(&p, ApproverRequirement::All);
    let change = request
        .escalate(
            &after_a_day(),
            &[p.admin, p.requester],
            now() + Duration::hours(24),
        )
        .unwrap();
    let after = &change.request;
    assert_eq!(after.steps[0].approver_ids, vec![p.manager, p.admin]);
    assert_eq!(
        after.steps[1].approver_ids,
        p.reviewers.to_vec(),
        "require_all step untouched"
    );
    assert!(after.awaits(p.admin));
    assert_eq!(after.version, request.version + 1);
    let event = &change.events[0];
    assert_eq!(event.actor, None);
    assert_eq!(event.event_type(), crate::events::REQUEST_ESCALATED);
    assert_eq!(
        event.kind.data(),
        serde_json::json!({ "after_hours": 24, "step_positions": [0], "added_approver_ids": [p.admin] })
    );
}

#[test]
fn a_step_someone_decided_on_is_not_escalated() {
    let p = people();
    // All, so that the request stays pending after these approvals.
    let mut request = two_step(&p, ApproverRequirement::All);
    approve(&mut request, p.manager).unwrap();
    approve(&mut request, p.reviewers[0]).unwrap();
    let refused = request.escalate(&after_a_day(), &[p.admin], now() + Duration::hours(30));
    assert!(
        matches!(refused, Err(RequestError::Conflict(_))),
        "{refused:?}"
    );
}

#[test]
fn escalating_twice_adds_nobody_new_and_is_refused() {
    let p = people();
    let request = two_step(&p, ApproverRequirement::All);
    let once = request
        .escalate(&after_a_day(), &[p.admin], now() + Duration::hours(25))
        .unwrap()
        .request;
    let twice = once.escalate(&after_a_day(), &[p.admin], now() + Duration::hours(26));
    assert!(twice.is_err());
}

#[test]
fn a_closed_request_is_not_escalated() {
    let p = people();
    let request = two_step(&p, ApproverRequirement::All);
    let canceled = request.cancel(&person(p.requester), now()).unwrap().request;
    let refused = canceled.escalate(&after_a_day(), &[p.admin], now() + Duration::hours(25));
    assert!(matches!(refused, Err(RequestError::NotPending(_))));
}
