//! Forms and conditions at submission: answers checked, conditions evaluated and what they do.

use super::*;
use crate::flow::{FormAnswers, FormField, FormFieldType, TimedAccess, TimedAccessMode};
use crate::request::PolicyInput;

/// A manual flow asking for the environment, approved by the manager, plus a security group when
/// the environment is `prod`; on-call people asking for an hour or less are approved at once.
fn guarded_flow() -> ApprovalFlow {
    let mut draft = flow(ApprovalType::Manual).to_draft();
    draft.timed_access = Some(TimedAccess {
        mode: TimedAccessMode::Choices,
        durations_seconds: vec![3600, 86_400],
    });
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
    draft.approvers.push(ApproverDraft {
        approver_type: ApproverType::UserGroup,
        group_id: Some(GroupId::new_v7()),
        require_all: None,
        admin_ids: None,
        required_if: Some("request.form.environment == \"prod\"".to_owned()),
    });
    draft.approver_requirement = Some(ApproverRequirement::All);
    ApprovalFlow::new(FlowId::new_v7(), draft, LIMITS, now()).unwrap()
}

fn submit(
    flow: &ApprovalFlow,
    groups: &[&str],
    duration: i64,
    environment: &str,
) -> Result<Change, RequestError> {
    let requester = colleague(UserId::new_v7(), false);
    let form: FormAnswers = [("environment".to_owned(), environment.to_owned())].into();
    let policy = PolicyInput {
        groups: groups
            .iter()
            .map(|name| (GroupId::new_v7(), (*name).to_owned()))
            .collect(),
        now: now(),
    };
    let submission = Draft {
        flow_id: flow.id(),
        flow: Some(flow),
        visible: true,
        open_request: None,
        requester: &requester,
        reason: "Fix the failing deployment",
        duration_seconds: Some(duration),
        device_id: None,
        device: None,
        resubmitted_from: None,
        form: &form,
        policy: Some(&policy),
        break_glass: None,
        starts_at: None,
        now: now(),
    }
    .check()?;
    let steps = vec![
        step(0, flow.approvers()[0].clone(), &[UserId::new_v7()], false),
        step(1, flow.approvers()[1].clone(), &[UserId::new_v7()], false),
    ];
    AccessRequest::submit(
        RequestId::new_v7(),
        submission,
        steps,
        30,
        requester.id,
        now(),
    )
}

#[test]
fn an_on_call_request_of_an_hour_is_approved_by_its_condition() {
    let change = submit(&guarded_flow(), &["oncall"], 3600, "prod").unwrap();
    assert_eq!(change.request.status(), RequestStatus::Approved);
    assert!(change.request.steps().is_empty());
    assert!(change.needs_target_group());
    let comment = change.request.outcome().unwrap().comment.clone().unwrap();
    assert!(comment.starts_with("auto-approved by condition auto_approve_if"));
    let created = change.events[0].kind.data();
    assert_eq!(created["conditions"][0]["effect"], "auto_approved");
}

#[test]
fn others_wait_for_approval_with_the_steps_their_answers_require() {
    let flow = guarded_flow();
    let staging = submit(&flow, &["engineering"], 3600, "staging").unwrap();
    assert_eq!(staging.request.status(), RequestStatus::Pending);
    let positions: Vec<usize> = staging.request.steps().iter().map(|s| s.position).collect();
    assert_eq!(positions, [0]);
    let data = staging.events[0].kind.data();
    assert_eq!(data["conditions"][0]["effect"], "not_auto_approved");
    assert_eq!(data["conditions"][1]["effect"], "step_left_out");

    let prod = submit(&flow, &["oncall"], 86_400, "prod").unwrap();
    assert_eq!(prod.request.steps().len(), 2);
    assert_eq!(prod.request.form()["environment"], "prod");
}

#[test]
fn wrong_answers_are_refused_under_their_key() {
    let Err(RequestError::InvalidForm(errors)) = submit(&guarded_flow(), &[], 3600, "dev") else {
        panic!("the answer is not one of the choices");
    };
    assert_eq!(errors.errors()[0].field, "form.environment");
}

#[test]
fn a_flow_with_conditions_needs_the_requesters_groups() {
    let flow = guarded_flow();
    let requester = colleague(UserId::new_v7(), false);
    let form: FormAnswers = [("environment".to_owned(), "prod".to_owned())].into();
    let draft = Draft {
        flow_id: flow.id(),
        flow: Some(&flow),
        visible: true,
        open_request: None,
        requester: &requester,
        reason: "Fix the failing deployment",
        duration_seconds: Some(3600),
        device_id: None,
        device: None,
        resubmitted_from: None,
        form: &form,
        policy: None,
        break_glass: None,
        starts_at: None,
        now: now(),
    };
    assert!(matches!(draft.check(), Err(RequestError::Inconsistent(_))));
}

#[test]
fn conditions_on_automatic_flows_and_on_every_step_are_refused() {
    let mut automatic = flow(ApprovalType::Automatic).to_draft();
    automatic.auto_approve_if = Some("true".to_owned());
    let errors = ApprovalFlow::new(FlowId::new_v7(), automatic, LIMITS, now()).unwrap_err();
    assert_eq!(errors.errors()[0].field, "auto_approve_if");

    let mut every = guarded_flow().to_draft();
    every.approvers[0].required_if = Some("true".to_owned());
    let errors = ApprovalFlow::new(FlowId::new_v7(), every, LIMITS, now()).unwrap_err();
    assert_eq!(errors.errors()[0].field, "approvers");
}

#[test]
fn a_broken_condition_names_its_member() {
    let mut draft = guarded_flow().to_draft();
    draft.approvers[1].required_if = Some("request.form.enviroment == \"prod\"".to_owned());
    let errors = ApprovalFlow::new(FlowId::new_v7(), draft, LIMITS, now()).unwrap_err();
    assert_eq!(errors.errors()[0].field, "approvers[1].required_if");
}

#[test]
fn a_flow_keeps_its_form_and_conditions_through_its_draft() {
    let flow = guarded_flow();
    let again = ApprovalFlow::restore(
        flow.id(),
        flow.to_draft(),
        flow.version(),
        flow.created_at(),
        flow.updated_at(),
    )
    .unwrap();
    assert_eq!(again, flow);
    assert!(again.has_conditions());
}
