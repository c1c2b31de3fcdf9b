//! What follows the approval of a resource request whose flow has a fulfilment (seed 004): the
//! administrators (IT Admins) provision the account, then the flow's owners (App Admins) assign it.
//! Each is a task of the request, opened, completed or reassigned through the request's commands;
//! the request keeps its decision (`approved`) and its ticket stays open until the tasks are done.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::events::RequestEventKind;
use super::{AccessRequest, Actor, Change, RequestError, RequestStatus, Role, parse_text};
use crate::access::Grant;
use crate::directory::{User, UserKind};
use crate::flow::{Fulfilment, Provisioning};
use crate::ids::{GroupId, UserId};
use crate::text_enum;

text_enum!(
    /// `provisioning`: create the account (IT Admins); `assignment`: assign the licence or role (App
    /// Admins); `deprovisioning`: remove the account of a manually provisioned app once its access
    /// ended (IT Admins).
    TaskType { Provisioning => "provisioning", Assignment => "assignment", Deprovisioning => "deprovisioning" }
);
text_enum!(
    /// `waiting` (an earlier task must be done first), `open` (its assignees can complete it), `done`,
    /// or `canceled` (no longer needed).
    TaskState { Waiting => "waiting", Open => "open", Done => "done", Canceled => "canceled" }
);
text_enum!(
    /// A fulfilment as a whole: `in_progress` while a task is waiting or open, `canceled` when the
    /// request's provisioning or assignment was canceled, `done` otherwise.
    FulfilmentState { InProgress => "in_progress", Done => "done", Canceled => "canceled" }
);

impl TaskType {
    /// What the task's assignees do, as Action Required names it.
    pub fn action(self) -> &'static str {
        match self {
            Self::Provisioning => "provision",
            Self::Assignment => "assign",
            Self::Deprovisioning => "deprovision",
        }
    }

    /// Whether the administrators (IT Admins) do it, rather than the flow's owners.
    fn for_administrators(self) -> bool {
        self != Self::Assignment
    }
}

/// One task of a request's fulfilment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    #[serde(rename = "type")]
    pub task_type: TaskType,
    pub state: TaskState,
    /// Who may complete it (administrators may complete any task).
    pub assignee_ids: Vec<UserId>,
    /// When it opened (started waiting on its assignees); `null` while it waits for an earlier task.
    pub opened_at: Option<DateTime<Utc>>,
    pub completed_by: Option<UserId>,
    /// When it was completed or canceled.
    pub completed_at: Option<DateTime<Utc>>,
    /// What the person who completed it wrote.
    pub note: Option<String>,
}

impl Task {
    fn new(task_type: TaskType, assignees: &[UserId], open_at: Option<DateTime<Utc>>) -> Self {
        Self {
            task_type,
            state: if open_at.is_some() {
                TaskState::Open
            } else {
                TaskState::Waiting
            },
            assignee_ids: assignees.to_vec(),
            opened_at: open_at,
            completed_by: None,
            completed_at: None,
            note: None,
        }
    }

    fn is_pending(&self) -> bool {
        matches!(self.state, TaskState::Waiting | TaskState::Open)
    }
}

/// What an approval needs to start the fulfilment: the flow's configuration, its target group (if
/// it and the group still exist), and who the IT Admins (active administrators) and App Admins
/// (the flow's owners) are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfilmentPlan {
    pub fulfilment: Fulfilment,
    pub target_group: Option<GroupId>,
    pub it_admins: Vec<UserId>,
    pub app_admins: Vec<UserId>,
}

/// One open task's assignee: the request is in their Action Required since `since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEntry {
    pub task_type: TaskType,
    pub user_id: UserId,
    pub since: DateTime<Utc>,
}

impl Change {
    /// Completes an approval of a resource request whose flow has a fulfilment: `automatic`
    /// provisioning grants access at once (see [`Change::grant_in`]), `manual` opens the IT Admins'
    /// task; an assignment opens for the App Admins once provisioning is done.
    pub fn fulfil(self, plan: FulfilmentPlan, now: DateTime<Utc>) -> Result<Self, RequestError> {
        if !self.needs_target_group() {
            return Ok(self);
        }
        let Fulfilment {
            provisioning,
            assignment,
        } = plan.fulfilment;
        let mut change = match provisioning {
            Provisioning::Automatic => self.grant_in(plan.target_group, now)?,
            Provisioning::Manual | Provisioning::None => self.settled(),
        };
        if change.request.status != RequestStatus::Approved {
            return Ok(change);
        }
        let manual = provisioning == Provisioning::Manual;
        if manual {
            change.request.tasks.push(Task::new(
                TaskType::Provisioning,
                &plan.it_admins,
                Some(now),
            ));
        }
        if assignment {
            let open = (!manual).then_some(now);
            change
                .request
                .tasks
                .push(Task::new(TaskType::Assignment, &plan.app_admins, open));
        }
        let actor = change.events.last().and_then(|e| e.actor);
        Ok(change.opened_tasks(actor))
    }

