use chrono::{Duration, TimeZone};
use proptest::prelude::*;

use super::*;
use crate::flow::{
    ApprovalFlow, ApprovalType, ApproverDraft, ApproverRequirement, ApproverSpec, ApproverType,
    DisplayDraft, FlowDraft, FlowKind, FlowLimits, ResolvedStep,
};
use crate::ids::RequestId;
use crate::ids::{FlowId, GroupId, UserId};

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
        p.requester,
        now(),
    )
    .unwrap()
    .request
}

fn person(id: UserId) -> Actor {
    Actor {
        id,
        role: Role::Person,
    }
}

fn admin(id: UserId) -> Actor {
    Actor {
        id,
        role: Role::Admin,
    }
}

fn command(verdict: Verdict) -> DecisionCommand {
    DecisionCommand {
        verdict,
        comment: None,
        reason: None,
        next_steps: None,
        is_override: false,
        internal_note: None,
        duration_seconds: None,
    }
}

/// Applies a command's change to `request` (as a store would save it).
fn apply(
    request: &mut AccessRequest,
    change: Result<Change, RequestError>,
) -> Result<(), RequestError> {
    let change = change?;
    assert_eq!(
        change.request.version,
        request.version + u8::from(change.write != Write::Unchanged) as i64,
        "a change bumps the version once, or leaves the request as it is"
    );
    *request = change.request;
    Ok(())
}

/// Decides with `command`; returns whether the request is now settled.
fn decide(
    request: &mut AccessRequest,
    actor: Actor,
    command: &DecisionCommand,
) -> Result<bool, RequestError> {
    let change = request.decide(command, &actor, now())?;
    let settled = change.request.status != RequestStatus::Pending;
    apply(request, Ok(change))?;
    Ok(settled)
}

fn approve(request: &mut AccessRequest, actor: UserId) -> Result<bool, RequestError> {
    decide(request, person(actor), &command(Verdict::Approve))
}

fn shorten(request: &mut AccessRequest, actor: UserId, seconds: i64) -> Result<bool, RequestError> {
    let mut approval = command(Verdict::Approve);
    approval.duration_seconds = Some(seconds);
    decide(request, person(actor), &approval)
}

fn override_as(
    request: &mut AccessRequest,
    actor: Actor,
    verdict: Verdict,
) -> Result<bool, RequestError> {
    let mut overriding = command(verdict);
    overriding.is_override = true;
    decide(request, actor, &overriding)
}

fn fail(request: &mut AccessRequest) -> Result<(), RequestError> {
    let change = request.fail("the manager changed", None);
    apply(request, change)
}

const LIMITS: FlowLimits = FlowLimits {
    max_duration_seconds: 30 * 86_400,
};

/// A manual flow of one step (the requester's manager).
fn flow(approval_type: ApprovalType) -> ApprovalFlow {
    let manual = approval_type == ApprovalType::Manual;
    let draft = FlowDraft {
        kind: FlowKind::ResourceRequest,
        name: "GitHub Admin".to_owned(),
        description: "Admin rights on the GitHub organisation".to_owned(),
        enabled: true,
        display: DisplayDraft {
            logo: None,
            color: Some("#24292f".to_owned()),
        },
        target_group_id: Some(GroupId::new_v7()),
        owner_ids: Vec::new(),
        visibility_group_ids: vec![GroupId::new_v7()],
        timed_access: None,
        session_durations_seconds: Vec::new(),
        approval_type,
        approvers: if manual {
            vec![ApproverDraft {
                approver_type: ApproverType::RequesterManager,
                group_id: None,
                require_all: None,
                admin_ids: None,
            }]
        } else {
            Vec::new()
        },
        approver_requirement: manual.then_some(ApproverRequirement::Any),
    };
    ApprovalFlow::new(FlowId::new_v7(), draft, LIMITS, now()).unwrap()
}

