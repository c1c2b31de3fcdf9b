//! Break-glass requests (issue 27): the flow's rules, the submission (a long reason, the allowance,
//! approved at once with its review open for the administrators), and random sequences of reviews,
//! the grant ending and every other command — one review at most, by an administrator other than
//! the requester, and a revocation ends the grant exactly when it is still active.

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::access::{Grant, GrantStatus};
use crate::directory::{Email, User};
use crate::flow::{
    BREAK_GLASS_PER_WINDOW, BREAK_GLASS_REASON_MIN_CHARS, Extensions, FormAnswers, Fulfilment,
    Provisioning, TimedAccess, TimedAccessMode,
};
use crate::request::{BreakGlassInput, ReviewOutcome, TaskState, TaskType, check_allowance};

/// An automatic resource-request flow with short timed access, break-glass.
fn break_glass_draft() -> FlowDraft {
    let mut draft = flow(ApprovalType::Automatic).to_draft();
    draft.timed_access = Some(TimedAccess {
        mode: TimedAccessMode::Fixed,
        durations_seconds: vec![3600],
    });
    draft.break_glass = true;
    draft
}

fn fields_of(draft: FlowDraft) -> Vec<String> {
    ApprovalFlow::new(FlowId::new_v7(), draft, LIMITS, now())
        .map(drop)
        .unwrap_err()
        .into_errors()
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn a_break_glass_flow_is_automatic_short_and_gives_its_access_at_once() {
    let valid = ApprovalFlow::new(FlowId::new_v7(), break_glass_draft(), LIMITS, now()).unwrap();
    assert!(valid.break_glass() && valid.to_draft().break_glass);

    let mut manual = flow(ApprovalType::Manual).to_draft();
    manual.timed_access = break_glass_draft().timed_access;
    manual.break_glass = true;
    assert_eq!(fields_of(manual), ["approval_type"]);
    let mut untimed = break_glass_draft();
    untimed.timed_access = None;
    assert_eq!(fields_of(untimed), ["timed_access"]);
    let mut long = break_glass_draft();
    long.timed_access = Some(TimedAccess {
        mode: TimedAccessMode::Choices,
        durations_seconds: vec![3600, 4 * 3600 + 1],
    });
    assert_eq!(fields_of(long), ["timed_access.durations_seconds[1]"]);
    let mut provisioned = break_glass_draft();
    provisioned.fulfilment = Some(Fulfilment {
        provisioning: Provisioning::Manual,
        assignment: true,
    });
    provisioned.owner_ids = vec![UserId::new_v7()];
    assert_eq!(
        fields_of(provisioned),
        ["fulfilment.provisioning", "fulfilment.assignment"]
    );
    let mut extended = break_glass_draft();
    extended.extensions = Some(Extensions {
        approval: crate::flow::ExtensionApproval::Automatic,
        max_count: None,
        max_total_seconds: None,
    });
    assert_eq!(fields_of(extended), ["extensions"]);
    let mut device = break_glass_draft();
    device.kind = FlowKind::DeviceAdmin;
    device.target_group_id = None;
    device.timed_access = None;
    device.session_durations_seconds = vec![900];
    assert_eq!(fields_of(device), ["break_glass"]);
}

fn requester(id: UserId) -> User {
    User {
        email: Email::parse("riley@example.com").unwrap(),
        ..colleague(id, false)
    }
}

/// A break-glass draft for `who` with `reason`, `recent` requests of theirs and the admins.
fn check(
    flow: &ApprovalFlow,
    who: &User,
    reason: &str,
    input: &BreakGlassInput,
) -> Result<Submission, RequestError> {
    Draft {
        flow_id: flow.id(),
        flow: Some(flow),
        visible: true,
        open_request: None,
        requester: who,
        reason,
        duration_seconds: None,
        device_id: None,
        device: None,
        resubmitted_from: None,
        form: &FormAnswers::default(),
        policy: None,
        break_glass: Some(input),
        starts_at: None,
        now: now(),
    }
    .check()
}

const EMERGENCY: &str = "Production database is down, restoring from the last backup";

#[test]
fn a_break_glass_submission_needs_a_long_reason_and_an_allowance_left() {
    let flow = ApprovalFlow::new(FlowId::new_v7(), break_glass_draft(), LIMITS, now()).unwrap();
    let p = people();
    let who = requester(p.requester);
    let input = BreakGlassInput {
        recent: Vec::new(),
        admins: vec![p.admin, p.requester],
    };
    let short = "x".repeat(BREAK_GLASS_REASON_MIN_CHARS - 1);
    let refused = check(&flow, &who, &format!("  {short}  "), &input).unwrap_err();
    assert_eq!(refused.field(), Some("reason"));
    let long = "x".repeat(BREAK_GLASS_REASON_MIN_CHARS);
    assert!(check(&flow, &who, &long, &input).is_ok());

    let used = BreakGlassInput {
        recent: vec![now() - Duration::hours(23), now() - Duration::hours(1)],
        ..input.clone()
    };
    match check(&flow, &who, EMERGENCY, &used).unwrap_err() {
        RequestError::TooMany {
            retry_after_seconds,
            ..
        } => assert_eq!(
            retry_after_seconds, 3600,
            "when the older one leaves the window"
        ),
        other => panic!("expected TooMany, got {other:?}"),
    }
    let aged = BreakGlassInput {
        recent: vec![now() - Duration::hours(24), now() - Duration::hours(1)],
        ..input
    };
    assert!(
        check(&flow, &who, EMERGENCY, &aged).is_ok(),
        "24 hours ago is out of the window"
    );
}

/// A submitted break-glass request (approved, its grant in `group`) and its grant.
fn granted(p: &People, by: UserId) -> (AccessRequest, Grant, Change) {
    let flow = ApprovalFlow::new(FlowId::new_v7(), break_glass_draft(), LIMITS, now()).unwrap();
    let input = BreakGlassInput {
        recent: Vec::new(),
        admins: vec![p.admin, p.manager, p.requester],
    };
    let submission = check(&flow, &requester(p.requester), EMERGENCY, &input).unwrap();
    let change = AccessRequest::submit(RequestId::new_v7(), submission, Vec::new(), 30, by, now())
        .unwrap()
        .grant_in(Some(GroupId::new_v7()), None, now())
        .unwrap();
    let grant = change.grant.clone().unwrap();
    (change.request.clone(), grant, change)
}

#[test]
fn a_break_glass_request_is_approved_at_once_and_its_review_waits_on_the_other_admins() {
    let p = people();
    let (request, grant, change) = granted(&p, p.requester);
    assert_eq!(request.status, RequestStatus::Approved);
    assert!(request.break_glass() && request.awaits_review());
    assert_eq!(grant.expires_at, Some(now() + Duration::hours(1)));
    let review = request.review_task().unwrap();
    assert_eq!(
        review.assignee_ids,
        [p.admin, p.manager],
        "never the requester"
    );
    let kinds: Vec<&str> = change.events.iter().map(|e| e.event_type()).collect();
    assert_eq!(
        kinds,
        [
            crate::events::REQUEST_CREATED,
            crate::events::REQUEST_BREAK_GLASS,
            crate::events::REQUEST_APPROVED,
            crate::events::ASSOCIATION_CHANGE,
        ]
    );
    // The review holds no ticket open, and is nobody's fulfilment.
    assert!(request.open_place().is_none() && request.fulfilment_state().is_none());
    let index = request.task_index();
    assert_eq!(index.len(), 2);
    assert!(index.iter().all(|e| e.task_type == TaskType::Review));
    // Nor can it be completed or reassigned as a fulfilment task is.
    let done = request.complete_task(TaskType::Review, &admin(p.admin), None, None, now());
    assert!(matches!(done, Err(RequestError::Conflict(_))));
    // An admin who asked on someone's behalf does not review it either.
    let (on_behalf, ..) = granted(&p, p.manager);
    assert_eq!(on_behalf.review_task().unwrap().assignee_ids, [p.admin]);
}

#[test]
fn break_glass_access_is_not_extended() {
    let p = people();
    let (request, ..) = granted(&p, p.requester);
    assert!(matches!(
        request.check_extension_source(),
        Err(RequestError::Conflict(_))
    ));
}

#[derive(Debug, Clone)]
enum Action {
    Review(usize, bool),
    /// The grant ends by itself (it expires) or is given up by its holder.
    EndGrant,
    Cancel(usize),
    Comment(usize),
    Override(bool),
    Expire(i64),
    Fail,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0usize..5, any::<bool>()).prop_map(|(who, revoke)| Action::Review(who, revoke)),
        1 => Just(Action::EndGrant),
        1 => (0usize..5).prop_map(Action::Cancel),
        1 => (0usize..5).prop_map(Action::Comment),
        1 => any::<bool>().prop_map(Action::Override),
        1 => (0i64..40).prop_map(Action::Expire),
        1 => Just(Action::Fail),
    ]
}