    /// Records an event for each task opened by this change (one that was not open before).
    fn opened_tasks(mut self, actor: Option<UserId>) -> Self {
        let opened: Vec<Task> = self
            .request
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Open)
            .filter(|t| {
                self.before.as_ref().is_none_or(|b| {
                    b.task(t.task_type)
                        .is_none_or(|before| before.state != TaskState::Open)
                })
            })
            .cloned()
            .collect();
        for task in opened {
            self = self.event(
                RequestEventKind::TaskOpened {
                    task: task.task_type,
                    assignee_ids: task.assignee_ids,
                },
                actor,
                Some(RequestStatus::Approved),
            );
        }
        self
    }
}

impl AccessRequest {
    /// The fulfilment's tasks, in the order they happen.
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    pub fn task(&self, task_type: TaskType) -> Option<&Task> {
        self.tasks.iter().find(|t| t.task_type == task_type)
    }

    /// The fulfilment's state; `None` for a request without tasks.
    pub fn fulfilment_state(&self) -> Option<FulfilmentState> {
        Self::fulfilment_state_of(&self.tasks)
    }

    /// The state a fulfilment with `tasks` is in.
    pub fn fulfilment_state_of(tasks: &[Task]) -> Option<FulfilmentState> {
        if tasks.is_empty() {
            None
        } else if tasks.iter().any(Task::is_pending) {
            Some(FulfilmentState::InProgress)
        } else if tasks
            .iter()
            .any(|t| t.state == TaskState::Canceled && t.task_type != TaskType::Deprovisioning)
        {
            Some(FulfilmentState::Canceled)
        } else {
            Some(FulfilmentState::Done)
        }
    }

    /// Whether the ticket is open: pending, in error, or with a fulfilment task still to do. A
    /// closed ticket is one the requester finds in their closed requests (seed 004).
    pub fn is_open(&self) -> bool {
        matches!(self.status, RequestStatus::Pending | RequestStatus::Error)
            || self.tasks.iter().any(Task::is_pending)
    }

    /// Everyone the steps or the tasks name, each once (a store keeps who a request ever named).
    pub fn named(&self) -> Vec<UserId> {
        let mut ids = self.named_in_steps();
        for task in &self.tasks {
            for id in &task.assignee_ids {
                if !ids.contains(id) {
                    ids.push(*id);
                }
            }
        }
        ids
    }

    /// Whether `user` is named by one of the tasks.
    pub fn assigned(&self, user: UserId) -> bool {
        self.tasks.iter().any(|t| t.assignee_ids.contains(&user))
    }

    /// The open tasks' assignees (the index behind Action Required's `provision`, `assign` and
    /// `deprovision`).
    pub fn task_index(&self) -> Vec<TaskEntry> {
        self.tasks
            .iter()
            .filter(|t| t.state == TaskState::Open)
            .flat_map(|t| {
                let since = t.opened_at.unwrap_or(self.created_at);
                t.assignee_ids.iter().map(move |user| TaskEntry {
                    task_type: t.task_type,
                    user_id: *user,
                    since,
                })
            })
            .collect()
    }

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

    fn cancel_pending_tasks(&mut self, now: DateTime<Utc>) {
        for task in &mut self.tasks {
            if task.is_pending() {
                task.state = TaskState::Canceled;
                task.completed_at = Some(now);
            }
        }
    }

    /// A grant this request gave ended (revoked by someone, or expired: `by` is `None`). Tasks still
    /// to do are canceled (there is no access left to assign); a manually provisioned app gets a
    /// deprovisioning task for the IT Admins (`it_admins`), since nobody else removes its account.
    pub fn access_removed(
        &self,
        grant: &Grant,
        by: Option<UserId>,
        it_admins: &[UserId],
        now: DateTime<Utc>,
    ) -> Change {
        let removed = RequestEventKind::AccessRemoved {
            grant_id: grant.id,
            group_id: grant.group_id,
            user_id: grant.user_id,
            grant_status: grant.status,
        };
        let manual = self
            .task(TaskType::Provisioning)
            .is_some_and(|t| t.state == TaskState::Done);
        if !manual && !self.tasks.iter().any(Task::is_pending) {
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
}
