//! What follows the approval of a resource request whose flow has a fulfilment (seed 004): the
//! administrators (IT Admins) provision the account, then the flow's owners (App Admins) assign it.
//! Each is a task of the request, opened here, completed or reassigned through the request's commands
//! (see `tasks.rs`);
//! the request keeps its decision (`approved`) and its ticket stays open until the tasks are done.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::events::RequestEventKind;
use super::{AccessRequest, Change, RequestError, RequestStatus};
use crate::flow::{Activation, Fulfilment, Provisioning};
use crate::ids::{GroupId, UserId};
use crate::text_enum;

text_enum!(
    /// `provisioning`: create the account (IT Admins); `assignment`: assign the licence or role (App
    /// Admins); `deprovisioning`: remove the account of a manually provisioned app once its access
    /// ended (IT Admins); `review`: confirm or revoke a break-glass request's access after the fact
    /// (administrators; done with `POST /v1/access-requests/{id}/review`, not with the fulfilment
    /// endpoints).
    TaskType {
        Provisioning => "provisioning",
        Assignment => "assignment",
        Deprovisioning => "deprovisioning",
        Review => "review",
    }
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
            Self::Review => "review",
        }
    }

    /// Whether the administrators (IT Admins) do it, rather than the flow's owners.
    pub(super) fn for_administrators(self) -> bool {
        self != Self::Assignment
    }

    /// Whether it is part of the fulfilment (what gives the access), as opposed to a break-glass
    /// request's review, which follows the access and does not hold its ticket open.
    pub fn is_fulfilment(self) -> bool {
        self != Self::Review
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
    /// A review: what it decided (absent for other tasks, and while the review is open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<super::ReviewOutcome>,
}

impl Task {
    pub(super) fn new(
        task_type: TaskType,
        assignees: &[UserId],
        open_at: Option<DateTime<Utc>>,
    ) -> Self {
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
            outcome: None,
        }
    }

    pub(super) fn is_pending(&self) -> bool {
        matches!(self.state, TaskState::Waiting | TaskState::Open)
    }

    /// A fulfilment task still to do (a review is not one: see [`TaskType::is_fulfilment`]).
    pub(super) fn is_pending_fulfilment(&self) -> bool {
        self.task_type.is_fulfilment() && self.is_pending()
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
    /// The flow's activation rule (automatic provisioning only; see [`Change::grant_in`]).
    pub activation: Option<Activation>,
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
            Provisioning::Automatic => self.grant_in(plan.target_group, plan.activation, now)?,
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
    pub(super) fn opened_tasks(mut self, actor: Option<UserId>) -> Self {
        let opened: Vec<Task> = self
            .request
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Open && t.task_type.is_fulfilment())
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

    /// The state a fulfilment with `tasks` is in (a review is not part of it).
    pub fn fulfilment_state_of(tasks: &[Task]) -> Option<FulfilmentState> {
        let mut tasks = tasks
            .iter()
            .filter(|t| t.task_type.is_fulfilment())
            .peekable();
        if tasks.peek().is_none() {
            None
        } else if tasks.clone().any(Task::is_pending) {
            Some(FulfilmentState::InProgress)
        } else if tasks
            .any(|t| t.state == TaskState::Canceled && t.task_type != TaskType::Deprovisioning)
        {
            Some(FulfilmentState::Canceled)
        } else {
            Some(FulfilmentState::Done)
        }
    }

    /// Whether the ticket is open: pending, in error, or with a fulfilment task still to do. A
    /// closed ticket is one the requester finds in their closed requests (seed 004). A break-glass
    /// request's review is the administrators' business after the access: it keeps no ticket open.
    pub fn is_open(&self) -> bool {
        matches!(self.status, RequestStatus::Pending | RequestStatus::Error)
            || self.tasks.iter().any(Task::is_pending_fulfilment)
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

    /// The open tasks' assignees (the index behind Action Required's `provision`, `assign`,
    /// `deprovision` and `review`).
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
}
