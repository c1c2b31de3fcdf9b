//! Break-glass requests are loud: their reviewers (every active administrator but the requester)
//! are emailed at once, whatever the settings' email toggles say, and told in Slack when it is
//! connected; the requester hears how the review came out. Queued in the outbox, in the change's
//! own transaction (the webhook event is the request's own, published with it).

use chrono::{DateTime, Utc};
use portcullis_domain::EventId;
use portcullis_domain::request::{AccessRequest, RequestEventKind, ReviewOutcome};
use portcullis_persistence::repo::users;
use serde_json::json;

use super::email::{queue, request_data, with};
use crate::error::ApiError;
use crate::tx::Tx;

/// The administrators' alert of a break-glass request.
pub const BREAK_GLASS: &str = "break_glass";
/// The requester's note of the review.
pub const BREAK_GLASS_REVIEWED: &str = "break_glass_reviewed";

/// What a break-glass request's event asks of email and Slack.
pub fn on_request_event(
    conn: &mut Tx,
    event_id: EventId,
    kind: &RequestEventKind,
    request: &AccessRequest,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    match kind {
        RequestEventKind::BreakGlass { reviewer_ids, .. } => {
            crate::services::slack::queue::alert_admins(
                conn,
                event_id,
                request,
                reviewer_ids,
                now,
            )?;
            alert(conn, event_id, request, reviewer_ids, now)
        }
        RequestEventKind::Reviewed { outcome, note, .. } => {
            reviewed(conn, event_id, request, *outcome, note.as_deref(), now)
        }
        _ => Ok(()),
    }
}

fn alert(
    conn: &mut Tx,
    event_id: EventId,
    request: &AccessRequest,
    reviewers: &[portcullis_domain::UserId],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if !conn.sends_email() || reviewers.is_empty() {
        return Ok(());
    }
    let Some(requester) = users::find(conn, request.requester_id())? else {
        return Ok(());
    };
    let data = request_data(request, &requester);
    for admin in users::find_many(conn, reviewers)? {
        queue(conn, Some(event_id), BREAK_GLASS, &admin, data.clone(), now)?;
    }
    Ok(())
}

fn reviewed(
    conn: &mut Tx,
    event_id: EventId,
    request: &AccessRequest,
    outcome: ReviewOutcome,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if !conn.sends_email() {
        return Ok(());
    }
    let Some(requester) = users::find(conn, request.requester_id())? else {
        return Ok(());
    };
    let reviewer = match request.review_task().and_then(|t| t.completed_by) {
        Some(id) => users::find(conn, id)?.map(|u| u.display_name.as_str().to_owned()),
        None => None,
    };
    let data = with(
        request_data(request, &requester),
        json!({
            "reviewer_name": reviewer.unwrap_or_else(|| "An administrator".to_owned()),
            "revoked": outcome == ReviewOutcome::Revoke,
            "note": note,
        }),
    );
    queue(
        conn,
        Some(event_id),
        BREAK_GLASS_REVIEWED,
        &requester,
        data,
        now,
    )
}
