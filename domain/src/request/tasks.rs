//! The fulfilment tasks' commands: complete, reassign, and how cancelling a request and the end of
//! its access extend to its tasks.

use chrono::{DateTime, Utc};

use super::events::RequestEventKind;
use super::fulfilment::{Task, TaskState, TaskType};
use super::{AccessRequest, Actor, Change, RequestError, Role, parse_text};
use crate::access::Grant;
use crate::directory::{User, UserKind};
use crate::ids::{GroupId, UserId};

impl AccessRequest {
    /// Whether `actor` may act on the task of `task_type` at all (before what they sent is read):
    /// its assignees and administrators, and for a reassignment the flow's App Admins (`manages`).
    pub fn check_task_actor(
        &self,
        task_type: TaskType,
        actor: &Actor,
        manages: bool,
    ) -> Result<(), RequestError> {
        let assigned = self
            .task(task_type)
            .is_some_and(|task| task.assignee_ids.contains(&actor.id));
        if actor.is_admin() || assigned || (manages && actor.role == Role::Person) {
            Ok(())
        } else {
            Err(RequestError::Forbidden(
                "only the task's assignees, the flow's App Admins (to reassign) or an administrator can act on it",
            ))
        }
    }

    /// An assignee (or an administrator) completes an open task with an optional note. Provisioning
    /// grants access in `group` (the flow's target group, if it and the group still exist), so a
    /// timed grant's clock starts now, and opens the assignment.
    pub fn complete_task(
        &self,
        task_type: TaskType,
        actor: &Actor,
        note: Option<&str>,
        group: Option<GroupId>,
        now: DateTime<Utc>,
    ) -> Result<Change, RequestError> {
        let index = self.task_index_of(task_type)?;
        let task = &self.tasks[index];
        if !actor.is_admin() && !task.assignee_ids.contains(&actor.id) {
            return Err(RequestError::Forbidden(
                "only the task's assignees (or an administrator) can complete it",
            ));
        }
        if task_type == TaskType::Review {
            return Err(RequestError::conflict(
                "a review is confirmed or revoked with POST /v1/access-requests/{id}/review",
            ));
        }
        if task.state != TaskState::Open {
            return Err(RequestError::conflict(format!(
                "the {task_type} task is {}, not open",
                task.state
            )));
        }
        let note = parse_text(note).map_err(|m| RequestError::invalid("note", m))?;
        let mut after = self.clone();
        let done = &mut after.tasks[index];
        done.state = TaskState::Done;
        done.completed_by = Some(actor.id);
        done.completed_at = Some(now);
        done.note = note.clone();
        let mut grant = None;
        if task_type == TaskType::Provisioning {
            grant = group.map(|group| {
                Grant::new(
                    self.id,
                    self.requester_id,
                    group,
                    self.duration_seconds,
                    now,
                )
            });
            for next in &mut after.tasks {
                if next.state == TaskState::Waiting {
                    next.state = TaskState::Open;
                    next.opened_at = Some(now);
                }
            }
        }
        let mut change = Change::update(self, after).event(
            RequestEventKind::TaskDone {
                task: task_type,
                note,
            },
            Some(actor.id),
            Some(self.status),
        );
        if let Some(grant) = grant {
            let added = RequestEventKind::AccessAdded {
                grant_id: grant.id,
                group_id: grant.group_id,
                user_id: grant.user_id,
                expires_at: grant.expires_at,
            };
            change.grant = Some(grant);
            change = change.event(added, Some(actor.id), Some(self.status));
        }
        Ok(change.opened_tasks(Some(actor.id)))
    }

