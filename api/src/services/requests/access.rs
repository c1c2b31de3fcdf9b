//! What an approved request gives, over time: a device-admin session started and ended, a grant
//! revoked or expired. Each is recorded on the request it came from.

use chrono::{DateTime, Utc};
use portcullis_domain::access::{Grant, GrantStatus, Session};
use portcullis_domain::directory::User;
use portcullis_domain::request::{Actor, TaskType};
use portcullis_domain::{GrantId, RequestId, SessionId};
use portcullis_persistence::repo::{grants, requests};

use super::{get_visible, refusal, store_or_conflict};
use crate::error::ApiError;
use crate::tx::Tx;

/// The requester starts the session an approved device-admin request allows (once).
pub fn start_session(
    conn: &mut Tx,
    actor: &User,
    id: RequestId,
    now: DateTime<Utc>,
) -> Result<Session, ApiError> {
    let request = get_visible(conn, id, actor)?;
    let started = grants::session_for_request(conn, id)?.is_some();
    let change = request
        .start_session(&Actor::of(actor), started, now)
        .map_err(refusal)?;
    let session = change
        .session
        .clone()
        .ok_or_else(|| ApiError::internal("a session command started no session"))?;
    store_or_conflict(conn, change, now)?;
    Ok(session)
}

pub fn end_session(
    conn: &mut Tx,
    actor: &User,
    id: SessionId,
    now: DateTime<Utc>,
) -> Result<Session, ApiError> {
    let mut session = grants::find_session(conn, id)?
        .filter(|s| actor.acts_as_admin() || s.user_id == actor.id)
        .ok_or_else(|| ApiError::NotFound(format!("no session with id {id}")))?;
    session
        .end(Some(actor.id), now)
        .map_err(ApiError::conflict)?;
    if !grants::end_session(conn, &session)? {
        return Err(ApiError::conflict("the session has already ended"));
    }
    if let Some(request) = requests::find(conn, session.request_id)? {
        store_or_conflict(conn, request.session_ended(&session, Some(actor.id)), now)?;
    }
    Ok(session)
}

/// Ends a grant: its holder gives it up or an admin revokes it (`Revoked`; a grant that has not
/// started yet never will), or its time is up (`Expired`).
pub fn end_grant(
    conn: &mut Tx,
    actor: Option<&User>,
    id: GrantId,
    status: GrantStatus,
    now: DateTime<Utc>,
) -> Result<Option<Grant>, ApiError> {
    let Some(mut grant) = grants::find(conn, id)? else {
        return Err(ApiError::NotFound(format!("no grant with id {id}")));
    };
    if let Some(actor) = actor
        && !actor.acts_as_admin()
        && grant.user_id != actor.id
    {
        return Err(ApiError::NotFound(format!("no grant with id {id}")));
    }
    let started = grant
        .end(status, actor.map(|a| a.id), now)
        .map_err(ApiError::conflict)?;
    if !grants::end(conn, &grant)? {
        return Ok(None);
    }
    if let Some(request) = requests::find(conn, grant.request_id)? {
        // Only a manually provisioned request gets a task for the IT Admins.
        let it_admins = if request.task(TaskType::Provisioning).is_some() {
            super::fulfilment::it_admins(conn)?
        } else {
            Vec::new()
        };
        let change = request.access_removed(&grant, started, actor.map(|a| a.id), &it_admins, now);
        store_or_conflict(conn, change, now)?;
    }
    Ok(Some(grant))
}

/// Ends a session whose time is up; whether this call ended it.
pub(super) fn end_session_at_its_time(
    conn: &mut Tx,
    mut session: Session,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    if session.end(None, now).is_err() || !grants::end_session(conn, &session)? {
        return Ok(false);
    }
    if let Some(request) = requests::find(conn, session.request_id)? {
        store_or_conflict(conn, request.session_ended(&session, None), now)?;
    }
    Ok(true)
}
