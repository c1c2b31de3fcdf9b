//! Who acts on a request, as the request's rules see them: a small, explicit value made from the
//! directory's user, so that every "who may" rule is decided here.

use super::AccessRequest;
use crate::directory::{User, UserKind};
use crate::ids::UserId;

/// What kind of caller acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A person without admin rights (or an admin who is no longer active).
    Person,
    /// An active administrator.
    Admin,
    /// An integration account (a service): it may request on behalf of people and read, but
    /// never holds access and never decides.
    Integration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub id: UserId,
    pub role: Role,
}

impl Actor {
    pub fn of(user: &User) -> Self {
        let role = if user.kind == UserKind::Integration {
            Role::Integration
        } else if user.acts_as_admin() {
            Role::Admin
        } else {
            Role::Person
        };
        Self { id: user.id, role }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl AccessRequest {
    /// Who may see the request: its requester, its approvers, its fulfilment tasks' assignees,
    /// admins and integration accounts. Anyone else is told it does not exist.
    pub fn may_view(&self, actor: &Actor) -> bool {
        matches!(actor.role, Role::Admin | Role::Integration)
            || self.requester_id == actor.id
            || self.involves(actor.id)
            || self.assigned(actor.id)
    }

    /// Whether the approval progress (the steps, who is in them, what they decided) is hidden from
    /// `viewer`: from the requester, when the organisation does not show it (`show_progress`).
    pub fn hides_steps_from(&self, viewer: UserId, show_progress: bool) -> bool {
        !show_progress && self.requester_id == viewer
    }

    /// The people the steps name (approvers, and whoever decided), each once, in the order the
    /// steps name them.
    pub fn named_in_steps(&self) -> Vec<UserId> {
        let mut ids: Vec<UserId> = Vec::new();
        let named = self.steps.iter().flat_map(|step| {
            let deciders = step.decisions.iter().map(|d| d.approver_id);
            step.approver_ids.iter().copied().chain(deciders)
        });
        for id in named {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// Whether `user` is one of the request's approvers, in any step.
    pub fn involves(&self, user: UserId) -> bool {
        self.steps.iter().any(|s| s.approver_ids.contains(&user))
    }

    /// Whether `user` can decide on the request now (it is in their tasks).
    pub fn awaits(&self, user: UserId) -> bool {
        self.status == super::RequestStatus::Pending && !self.open_steps_of(user).is_empty()
    }

    /// The active steps in which `user` may still decide.
    pub(crate) fn open_steps_of(&self, user: UserId) -> Vec<usize> {
        self.steps
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.state == super::StepState::Active
                    && s.approver_ids.contains(&user)
                    && !s.has_decided(user)
            })
            .map(|(i, _)| i)
            .collect()
    }
}
