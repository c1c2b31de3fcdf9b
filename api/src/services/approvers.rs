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

/// The flow's owners, the requester's manager and the first approver group's members.
fn read_people(
    conn: &mut DbConnection,
    flow: &ApprovalFlow,
    requester: &User,
    now: DateTime<Utc>,
) -> Result<Directory, ApiError> {
    let mut directory = Directory::default();
    // The manager and the owners in one query, with the first approver group's members when there
    // is one (one round trip for the common two-step flow on PostgreSQL).
    let mut named = flow.owner_ids().to_vec();
    named.extend(requester.manager_id);
    let first_group = flow.approvers().iter().find_map(|spec| match spec {
        ApproverSpec::UserGroup { group_id, .. } => Some(*group_id),
        _ => None,
    });
    let found = match first_group {
        Some(group) => {
            let (found, members) = flows::named_and_members(conn, &named, group, now)?;
            directory
                .group_members
                .push((group, members.iter().map(candidate).collect()));
            found
        }
        None => users::find_many(conn, &named)?,
    };
    directory.manager = requester
        .manager_id
        .and_then(|manager| found.iter().find(|u| u.id == manager))
        .map(candidate);
    directory.owners = found
        .iter()
        .filter(|u| flow.owner_ids().contains(&u.id))
        .map(candidate)
        .collect();
    Ok(directory)
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
