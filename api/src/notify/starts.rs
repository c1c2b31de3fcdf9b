//! Emails about access that starts after its approval (issue 27): the approval says when (or until
//! when to activate it), and the requester hears when a scheduled grant starts.

use chrono::{DateTime, Utc};
use portcullis_domain::EventId;
use portcullis_domain::access::GrantStatus;
use portcullis_domain::request::{AccessRequest, RequestEventKind};
use portcullis_persistence::repo::{grants, users};
use serde_json::{Value, json};

use super::email::{ACCESS_STARTED, queue, request_data, when, with};
use crate::error::ApiError;
use crate::tx::Tx;

/// What the approval email adds for a grant that starts later: when it starts and ends, or until
/// when its holder may activate it (an empty object for access given at once).
pub(crate) fn approval_schedule(conn: &mut Tx, request: &AccessRequest) -> Result<Value, ApiError> {
    let Some(grant) = grants::for_request(conn, request.id())? else {
        return Ok(json!({}));
    };
    Ok(match grant.status {
        GrantStatus::Scheduled => json!({
            "access_starts_at": grant.starts_at.map(when),
            "access_ends_at": grant.expires_at.map(when),
        }),
        GrantStatus::AwaitingActivation => json!({
            "access_starts_at": grant.starts_at.map(when),
            "activate_by": grant.activate_by.map(when),
        }),
        _ => json!({}),
    })
}

/// The requester's email when a scheduled grant started (an activation is their own doing).
pub fn on_grant_event(
    conn: &mut Tx,
    event_id: EventId,
    kind: &RequestEventKind,
    request: &AccessRequest,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let RequestEventKind::AccessStarted {
        expires_at,
        activated: false,
        ..
    } = kind
    else {
        return Ok(());
    };
    if !conn.sends_email() {
        return Ok(());
    }
    let Some(holder) = users::find(conn, request.requester_id())? else {
        return Ok(());
    };
    let data = with(
        request_data(request, &holder),
        json!({ "access_ends_at": expires_at.map(when) }),
    );
    queue(conn, Some(event_id), ACCESS_STARTED, &holder, data, now)
}
