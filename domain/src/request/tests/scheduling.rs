//! Scheduled starts and activation (issue 27): which starts a submission takes, and random
//! sequences of decisions, the clock moving, the jobs, activations and revocations — a grant holds a
//! membership exactly while it is active, starts at most once (never after it ended), and its clock
//! runs from its start.

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::access::{Grant, GrantStatus};
use crate::flow::{Activation, Scheduling, TimedAccess, TimedAccessMode};

const LEAD_HOURS: i64 = 24;

/// [`flow`] with timed access (an hour), scheduling a day ahead, and `activation` when given.
fn scheduled_flow(activation_hours: Option<i64>) -> ApprovalFlow {
    let mut draft = flow(ApprovalType::Manual).to_draft();
    draft.timed_access = Some(TimedAccess {
        mode: TimedAccessMode::Fixed,
        durations_seconds: vec![3600],
    });
    draft.scheduling = Some(Scheduling {
        max_lead_seconds: LEAD_HOURS * 3600,
    });
    draft.activation = activation_hours.map(|h| Activation {
        window_seconds: h * 3600,
    });
    ApprovalFlow::new(FlowId::new_v7(), draft, LIMITS, now()).unwrap()
}

#[derive(Debug, Clone)]
enum Action {
    Approve(usize),
    Deny(usize),
    /// The clock moves on this many minutes.
    Wait(i64),
    /// A pass of the jobs: due scheduled grants start, lapsed ones end, ended ones expire.
    Jobs,
    /// The holder activates their grant.
    Activate,
    /// An administrator revokes the grant.
    Revoke,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (0usize..5).prop_map(Action::Approve),
        1 => (0usize..5).prop_map(Action::Deny),
        4 => (0i64..900).prop_map(Action::Wait),
        3 => Just(Action::Jobs),
        2 => Just(Action::Activate),
        1 => Just(Action::Revoke),
    ]
}

/// What a store holds besides the request: the grant, whether its membership exists, and how it
/// started (when, and how many times).
#[derive(Debug, Default)]
struct Store {
    grant: Option<Grant>,
    member: bool,
    starts: usize,
    started_at: Option<DateTime<Utc>>,
    ended: bool,
}

impl Store {
    /// The request event a grant change causes (as the services record it): its name, and the
    /// request left as it was.
    fn record(&self, request: &AccessRequest, started: bool, by: Option<UserId>) {
        let grant = self.grant.as_ref().unwrap();
        let change = if started {
            request.access_started(grant, by)
        } else {
            request.access_removed(grant, false, by, &[], now())
        };
        let expected = if started {
            crate::events::GRANT_START
        } else {
            crate::events::GRANT_CANCEL
        };
        assert_eq!(change.events[0].event_type(), expected);
        assert_eq!((change.write, &change.request), (Write::Unchanged, request));
    }
}

