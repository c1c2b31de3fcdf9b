//! Break-glass reviews (issue 27): an administrator confirms a break-glass request's access or
//! revokes it; the request decides, the grant (read here) ends with the review in one transaction.

use chrono::{DateTime, Utc};
use portcullis_domain::RequestId;
use portcullis_domain::directory::User;
use portcullis_domain::request::{AccessRequest, Actor, ReviewOutcome};
use portcullis_persistence::DbConnection;
use portcullis_persistence::repo::{grants, requests};

use super::{not_found, refusal, store_or_conflict};
use crate::error::ApiError;
use crate::tx::Tx;

/// The request `id` for a review: a 404 only when it does not exist; whether the caller may review
/// is the request's rule (a 403 for anyone but an administrator other than the requester).
fn load(conn: &mut DbConnection, id: RequestId) -> Result<AccessRequest, ApiError> {
    requests::find(conn, id)?.ok_or_else(|| not_found(id))
}

/// Whether `actor` may review request `id` at all (before a bad body is answered).
pub fn check_reviewer(
    conn: &mut DbConnection,
    actor: &User,
    id: RequestId,
) -> Result<(), ApiError> {
    load(conn, id)?
        .check_reviewer(&Actor::of(actor))
        .map_err(refusal)
}

/// An administrator reviews a break-glass request: `confirm` keeps its access, `revoke` ends its
/// grant (and membership) now. Once per request (409 after).
pub fn review(
    conn: &mut Tx,
    actor: &User,
    id: RequestId,
    outcome: ReviewOutcome,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<AccessRequest, ApiError> {
    let request = load(conn, id)?;
    let grant = match outcome {
        ReviewOutcome::Revoke => grants::for_request(conn, id)?,
        ReviewOutcome::Confirm => None,
    };
    let change = request
        .review(&Actor::of(actor), outcome, note, grant, now)
        .map_err(refusal)?;
    store_or_conflict(conn, change, now)
}
