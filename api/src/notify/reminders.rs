//! Reminders, each sent once: approvers of a request pending longer than the settings'
//! `approver_reminder_days`, and holders of timed access `grant_ending_notice_hours` before it ends.
//! A mark per subject makes each reminder happen once, whichever replica's job gets there first.

use chrono::{DateTime, Duration, Utc};
use portcullis_domain::flow::ApprovalType;
use portcullis_persistence::repo::{grants, outbox, requests, settings};

use crate::error::ApiError;
use crate::notify::email;
use crate::tx::Tx;

const APPROVER_REMINDER: &str = "approver_reminder";
const ACCESS_ENDING: &str = "access_ending";

/// Queues the reminders that are due; returns (requests reminded, holders told).
pub fn run(conn: &mut Tx, now: DateTime<Utc>, batch: i64) -> Result<(usize, usize), ApiError> {
    let settings = settings::get(conn)?.settings;
    let mut reminded = 0;
    if settings.approver_reminder_days > 0 {
        let cutoff = now - Duration::days(settings.approver_reminder_days);
        for id in requests::pending_unmarked_since(conn, cutoff, APPROVER_REMINDER, batch)? {
            if !outbox::mark_once(conn, &id.to_string(), APPROVER_REMINDER, now)? {
                continue;
            }
            if let Some(request) = requests::find(conn, id)?
                && request.approval_type() == ApprovalType::Manual
            {
                email::reminder(conn, &request, now)?;
                reminded += 1;
            }
        }
    }
    let mut told = 0;
    if settings.grant_ending_notice_hours > 0 {
        let until = now + Duration::hours(settings.grant_ending_notice_hours);
        for grant in grants::ending_unmarked(conn, now, until, ACCESS_ENDING, batch)? {
            if !outbox::mark_once(conn, &grant.id.to_string(), ACCESS_ENDING, now)? {
                continue;
            }
            if let (Some(request), Some(ends_at)) =
                (requests::find(conn, grant.request_id)?, grant.expires_at)
                && email::access_ending(conn, &request, ends_at, now)?
            {
                told += 1;
            }
        }
    }
    Ok((reminded, told))
}
