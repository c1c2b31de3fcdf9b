#![allow(clippy::unwrap_used)] // a benchmark's fixed inputs
//! Micro-benchmarks of the domain's hot paths: validating a flow (every create and update, and
//! every flow read back from the database) and evaluating approvals on a request.
//! Run with `make bench-micro` (criterion; reports in target/criterion).

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_domain::flow::{
    ApprovalFlow, ApprovalType, ApproverDraft, ApproverRequirement, ApproverSpec, ApproverType,
    DisplayDraft, FlowDraft, FlowKind, FlowLimits, ResolvedStep, TimedAccess, TimedAccessMode,
};
use portcullis_domain::request::{
    AccessRequest, Actor, DecisionCommand, Role, Submission, Verdict,
};
use portcullis_domain::{FlowId, GroupId, RequestId, UserId};

fn draft() -> FlowDraft {
    let group = GroupId::new_v7();
    FlowDraft {
        kind: FlowKind::ResourceRequest,
        name: "GitHub Admin".to_owned(),
        description: "Admin rights on the GitHub organisation".to_owned(),
        enabled: true,
        display: DisplayDraft {
            logo: None,
            color: Some("#24292f".to_owned()),
        },
        target_group_id: Some(GroupId::new_v7()),
        owner_ids: vec![UserId::new_v7()],
        visibility_group_ids: vec![GroupId::new_v7(), GroupId::new_v7()],
        timed_access: Some(TimedAccess {
            mode: TimedAccessMode::Choices,
            durations_seconds: vec![3600, 86_400, 604_800],
        }),
        session_durations_seconds: Vec::new(),
        approval_type: ApprovalType::Manual,
        approvers: vec![
            ApproverDraft {
                approver_type: ApproverType::RequesterManager,
                group_id: None,
                require_all: None,
                admin_ids: None,
                required_if: None,
            },
            ApproverDraft {
                approver_type: ApproverType::UserGroup,
                group_id: Some(group),
                require_all: Some(false),
                admin_ids: None,
                required_if: None,
            },
        ],
        approver_requirement: Some(ApproverRequirement::AllInOrder),
        auto_approve_if: None,
        form: Default::default(),
    }
}

/// A pending request of a two-step flow (the manager, then any of ten reviewers).
fn pending(requester: UserId, manager: UserId, reviewers: &[UserId]) -> AccessRequest {
    let flow = ApprovalFlow::new(FlowId::new_v7(), draft(), LIMITS, at()).unwrap();
    let steps = flow
        .approvers()
        .iter()
        .enumerate()
        .map(|(position, spec)| ResolvedStep {
            position,
            spec: spec.clone(),
            approver_ids: match spec {
                ApproverSpec::RequesterManager => vec![manager],
                _ => reviewers.to_vec(),
            },
            require_all: false,
        })
        .collect();
    let submission = Submission {
        flow_id: flow.id(),
        flow_name: flow.name().to_owned(),
        flow_version: 1,
        kind: FlowKind::ResourceRequest,
        approval_type: ApprovalType::Manual,
        approver_requirement: Some(ApproverRequirement::AllInOrder),
        requester_id: requester,
        reason: "Review pull requests for the 3.2 release".to_owned(),
        duration_seconds: Some(3600),
        device_id: None,
        resubmitted_from: None,
        conditions: Vec::new(),
        form: Default::default(),
    };
    AccessRequest::submit(RequestId::new_v7(), submission, steps, 30, requester, at())
        .unwrap()
        .request
}

fn approval() -> DecisionCommand {
    DecisionCommand {
        verdict: Verdict::Approve,
        comment: None,
        reason: None,
        next_steps: None,
        is_override: false,
        internal_note: None,
        duration_seconds: None,
    }
}

fn person(id: UserId) -> Actor {
    Actor {
        id,
        role: Role::Person,
    }
}

const LIMITS: FlowLimits = FlowLimits {
    max_duration_seconds: 30 * 86_400,
};

fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

fn flows(c: &mut Criterion) {
    let valid = draft();
    c.bench_function("flow validation: a valid two-step flow", |b| {
        b.iter(|| ApprovalFlow::new(FlowId::new_v7(), black_box(valid.clone()), LIMITS, at()))
    });
    let mut broken = draft();
    broken.approvers[1].group_id = None;
    broken.timed_access = Some(TimedAccess {
        mode: TimedAccessMode::Fixed,
        durations_seconds: vec![0, 3600],
    });
    c.bench_function("flow validation: a flow with three errors", |b| {
        b.iter(|| ApprovalFlow::new(FlowId::new_v7(), black_box(broken.clone()), LIMITS, at()))
    });
}

fn approvals(c: &mut Criterion) {
    let (requester, manager) = (UserId::new_v7(), UserId::new_v7());
    let reviewers: Vec<UserId> = (0..10).map(|_| UserId::new_v7()).collect();
    let request = pending(requester, manager, &reviewers);
    c.bench_function(
        "approval: the manager's step (the request stays pending)",
        |b| b.iter(|| request.decide(black_box(&approval()), &person(manager), at())),
    );
    let second = request
        .decide(&approval(), &person(manager), at())
        .unwrap()
        .request;
    c.bench_function("approval: the step that completes the request", |b| {
        b.iter(|| second.decide(black_box(&approval()), &person(reviewers[7]), at()))
    });
    c.bench_function("approval: who awaits (the tasks index)", |b| {
        b.iter(|| reviewers.iter().filter(|id| second.awaits(**id)).count())
    });
}

criterion_group!(benches, flows, approvals);
criterion_main!(benches);
