//! Grants (with the `grant` membership each holds) and device-admin sessions.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::access::{Grant, GrantStatus};
use portcullis_domain::directory::MembershipSource;
use portcullis_domain::{GrantId, RequestId, UserId};

use crate::connection::DbConnection;
use crate::keyset_page;
use crate::models::MembershipRow;
use crate::page::{Cursor, Page, PageRequest};
use crate::repo::events::{self, NewEvent, Recorded};
use crate::schema::{grants, memberships};
use crate::time::{from_db, to_db};
use crate::together::Together;

mod sessions;

pub use sessions::*;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, serde::Deserialize)]
#[diesel(table_name = grants, treat_none_as_null = true, treat_none_as_default_value = false)]
pub(crate) struct GrantRow {
    id: String,
    request_id: String,
    user_id: String,
    group_id: String,
    membership_id: Option<String>,
    status: String,
    granted_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
    ended_at: Option<NaiveDateTime>,
    ended_by: Option<String>,
    version: i64,
    extension_count: i64,
    extended_seconds: i64,
    starts_at: Option<NaiveDateTime>,
    activate_by: Option<NaiveDateTime>,
    duration_seconds: Option<i64>,
}

impl From<&Grant> for GrantRow {
    fn from(g: &Grant) -> Self {
        Self {
            id: g.id.to_string(),
            request_id: g.request_id.to_string(),
            user_id: g.user_id.to_string(),
            group_id: g.group_id.to_string(),
            membership_id: Some(g.membership_id.to_string()),
            status: g.status.as_str().to_owned(),
            granted_at: to_db(g.granted_at),
            expires_at: g.expires_at.map(to_db),
            ended_at: g.ended_at.map(to_db),
            ended_by: g.ended_by.map(|u| u.to_string()),
            version: g.version,
            extension_count: g.extension_count,
            extended_seconds: g.extended_seconds,
            starts_at: g.starts_at.map(to_db),
            activate_by: g.activate_by.map(to_db),
            duration_seconds: g.duration_seconds,
        }
    }
}

pub(crate) fn grant(row: GrantRow) -> QueryResult<Grant> {
    let parse = || -> Result<Grant, BoxError> {
        Ok(Grant {
            id: row.id.parse()?,
            request_id: row.request_id.parse()?,
            user_id: row.user_id.parse()?,
            group_id: row.group_id.parse()?,
            membership_id: row.membership_id.as_deref().unwrap_or_default().parse()?,
            status: GrantStatus::parse(&row.status)?,
            granted_at: from_db(row.granted_at),
            expires_at: row.expires_at.map(from_db),
            ended_at: row.ended_at.map(from_db),
            ended_by: row.ended_by.as_deref().map(str::parse).transpose()?,
            extension_count: row.extension_count,
            extended_seconds: row.extended_seconds,
            starts_at: row.starts_at.map(from_db),
            activate_by: row.activate_by.map(from_db),
            duration_seconds: row.duration_seconds,
            version: row.version,
        })
    };
    parse().map_err(diesel::result::Error::DeserializationError)
}

/// Stores the grant and, if it is active, its membership (source `grant`, with the grant's expiry;
/// on PostgreSQL both in one statement); a grant that starts later gets its membership when it
/// starts ([`start`]).
pub fn insert(conn: &mut DbConnection, g: &Grant) -> QueryResult<()> {
    insert_recording(conn, g, &[]).map(drop)
}

