use chrono::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::flow::ApproverSpec;
use crate::ids::RequestId;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

fn step(
    position: usize,
    spec: ApproverSpec,
    approvers: &[UserId],
    require_all: bool,
) -> ResolvedStep {
    ResolvedStep {
        position,
        spec,
        approver_ids: approvers.to_vec(),
        require_all,
    }
}

fn submission(requester: UserId, requirement: ApproverRequirement) -> Submission {
    Submission {
        flow_id: FlowId::new_v7(),
        flow_name: "GitHub Admin".into(),
        flow_version: 3,
        kind: FlowKind::ResourceRequest,
        approval_type: ApprovalType::Manual,
        approver_requirement: Some(requirement),
        requester_id: requester,
        reason: "Review pull requests for the release".into(),
        duration_seconds: Some(86_400),
        device_id: None,
        resubmitted_from: None,
    }
}

struct People {
    requester: UserId,
    manager: UserId,
    reviewers: [UserId; 2],
    admin: UserId,
}

fn people() -> People {
    People {
        requester: UserId::new_v7(),
        manager: UserId::new_v7(),
        reviewers: [UserId::new_v7(), UserId::new_v7()],
        admin: UserId::new_v7(),
    }
}

/// Manager, then every reviewer (require_all), in the given requirement.
fn two_step(p: &People, requirement: ApproverRequirement) -> AccessRequest {
    let group = ApproverSpec::UserGroup {
        group_id: crate::ids::GroupId::new_v7(),
        require_all: true,
    };
    let steps = vec![
        step(0, ApproverSpec::RequesterManager, &[p.manager], false),
        step(1, group, &p.reviewers, true),
    ];
    AccessRequest::submit(
        RequestId::new_v7(),
        submission(p.requester, requirement),
        steps,
        30,
        now(),
    )
    .unwrap()
}

fn approve(request: &mut AccessRequest, actor: UserId) -> Result<bool, RequestError> {
    request.decide(actor, Verdict::Approve, None, (None, None), None, now())
}

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
        request.decide(p.reviewers[0], Verdict::Deny, None, denial, None, now()),
        Ok(true)
    );
    assert_eq!(request.status, RequestStatus::Denied);
    assert_eq!(
        request.outcome.as_ref().unwrap().next_steps.as_deref(),
        Some("Ask your lead")
    );
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
        request.override_decision(
            p.requester,
            true,
            Verdict::Approve,
            None,
            (None, None),
            now()
        ),
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
    let request = AccessRequest::submit(RequestId::new_v7(), submitted, vec![], 30, now()).unwrap();
    assert_eq!(
        (request.status, request.decided_at, request.expires_at),
        (RequestStatus::Approved, Some(now()), None)
    );
}

#[test]
fn overrides_need_an_admin_and_work_from_error() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::All);
    assert_eq!(
        request.override_decision(
            p.manager,
            false,
            Verdict::Approve,
            None,
            (None, None),
            now()
        ),
        Err(RequestError::AdminOnly)
    );
    request.fail("the manager changed".into()).unwrap();
    request
        .override_decision(
            p.admin,
            true,
            Verdict::Approve,
            Some("urgent".into()),
            (None, None),
            now(),
        )
        .unwrap();
    assert_eq!(request.status, RequestStatus::Approved);
    assert!(request.outcome.as_ref().unwrap().is_override);
}

#[test]
fn cancel_is_for_the_requester_while_pending_or_an_admin() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::Any);
    assert_eq!(
        request.cancel(p.manager, false, now()),
        Err(RequestError::RequesterOnly)
    );
    request.cancel(p.requester, false, now()).unwrap();
    assert_eq!(request.status, RequestStatus::Canceled);
    assert_eq!(
        request.cancel(p.requester, false, now()),
        Err(RequestError::NotPending(RequestStatus::Canceled))
    );
    let mut failed = two_step(&p, ApproverRequirement::Any);
    failed.fail("approvers changed".into()).unwrap();
    assert_eq!(
        failed.cancel(p.requester, false, now()),
        Err(RequestError::RequesterOnly)
    );
    failed.cancel(p.admin, true, now()).unwrap();
}

#[test]
fn retry_re_resolves_the_steps() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::AllInOrder);
    // A pending request is not in error: retrying it conflicts with its state (409), it is no bad input.
    assert_eq!(
        request.retry(true, 4, Vec::new(), None, 30, now()),
        Err(RequestError::NotInError(RequestStatus::Pending))
    );
    request.fail("the manager changed".into()).unwrap();
    let new_manager = UserId::new_v7();
    let steps = vec![step(
        0,
        ApproverSpec::RequesterManager,
        &[new_manager],
        false,
    )];
    assert_eq!(
        request.retry(
            false,
            4,
            steps.clone(),
            Some(ApproverRequirement::Any),
            30,
            now()
        ),
        Err(RequestError::AdminOnly)
    );
    request
        .retry(true, 4, steps, Some(ApproverRequirement::Any), 30, now())
        .unwrap();
    assert_eq!(
        (request.status, request.flow_version),
        (RequestStatus::Pending, 4)
    );
    assert_eq!(approve(&mut request, new_manager), Ok(true));
}

#[test]
fn reassign_hands_over_a_place_in_the_active_step() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::AllInOrder);
    let deputy = UserId::new_v7();
    assert_eq!(
        request.reassign(p.reviewers[0], deputy),
        Err(RequestError::NotAnApprover)
    );
    assert!(request.reassign(p.manager, p.requester).is_err());
    request.reassign(p.manager, deputy).unwrap();
    assert_eq!(
        approve(&mut request, p.manager),
        Err(RequestError::NotAnApprover)
    );
    assert_eq!(approve(&mut request, deputy), Ok(false));
}