    /// Hands an open task from `from` (the caller when not given) to `to`: an assignee gives their
    /// own place; the flow's App Admins (`manages`) and administrators may move anyone's. An
    /// administrators' task goes to another administrator.
    pub fn reassign_task(
        &self,
        task_type: TaskType,
        actor: &Actor,
        manages: bool,
        from: Option<UserId>,
        to: Option<&User>,
    ) -> Result<Change, RequestError> {
        let index = self.task_index_of(task_type)?;
        let task = &self.tasks[index];
        let from = from.unwrap_or(actor.id);
        let may = actor.is_admin()
            || (manages && actor.role == Role::Person)
            || (from == actor.id && task.assignee_ids.contains(&actor.id));
        if !may {
            return Err(RequestError::Forbidden(
                "only the task's assignees, the flow's App Admins or an administrator can reassign it",
            ));
        }
        if task_type == TaskType::Review {
            return Err(RequestError::conflict(
                "a review is not reassigned: every administrator but the requester may review",
            ));
        }
        if task.state != TaskState::Open {
            return Err(RequestError::conflict(format!(
                "the {task_type} task is {}, not open",
                task.state
            )));
        }
        if !task.assignee_ids.contains(&from) {
            return Err(RequestError::invalid(
                "from_user_id",
                "is not an assignee of this task",
            ));
        }
        let to = to
            .filter(|u| u.active && u.kind == UserKind::Person)
            .ok_or_else(|| RequestError::invalid("to_user_id", "must be an active person"))?;
        if task_type.for_administrators() && !to.is_admin {
            return Err(RequestError::invalid(
                "to_user_id",
                "this task is the administrators': it can only go to another administrator",
            ));
        }
        if task.assignee_ids.contains(&to.id) {
            return Err(RequestError::invalid(
                "to_user_id",
                "that person is already an assignee of this task",
            ));
        }
        let mut after = self.clone();
        for id in &mut after.tasks[index].assignee_ids {
            if *id == from {
                *id = to.id;
            }
        }
        Ok(Change::update(self, after).event(
            RequestEventKind::Reassigned {
                from,
                to: to.id,
                task: Some(task_type),
            },
            Some(actor.id),
            Some(self.status),
        ))
    }

    fn task_index_of(&self, task_type: TaskType) -> Result<usize, RequestError> {
        self.tasks
            .iter()
            .position(|t| t.task_type == task_type)
            .ok_or_else(|| RequestError::conflict(format!("this request has no {task_type} task")))
    }

    /// The requester withdraws (or an administrator cancels) a fulfilment still in progress: its
    /// waiting and open tasks are canceled; the decision stays. Access already given stays until its
    /// grant is ended.
    pub(super) fn cancel_fulfilment(
        &mut self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), RequestError> {
        if actor.id != self.requester_id && !actor.is_admin() {
            return Err(RequestError::RequesterOnly);
        }
        self.cancel_pending_tasks(now);
        Ok(())
    }

    /// Cancels the fulfilment's tasks still to do (a break-glass review stays: it is about what
    /// happened, not about what is left to give).
    fn cancel_pending_tasks(&mut self, now: DateTime<Utc>) {
        for task in &mut self.tasks {
            if task.is_pending_fulfilment() {
                task.state = TaskState::Canceled;
                task.completed_at = Some(now);
            }
        }
    }

    /// A grant this request gave ended (revoked by someone, or expired: `by` is `None`); `started`:
    /// it had started, so its membership was removed (otherwise it never had one). Tasks still to
    /// do are canceled (there is no access left to assign); a manually provisioned app gets a
    /// deprovisioning task for the IT Admins (`it_admins`), since nobody else removes its account.
    pub fn access_removed(
        &self,
        grant: &Grant,
        started: bool,
        by: Option<UserId>,
        it_admins: &[UserId],
        now: DateTime<Utc>,
    ) -> Change {
        let removed = if started {
            RequestEventKind::AccessRemoved {
                grant_id: grant.id,
                group_id: grant.group_id,
                user_id: grant.user_id,
                grant_status: grant.status,
            }
        } else {
            RequestEventKind::AccessNeverStarted {
                grant_id: grant.id,
                group_id: grant.group_id,
                user_id: grant.user_id,
                grant_status: grant.status,
            }
        };
        let manual = started
            && self
                .task(TaskType::Provisioning)
                .is_some_and(|t| t.state == TaskState::Done);
        if !manual && !self.tasks.iter().any(Task::is_pending_fulfilment) {
            return Change::new(Some(self.clone()), self.clone(), super::Write::Unchanged).event(
                removed,
                by,
                Some(self.status),
            );
        }
        let mut after = self.clone();
        after.cancel_pending_tasks(now);
        if manual && self.task(TaskType::Deprovisioning).is_none() {
            after
                .tasks
                .push(Task::new(TaskType::Deprovisioning, it_admins, Some(now)));
        }
        Change::update(self, after)
            .event(removed, by, Some(self.status))
            .opened_tasks(by)
    }

    /// A grant this request gave, which waited, started: at its `starts_at` (the jobs: `by` is
    /// `None`) or on its holder's activation (`by`). The request does not change.
    pub fn access_started(&self, grant: &Grant, by: Option<UserId>) -> Change {
        Change::new(Some(self.clone()), self.clone(), super::Write::Unchanged).event(
            RequestEventKind::AccessStarted {
                grant_id: grant.id,
                group_id: grant.group_id,
                user_id: grant.user_id,
                expires_at: grant.expires_at,
                activated: by.is_some(),
            },
            by,
            Some(self.status),
        )
    }
}