/// [`insert`], and on PostgreSQL the change's `events` (all about one subject, as
/// [`events::record_all`] takes them) in the same statement: `WITH first AS (<the membership>),
/// second AS (<the grant>) INSERT INTO events … RETURNING …`, so that an approval that completes a
/// request stores its grant and its events in one round trip instead of two. Answers what
/// recording found for each event it stored: all of them, or none (not PostgreSQL, a grant that is
/// not active yet, events about several subjects), which the caller then records.
pub fn insert_recording(
    conn: &mut DbConnection,
    g: &Grant,
    events: &[NewEvent],
) -> QueryResult<Vec<Recorded>> {
    let grant = diesel::insert_into(grants::table).values(GrantRow::from(g));
    if g.status != GrantStatus::Active {
        return grant.execute(conn).map(|_| Vec::new());
    }
    if let DbConnection::Postgres(pg) = conn {
        let membership =
            diesel::insert_into(memberships::table).values(membership(g, g.granted_at));
        if events::one_subject(events) {
            return events::record_all_after_pg(pg, events, Some((membership, grant)));
        }
        return Together(membership, grant).execute(pg).map(|_| Vec::new());
    }
    grant.execute(conn)?;
    add_membership(conn, g, g.granted_at)?;
    Ok(Vec::new())
}

/// `g`'s membership, made at `at`.
fn membership(g: &Grant, at: DateTime<Utc>) -> MembershipRow {
    MembershipRow {
        id: g.membership_id.to_string(),
        group_id: g.group_id.to_string(),
        user_id: g.user_id.to_string(),
        source: MembershipSource::Grant.as_str().to_owned(),
        expires_at: g.expires_at.map(to_db),
        created_at: to_db(at),
    }
}

fn add_membership(conn: &mut DbConnection, g: &Grant, at: DateTime<Utc>) -> QueryResult<()> {
    diesel::insert_into(memberships::table)
        .values(membership(g, at))
        .execute(conn)
        .map(drop)
}

/// Writes `g` over the stored grant if that is still the version before (`g.version - 1`);
/// whether it did. Another writer who changed it first wins, whatever the replica.
fn write_over(conn: &mut DbConnection, g: &Grant) -> QueryResult<bool> {
    diesel::update(
        grants::table
            .filter(grants::id.eq(g.id.to_string()))
            .filter(grants::version.eq(g.version - 1)),
    )
    .set(GrantRow::from(g))
    .execute(conn)
    .map(|n| n == 1)
}

/// Writes a waiting grant that started at `now` (scheduled, or activated by its holder) or that
/// ended without starting, if its stored version is still the one before; a started one gets its
/// membership. Whether this call wrote it: of several replicas starting one grant, one does.
pub fn start(conn: &mut DbConnection, g: &Grant, now: DateTime<Utc>) -> QueryResult<bool> {
    if !write_over(conn, g)? {
        return Ok(false);
    }
    if g.status == GrantStatus::Active {
        add_membership(conn, g, now)?;
    }
    Ok(true)
}

/// Stores many ended grants (history: their memberships are gone) in few statements (bulk loads).
pub fn insert_many_ended(conn: &mut DbConnection, ended: &[Grant]) -> QueryResult<usize> {
    let rows: Vec<GrantRow> = ended.iter().map(GrantRow::from).collect();
    Ok(crate::insert_many!(conn, grants::table, rows))
}

pub fn find(conn: &mut DbConnection, id: GrantId) -> QueryResult<Option<Grant>> {
    grants::table
        .find(id.to_string())
        .select(GrantRow::as_select())
        .first(conn)
        .optional()?
        .map(grant)
        .transpose()
}

pub fn for_request(conn: &mut DbConnection, request: RequestId) -> QueryResult<Option<Grant>> {
    grants::table
        .filter(grants::request_id.eq(request.to_string()))
        .select(GrantRow::as_select())
        .first(conn)
        .optional()?
        .map(grant)
        .transpose()
}

/// Writes an ended grant (if its stored version is still the one before) and removes its
/// membership at once; other memberships of the user in the group (direct, other grants) stay.
pub fn end(conn: &mut DbConnection, g: &Grant) -> QueryResult<bool> {
    let updated = write_over(conn, g)?;
    if updated {
        diesel::delete(memberships::table.find(g.membership_id.to_string())).execute(conn)?;
    }
    Ok(updated)
}