/// A person in the directory.
fn colleague(id: UserId, is_admin: bool) -> crate::directory::User {
    crate::directory::User {
        id,
        email: crate::directory::Email::parse("someone@example.com").unwrap(),
        display_name: crate::directory::DisplayName::parse("Someone").unwrap(),
        manager_id: None,
        is_admin,
        active: true,
        kind: crate::directory::UserKind::Person,
        external_id: None,
        version: 1,
        created_at: now(),
        updated_at: now(),
    }
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
    let granted = change.clone().grant_in(Some(group), now()).unwrap();
    let grant = granted.grant.as_ref().unwrap();
    assert_eq!((grant.group_id, grant.user_id), (group, p.requester));
    assert_eq!(granted.events.len(), 3);
    assert_eq!(
        granted.events[2].event_type(),
        crate::events::ASSOCIATION_CHANGE
    );
    // Without the group, the request goes to error instead, and nothing is granted.
    let failed = change.grant_in(None, now()).unwrap();
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

#[test]
fn overrides_need_an_admin_and_work_from_error() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::All);
    assert_eq!(
        override_as(&mut request, person(p.manager), Verdict::Approve),
        Err(RequestError::Forbidden("only administrators can override"))
    );
    let integration = Actor {
        id: p.admin,
        role: Role::Integration,
    };
    assert_eq!(
        decide(&mut request, integration, &command(Verdict::Approve)),
        Err(RequestError::Forbidden(
            "integration accounts never approve or deny"
        ))
    );
    fail(&mut request).unwrap();
    override_as(&mut request, admin(p.admin), Verdict::Approve).unwrap();
    assert_eq!(request.status, RequestStatus::Approved);
    assert!(request.outcome.as_ref().unwrap().is_override);
}

#[test]
fn cancel_is_for_the_requester_while_pending_or_an_admin() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::Any);
    assert_eq!(
        request.cancel(&person(p.manager), now()).unwrap_err(),
        RequestError::RequesterOnly
    );
    let change = request.cancel(&person(p.requester), now());
    apply(&mut request, change).unwrap();
    assert_eq!(request.status, RequestStatus::Canceled);
    assert_eq!(
        request.cancel(&person(p.requester), now()).unwrap_err(),
        RequestError::NotPending(RequestStatus::Canceled)
    );
    let mut failed = two_step(&p, ApproverRequirement::Any);
    fail(&mut failed).unwrap();
    assert_eq!(
        failed.cancel(&person(p.requester), now()).unwrap_err(),
        RequestError::RequesterOnly
    );
    assert!(failed.cancel(&admin(p.admin), now()).is_ok());
}

#[test]
fn retry_re_resolves_the_steps() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::AllInOrder);
    // A pending request is not in error: retrying it conflicts with its state (409), it is no bad input.
    let manual = flow(ApprovalType::Manual);
    let new_manager = UserId::new_v7();
    let steps = vec![step(
        0,
        ApproverSpec::RequesterManager,
        &[new_manager],
        false,
    )];
    let retry = |request: &AccessRequest, actor: Actor, flow: Option<&ApprovalFlow>| {
        request.retry(&actor, flow, steps.clone(), 30, now())
    };
    assert_eq!(
        retry(&request, admin(p.admin), Some(&manual)).unwrap_err(),
        RequestError::NotInError(RequestStatus::Pending)
    );
    fail(&mut request).unwrap();
    assert_eq!(
        retry(&request, person(p.manager), Some(&manual)).unwrap_err(),
        RequestError::AdminOnly
    );
    assert!(matches!(
        retry(&request, admin(p.admin), None),
        Err(RequestError::Conflict(_))
    ));
    let automatic = flow(ApprovalType::Automatic);
    assert!(matches!(
        retry(&request, admin(p.admin), Some(&automatic)),
        Err(RequestError::Conflict(_))
    ));
    let change = retry(&request, admin(p.admin), Some(&manual));
    apply(&mut request, change).unwrap();
    assert_eq!(
        (
            request.status,
            request.flow_version,
            request.approver_requirement
        ),
        (
            RequestStatus::Pending,
            manual.version(),
            Some(ApproverRequirement::Any)
        )
    );
    assert_eq!(approve(&mut request, new_manager), Ok(true));
}

#[test]
fn reassign_hands_over_a_place_in_the_active_step() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::AllInOrder);
    let deputy = colleague(UserId::new_v7(), false);
    assert_eq!(
        request
            .reassign(&person(p.reviewers[0]), Some(&deputy))
            .unwrap_err(),
        RequestError::NotAnApprover
    );
    let requester = colleague(p.requester, false);
    assert!(
        request
            .reassign(&person(p.manager), Some(&requester))
            .is_err()
    );
    assert_eq!(
        request
            .reassign(&person(p.manager), None)
            .unwrap_err()
            .field(),
        Some("to_user_id")
    );
    let change = request.reassign(&person(p.manager), Some(&deputy));
    apply(&mut request, change).unwrap();
    let deputy = deputy.id;
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
    assert!(shorten(&mut request, p.manager, 3600).is_err());
    approve(&mut request, p.manager).unwrap();
    approve(&mut request, p.reviewers[0]).unwrap();
    assert!(shorten(&mut request, p.reviewers[1], 90_000).is_err());
    assert_eq!(shorten(&mut request, p.reviewers[1], 3600), Ok(true));
    assert_eq!(request.duration_seconds, Some(3600));
}

