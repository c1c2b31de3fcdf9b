//! Approver resolution: who approves a flow's steps for one requester today, from what the
//! directory says about the people concerned.

use super::{ApprovalFlow, ApproverSpec};
use crate::directory::UserKind;
use crate::ids::{GroupId, UserId};

/// A person as approver resolution needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: UserId,
    pub active: bool,
    pub kind: UserKind,
    pub is_admin: bool,
}

impl Candidate {
    fn may_approve(&self, requester: UserId) -> bool {
        self.active && self.kind == UserKind::Person && self.id != requester
    }
}

/// What approver resolution reads from the directory for one requester and flow.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub manager: Option<Candidate>,
    pub owners: Vec<Candidate>,
    /// Current members of each approver group.
    pub group_members: Vec<(GroupId, Vec<Candidate>)>,
    /// The admins named by an administrator spec, or every admin when it names none.
    pub admins: Vec<Candidate>,
}

/// The approvers of one spec, for one requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedStep {
    pub position: usize,
    pub spec: ApproverSpec,
    pub approver_ids: Vec<UserId>,
    pub require_all: bool,
}

/// Resolves who approves `flow` for `requester` today. The requester is never their own approver
/// (separation of duties); deactivated people and integration accounts never approve. A step may
/// come back empty: callers decide whether that is an error (creating a request) or information
/// (a preview).
pub fn resolve_approvers(
    flow: &ApprovalFlow,
    requester: UserId,
    directory: &Directory,
) -> Vec<ResolvedStep> {
    flow.approvers
        .iter()
        .enumerate()
        .map(|(position, spec)| {
            let (approver_ids, require_all) = resolve_spec(spec, requester, directory);
            ResolvedStep {
                position,
                spec: spec.clone(),
                approver_ids,
                require_all,
            }
        })
        .collect()
}

/// Who one approver spec names for `requester` (same rules as [`resolve_approvers`]), and whether
/// every one of them must approve.
pub fn resolve_spec(
    spec: &ApproverSpec,
    requester: UserId,
    directory: &Directory,
) -> (Vec<UserId>, bool) {
    let eligible = |people: &[Candidate]| -> Vec<UserId> {
        let mut ids: Vec<UserId> = people
            .iter()
            .filter(|c| c.may_approve(requester))
            .map(|c| c.id)
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    match spec {
        ApproverSpec::Administrator { .. } => {
            let admins: Vec<Candidate> = directory
                .admins
                .iter()
                .filter(|c| c.is_admin)
                .cloned()
                .collect();
            (eligible(&admins), false)
        }
        ApproverSpec::RequesterManager => (eligible(directory.manager.as_slice()), false),
        ApproverSpec::ResourceOwner => (eligible(&directory.owners), false),
        ApproverSpec::UserGroup {
            group_id,
            require_all,
        } => {
            let members = directory
                .group_members
                .iter()
                .find(|(g, _)| g == group_id)
                .map(|(_, m)| m.as_slice())
                .unwrap_or_default();
            (eligible(members), *require_all)
        }
    }
}
