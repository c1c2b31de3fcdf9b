//! Who approves a flow for a requester today: the directory read for it (manager, owners, group
//! members, administrators), then the domain's resolution.

use chrono::{DateTime, Utc};
use portcullis_domain::UserId;
use portcullis_domain::directory::User;
use portcullis_domain::flow::{
    self, ApprovalFlow, ApproverSpec, Candidate, Directory, ResolvedStep,
};
use portcullis_persistence::DbConnection;
use portcullis_persistence::repo::{flows, users};

use crate::error::ApiError;

fn candidate(user: &User) -> Candidate {
    Candidate {
        id: user.id,
        active: user.active,
        kind: user.kind,
        is_admin: user.is_admin,
    }
}

/// Who would approve `flow` for `requester` today, step by step.
pub fn resolve(
    conn: &mut DbConnection,
    flow: &ApprovalFlow,
    requester: &User,
    now: DateTime<Utc>,
) -> Result<Vec<ResolvedStep>, ApiError> {
    resolve_from(conn, flow, requester, None, now)
}

/// [`resolve`], from `people` (the flow's owners, the requester's manager and its approver groups'
/// members) when they were read with the flow (see `flows::find_for_submission`); what else the
/// flow's steps need (administrators) is read here.
pub fn resolve_from(
    conn: &mut DbConnection,
    flow: &ApprovalFlow,
    requester: &User,
    people: Option<Directory>,
    now: DateTime<Utc>,
) -> Result<Vec<ResolvedStep>, ApiError> {
    let mut directory = match people {
        Some(people) => people,
        None => read_people(conn, flow, requester, now)?,
    };
    read_specs(conn, &mut directory, flow.approvers(), now)?;
    Ok(flow::resolve_approvers(flow, requester.id, &directory))
}

/// The flow's owners and the requester's manager, with its approver groups' members on PostgreSQL
/// (one statement, the one a submission reads its flow with); on SQLite [`read_specs`] reads each
/// group.
fn read_people(
    conn: &mut DbConnection,
    flow: &ApprovalFlow,
    requester: &User,
    now: DateTime<Utc>,
) -> Result<Directory, ApiError> {
    let manager = requester.manager_id;
    if let Some(people) = flows::approver_people(conn, flow.id(), requester.id, manager, now)? {
        return Ok(people);
    }
    let mut named = flow.owner_ids().to_vec();
    named.extend(manager);
    let found = users::find_many(conn, &named)?;
    Ok(Directory {
        manager: manager
            .and_then(|manager| found.iter().find(|u| u.id == manager))
            .map(candidate),
        owners: found
            .iter()
            .filter(|u| flow.owner_ids().contains(&u.id))
            .map(candidate)
            .collect(),
        ..Directory::default()
    })
}

/// Whether `directory` already holds `group`'s members.
fn has_group(directory: &Directory, group: portcullis_domain::GroupId) -> bool {
    directory.group_members.iter().any(|(g, _)| *g == group)
}

/// Reads what `specs` need beyond the manager and the owners: group members and administrators.
fn read_specs<'a>(
    conn: &mut DbConnection,
    directory: &mut Directory,
    specs: impl IntoIterator<Item = &'a ApproverSpec>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    for spec in specs {
        match spec {
            ApproverSpec::UserGroup { group_id, .. } if has_group(directory, *group_id) => {}
            ApproverSpec::UserGroup { group_id, .. } => {
                let people = flows::members(conn, *group_id, now)?
                    .iter()
                    .map(candidate)
                    .collect();
                directory.group_members.push((*group_id, people));
            }
            ApproverSpec::Administrator { admin_ids } if admin_ids.is_empty() => {
                directory.admins = users::active_admins(conn)?.iter().map(candidate).collect();
            }
            ApproverSpec::Administrator { admin_ids } => {
                directory.admins = users::find_many(conn, admin_ids)?
                    .iter()
                    .map(candidate)
                    .collect();
            }
            ApproverSpec::RequesterManager | ApproverSpec::ResourceOwner => {}
        }
    }
    Ok(())
}

/// Who the fallback approvers `spec` (a flow's escalation) are for `requester` today.
pub fn resolve_fallback(
    conn: &mut DbConnection,
    flow: &ApprovalFlow,
    spec: &ApproverSpec,
    requester: &User,
    now: DateTime<Utc>,
) -> Result<Vec<UserId>, ApiError> {
    let mut directory = Directory::default();
    match spec {
        ApproverSpec::RequesterManager => {
            let manager = requester.manager_id.into_iter().collect::<Vec<_>>();
            directory.manager = users::find_many(conn, &manager)?.first().map(candidate);
        }
        ApproverSpec::ResourceOwner => {
            directory.owners = users::find_many(conn, flow.owner_ids())?
                .iter()
                .map(candidate)
                .collect();
        }
        _ => read_specs(conn, &mut directory, [spec], now)?,
    }
    Ok(flow::resolve_spec(spec, requester.id, &directory).0)
}
