use chrono::TimeZone;

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
        conditions: Vec::new(),
        extends_grant: None,
        break_glass: None,
        starts_at: None,
        form: Default::default(),
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
    two_step_with(p, requirement, Vec::new()).request
}

/// [`two_step`]'s submission, with the flow's conditions as they came out.
fn two_step_with(
    p: &People,
    requirement: ApproverRequirement,
    conditions: Vec<crate::flow::ConditionOutcome>,
) -> Change {
    let group = ApproverSpec::UserGroup {
        group_id: crate::ids::GroupId::new_v7(),
        require_all: true,
    };
    let steps = vec![
        step(0, ApproverSpec::RequesterManager, &[p.manager], false),
        step(1, group, &p.reviewers, true),
    ];
    let submission = Submission {
        conditions,
        ..submission(p.requester, requirement)
    };
    AccessRequest::submit(
        RequestId::new_v7(),
        submission,
        steps,
        30,
        p.requester,
        now(),
    )
    .unwrap()
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
        // A denial always carries a reason (seed 001).
        reason: (verdict == Verdict::Deny).then(|| "Not needed for this role".to_owned()),
        next_steps: None,
        is_override: false,
        internal_note: None,
        via: crate::request::Via::Api,
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
                required_if: None,
            }]
        } else {
            Vec::new()
        },
        approver_requirement: manual.then_some(ApproverRequirement::Any),
        slack: None,
        fulfilment: None,
        auto_approve_if: None,
        extensions: None,
        scheduling: None,
        activation: None,
        escalation: None,
        break_glass: false,
        form: Default::default(),
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

mod break_glass;
mod decisions;
mod escalation;
mod extensions;
mod fulfilment;
mod lifecycle;
mod policy;
mod scheduling;
mod sequences;
