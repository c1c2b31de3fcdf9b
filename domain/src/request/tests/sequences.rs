//! Random sequences of every command, by everyone involved: the invariants hold after each step.

use chrono::Duration;
use proptest::prelude::*;

use super::*;

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
    /// Escalation `hours` after submission, to the deputy and (never added) the requester.
    Escalate(i64),
    /// A break-glass review (this request is not one: always refused).
    Review(usize, bool),
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
        1 => (0i64..48).prop_map(Action::Escalate),
        1 => (0usize..6, any::<bool>()).prop_map(|(who, revoke)| Action::Review(who, revoke)),
    ]
}

fn requirement() -> impl Strategy<Value = ApproverRequirement> {
    prop_oneof![
        Just(ApproverRequirement::Any),
        Just(ApproverRequirement::All),
        Just(ApproverRequirement::AllInOrder)
    ]
}

/// A condition's outcome at submission: none, true, false, or an evaluation error.
fn outcome() -> impl Strategy<Value = Option<Result<bool, String>>> {
    prop_oneof![
        Just(None),
        Just(Some(Ok(true))),
        Just(Some(Ok(false))),
        Just(Some(Err("No such key: environment".to_owned()))),
    ]
}

/// The outcomes of an `auto_approve_if` and of the second step's `required_if`.
fn conditions(
    auto: Option<Result<bool, String>>,
    second_step: Option<Result<bool, String>>,
) -> Vec<crate::flow::ConditionOutcome> {
    let auto = auto.map(|result| crate::flow::ConditionOutcome {
        member: "auto_approve_if".to_owned(),
        step: None,
        expression: "\"oncall\" in requester.groups".to_owned(),
        result,
    });
    let step = second_step.map(|result| crate::flow::ConditionOutcome {
        member: "approvers[1].required_if".to_owned(),
        step: Some(1),
        expression: "request.form.environment == \"prod\"".to_owned(),
        result,
    });
    auto.into_iter().chain(step).collect()
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
    fn random_decision_sequences_keep_the_invariants(
        requirement in requirement(),
        auto in outcome(),
        second_step in outcome(),
        actions in proptest::collection::vec(action(), 0..25),
    ) {
        let p = people();
        let deputy = UserId::new_v7();
        // 0 requester, 1 manager, 2-3 reviewers, 4 admin (not an approver), 5 a deputy.
        let cast = [p.requester, p.manager, p.reviewers[0], p.reviewers[1], p.admin, deputy];
        let outcomes = conditions(auto.clone(), second_step.clone());
        let created = two_step_with(&p, requirement, outcomes.clone());
        let mut request = created.request.clone();
        // What the conditions did at submission: approved at once (only when auto_approve_if is
        // true), or the second step left out (only when its required_if is false).
        let auto_approved = auto == Some(Ok(true));
        prop_assert_eq!(request.status == RequestStatus::Approved, auto_approved);
        if auto_approved {
            prop_assert!(request.steps.is_empty());
            let outcome = request.outcome.clone().unwrap();
            prop_assert!(outcome.decided_by.is_none() && !outcome.is_override);
            prop_assert!(outcome.comment.unwrap().starts_with("auto-approved by condition auto_approve_if"));
        } else {
            let positions: Vec<usize> = request.steps.iter().map(|s| s.position).collect();
            let expected = if second_step == Some(Ok(false)) { vec![0] } else { vec![0, 1] };
            prop_assert_eq!(positions, expected);
            prop_assert!(request.steps[0].state == StepState::Active);
        }
        let recorded = created.events[0].kind.data();
        prop_assert_eq!(recorded.get("conditions").map_or(0, |c| c.as_array().map_or(0, Vec::len)), outcomes.len());
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
                    let change = request.reassign(&person(cast[from]), false, None, Some(&colleague(cast[to], false)));
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
                Action::Resubmit(who) => request.resubmission(&actor(cast[who]), now()).map(drop),
                Action::Escalate(hours) => {
                    let escalation = crate::flow::Escalation::new_unchecked(24, ApproverSpec::RequesterManager);
                    let change = request.escalate(&escalation, &[deputy, p.requester], now() + Duration::hours(hours));
                    if hours < 24 {
                        prop_assert!(change.is_err(), "never before its time");
                    }
                    let escalated = change.is_ok();
                    let result = apply(&mut request, change);
                    if escalated {
                        // Only approvers were added: every decision and step state stays.
                        for (old, new) in before.steps.iter().zip(&request.steps) {
                            prop_assert_eq!(&old.decisions, &new.decisions);
                            prop_assert_eq!(old.state, new.state);
                            prop_assert!(old.approver_ids.iter().all(|id| new.approver_ids.contains(id)));
                        }
                        prop_assert!(request.awaits(deputy));
                    }
                    result
                }
                Action::Review(who, revoke) => {
                    let outcome = if revoke { crate::request::ReviewOutcome::Revoke } else { crate::request::ReviewOutcome::Confirm };
                    let change = request.review(&actor(cast[who]), outcome, None, None, now());
                    prop_assert!(change.is_err(), "only a break-glass request has a review");
                    apply(&mut request, change).map(drop)
                }
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
                prop_assert!(
                    overridden || auto_approved || requirement_holds(&request),
                    "approved only by requirement, override or a condition at submission"
                );
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
