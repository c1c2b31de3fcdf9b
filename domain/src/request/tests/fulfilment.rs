//! Fulfilment: the tasks an approval opens, who completes and reassigns them, and how cancel and
//! the end of access extend to them.

use super::*;
use crate::access::GrantStatus;
use crate::flow::{Fulfilment, Provisioning};

fn plan(
    provisioning: Provisioning,
    assignment: bool,
    it: &[UserId],
    app: &[UserId],
) -> FulfilmentPlan {
    FulfilmentPlan {
        fulfilment: Fulfilment {
            provisioning,
            assignment,
        },
        target_group: Some(GroupId::new_v7()),
        it_admins: it.to_vec(),
        app_admins: app.to_vec(),
        activation: None,
    }
}

/// The two-step request approved by both steps, with the flow's fulfilment.
fn approved(p: &People, plan: FulfilmentPlan) -> Change {
    let request = two_step(p, ApproverRequirement::Any);
    let change = request
        .decide(&decision(Verdict::Approve), &person(p.manager), now())
        .unwrap();
    assert!(change.needs_target_group());
    change.fulfil(plan, now()).unwrap()
}

fn decision(verdict: Verdict) -> DecisionCommand {
    DecisionCommand {
        verdict,
        comment: None,
        reason: None,
        next_steps: None,
        is_override: false,
        internal_note: None,
        duration_seconds: None,
        via: Via::Api,
    }
}

fn later(minutes: i64) -> DateTime<Utc> {
    now() + chrono::Duration::minutes(minutes)
}

#[test]
fn manual_provisioning_opens_the_it_admins_task_and_grants_nothing_yet() {
    let p = people();
    let owner = UserId::new_v7();
    let change = approved(&p, plan(Provisioning::Manual, true, &[p.admin], &[owner]));
    let request = &change.request;
    assert_eq!(request.status(), RequestStatus::Approved);
    assert!(change.grant.is_none());
    assert_eq!(
        request.fulfilment_state(),
        Some(FulfilmentState::InProgress)
    );
    let states: Vec<_> = request
        .tasks()
        .iter()
        .map(|t| (t.task_type, t.state, t.assignee_ids.clone()))
        .collect();
    assert_eq!(
        states,
        vec![
            (TaskType::Provisioning, TaskState::Open, vec![p.admin]),
            (TaskType::Assignment, TaskState::Waiting, vec![owner]),
        ]
    );
    let kinds: Vec<_> = change.events.iter().map(RequestEvent::event_type).collect();
    assert_eq!(
        kinds,
        [
            crate::events::REQUEST_APPROVED,
            crate::events::FULFILMENT_TASK_OPEN
        ]
    );
    assert!(request.is_open(), "the ticket stays open");
    assert!(request.open_place().is_some());
    assert_eq!(
        request.task_index().len(),
        1,
        "only the open task's assignees wait"
    );
}

#[test]
fn automatic_provisioning_grants_at_once_and_opens_the_assignment() {
    let p = people();
    let owner = UserId::new_v7();
    let change = approved(
        &p,
        plan(Provisioning::Automatic, true, &[p.admin], &[owner]),
    );
    assert!(change.grant.is_some());
    assert_eq!(change.request.tasks().len(), 1);
    assert_eq!(change.request.tasks()[0].state, TaskState::Open);
    assert_eq!(change.request.task_index()[0].user_id, owner);
}

#[test]
fn completing_provisioning_grants_from_now_and_opens_the_assignment() {
    let p = people();
    let owner = UserId::new_v7();
    let request = approved(&p, plan(Provisioning::Manual, true, &[p.admin], &[owner])).request;
    let group = GroupId::new_v7();
    let done = request
        .complete_task(
            TaskType::Provisioning,
            &admin(p.admin),
            Some(" made "),
            Some(group),
            later(90),
        )
        .unwrap();
    let grant = done.grant.as_ref().unwrap();
    assert_eq!(grant.granted_at, later(90));
    assert_eq!(
        grant.expires_at,
        Some(later(90) + chrono::Duration::seconds(86_400))
    );
    let provisioning = done.request.task(TaskType::Provisioning).unwrap();
    assert_eq!(
        (
            provisioning.state,
            provisioning.completed_by,
            provisioning.note.as_deref()
        ),
        (TaskState::Done, Some(p.admin), Some("made"))
    );
    let assignment = done.request.task(TaskType::Assignment).unwrap();
    assert_eq!(
        (assignment.state, assignment.opened_at),
        (TaskState::Open, Some(later(90)))
    );
    let finished = done
        .request
        .complete_task(TaskType::Assignment, &person(owner), None, None, later(95))
        .unwrap();
    assert_eq!(
        finished.request.fulfilment_state(),
        Some(FulfilmentState::Done)
    );
    assert!(!finished.request.is_open());
    assert_eq!(finished.request.open_place(), None);
    assert_eq!(finished.request.version(), request.version() + 2);
}

