//! Fulfilment (seed 004): what follows an approval whose flow has one, and its tasks' commands
//! (complete, reassign). The directory is read here (who the IT Admins and App Admins are, whether
//! the target group still exists); the request decides.

use chrono::{DateTime, Utc};
use portcullis_domain::directory::User;
use portcullis_domain::flow::{Activation, ApprovalFlow, Fulfilment};
use portcullis_domain::request::{AccessRequest, Actor, Change, FulfilmentPlan, TaskType};
use portcullis_domain::{GroupId, RequestId, UserId};
use portcullis_persistence::DbConnection;
use portcullis_persistence::repo::{flows as flow_repo, grants, groups, requests, users};

use super::{not_found, refusal, store_or_conflict};
use crate::error::ApiError;
use crate::tx::Tx;

/// The group `group`, if it still exists.
fn existing(conn: &mut DbConnection, group: Option<GroupId>) -> Result<Option<GroupId>, ApiError> {
    match group {
        Some(group) => Ok(groups::find(conn, group)?.map(|g| g.id)),
        None => Ok(None),
    }
}

/// The active administrators: the IT Admins a provisioning or deprovisioning task is for.
pub(super) fn it_admins(conn: &mut DbConnection) -> Result<Vec<UserId>, ApiError> {
    Ok(users::active_admins(conn)?.iter().map(|u| u.id).collect())
}

/// What a flow says about completing an approval: its fulfilment, its owners (App Admins), its
/// target group and its activation rule (as read when the request was made, or now).
#[derive(Debug, Clone, Default)]
pub struct FlowTerms {
    pub fulfilment: Option<Fulfilment>,
    pub owners: Vec<UserId>,
    pub target_group: Option<GroupId>,
    pub activation: Option<Activation>,
}

impl FlowTerms {
    /// `flow`'s terms; none for a deleted flow.
    pub fn of(flow: Option<&ApprovalFlow>) -> Self {
        flow.map_or_else(Self::default, |flow| Self {
            fulfilment: flow.fulfilment(),
            owners: flow.app_admin_ids().to_vec(),
            target_group: flow.target_group_id(),
            activation: flow.activation(),
        })
    }
}

/// Completes an approval (see [`Change::needs_target_group`]): with the flow's fulfilment, its tasks;
/// without, the target group's membership (at once, or when it starts).
pub(super) fn complete_approval(
    conn: &mut DbConnection,
    change: Change,
    terms: &FlowTerms,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    if !change.needs_target_group() {
        return Ok(change);
    }
    // An extension moves its grant's end instead (read here, in the writing transaction).
    if let Some(grant) = change.request.extends_grant() {
        let grant = grants::find(conn, grant)?;
        return change.extend_grant(grant, now).map_err(refusal);
    }
    // The flow's target group exists: a group an approval flow names cannot be deleted (the
    // flow's reference to it is a foreign key; deleting it is a 409), and the terms were read in
    // this transaction or re-checked in it by the flow's version.
    let group = terms.target_group;
    match terms.fulfilment {
        None => change.grant_in(group, terms.activation, now),
        Some(fulfilment) => change.fulfil(
            FulfilmentPlan {
                fulfilment,
                target_group: group,
                it_admins: it_admins(conn)?,
                app_admins: terms.owners.clone(),
                activation: terms.activation,
            },
            now,
        ),
    }
    .map_err(refusal)
}

/// Whether `user` is one of the App Admins (owners) of `request`'s flow.
pub(super) fn manages(
    conn: &mut DbConnection,
    request: &AccessRequest,
    user: UserId,
) -> Result<bool, ApiError> {
    Ok(flow_repo::find(conn, request.flow_id())?
        .as_ref()
        .is_some_and(|flow: &ApprovalFlow| flow.is_app_admin(user)))
}

/// Loads a request for a fulfilment command: a 404 only when it does not exist; whether the caller
/// may act is the task's rule (a 403 for anyone who is not an assignee, an App Admin of the flow
/// where that counts, or an administrator).
fn load(conn: &mut DbConnection, id: RequestId) -> Result<AccessRequest, ApiError> {
    requests::find(conn, id)?.ok_or_else(|| not_found(id))
}

/// An assignee (or an administrator) completes an open fulfilment task.
pub fn complete_task(
    conn: &mut Tx,
    actor: &User,
    id: RequestId,
    task_type: TaskType,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<AccessRequest, ApiError> {
    let request = load(conn, id)?;
    let group = if task_type == TaskType::Provisioning {
        let flow_group =
            flow_repo::find(conn, request.flow_id())?.and_then(|f| f.target_group_id());
        existing(conn, flow_group)?
    } else {
        None
    };
    let change = request
        .complete_task(task_type, &Actor::of(actor), note, group, now)
        .map_err(refusal)?;
    store_or_conflict(conn, change, now)
}

/// An assignee hands their place in an open task to someone else; App Admins of the flow and
/// administrators may move anyone's place.
pub fn reassign_task(
    conn: &mut Tx,
    actor: &User,
    id: RequestId,
    task_type: TaskType,
    from: Option<UserId>,
    to: UserId,
    now: DateTime<Utc>,
) -> Result<AccessRequest, ApiError> {
    let request = load(conn, id)?;
    let manages = manages(conn, &request, actor.id)?;
    let target = users::find(conn, to)?;
    let change = request
        .reassign_task(task_type, &Actor::of(actor), manages, from, target.as_ref())
        .map_err(refusal)?;
    store_or_conflict(conn, change, now)
}

/// Whether `actor` may act on the task at all (before a bad body is answered).
pub fn check_task_actor(
    conn: &mut DbConnection,
    actor: &User,
    id: RequestId,
    task_type: TaskType,
) -> Result<(), ApiError> {
    let request = load(conn, id)?;
    let manages = manages(conn, &request, actor.id)?;
    request
        .check_task_actor(task_type, &Actor::of(actor), manages)
        .map_err(refusal)
}
