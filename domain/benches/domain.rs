#![allow(clippy::unwrap_used)] // a benchmark's fixed inputs
//! Micro-benchmarks of the domain's hot paths: validating a flow (every create and update, and
//! every flow read back from the database), creating a request (with and without a form and
//! conditions, to measure what evaluating CEL costs) and evaluating approvals on a request.
//! Run with `make bench-micro` (criterion; reports in target/criterion).

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_domain::directory::{DisplayName, Email, User, UserKind};
use portcullis_domain::flow::{
    ApprovalFlow, ApprovalType, ApproverDraft, ApproverRequirement, ApproverSpec, ApproverType,
    DisplayDraft, FlowDraft, FlowKind, FlowLimits, FormAnswers, FormField, FormFieldType,
    ResolvedStep, TimedAccess, TimedAccessMode,
};
use portcullis_domain::request::{
    AccessRequest, Actor, DecisionCommand, Draft, PolicyInput, Role, Submission, Verdict,
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
        slack: None,
        fulfilment: None,
        auto_approve_if: None,
        extensions: None,
        scheduling: None,
        activation: None,
        escalation: None,
        break_glass: false,
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
        extends_grant: None,
        break_glass: None,
        starts_at: None,
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
        via: portcullis_domain::request::Via::Api,
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

/// The same flow with a form, an `auto_approve_if` and a `required_if` on its second step.
fn conditional_draft() -> FlowDraft {
    let mut draft = draft();
    draft.form = vec![FormField {
        key: "environment".to_owned(),
        label: "Environment".to_owned(),
        field_type: FormFieldType::Choice,
        required: true,
        pattern: None,
        choices: Some(vec!["staging".to_owned(), "prod".to_owned()]),
    }];
    draft.auto_approve_if =
        Some("request.duration_seconds <= 3600 && \"oncall\" in requester.groups".to_owned());
    draft.approvers[1].required_if = Some("request.form.environment == \"prod\"".to_owned());
    draft
}

fn requester() -> User {
    User {
        id: UserId::new_v7(),
        email: Email::parse("riley@example.org").unwrap(),
        display_name: DisplayName::parse("Riley").unwrap(),
        manager_id: Some(UserId::new_v7()),
        is_admin: false,
        active: true,
        kind: UserKind::Person,
        external_id: None,
        version: 1,
        created_at: at(),
        updated_at: at(),
    }
}

/// Creating a request in the domain: the draft checked (with the form and the conditions, if
/// any), then submitted with its steps.
fn creations(c: &mut Criterion) {
    let requester = requester();
    let (manager, reviewers) = (UserId::new_v7(), vec![UserId::new_v7(), UserId::new_v7()]);
    let groups: Vec<(GroupId, String)> = ["engineering", "security", "staff"]
        .iter()
        .map(|name| (GroupId::new_v7(), (*name).to_owned()))
        .collect();
    let policy = PolicyInput { groups, now: at() };
    let create = |flow: &ApprovalFlow, form: &FormAnswers| {
        let submission = Draft {
            flow_id: flow.id(),
            flow: Some(flow),
            visible: true,
            open_request: None,
            requester: &requester,
            reason: "Review pull requests for the 3.2 release",
            duration_seconds: Some(3600),
            device_id: None,
            device: None,
            resubmitted_from: None,
            form,
            policy: flow.has_conditions().then_some(&policy),
            break_glass: None,
            starts_at: None,
            now: at(),
        }
        .check()
        .unwrap();
        let steps = flow
            .approvers()
            .iter()
            .enumerate()
            .map(|(position, spec)| ResolvedStep {
                position,
                spec: spec.clone(),
                approver_ids: if position == 0 {
                    vec![manager]
                } else {
                    reviewers.clone()
                },
                require_all: false,
            })
            .collect();
        AccessRequest::submit(
            RequestId::new_v7(),
            submission,
            steps,
            30,
            requester.id,
            at(),
        )
    };
    let plain = ApprovalFlow::new(FlowId::new_v7(), draft(), LIMITS, at()).unwrap();
    let none = FormAnswers::new();
    c.bench_function("create: a flow without conditions", |b| {
        b.iter(|| create(black_box(&plain), &none))
    });
    let conditional =
        ApprovalFlow::new(FlowId::new_v7(), conditional_draft(), LIMITS, at()).unwrap();
    let answers: FormAnswers = [("environment".to_owned(), "prod".to_owned())].into();
    c.bench_function("create: a flow with a form and two conditions", |b| {
        b.iter(|| create(black_box(&conditional), &answers))
    });
    let valid = conditional_draft();
    c.bench_function("flow validation: with a form and two conditions", |b| {
        b.iter(|| ApprovalFlow::new(FlowId::new_v7(), black_box(valid.clone()), LIMITS, at()))
    });
}

criterion_group!(benches, flows, approvals, creations);
criterion_main!(benches);