proptest! {
    #[test]
    fn a_grant_that_waits_starts_once_holds_its_membership_only_while_active_and_runs_from_its_start(
        starts_in in proptest::option::of(-3i64..(LEAD_HOURS * 60 + 10)),
        activation_hours in proptest::option::of(1i64..6),
        actions in proptest::collection::vec(action(), 0..40),
    ) {
        let p = people();
        let cast = [p.requester, p.manager, p.reviewers[0], p.reviewers[1], p.admin];
        let flow = scheduled_flow(activation_hours);
        let asked = starts_in.map(|minutes| now() + Duration::minutes(minutes));
        // The flow's horizon and a minute's tolerance for "now", as a table.
        let acceptable = starts_in.is_none_or(|m| (-1..=LEAD_HOURS * 60).contains(&m));
        let chosen = choose_start(&flow, asked, now());
        prop_assert_eq!(chosen.is_ok(), acceptable, "{:?}", chosen);
        let Ok(starts_at) = chosen else { return Ok(()); };
        let submission = Submission { starts_at, duration_seconds: Some(3600), ..submission(p.requester, ApproverRequirement::Any) };
        let steps = vec![step(0, ApproverSpec::RequesterManager, &[p.manager], false)];
        let mut request = AccessRequest::submit(RequestId::new_v7(), submission, steps, 30, p.requester, now()).unwrap().request;
        prop_assert_eq!(request.starts_at(), starts_at);
        let mut store = Store::default();
        let mut t = now();
        for action in actions {
            let before = (request.clone(), store.grant.clone());
            match action {
                Action::Approve(who) | Action::Deny(who) => {
                    let verdict = if matches!(action, Action::Approve(_)) { Verdict::Approve } else { Verdict::Deny };
                    let Ok(change) = request.decide(&command(verdict), &person(cast[who]), t) else {
                        prop_assert_eq!(&request, &before.0);
                        continue;
                    };
                    let change = change.grant_in(Some(GroupId::new_v7()), flow.activation(), t).unwrap();
                    if let Some(grant) = change.grant.clone() {
                        // What the approval gave, as a table.
                        let expected = match (activation_hours, starts_at.filter(|s| *s > t)) {
                            (Some(_), _) => GrantStatus::AwaitingActivation,
                            (None, Some(_)) => GrantStatus::Scheduled,
                            (None, None) => GrantStatus::Active,
                        };
                        prop_assert_eq!(grant.status, expected);
                        if let Some(h) = activation_hours {
                            let opens = starts_at.filter(|s| *s > t).unwrap_or(t);
                            prop_assert_eq!(grant.activate_by, Some(opens + Duration::hours(h)));
                            prop_assert_eq!(grant.expires_at, None);
                        }
                        let kind = change.events.last().unwrap().event_type();
                        let given = if expected == GrantStatus::Active { crate::events::ASSOCIATION_CHANGE } else { crate::events::GRANT_SCHEDULE };
                        prop_assert_eq!(kind, given);
                        if expected == GrantStatus::Active {
                            store.member = true;
                            store.starts += 1;
                            store.started_at = Some(t);
                        }
                        store.grant = Some(grant);
                    }
                    request = change.request;
                }
                Action::Wait(minutes) => t += Duration::minutes(minutes),
                Action::Jobs => {
                    let Some(grant) = store.grant.as_mut() else { continue; };
                    match grant.status {
                        GrantStatus::Scheduled if grant.starts_at.is_some_and(|s| s <= t) => {
                            let at = grant.starts_at;
                            let started = grant.start(t).unwrap();
                            prop_assert_eq!(started, at.unwrap() + Duration::hours(1) > t, "started unless its whole time passed");
                            if started {
                                store.member = true;
                                store.starts += 1;
                                store.started_at = at;
                            } else {
                                store.ended = true;
                            }
                            store.record(&request, started, None);
                        }
                        GrantStatus::AwaitingActivation if grant.activate_by.is_some_and(|by| by <= t) => {
                            grant.lapse(t).unwrap();
                            store.ended = true;
                            store.record(&request, false, None);
                        }
                        GrantStatus::Active if grant.expires_at.is_some_and(|e| e <= t) => {
                            prop_assert_eq!(grant.end(GrantStatus::Expired, None, t), Ok(true));
                            store.member = false;
                            store.ended = true;
                        }
                        _ => {
                            // Nothing is due: every job refuses.
                            let mut tried = grant.clone();
                            prop_assert!(tried.start(t).is_err() && tried.lapse(t).is_err());
                        }
                    }
                }
                Action::Activate => {
                    let Some(grant) = store.grant.as_mut() else { continue; };
                    let inside = grant.status == GrantStatus::AwaitingActivation
                        && grant.starts_at.is_none_or(|s| s <= t)
                        && grant.activate_by.is_some_and(|by| t < by);
                    let result = grant.activate(t);
                    prop_assert_eq!(result.is_ok(), inside, "{:?}", result);
                    if inside {
                        prop_assert_eq!(grant.expires_at, Some(t + Duration::hours(1)));
                        store.member = true;
                        store.starts += 1;
                        store.started_at = Some(t);
                        store.record(&request, true, Some(p.requester));
                    } else {
                        prop_assert_eq!(Some(&*grant), before.1.as_ref(), "a refused activation changes nothing");
                    }
                }
                Action::Revoke => {
                    let Some(grant) = store.grant.as_mut() else { continue; };
                    match grant.end(GrantStatus::Revoked, Some(p.admin), t) {
                        Ok(started) => {
                            prop_assert_eq!(started, store.member, "a membership to remove exactly when it started");
                            store.member = false;
                            store.ended = true;
                            if !started {
                                store.record(&request, false, Some(p.admin));
                            }
                        }
                        Err(_) => prop_assert!(store.ended),
                    }
                }
            }
            let Some(grant) = &store.grant else { continue; };
            prop_assert_eq!(store.member, grant.status == GrantStatus::Active, "a membership exactly while active");
            prop_assert!(store.starts <= 1, "a grant starts once");
            prop_assert!(!(store.ended && grant.status.is_waiting()), "an ended grant never waits again");
            if grant.status == GrantStatus::Active {
                prop_assert_eq!(grant.expires_at, store.started_at.map(|s| s + Duration::hours(1)), "the clock runs from the start");
            }
            prop_assert_eq!(request.status, RequestStatus::Approved, "a grant exists only for an approved request");
        }
    }
}
