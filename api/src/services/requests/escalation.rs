//! The escalation job (issue 27): requests of flows with an `escalation` that have waited its
//! `after_hours` get the fallback approvers, resolved for their requester today. A mark per request
//! makes it happen once, whichever replica gets there first; reminders are not affected.

use chrono::{DateTime, Duration, Utc};
use portcullis_persistence::repo::{flows, outbox, requests, users};

use super::lifecycle::store_once;
use crate::error::ApiError;
use crate::services::approvers;
use crate::tx::Tx;

const ESCALATION: &str = "escalation";

/// Escalates the requests that are due; returns how many got fallback approvers.
pub fn escalate_due(conn: &mut Tx, now: DateTime<Utc>, batch: i64) -> Result<usize, ApiError> {
    let mut escalated = 0;
    for flow in flows::with_escalation(conn)? {
        let Some(escalation) = flow.escalation() else {
            continue;
        };
        let cutoff = now - Duration::hours(escalation.after_hours());
        let due =
            requests::pending_of_flow_unmarked_since(conn, flow.id(), cutoff, ESCALATION, batch)?;
        for id in due {
            if !outbox::mark_once(conn, &id.to_string(), ESCALATION, now)? {
                continue;
            }
            let Some(before) = requests::find(conn, id)? else {
                continue;
            };
            let Some(requester) = users::find(conn, before.requester_id())? else {
                continue;
            };
            let fallback =
                approvers::resolve_fallback(conn, &flow, escalation.to(), &requester, now)?;
            // Refused when nobody new would be added (the fallback already approves every step).
            let Ok(change) = before.escalate(escalation, &fallback, now) else {
                continue;
            };
            if store_once(conn, change, now)? {
                escalated += 1;
            }
        }
    }
    Ok(escalated)
}
