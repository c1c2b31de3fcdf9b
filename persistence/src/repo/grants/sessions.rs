//! Device-admin sessions: started by the requester after approval, ended early or at their time.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::access::Session;
use portcullis_domain::{RequestId, SessionId, UserId};

use super::BoxError;
use crate::connection::DbConnection;
use crate::keyset_page;
use crate::page::{Cursor, Page, PageRequest};
use crate::schema::device_admin_sessions;
use crate::time::{from_db, to_db};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, serde::Deserialize)]
#[diesel(table_name = device_admin_sessions, treat_none_as_null = true, treat_none_as_default_value = false)]
pub(crate) struct SessionRow {
    id: String,
    request_id: String,
    device_id: String,
    user_id: String,
    started_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    ended_at: Option<NaiveDateTime>,
    ended_by: Option<String>,
}

pub(crate) fn session(row: SessionRow) -> QueryResult<Session> {
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
