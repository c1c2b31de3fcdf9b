use diesel::prelude::*;
use portcullis_domain::UserId;
use portcullis_domain::directory::{Email, User, UserKind};

use super::{contains_pattern, convert, lower};
use crate::connection::DbConnection;
use crate::keyset_page;
use crate::models::UserRow;
use crate::page::{Page, PageRequest};
use crate::schema::users;

/// How far a management chain is followed; deeper chains than this are treated as cycles.
pub const MAX_CHAIN_DEPTH: usize = 256;

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Case-insensitive substring of the email or display name.
    pub q: Option<String>,
    pub active: Option<bool>,
    pub kind: Option<UserKind>,
    pub is_admin: Option<bool>,
}

pub fn insert(conn: &mut DbConnection, user: &User) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(UserRow::from(user))
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, id: UserId) -> QueryResult<Option<User>> {
    users::table
        .find(id.to_string())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .map(convert)
        .transpose()
}

/// The stored version of each of `ids` that exists, by id: what a write prepared from these users
/// re-checks (any change to a user, such as a deactivation or a new manager, bumps its version).
pub fn versions(conn: &mut DbConnection, ids: &[UserId]) -> QueryResult<Vec<(String, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = distinct(ids);
    if conn.per_value(ids.len()) {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let version = users::table
                .find(&id)
                .select(users::version)
                .first(conn)
                .optional()?;
            found.extend(version.map(|version| (id, version)));
        }
        return Ok(found);
    }
    users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::version))
        .order(users::id)
        .load(conn)
}

/// `ids` as stored (text), sorted and each once.
fn distinct(ids: &[UserId]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

pub fn find_by_email(conn: &mut DbConnection, email: &Email) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email.as_str()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .map(convert)
        .transpose()
}

/// The user a token's `sub` names: their id, email or identity-provider external id.
pub fn find_by_subject(conn: &mut DbConnection, subject: &str) -> QueryResult<Option<User>> {
    let by_email = Email::parse(subject)
        .map(|e| e.as_str().to_owned())
        .unwrap_or_default();
    users::table
        .filter(
            users::id
                .eq(subject)
                .or(users::external_id.eq(subject))
                .or(users::email.eq(by_email)),
        )
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .map(convert)
        .transpose()
}

pub fn find_many(conn: &mut DbConnection, ids: &[UserId]) -> QueryResult<Vec<User>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = distinct(ids);
    let rows: Vec<UserRow> = if conn.per_value(ids.len()) {
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            let row = users::table
                .find(id)
                .select(UserRow::as_select())
                .first(conn)
                .optional()?;
            rows.extend(row);
        }
        rows
    } else {
        users::table
            .filter(users::id.eq_any(ids))
            .select(UserRow::as_select())
            .load(conn)?
    };
    rows.into_iter().map(convert).collect()
}

pub fn list(
    conn: &mut DbConnection,
    filter: &UserFilter,
    page: &PageRequest,
) -> QueryResult<Page<User>> {
    let mut query = users::table.select(UserRow::as_select()).into_boxed();
    if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let pattern = contains_pattern(q.trim());
        query = query.filter(
            users::email
                .like(pattern.clone())
                .escape('\\')
                .or(lower(users::display_name).like(pattern).escape('\\')),
        );
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(users::kind.eq(kind.as_str()));
    }
    if let Some(is_admin) = filter.is_admin {
        query = query.filter(users::is_admin.eq(is_admin));
    }
    let rows: Vec<UserRow> = keyset_page!(query, users::created_at, users::id, page).load(conn)?;
    Page::from_rows(rows, page.limit, UserRow::cursor).try_map(convert)
}

/// Writes `user` if its stored version is still `expected_version`; returns whether it did.
pub fn update(conn: &mut DbConnection, user: &User, expected_version: i64) -> QueryResult<bool> {
    let updated = diesel::update(
        users::table
            .filter(users::id.eq(user.id.to_string()))
            .filter(users::version.eq(expected_version)),
    )
    .set(UserRow::from(user))
    .execute(conn)?;
    Ok(updated == 1)
}

/// The manager of `start`, that manager's manager, and so on (at most [`MAX_CHAIN_DEPTH`] ids;
/// stops early if the chain already loops).
pub fn manager_chain(conn: &mut DbConnection, start: UserId) -> QueryResult<Vec<UserId>> {
    let mut chain = Vec::new();
    let mut current = start.to_string();
    while chain.len() < MAX_CHAIN_DEPTH {
        let manager: Option<Option<String>> = users::table
            .find(&current)
            .select(users::manager_id)
            .first(conn)
            .optional()?;
        let Some(Some(manager)) = manager else { break };
        let id: UserId = manager
            .parse()
            .map_err(|e: uuid::Error| diesel::result::Error::DeserializationError(Box::new(e)))?;
        if chain.contains(&id) {
            break;
        }
        chain.push(id);
        current = manager;
    }
    Ok(chain)
}

pub fn delete(conn: &mut DbConnection, id: UserId) -> QueryResult<bool> {
    diesel::delete(users::table.find(id.to_string()))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn count_active_admins(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table
        .filter(users::is_admin.eq(true))
        .filter(users::active.eq(true))
        .filter(users::kind.eq(UserKind::Person.as_str()))
        .count()
        .get_result(conn)
}

/// Every active administrator (a person).
pub fn active_admins(conn: &mut DbConnection) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::is_admin.eq(true))
        .filter(users::active.eq(true))
        .filter(users::kind.eq(UserKind::Person.as_str()))
        .select(UserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(convert)
        .collect()
}
