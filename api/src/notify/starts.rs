//! Emails about access that starts after its approval (issue 27): the requester hears when a
//! scheduled grant starts (the approval email's schedule is [`super::email`]'s).

use chrono::{DateTime, Utc};
use portcullis_domain::EventId;
use portcullis_domain::request::{AccessRequest, RequestEventKind};
use portcullis_persistence::repo::users;
use serde_json::json;

use super::email::{ACCESS_STARTED, queue, request_data, when, with};
use crate::error::ApiError;
use crate::tx::Tx;

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