/// Saves a change as a store would: the request, and the grant it ended (only over the version read).
fn save(
    request: &mut AccessRequest,
    grant: &mut Grant,
    change: Change,
) -> Result<(), RequestError> {
    if let Some(ended) = change.ended_grant.clone() {
        if ended.version != grant.version + 1 {
            return Err(RequestError::conflict("the grant changed"));
        }
        *grant = ended;
    }
    *request = change.request;
    Ok(())
}

proptest! {
    #[test]
    fn a_break_glass_request_is_reviewed_once_by_another_admin_and_a_revocation_ends_active_access(
        allowance_used in proptest::collection::vec(0i64..48, 0..4),
        actions in proptest::collection::vec(action(), 0..20),
    ) {
        let p = people();
        // 0 requester (an admin too), 1 manager (an admin), 2 a reviewer (a person), 3 admin, 4 deputy.
        let deputy = UserId::new_v7();
        let cast = [p.requester, p.manager, p.reviewers[0], p.admin, deputy];
        let acts_as = |who: usize| match who {
            0 | 1 | 3 => admin(cast[who]),
            _ => person(cast[who]),
        };
        // The allowance: refused exactly when two of the person's requests are of the last 24 hours.
        let recent: Vec<_> = allowance_used.iter().map(|h| now() - Duration::hours(*h)).collect();
        let in_window = allowance_used.iter().filter(|h| **h < 24).count();
        let allowed = check_allowance(&recent, now());
        prop_assert_eq!(allowed.is_ok(), in_window < BREAK_GLASS_PER_WINDOW);
        if let Err(RequestError::TooMany { retry_after_seconds, .. }) = allowed {
            prop_assert!((1..=24 * 3600).contains(&retry_after_seconds));
            let later = now() + Duration::seconds(retry_after_seconds);
            prop_assert!(check_allowance(&recent, later).is_ok(), "allowed again once told");
        }

        let (mut request, mut grant, _) = granted(&p, p.requester);
        let mut reviews = 0;
        for action in actions {
            let before = (request.clone(), grant.clone());
            let result = match action {
                Action::Review(who, revoke) => {
                    let outcome = if revoke { ReviewOutcome::Revoke } else { ReviewOutcome::Confirm };
                    let change = request.review(&acts_as(who), outcome, Some("checked the incident"), Some(grant.clone()), now());
                    let may = acts_as(who).is_admin() && who != 0 && before.0.awaits_review();
                    prop_assert_eq!(change.is_ok(), may, "only another admin reviews, once");
                    if let Ok(change) = &change {
                        let ends = revoke && before.1.status == GrantStatus::Active;
                        prop_assert_eq!(change.ended_grant.is_some(), ends, "a revocation ends active access");
                        reviews += 1;
                    }
                    change.and_then(|c| save(&mut request, &mut grant, c))
                }
                Action::EndGrant => {
                    let mut ended = grant.clone();
                    match ended.end(GrantStatus::Revoked, Some(p.requester), now()) {
                        Ok(started) => {
                            let change = request.access_removed(&ended, started, Some(p.requester), &[p.admin], now());
                            grant = ended;
                            save(&mut request, &mut grant, change)
                        }
                        Err(e) => Err(RequestError::conflict(e)),
                    }
                }
                Action::Cancel(who) => {
                    let change = request.cancel(&acts_as(who), now());
                    change.and_then(|c| save(&mut request, &mut grant, c))
                }
                Action::Comment(who) => {
                    let change = request.comment(&acts_as(who), "Which incident was this?", now());
                    change.and_then(|c| save(&mut request, &mut grant, c))
                }
                Action::Override(approve) => {
                    let verdict = if approve { Verdict::Approve } else { Verdict::Deny };
                    override_as(&mut request, admin(p.admin), verdict).map(drop)
                }
                Action::Expire(days) => {
                    let change = request.expire(now() + Duration::days(days));
                    change.and_then(|c| save(&mut request, &mut grant, c))
                }
                Action::Fail => {
                    let change = request.fail("the manager changed", None);
                    change.and_then(|c| save(&mut request, &mut grant, c))
                }
            };
            if result.is_err() {
                prop_assert_eq!(&(request.clone(), grant.clone()), &before, "a refused action changes nothing");
            }
            // Whatever happens, the request stays approved and break-glass, holds no ticket open,
            // and its review waits on its reviewers until it is done, once.
            prop_assert_eq!(request.status, RequestStatus::Approved);
            prop_assert!(request.break_glass() && request.open_place().is_none());
            let review = request.review_task().unwrap().clone();
            prop_assert_eq!(review.state == TaskState::Open, reviews == 0);
            prop_assert_eq!(review.outcome.is_some(), reviews == 1);
            prop_assert!(!review.assignee_ids.contains(&p.requester));
            let waiting = request.task_index();
            prop_assert_eq!(waiting.len(), if reviews == 0 { review.assignee_ids.len() } else { 0 });
            if review.outcome == Some(ReviewOutcome::Revoke) && before.1.status == GrantStatus::Active {
                prop_assert_eq!(grant.status, GrantStatus::Revoked);
            }
        }
        prop_assert!(reviews <= 1);
    }
}
