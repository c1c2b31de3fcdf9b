//! Submitting and deciding: steps, requirements, deny wins, overrides, automatic flows.

use super::*;

#[test]
fn all_in_order_activates_one_step_at_a_time() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::AllInOrder);
    assert_eq!(
        (request.steps[0].state, request.steps[1].state),
        (StepState::Active, StepState::Waiting)
    );
    assert!(!request.awaits(p.reviewers[0]));
    assert_eq!(
        approve(&mut request, p.reviewers[0]),
        Err(RequestError::NotAnApprover)
    );
    assert_eq!(approve(&mut request, p.manager), Ok(false));
    assert_eq!(
        (request.steps[0].state, request.steps[1].state),
        (StepState::Approved, StepState::Active)
    );
    assert!(request.awaits(p.reviewers[0]));
}

#[test]
fn require_all_needs_every_member() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::AllInOrder);
    approve(&mut request, p.manager).unwrap();
    assert_eq!(approve(&mut request, p.reviewers[0]), Ok(false));
    assert_eq!(request.status, RequestStatus::Pending);
    assert_eq!(
        approve(&mut request, p.reviewers[0]),
        Err(RequestError::AlreadyDecided)
    );
    assert_eq!(approve(&mut request, p.reviewers[1]), Ok(true));
    assert_eq!(request.status, RequestStatus::Approved);
    assert_eq!(
        request.outcome.as_ref().unwrap().decided_by,
        Some(p.reviewers[1])
    );
}

#[test]
fn any_approves_with_the_first_satisfied_step_and_skips_the_rest() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::Any);
    assert!(request.steps.iter().all(|s| s.state == StepState::Active));
    assert_eq!(approve(&mut request, p.manager), Ok(true));
    assert_eq!(request.steps[1].state, StepState::Skipped);
}

#[test]
fn all_needs_every_step_in_any_order() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::All);
    approve(&mut request, p.reviewers[0]).unwrap();
    approve(&mut request, p.reviewers[1]).unwrap();
    assert_eq!(request.status, RequestStatus::Pending);
    assert_eq!(approve(&mut request, p.manager), Ok(true));
}

#[test]
fn deny_wins() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::All);
    approve(&mut request, p.manager).unwrap();
    let denial = (
        Some("Not needed for your role".to_owned()),
        Some("Ask your lead".to_owned()),
    );
    assert_eq!(
        decide(
            &mut request,
            person(p.reviewers[0]),
            &DecisionCommand {
                reason: denial.0,
                next_steps: denial.1,
                ..command(Verdict::Deny)
            }
        ),
        Ok(true)
    );
    assert_eq!(request.status, RequestStatus::Denied);
    assert_eq!(
        request.outcome.as_ref().unwrap().next_steps.as_deref(),
        Some("Ask your lead")
    );
}

#[test]
fn a_denial_without_a_reason_is_refused_even_as_an_override() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::Any);
    let unexplained = DecisionCommand {
        reason: None,
        next_steps: Some("Ask your lead".to_owned()),
        ..command(Verdict::Deny)
    };
    let refused = decide(&mut request, person(p.manager), &unexplained);
    assert_eq!(refused.unwrap_err().field(), Some("reason"));
    let overriding = DecisionCommand {
        is_override: true,
        ..unexplained
    };
    let refused = decide(&mut request, admin(p.admin), &overriding);
    assert_eq!(refused.unwrap_err().field(), Some("reason"));
    assert_eq!(request.status, RequestStatus::Pending, "nothing changed");
}

#[test]
fn the_requester_never_decides_their_own_request() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::Any);
    assert_eq!(
        approve(&mut request, p.requester),
        Err(RequestError::SelfDecision)
    );
    let mut request = two_step(&p, ApproverRequirement::Any);
    assert_eq!(
        override_as(&mut request, admin(p.requester), Verdict::Approve),
        Err(RequestError::SelfDecision)
    );
}

#[test]
fn a_step_nobody_can_approve_refuses_creation() {
    let p = people();
    let steps = vec![step(0, ApproverSpec::RequesterManager, &[], false)];
    let result = AccessRequest::submit(
        RequestId::new_v7(),
        submission(p.requester, ApproverRequirement::Any),
        steps,
        30,
        p.requester,
        now(),
    );
    assert_eq!(result.unwrap_err(), RequestError::NoEligibleApprover(0));
}

#[test]
fn automatic_flows_are_approved_at_once() {
    let p = people();
    let mut submitted = submission(p.requester, ApproverRequirement::Any);
    submitted.approval_type = ApprovalType::Automatic;
    submitted.approver_requirement = None;
    let change = AccessRequest::submit(
        RequestId::new_v7(),
        submitted,
        vec![],
        30,
        p.requester,
        now(),
    )
    .unwrap();
    let request = &change.request;
    assert_eq!(
        (
            request.status,
            request.decided_at,
            request.expires_at,
            request.version
        ),
        (RequestStatus::Approved, Some(now()), None, 2)
    );
    // Recorded as created (pending), then approved by nobody; access then needs the target group.
    let events: Vec<_> = change
        .events
        .iter()
        .map(|e| (e.event_type(), e.actor, e.status_before, e.status_after))
        .collect();
    assert_eq!(
        events,
        vec![
            (
                crate::events::REQUEST_CREATED,
                Some(p.requester),
                None,
                RequestStatus::Pending
            ),
            (
                crate::events::REQUEST_APPROVED,
                None,
                Some(RequestStatus::Pending),
                RequestStatus::Approved
            ),
        ]
    );
    assert!(change.needs_target_group());
    let group = GroupId::new_v7();
    let granted = change.clone().grant_in(Some(group), None, now()).unwrap();
    let grant = granted.grant.as_ref().unwrap();
    assert_eq!((grant.group_id, grant.user_id), (group, p.requester));
    assert_eq!(granted.events.len(), 3);
    assert_eq!(
        granted.events[2].event_type(),
        crate::events::ASSOCIATION_CHANGE
    );
    // Without the group, the request goes to error instead, and nothing is granted.
    let failed = change.grant_in(None, None, now()).unwrap();
    assert_eq!(
        (
            failed.request.status,
            failed.request.version,
            failed.grant.is_none()
        ),
        (RequestStatus::Error, 2, true)
    );
    assert_eq!(failed.events[1].event_type(), crate::events::REQUEST_ERROR);
}
