//! Cancel, retry, reassign, resubmit, comment, and the changes the directory and flows cause
//! (requests failed or canceled when what they depend on changes).

use chrono::{DateTime, Utc};
use portcullis_domain::directory::User;
use portcullis_domain::request::{AccessRequest, Actor, RequestStatus};
use portcullis_domain::{FlowId, RequestId, UserId};
use portcullis_persistence::repo::{flows as flow_repo, requests, settings, users};

use super::create::{NewRequest, create};
use super::{get_visible, not_found, refusal, store, store_or_conflict};
use crate::error::ApiError;
use crate::services::approvers;
use crate::tx::Tx;

pub fn cancel(
    conn: &mut Tx,
    actor: &User,
    id: RequestId,
    now: DateTime<Utc>,
) -> Result<AccessRequest, ApiError> {
    let before = get_visible(conn, id, actor)?;
    let change = before.cancel(&Actor::of(actor), now).map_err(refusal)?;
    store_or_conflict(conn, change, now)
}

pub fn retry(
    conn: &mut Tx,
    actor: &User,
    id: RequestId,
    now: DateTime<Utc>,
) -> Result<AccessRequest, ApiError> {
    let before = get_visible(conn, id, actor)?;
    let actor = Actor::of(actor);
    before.check_retry(&actor).map_err(refusal)?;
    let flow = flow_repo::find(conn, before.flow_id())?;
    let resolved = match &flow {
        Some(flow) => {
            let requester =
                users::find(conn, before.requester_id())?.ok_or_else(|| not_found(id))?;
            approvers::resolve(conn, flow, &requester, now)?
        }
        None => Vec::new(),
    };
    let expiry_days = settings::get(conn)?.settings.expiry_days;
    let change = before
        .retry(&actor, flow.as_ref(), resolved, expiry_days, now)
        .map_err(refusal)?;
    store_or_conflict(conn, change, now)
}

/// An approver hands their place in the active step to `to`; the flow's App Admins and
/// administrators may move another approver's place (`from`).
pub fn reassign(
    conn: &mut Tx,
    actor: &User,
    id: RequestId,
    from: Option<UserId>,
    to: UserId,
    now: DateTime<Utc>,
) -> Result<AccessRequest, ApiError> {
    let before = get_visible(conn, id, actor)?;
    let manages = super::fulfilment::manages(conn, &before, actor.id)?;
    let target = users::find(conn, to)?;
    let change = before
        .reassign(&Actor::of(actor), manages, from, target.as_ref())
        .map_err(refusal)?;
    store_or_conflict(conn, change, now)
}

/// A new request for a denied one, linked to it.
pub fn resubmit(
    conn: &mut Tx,
    actor: &User,
    id: RequestId,
    reason: String,
    now: DateTime<Utc>,
) -> Result<AccessRequest, ApiError> {
    let denied = get_visible(conn, id, actor)?;
    let again = denied
        .resubmission(&Actor::of(actor), now)
        .map_err(refusal)?;
    let input = NewRequest {
        flow_id: again.flow_id,
        reason,
        duration_seconds: again.duration_seconds,
        device_id: again.device_id,
        requester_id: None,
        resubmitted_from: Some(again.resubmitted_from),
        // The same answers, checked again against the flow's form as it is now.
        form: denied.form().clone(),
        extends_grant: again.extends_grant,
        starts_at: again.starts_at,
    };
    create(conn, actor, &input, &None, now).map(|(request, _)| request)
}

pub fn comment(
    conn: &mut Tx,
    actor: &User,
    id: RequestId,
    body: &str,
    now: DateTime<Utc>,
) -> Result<requests::CommentRow, ApiError> {
    let request = get_visible(conn, id, actor)?;
    let change = request
        .comment(&Actor::of(actor), body, now)
        .map_err(refusal)?;
    let row = change
        .comment
        .as_ref()
        .map(requests::CommentRow::from)
        .ok_or_else(|| ApiError::internal("a comment command made no comment"))?;
    store_or_conflict(conn, change, now)?;
    Ok(row)
}

/// Moves the open requests `ids` to `error` (skipping those no longer pending), with one event each.
pub fn fail_all(
    conn: &mut Tx,
    ids: Vec<RequestId>,
    why: &str,
    actor: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let mut failed = 0;
    for id in ids {
        let Some(before) = requests::find(conn, id)? else {
            continue;
        };
        if before.status() != RequestStatus::Pending {
            continue;
        }
        let change = before.fail(why, actor).map_err(refusal)?;
        store_or_conflict(conn, change, now)?;
        failed += 1;
    }
    Ok(failed)
}

/// Cancels the open requests of a deleted flow.
pub fn cancel_for_flow(
    conn: &mut Tx,
    flow: FlowId,
    actor: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    for id in requests::open_for_flow(conn, flow)? {
        let Some(before) = requests::find(conn, id)? else {
            continue;
        };
        let change = before
            .cancel_for_deleted_flow(actor, now)
            .map_err(refusal)?;
        store_or_conflict(conn, change, now)?;
    }
    Ok(())
}

/// Saves a change that may lose a race silently (a job another replica ran first).
pub(super) fn store_once(
    conn: &mut Tx,
    change: portcullis_domain::request::Change,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    Ok(store(conn, change, now)?.is_some())
}