#[test]
fn only_the_completing_approval_may_shorten_and_never_lengthen() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::AllInOrder);
    assert!(
        request
            .decide(
                p.manager,
                Verdict::Approve,
                None,
                (None, None),
                Some(3600),
                now()
            )
            .is_err()
    );
    approve(&mut request, p.manager).unwrap();
    approve(&mut request, p.reviewers[0]).unwrap();
    assert!(
        request
            .decide(
                p.reviewers[1],
                Verdict::Approve,
                None,
                (None, None),
                Some(90_000),
                now()
            )
            .is_err()
    );
    assert_eq!(
        request.decide(
            p.reviewers[1],
            Verdict::Approve,
            None,
            (None, None),
            Some(3600),
            now()
        ),
        Ok(true)
    );
    assert_eq!(request.duration_seconds, Some(3600));
}

#[test]
fn pending_requests_expire_only_after_their_time() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::Any);
    assert!(request.expire(now() + Duration::days(29)).is_err());
    request.expire(now() + Duration::days(30)).unwrap();
    assert_eq!(request.status, RequestStatus::Expired);
}

#[test]
fn reasons_and_texts_are_trimmed_and_bounded() {
    assert_eq!(
        parse_reason("  Need to review the release  ").unwrap(),
        "Need to review the release"
    );
    assert!(parse_reason("too short").is_err());
    assert!(parse_reason(&"x".repeat(2001)).is_err());
    assert_eq!(parse_text(Some("   ")).unwrap(), None);
    assert!(parse_text(Some(&"x".repeat(2001))).is_err());
    // The maximum counts the text as sent (the API schema's maxLength), padding included.
    let full = "x".repeat(2000);
    assert!(parse_reason(&full).is_ok());
    assert!(parse_reason(&format!(" {full}")).is_err());
    assert_eq!(
        parse_text(Some(&full)).unwrap().as_deref(),
        Some(full.as_str())
    );
    assert!(parse_text(Some(&format!("{full}\u{a0}"))).is_err());
}

#[derive(Debug, Clone)]
enum Action {
    Approve(usize),
    Deny(usize),
    Override(bool),
    Cancel(usize),
    Fail,
    Reassign(usize, usize),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0usize..5).prop_map(Action::Approve),
        1 => (0usize..5).prop_map(Action::Deny),
        1 => any::<bool>().prop_map(Action::Override),
        1 => (0usize..5).prop_map(Action::Cancel),
        1 => Just(Action::Fail),
        1 => (0usize..5, 0usize..6).prop_map(|(a, b)| Action::Reassign(a, b)),
    ]
}

fn requirement() -> impl Strategy<Value = ApproverRequirement> {
    prop_oneof![
        Just(ApproverRequirement::Any),
        Just(ApproverRequirement::All),
        Just(ApproverRequirement::AllInOrder)
    ]
}

/// Whether the steps alone justify an approval under the requirement.
fn requirement_holds(request: &AccessRequest) -> bool {
    let approved = |s: &Step| s.satisfied();
    match request
        .approver_requirement
        .unwrap_or(ApproverRequirement::Any)
    {
        ApproverRequirement::Any => request.steps.iter().any(approved),
        _ => request.steps.iter().all(approved),
    }
}

proptest! {
    #[test]
    fn random_decision_sequences_keep_the_invariants(requirement in requirement(), actions in proptest::collection::vec(action(), 0..25)) {
        let p = people();
        let deputy = UserId::new_v7();
        // 0 requester, 1 manager, 2-3 reviewers, 4 admin (not an approver), 5 a deputy.
        let cast = [p.requester, p.manager, p.reviewers[0], p.reviewers[1], p.admin, deputy];
        let mut request = two_step(&p, requirement);
        for action in actions {
            let before = request.clone();
            let result = match action {
                Action::Approve(who) => approve(&mut request, cast[who]).map(drop),
                Action::Deny(who) => request.decide(cast[who], Verdict::Deny, None, (None, None), None, now()).map(drop),
                Action::Override(approve) => {
                    let verdict = if approve { Verdict::Approve } else { Verdict::Deny };
                    request.override_decision(p.admin, true, verdict, None, (None, None), now())
                }
                Action::Cancel(who) => request.cancel(cast[who], cast[who] == p.admin, now()),
                Action::Fail => request.fail("something changed".into()),
                Action::Reassign(from, to) => request.reassign(cast[from], cast[to]),
            };
            if result.is_err() {
                prop_assert_eq!(&request, &before, "a refused action changes nothing");
            }
            if before.status.is_terminal() {
                prop_assert!(result.is_err(), "no transition out of a terminal state");
            }
            if request.status == RequestStatus::Approved {
                let overridden = request.outcome.as_ref().is_some_and(|o| o.is_override);
                prop_assert!(overridden || requirement_holds(&request), "approved only by requirement or override");
            }
            for step in &request.steps {
                prop_assert!(!step.approver_ids.contains(&p.requester), "the requester never approves");
                prop_assert!(step.decisions.iter().all(|d| d.approver_id != p.requester));
            }
            if requirement == ApproverRequirement::AllInOrder && request.status == RequestStatus::Pending {
                prop_assert!(request.steps.iter().filter(|s| s.state == StepState::Active).count() <= 1);
            }
        }
    }
}
