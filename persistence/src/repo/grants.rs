//! Grants (with the `grant` membership each holds) and device-admin sessions.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::access::{Grant, GrantStatus, Session};
use portcullis_domain::directory::MembershipSource;
use portcullis_domain::{GrantId, RequestId, SessionId, UserId};

use crate::connection::DbConnection;
use crate::keyset_page;
use crate::page::{Cursor, Page, PageRequest};
use crate::schema::{device_admin_sessions, grants, memberships};
use crate::time::{from_db, to_db};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = grants, treat_none_as_null = true, treat_none_as_default_value = false)]
struct GrantRow {
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
        }
    }
}

fn grant(row: GrantRow) -> QueryResult<Grant> {
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
            version: row.version,
        })
    };
    parse().map_err(diesel::result::Error::DeserializationError)
}

/// Stores the grant and its membership (source `grant`, with the grant's expiry).
pub fn insert(conn: &mut DbConnection, g: &Grant) -> QueryResult<()> {
    diesel::insert_into(grants::table)
        .values(GrantRow::from(g))
        .execute(conn)?;
    diesel::insert_into(memberships::table)
        .values((
            memberships::id.eq(g.membership_id.to_string()),
            memberships::group_id.eq(g.group_id.to_string()),
            memberships::user_id.eq(g.user_id.to_string()),
            memberships::source.eq(MembershipSource::Grant.as_str()),
            memberships::expires_at.eq(g.expires_at.map(to_db)),
            memberships::created_at.eq(to_db(g.granted_at)),
        ))
        .execute(conn)
        .map(drop)
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
    let updated = diesel::update(
        grants::table
            .filter(grants::id.eq(g.id.to_string()))
            .filter(grants::version.eq(g.version - 1)),
    )
    .set(GrantRow::from(g))
    .execute(conn)?;
    if updated == 1 {
        diesel::delete(memberships::table.find(g.membership_id.to_string())).execute(conn)?;
    }
    Ok(updated == 1)
}

/// Writes an extended grant (if its stored version is still the one before) and moves its
/// membership's end with it: the same membership continues, never removed and added again.
pub fn extend(conn: &mut DbConnection, g: &Grant) -> QueryResult<bool> {
    let updated = diesel::update(
        grants::table
            .filter(grants::id.eq(g.id.to_string()))
            .filter(grants::version.eq(g.version - 1)),
    )
    .set(GrantRow::from(g))
    .execute(conn)?;
    if updated == 1 {
        diesel::update(memberships::table.find(g.membership_id.to_string()))
            .set(memberships::expires_at.eq(g.expires_at.map(to_db)))
            .execute(conn)?;
    }
    Ok(updated == 1)
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

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = device_admin_sessions, treat_none_as_null = true, treat_none_as_default_value = false)]
struct SessionRow {
    id: String,
    request_id: String,
    device_id: String,
    user_id: String,
    started_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    ended_at: Option<NaiveDateTime>,
    ended_by: Option<String>,
}

fn session(row: SessionRow) -> QueryResult<Session> {
    let parse = || -> Result<Session, BoxError> {
        Ok(Session {
            id: row.id.parse()?,
            request_id: row.request_id.parse()?,
            device_id: row.device_id.parse()?,
            user_id: row.user_id.parse()?,
            started_at: from_db(row.started_at),
            ends_at: from_db(row.ends_at),
            ended_at: row.ended_at.map(from_db),
            ended_by: row.ended_by.as_deref().map(str::parse).transpose()?,
        })
    };
    parse().map_err(diesel::result::Error::DeserializationError)
}

impl From<&Session> for SessionRow {
    fn from(s: &Session) -> Self {
        Self {
            id: s.id.to_string(),
            request_id: s.request_id.to_string(),
            device_id: s.device_id.to_string(),
            user_id: s.user_id.to_string(),
            started_at: to_db(s.started_at),
            ends_at: to_db(s.ends_at),
            ended_at: s.ended_at.map(to_db),
            ended_by: s.ended_by.map(|u| u.to_string()),
        }
    }
}

pub fn insert_session(conn: &mut DbConnection, s: &Session) -> QueryResult<()> {
    diesel::insert_into(device_admin_sessions::table)
        .values(SessionRow::from(s))
        .execute(conn)
        .map(drop)
}

pub fn find_session(conn: &mut DbConnection, id: SessionId) -> QueryResult<Option<Session>> {
    device_admin_sessions::table
        .find(id.to_string())
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?
        .map(session)
        .transpose()
}

pub fn session_for_request(
    conn: &mut DbConnection,
    request: RequestId,
) -> QueryResult<Option<Session>> {
    device_admin_sessions::table
        .filter(device_admin_sessions::request_id.eq(request.to_string()))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?
        .map(session)
        .transpose()
}

/// Writes an ended session, if it had not ended already; returns whether it did.
pub fn end_session(conn: &mut DbConnection, s: &Session) -> QueryResult<bool> {
    diesel::update(
        device_admin_sessions::table
            .filter(device_admin_sessions::id.eq(s.id.to_string()))
            .filter(device_admin_sessions::ended_at.is_null()),
    )
    .set(SessionRow::from(s))
    .execute(conn)
    .map(|n| n == 1)
}

/// Sessions newest first; with `active`, only those running at `now`.
pub fn list_sessions(
    conn: &mut DbConnection,
    active: Option<bool>,
    user: Option<UserId>,
    now: DateTime<Utc>,
    page: &PageRequest,
) -> QueryResult<Page<Session>> {
    let mut query = device_admin_sessions::table
        .select(SessionRow::as_select())
        .into_boxed();
    match active {
        Some(true) => {
            query = query
                .filter(device_admin_sessions::ended_at.is_null())
                .filter(device_admin_sessions::ends_at.gt(to_db(now)));
        }
        Some(false) => {
            query = query.filter(
                device_admin_sessions::ended_at
                    .is_not_null()
                    .or(device_admin_sessions::ends_at.le(to_db(now))),
            );
        }
        None => {}
    }
    if let Some(user) = user {
        query = query.filter(device_admin_sessions::user_id.eq(user.to_string()));
    }
    let rows: Vec<SessionRow> = keyset_page!(
        query,
        device_admin_sessions::started_at,
        device_admin_sessions::id,
        page
    )
    .load(conn)?;
    Page::from_rows(rows, page.limit, |r| Cursor {
        created_at: r.started_at,
        id: r.id.clone(),
    })
    .try_map(session)
}

/// Sessions whose time is up but which are not marked ended yet.
pub fn sessions_due(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Session>> {
    device_admin_sessions::table
        .filter(device_admin_sessions::ended_at.is_null())
        .filter(device_admin_sessions::ends_at.le(to_db(now)))
        .order(device_admin_sessions::ends_at.asc())
        .limit(limit)
        .select(SessionRow::as_select())
        .load(conn)?
        .into_iter()
        .map(session)
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
