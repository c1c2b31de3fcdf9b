//! Access that starts after its approval (issue 27): the jobs start scheduled grants at their
//! `starts_at` and end those never activated in time; the holder activates a grant awaiting it.
//! Each start is a version-checked write, so of several replicas one starts a grant, once, and only
//! that one records its event and queues its notifications.

use chrono::{DateTime, Utc};
use portcullis_domain::GrantId;
use portcullis_domain::access::Grant;
use portcullis_domain::directory::User;
use portcullis_persistence::repo::{grants, requests};

use super::extension::held;
use super::store_or_conflict;
use crate::error::ApiError;
use crate::tx::Tx;

/// Records on the grant's request that it started (`by`: its holder's activation) or ended without
/// starting.
fn record_on_request(
    conn: &mut Tx,
    grant: &Grant,
    started: bool,
    by: Option<&User>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some(request) = requests::find(conn, grant.request_id)? else {
        return Ok(());
    };
    let change = if started {
        request.access_started(grant, by.map(|u| u.id))
    } else {
        // Nothing was provisioned, so there is nothing for the IT Admins to remove.
        request.access_removed(grant, false, by.map(|u| u.id), &[], now)
    };
    store_or_conflict(conn, change, now)?;
    Ok(())
}

/// The holder starts their grant awaiting activation (409 outside its window); others' grants are
/// 404s (403 for administrators).
pub fn activate_grant(
    conn: &mut Tx,
    holder: &User,
    id: GrantId,
    now: DateTime<Utc>,
) -> Result<Grant, ApiError> {
    let mut grant = held(conn, holder, id)?;
    grant.activate(now).map_err(ApiError::conflict)?;
    if !grants::start(conn, &grant, now)? {
        return Err(ApiError::conflict(
            "the grant changed at the same time; fetch it again",
        ));
    }
    record_on_request(conn, &grant, true, Some(holder), now)?;
    Ok(grant)
}

/// One pass of the start jobs: scheduled grants whose `starts_at` has come start (or end, if their
/// whole time passed unstarted), and grants whose activation window closed end `expired`. Returns
/// how many grants started and how many ended unstarted.
pub fn start_due(
    conn: &mut Tx,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<(usize, usize), ApiError> {
    let (mut started, mut lapsed) = (0, 0);
    for mut grant in grants::due_to_start(conn, now, batch)? {
        let Ok(starts) = grant.start(now) else {
            continue;
        };
        // Another replica (or a revocation) may have written it first: then this pass skips it.
        if grants::start(conn, &grant, now)? {
            record_on_request(conn, &grant, starts, None, now)?;
            if starts {
                started += 1;
            } else {
                lapsed += 1;
            }
        }
    }
    for mut grant in grants::due_to_lapse(conn, now, batch)? {
        if grant.lapse(now).is_ok() && grants::start(conn, &grant, now)? {
            record_on_request(conn, &grant, false, None, now)?;
            lapsed += 1;
        }
    }
    Ok((started, lapsed))
}
