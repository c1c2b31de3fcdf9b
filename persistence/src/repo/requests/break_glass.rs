//! What the break-glass rate limit reads: a person's break-glass requests since a time, counted from
//! the stored requests (so it holds across replicas), and the lock that keeps two of their
//! submissions from both counting the same past.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::UserId;

use crate::connection::DbConnection;
use crate::schema::access_requests;
use crate::time::{from_db, to_db};

/// The query behind [`made_since`] (boxed, so that the index tests can explain it): the
/// requester's requests of the window, through the requester index.
pub(super) fn made_since_query(requester: UserId, since: DateTime<Utc>) -> MadeSinceQuery {
    access_requests::table
        .select((access_requests::created_at, access_requests::detail))
        .filter(access_requests::requester_id.eq(requester.to_string()))
        .filter(access_requests::created_at.gt(to_db(since)))
        .into_boxed()
}

pub(super) type MadeSinceQuery = access_requests::BoxedQuery<
    'static,
    crate::connection::MultiBackend,
    (diesel::sql_types::Timestamp, diesel::sql_types::Text),
>;

/// Whether a stored detail is a break-glass request's (see `rows::Detail`).
#[derive(serde::Deserialize)]
struct Flag {
    #[serde(default)]
    break_glass: bool,
}

/// When `requester`'s break-glass requests made after `since` were made (any flow, any status).
/// A person makes few requests a day: their window's rows are read and the flag picked out of each.
pub fn made_since(
    conn: &mut DbConnection,
    requester: UserId,
    since: DateTime<Utc>,
) -> QueryResult<Vec<DateTime<Utc>>> {
    let rows: Vec<(NaiveDateTime, String)> = made_since_query(requester, since).load(conn)?;
    let mut made = Vec::new();
    for (at, detail) in rows {
        let flag: Flag = serde_json::from_str(&detail)
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
        if flag.break_glass {
            made.push(from_db(at));
        }
    }
    Ok(made)
}

/// Serialises, until the transaction ends, the break-glass submissions of `requester`: without it,
/// on PostgreSQL two of them could run at once, each counting the requests committed before both,
/// and together go past the allowance. Nothing to do on SQLite, whose writes run one at a time
/// (its writing half counts again: see the create use case).
pub fn lock_requester(conn: &mut DbConnection, requester: UserId) -> QueryResult<()> {
    if !matches!(conn, DbConnection::Postgres(_)) {
        return Ok(());
    }
    // "BGL" in ASCII: the advisory-lock class of break-glass submissions.
    diesel::sql_query("SELECT pg_advisory_xact_lock(4343628, hashtext($1))")
        .bind::<diesel::sql_types::Text, _>(requester.to_string())
        .execute(conn)
        .map(drop)
}