#[test]
fn pending_requests_expire_only_after_their_time() {
    let p = people();
    let mut request = two_step(&p, ApproverRequirement::Any);
    assert!(request.expire(now() + Duration::days(29)).is_err());
    let change = request.expire(now() + Duration::days(30));
    apply(&mut request, change).unwrap();
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
    Expire(i64),
    Retry,
    Comment(usize),
    Resubmit(usize),
    StartSession(usize),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0usize..5).prop_map(Action::Approve),
        1 => (0usize..5).prop_map(Action::Deny),
        1 => any::<bool>().prop_map(Action::Override),
        1 => (0usize..5).prop_map(Action::Cancel),
        1 => Just(Action::Fail),
        1 => (0usize..5, 0usize..6).prop_map(|(a, b)| Action::Reassign(a, b)),
        1 => (0i64..40).prop_map(Action::Expire),
        1 => Just(Action::Retry),
        1 => (0usize..6).prop_map(Action::Comment),
        1 => (0usize..6).prop_map(Action::Resubmit),
        1 => (0usize..6).prop_map(Action::StartSession),
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
        let manual = flow(ApprovalType::Manual);
        // The admin acts as an admin, everyone else as a person.
        let actor = |id: UserId| if id == p.admin { admin(id) } else { person(id) };
        for action in actions {
            let before = request.clone();
            let result = match action {
                Action::Approve(who) => approve(&mut request, cast[who]).map(drop),
                Action::Deny(who) => decide(&mut request, person(cast[who]), &command(Verdict::Deny)).map(drop),
                Action::Override(approve) => {
                    let verdict = if approve { Verdict::Approve } else { Verdict::Deny };
                    override_as(&mut request, admin(p.admin), verdict).map(drop)
                }
                Action::Cancel(who) => {
                    let change = request.cancel(&actor(cast[who]), now());
                    apply(&mut request, change).map(drop)
                }
                Action::Fail => fail(&mut request).map(drop),
                Action::Reassign(from, to) => {
                    let change = request.reassign(&person(cast[from]), Some(&colleague(cast[to], false)));
                    apply(&mut request, change).map(drop)
                }
                Action::Expire(days) => {
                    let change = request.expire(now() + Duration::days(days));
                    apply(&mut request, change).map(drop)
                }
                Action::Retry => {
                    let steps = vec![step(0, ApproverSpec::RequesterManager, &[p.manager], false)];
                    let change = request.retry(&admin(p.admin), Some(&manual), steps, 30, now());
                    apply(&mut request, change).map(drop)
                }
                Action::Comment(who) => {
                    let change = request.comment(&actor(cast[who]), "Any update on this?", now());
                    apply(&mut request, change).map(drop)
                }
                Action::Resubmit(who) => request.resubmission(&actor(cast[who])).map(drop),
                Action::StartSession(who) => {
                    let change = request.start_session(&actor(cast[who]), false, now());
                    apply(&mut request, change).map(drop)
                }
            };
            if let Ok(()) = result {
                prop_assert!(request.may_view(&admin(p.admin)));
            }
            // The index follows the state: only a pending request is in anyone's tasks, and it is
            // in the tasks of exactly those it awaits.
            let awaiting: Vec<UserId> = request.approver_index().iter().filter(|e| e.awaiting).map(|e| e.user_id).collect();
            for who in cast {
                prop_assert_eq!(awaiting.contains(&who), request.awaits(who));
            }
            prop_assert_eq!(request.open_place().is_some(), matches!(request.status, RequestStatus::Pending | RequestStatus::Error));
            if result.is_err() {
                prop_assert_eq!(&request, &before, "a refused action changes nothing");
            }
            if before.status.is_terminal() {
                // Comments and sessions leave the request as it is; nothing else succeeds.
                prop_assert!(result.is_err() || request == before, "no transition out of a terminal state");
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