#[test]
fn only_assignees_and_administrators_complete_a_task_once() {
    let p = people();
    let owner = UserId::new_v7();
    let request = approved(&p, plan(Provisioning::Manual, true, &[p.admin], &[owner])).request;
    for outsider in [p.requester, p.manager, owner] {
        let refused =
            request.complete_task(TaskType::Provisioning, &person(outsider), None, None, now());
        assert_eq!(refused.unwrap_err().refusal(), Refusal::Forbidden);
    }
    let waiting = request.complete_task(TaskType::Assignment, &person(owner), None, None, now());
    assert_eq!(
        waiting.unwrap_err().refusal(),
        Refusal::Conflict,
        "the assignment waits"
    );
    let other_admin = UserId::new_v7();
    let done = request
        .complete_task(
            TaskType::Provisioning,
            &admin(other_admin),
            None,
            None,
            now(),
        )
        .unwrap()
        .request;
    let twice = done.complete_task(TaskType::Provisioning, &admin(p.admin), None, None, now());
    assert_eq!(twice.unwrap_err().refusal(), Refusal::Conflict);
    let none = done.complete_task(TaskType::Deprovisioning, &admin(p.admin), None, None, now());
    assert_eq!(none.unwrap_err().refusal(), Refusal::Conflict);
}

#[test]
fn reassigning_a_task_moves_one_place_by_its_rules() {
    let p = people();
    let (owner, deputy) = (UserId::new_v7(), UserId::new_v7());
    let request = approved(&p, plan(Provisioning::None, true, &[p.admin], &[owner])).request;
    let to = colleague(deputy, false);
    let refused = request.reassign_task(
        TaskType::Assignment,
        &person(p.manager),
        false,
        Some(owner),
        Some(&to),
    );
    assert_eq!(refused.unwrap_err().refusal(), Refusal::Forbidden);
    let moved = request
        .reassign_task(
            TaskType::Assignment,
            &person(p.manager),
            true,
            Some(owner),
            Some(&to),
        )
        .unwrap();
    assert_eq!(
        moved
            .request
            .task(TaskType::Assignment)
            .unwrap()
            .assignee_ids,
        vec![deputy]
    );
    assert!(matches!(
        moved.events[0].kind,
        RequestEventKind::Reassigned {
            task: Some(TaskType::Assignment),
            ..
        }
    ));
    let again = moved.request.reassign_task(
        TaskType::Assignment,
        &person(deputy),
        false,
        None,
        Some(&to),
    );
    assert_eq!(
        again.unwrap_err().field(),
        Some("to_user_id"),
        "already an assignee"
    );
}

#[test]
fn withdrawing_cancels_the_remaining_tasks_and_keeps_the_decision() {
    let p = people();
    let request = approved(
        &p,
        plan(Provisioning::Manual, true, &[p.admin], &[UserId::new_v7()]),
    )
    .request;
    let refused = request.cancel(&person(p.manager), now());
    assert_eq!(refused.unwrap_err().refusal(), Refusal::Forbidden);
    let canceled = request
        .cancel(&person(p.requester), later(5))
        .unwrap()
        .request;
    assert_eq!(canceled.status(), RequestStatus::Approved);
    assert_eq!(canceled.fulfilment_state(), Some(FulfilmentState::Canceled));
    assert!(
        canceled
            .tasks()
            .iter()
            .all(|t| t.state == TaskState::Canceled)
    );
    assert!(!canceled.is_open());
}

#[test]
fn the_end_of_manually_provisioned_access_opens_a_deprovisioning_task() {
    let p = people();
    let request = approved(&p, plan(Provisioning::Manual, false, &[p.admin], &[])).request;
    let done = request
        .complete_task(
            TaskType::Provisioning,
            &admin(p.admin),
            None,
            Some(GroupId::new_v7()),
            now(),
        )
        .unwrap();
    let mut grant = done.grant.clone().unwrap();
    grant
        .end(GrantStatus::Revoked, Some(p.admin), later(10))
        .unwrap();
    let removed = done
        .request
        .access_removed(&grant, true, Some(p.admin), &[p.admin], later(10));
    let task = removed.request.task(TaskType::Deprovisioning).unwrap();
    assert_eq!(
        (task.state, task.assignee_ids.clone()),
        (TaskState::Open, vec![p.admin])
    );
    assert!(removed.request.is_open());
    // Automatic provisioning: nothing to deprovision by hand, the request does not change.
    let automatic = approved(&p, plan(Provisioning::Automatic, false, &[p.admin], &[]));
    let mut grant = automatic.grant.clone().unwrap();
    grant
        .end(
            GrantStatus::Expired,
            None,
            now() + chrono::Duration::days(2),
        )
        .unwrap();
    let removed = automatic
        .request
        .access_removed(&grant, true, None, &[p.admin], later(10));
    assert_eq!(removed.write, Write::Unchanged);
}
