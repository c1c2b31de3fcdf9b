use diesel::prelude::*;
use portcullis_domain::UserId;
use portcullis_domain::directory::{Email, User, UserKind};

use super::{contains_pattern, convert, lower};
use crate::connection::{Backend, DbConnection};
use crate::keyset_page;
use crate::models::UserRow;
use crate::page::{Page, PageRequest};
use crate::schema::{access_requests, users};

diesel::table! {
    /// SQLite only: the FTS5 trigram index of people's emails and names (SQLite migration 010),
    /// kept by triggers on `users`. `MATCH` searches its hidden column of the same name.
    users_search (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(users_search, users);
diesel::allow_tables_to_appear_in_same_query!(users_search, access_requests);

/// How people are found by part of their email or name, case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeopleSearch {
    /// `email LIKE '%…%' OR lower(display_name) LIKE '%…%'` with this pattern: PostgreSQL reads its
    /// trigram indexes; SQLite scans every user (only for texts shorter than a trigram).
    Like(String),
    /// SQLite: this FTS5 query of [`users_search`], the text as one string (the phrase of its
    /// trigrams, which is the text as a substring).
    FullText(String),
}

impl PeopleSearch {
    pub fn new(backend: Backend, text: &str) -> Self {
        // Each engine's own trigram index (its migrations differ the same way); see the variants.
        match backend {
            Backend::Sqlite if text.chars().count() >= 3 => {
                Self::FullText(format!("\"{}\"", text.replace('"', "\"\"")))
            }
            _ => Self::Like(contains_pattern(text)),
        }
    }
}

/// The ids of the people whose email or name contains the text of `$pattern` ([`PeopleSearch::Like`]).
macro_rules! people_like {
    ($pattern:expr) => {{
        use $crate::schema::users;
        users::table
            .filter(
                users::email
                    .like($pattern.clone())
                    .escape('\\')
                    .or($crate::repo::lower(users::display_name)
                        .like($pattern.clone())
                        .escape('\\')),
            )
            .select(users::id)
    }};
}

/// The ids of the people the FTS5 query `$query` finds in `users_search` ([`PeopleSearch::FullText`]).
macro_rules! people_full_text {
    ($query:expr) => {{
        use $crate::repo::users::users_search;
        users_search::table
            .filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>("users_search MATCH ")
                    .bind::<diesel::sql_types::Text, _>($query.clone()),
            )
            .select(users_search::id)
    }};
}

/// Runs `$body` with `$people` bound to the query of the ids of the people `$search` matches (a
/// macro: the two searches are queries of different types, and boxed subqueries do not compose
/// through the multi-backend connection).
macro_rules! with_people {
    ($search:expr, |$people:ident| $body:expr) => {{
        match $search {
            $crate::repo::users::PeopleSearch::Like(pattern) => {
                let $people = $crate::repo::users::people_like!(pattern);
                $body
            }
            $crate::repo::users::PeopleSearch::FullText(query) => {
                let $people = $crate::repo::users::people_full_text!(query);
                $body
            }
        }
    }};
}
pub(crate) use {people_full_text, people_like, with_people};

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
    // SQLite: a short list as one cached statement per value (see `DbConnection::per_value`).
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
    let query = users::table.filter(
        users::id
            .eq(subject)
            .or(users::external_id.eq(subject))
            .or(users::email.eq(by_email)),
    );
    // Every authenticated request's caller, when the cache does not hold them: see `on_backend!`.
    crate::on_backend!(conn, |c| query
        .select(UserRow::as_select())
        .first(c)
        .optional())?
    .map(convert)
    .transpose()
}

pub fn find_many(conn: &mut DbConnection, ids: &[UserId]) -> QueryResult<Vec<User>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = distinct(ids);
    // SQLite: a short list as one cached statement per value (see `DbConnection::per_value`).
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
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = match PeopleSearch::new(conn.backend(), q) {
            PeopleSearch::Like(pattern) => query.filter(
                users::email
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(users::display_name).like(pattern).escape('\\')),
            ),
            PeopleSearch::FullText(text) => query.filter(users::id.eq_any(people_full_text!(text))),
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_searches_the_trigram_index_for_texts_of_a_trigram_or_more() {
        let full_text = |q: &str| PeopleSearch::FullText(q.to_owned());
        assert_eq!(
            PeopleSearch::new(Backend::Sqlite, "Ann"),
            full_text("\"Ann\"")
        );
        // The text is one FTS5 string: its quotes doubled, its operators plain characters.
        assert_eq!(
            PeopleSearch::new(Backend::Sqlite, "say \"hi\" OR *"),
            full_text("\"say \"\"hi\"\" OR *\"")
        );
        // Characters, not bytes: two characters are shorter than a trigram.
        assert_eq!(
            PeopleSearch::new(Backend::Sqlite, "öß"),
            PeopleSearch::Like("%öß%".to_owned())
        );
        assert_eq!(
            PeopleSearch::new(Backend::Sqlite, "5%"),
            PeopleSearch::Like("%5\\%%".to_owned())
        );
        assert_eq!(
            PeopleSearch::new(Backend::Postgres, "Ann"),
            PeopleSearch::Like("%ann%".to_owned())
        );
    }
}