/// Writes an extended grant (if its stored version is still the one before) and moves its
/// membership's end with it: the same membership continues, never removed and added again.
pub fn extend(conn: &mut DbConnection, g: &Grant) -> QueryResult<bool> {
    let updated = write_over(conn, g)?;
    if updated {
        diesel::update(memberships::table.find(g.membership_id.to_string()))
            .set(memberships::expires_at.eq(g.expires_at.map(to_db)))
            .execute(conn)?;
    }
    Ok(updated)
}

/// Grants newest first, of one user when given, active only when asked.
pub fn list(
    conn: &mut DbConnection,
    user: Option<UserId>,
    active_only: bool,
    page: &PageRequest,
) -> QueryResult<Page<Grant>> {
    let mut query = grants::table.select(GrantRow::as_select()).into_boxed();
    if let Some(user) = user {
        query = query.filter(grants::user_id.eq(user.to_string()));
    }
    if active_only {
        query = query.filter(grants::status.eq(GrantStatus::Active.as_str()));
    }
    let rows: Vec<GrantRow> =
        keyset_page!(query, grants::granted_at, grants::id, page).load(conn)?;
    Page::from_rows(rows, page.limit, |r| Cursor {
        created_at: r.granted_at,
        id: r.id.clone(),
    })
    .try_map(grant)
}

/// Active grants whose time is up.
pub fn due_for_expiry(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Grant>> {
    grants::table
        .filter(grants::status.eq(GrantStatus::Active.as_str()))
        .filter(grants::expires_at.le(to_db(now)))
        .order(grants::expires_at.asc())
        .limit(limit)
        .select(GrantRow::as_select())
        .load(conn)?
        .into_iter()
        .map(grant)
        .collect()
}

/// Scheduled grants whose `starts_at` has come, soonest first.
pub fn due_to_start(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Grant>> {
    grants::table
        .filter(grants::status.eq(GrantStatus::Scheduled.as_str()))
        .filter(grants::starts_at.le(to_db(now)))
        .order(grants::starts_at.asc())
        .limit(limit)
        .select(GrantRow::as_select())
        .load(conn)?
        .into_iter()
        .map(grant)
        .collect()
}

/// Grants awaiting activation whose window has closed, soonest first.
pub fn due_to_lapse(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Grant>> {
    grants::table
        .filter(grants::status.eq(GrantStatus::AwaitingActivation.as_str()))
        .filter(grants::activate_by.le(to_db(now)))
        .order(grants::activate_by.asc())
        .limit(limit)
        .select(GrantRow::as_select())
        .load(conn)?
        .into_iter()
        .map(grant)
        .collect()
}

/// Up to `limit` of `user`'s grants that have not ended (active, or waiting to start).
pub fn unended_of(conn: &mut DbConnection, user: UserId, limit: i64) -> QueryResult<Vec<Grant>> {
    let unended = [
        GrantStatus::Active.as_str(),
        GrantStatus::Scheduled.as_str(),
        GrantStatus::AwaitingActivation.as_str(),
    ];
    grants::table
        .filter(grants::user_id.eq(user.to_string()))
        .filter(grants::status.eq_any(unended))
        .limit(limit)
        .select(GrantRow::as_select())
        .load(conn)?
        .into_iter()
        .map(grant)
        .collect()
}

/// Active timed grants ending between `now` and `until` whose holder has not had the notification
/// `mark` yet, soonest first.
pub fn ending_unmarked(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    mark: &str,
    limit: i64,
) -> QueryResult<Vec<Grant>> {
    use crate::schema::notification_marks;
    grants::table
        .filter(grants::status.eq(GrantStatus::Active.as_str()))
        .filter(grants::expires_at.gt(to_db(now)))
        .filter(grants::expires_at.le(to_db(until)))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            notification_marks::table
                .filter(notification_marks::subject_id.eq(grants::id))
                .filter(notification_marks::kind.eq(mark.to_owned())),
        )))
        .order(grants::expires_at.asc())
        .limit(limit)
        .select(GrantRow::as_select())
        .load(conn)?
        .into_iter()
        .map(grant)
        .collect()
}
