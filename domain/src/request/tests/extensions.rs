//! Extension requests (issue 27): which submissions the flow's rules accept, and random sequences
//! of decisions, cancellations and the grant ending meanwhile — the grant moves once, by the asked
//! time, exactly when the extension is approved while the grant is active, and never shortens.

use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::access::{Grant, GrantStatus};
use crate::flow::{ExtensionApproval, Extensions, TimedAccess, TimedAccessMode};

/// [`flow`] with timed access (one hour or a day) and `extensions`.
fn timed_flow(extensions: Option<Extensions>) -> ApprovalFlow {
    let mut draft = flow(ApprovalType::Manual).to_draft();
    draft.timed_access = Some(TimedAccess {
        mode: TimedAccessMode::Choices,
        durations_seconds: vec![3600, 86_400],
    });
    draft.extensions = extensions;
    ApprovalFlow::new(FlowId::new_v7(), draft, LIMITS, now()).unwrap()
}

fn requirement() -> impl Strategy<Value = ApproverRequirement> {
    prop_oneof![
        Just(ApproverRequirement::Any),
        Just(ApproverRequirement::All),
        Just(ApproverRequirement::AllInOrder)
    ]
}

fn rules() -> impl Strategy<Value = Option<Extensions>> {
    let approval = prop_oneof![
        Just(ExtensionApproval::Same),
        Just(ExtensionApproval::Automatic),
        Just(ExtensionApproval::None)
    ];
    proptest::option::of(
        (
            approval,
            proptest::option::of(1i64..4),
            proptest::option::of(prop_oneof![Just(3600i64), Just(7200), Just(90_000)]),
        )
            .prop_map(|(approval, max_count, max_total_seconds)| Extensions {
                approval,
                max_count,
                max_total_seconds,
            }),
    )
}

#[derive(Debug, Clone)]
enum Action {
    Approve(usize),
    Deny(usize),
    Override(bool),
    Cancel(usize),
    /// The holder gives the grant up (or an admin revokes it) while the extension is open.
    EndGrant,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0usize..5).prop_map(Action::Approve),
        1 => (0usize..5).prop_map(Action::Deny),
        1 => any::<bool>().prop_map(Action::Override),
        1 => (0usize..5).prop_map(Action::Cancel),
        1 => Just(Action::EndGrant),
    ]
}

/// Saves a change as a store would: the request, and the grant it extended.
fn save(
    request: &mut AccessRequest,
    grant: &mut Grant,
    change: Change,
) -> Result<(), RequestError> {
    let change = if change.needs_target_group() {
        change.extend_grant(Some(grant.clone()), now())?
    } else {
        change
    };
    if change.needs_target_group() {
        return Err(RequestError::Inconsistent(
            "an extension's approval is left incomplete",
        ));
    }
    if let Some(extended) = change.extended_grant.clone() {
        *grant = extended;
    }
    *request = change.request;
    Ok(())
}

proptest! {
    #[test]
    fn extensions_move_their_grant_once_and_only_when_approved_while_it_is_active(
        requirement in requirement(),
        rules in rules(),
        extended_before in 0i64..3,
        seconds in prop_oneof![Just(3600i64), Just(86_400)],
        actions in proptest::collection::vec(action(), 0..20),
    ) {
        let p = people();
        let cast = [p.requester, p.manager, p.reviewers[0], p.reviewers[1], p.admin];
        let flow = timed_flow(rules);
        let mut grant = Grant::new(RequestId::new_v7(), p.requester, GroupId::new_v7(), Some(3600), now());
        grant.extension_count = extended_before;
        grant.extended_seconds = extended_before * 3600;
        let original = grant.clone();
        let asked = Submission { duration_seconds: Some(seconds), ..submission(p.requester, requirement) };
        let accepted = asked.extending(&grant, &flow, now());
        // The flow's rules, as a table: none refuses; max_count and max_total_seconds bound the grant.
        let allowed = rules.is_none_or(|r| {
            r.approval != ExtensionApproval::None
                && r.max_count.is_none_or(|max| extended_before < max)
                && r.max_total_seconds.is_none_or(|max| extended_before * 3600 + seconds <= max)
        });
        prop_assert_eq!(accepted.is_ok(), allowed, "{:?}", accepted.as_ref().err());
        let Ok(submission) = accepted else { return Ok(()); };
        prop_assert_eq!(submission.extends_grant, Some(grant.id));
        let automatic = rules.is_some_and(|r| r.approval == ExtensionApproval::Automatic);
        let steps = vec![
            step(0, ApproverSpec::RequesterManager, &[p.manager], false),
            step(1, ApproverSpec::UserGroup { group_id: GroupId::new_v7(), require_all: true }, &p.reviewers, true),
        ];
        let created = AccessRequest::submit(RequestId::new_v7(), submission, steps, 30, p.requester, now()).unwrap();
        let mut request = created.request.clone();
        save(&mut request, &mut grant, created).unwrap();
        prop_assert_eq!(request.status == RequestStatus::Approved, automatic);
        prop_assert_eq!(request.extends_grant(), Some(grant.id));
        let actor = |id: UserId| if id == p.admin { admin(id) } else { person(id) };
        let mut ended_before_approval = false;
        for action in actions {
            let before = (request.clone(), grant.clone());
            let result = match action {
                Action::Approve(who) => request.decide(&command(Verdict::Approve), &person(cast[who]), now()),
                Action::Deny(who) => request.decide(&command(Verdict::Deny), &person(cast[who]), now()),
                Action::Override(approve) => {
                    let mut overriding = command(if approve { Verdict::Approve } else { Verdict::Deny });
                    overriding.is_override = true;
                    request.decide(&overriding, &admin(p.admin), now())
                }
                Action::Cancel(who) => request.cancel(&actor(cast[who]), now()),
                Action::EndGrant => {
                    let ended = grant.end(GrantStatus::Revoked, Some(p.requester), now());
                    if ended.is_ok() && request.status == RequestStatus::Pending {
                        ended_before_approval = true;
                    }
                    continue;
                }
            }
            .and_then(|change| save(&mut request, &mut grant, change));
            if result.is_err() {
                prop_assert_eq!(&(request.clone(), grant.clone()), &before, "a refused action changes nothing");
            }
        }
        // The grant never shortens; it moved, once and by the asked time, exactly when approved.
        prop_assert!(grant.expires_at >= original.expires_at);
        let approved = request.status == RequestStatus::Approved;
        prop_assert_eq!(grant.extension_count, extended_before + i64::from(approved));
        let moved = if approved { seconds } else { 0 };
        prop_assert_eq!(grant.expires_at, original.expires_at.map(|at| at + Duration::seconds(moved)));
        if approved {
            prop_assert!(!ended_before_approval, "an ended grant is never extended");
        }
    }
}
