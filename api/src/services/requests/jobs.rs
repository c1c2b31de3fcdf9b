//! The background jobs' use cases: pending requests expire, grants and sessions end at their time.

use chrono::{DateTime, Utc};
use portcullis_domain::access::GrantStatus;
use portcullis_persistence::repo::{grants, requests};

use super::access::{end_grant, end_session_at_its_time};
use super::lifecycle::store_once;
use crate::error::ApiError;
use crate::tx::Tx;

/// One pass of the background jobs; returns how many items each job handled.
pub fn run_jobs(
    conn: &mut Tx,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<(usize, usize, usize), ApiError> {
    let mut expired = 0;
    for id in requests::due_for_expiry(conn, now, batch)? {
        let Some(before) = requests::find(conn, id)? else {
            continue;
        };
        let Ok(change) = before.expire(now) else {
            continue;
        };
        // Another replica may have expired it first: the version check makes the event happen once.
        if store_once(conn, change, now)? {
            expired += 1;
        }
    }
    let mut ended_grants = 0;
    for grant in grants::due_for_expiry(conn, now, batch)? {
        if end_grant(conn, None, grant.id, GrantStatus::Expired, now)?.is_some() {
            ended_grants += 1;
        }
    }
    let mut ended_sessions = 0;
    for session in grants::sessions_due(conn, now, batch)? {
        if end_session_at_its_time(conn, session, now)? {
            ended_sessions += 1;
        }
    }
    Ok((expired, ended_grants, ended_sessions))
}
