//! Directory sync (SCIM 2.0): identity providers' tokens, SCIM filters over users and groups, groups'
//! external ids, and the memberships an identity provider owns (source `scim`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::directory::{Group, MembershipSource, User};
use portcullis_domain::{GroupId, UserId};

use super::{convert, lower};
use crate::connection::{DbConnection, MultiBackend};
use crate::models::{GroupRow, UserRow};
use crate::schema::{
    memberships, scim_deleted_users, scim_pending_managers, scim_tokens, scim_users, user_groups,
    users,
};
use crate::time::{from_db, to_db};

mod user_names;

pub use user_names::{
    ScimUserRow, delete_scim_user, pending_managers_of, save_scim_user, scim_user, scim_users_of,
    user_name_holder,
};

/// An identity provider's bearer token, as stored (its SHA-256, never the token).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = scim_tokens)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub token_hash: String,
    pub created_by: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub last_used_at: Option<chrono::NaiveDateTime>,
    pub revoked_at: Option<chrono::NaiveDateTime>,
}

pub fn insert_token(conn: &mut DbConnection, token: &TokenRow) -> QueryResult<()> {
    diesel::insert_into(scim_tokens::table)
        .values(token)
        .execute(conn)
        .map(drop)
}

/// Every token, newest first (revoked ones too: they stay listed with their revocation time).
pub fn tokens(conn: &mut DbConnection) -> QueryResult<Vec<TokenRow>> {
    scim_tokens::table
        .order((scim_tokens::created_at.desc(), scim_tokens::id.desc()))
        .select(TokenRow::as_select())
        .load(conn)
}

pub fn find_token(conn: &mut DbConnection, id: &str) -> QueryResult<Option<TokenRow>> {
    scim_tokens::table
        .find(id)
        .select(TokenRow::as_select())
        .first(conn)
        .optional()
}

/// The token with this hash, unless revoked.
pub fn active_token(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<TokenRow>> {
    scim_tokens::table
        .filter(scim_tokens::token_hash.eq(hash))
        .filter(scim_tokens::revoked_at.is_null())
        .select(TokenRow::as_select())
        .first(conn)
        .optional()
}

pub fn touch_token(conn: &mut DbConnection, id: &str, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(scim_tokens::table.find(id))
        .set(scim_tokens::last_used_at.eq(Some(to_db(now))))
        .execute(conn)
        .map(drop)
}

/// Revokes the token; returns whether it was active.
pub fn revoke_token(conn: &mut DbConnection, id: &str, now: DateTime<Utc>) -> QueryResult<bool> {
    diesel::update(
        scim_tokens::table
            .find(id)
            .filter(scim_tokens::revoked_at.is_null()),
    )
    .set(scim_tokens::revoked_at.eq(Some(to_db(now))))
    .execute(conn)
    .map(|n| n == 1)
}

/// A SCIM filter, as far as it is supported: equality on the attributes below, combined with
/// `and` / `or`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Eq(Attribute, String),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// The attributes a filter may compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    Id,
    ExternalId,
    /// Users: `userName`, compared ignoring case (a user the identity provider never named has their
    /// email as userName).
    UserName,
    /// Users: `emails.value`, the email, compared ignoring case.
    Email,
    /// Users: the display name; groups: the name.
    DisplayName,
}

type UserCondition =
    Box<dyn BoxableExpression<users::table, MultiBackend, SqlType = diesel::sql_types::Bool>>;
type GroupCondition =
    Box<dyn BoxableExpression<user_groups::table, MultiBackend, SqlType = diesel::sql_types::Bool>>;

fn user_condition(filter: &Filter) -> UserCondition {
    match filter {
        Filter::Eq(Attribute::Id, value) => Box::new(users::id.eq(value.clone())),
        Filter::Eq(Attribute::ExternalId, value) => {
            Box::new(users::external_id.eq(value.clone()).assume_not_null())
        }
        Filter::Eq(Attribute::Email, value) => Box::new(users::email.eq(value.to_lowercase())),
        Filter::Eq(Attribute::UserName, value) => {
            let key = value.trim().to_lowercase();
            let named = scim_users::table
                .filter(scim_users::user_name_key.eq(key.clone()))
                .select(scim_users::user_id);
            let unnamed = diesel::dsl::not(diesel::dsl::exists(
                scim_users::table.filter(scim_users::user_id.eq(users::id)),
            ));
            Box::new(
                users::id
                    .eq_any(named)
                    .or(users::email.eq(key).and(unnamed)),
            )
        }
        Filter::Eq(Attribute::DisplayName, value) => {
            Box::new(lower(users::display_name).eq(value.to_lowercase()))
        }
        Filter::And(a, b) => Box::new(user_condition(a).and(user_condition(b))),
        Filter::Or(a, b) => Box::new(user_condition(a).or(user_condition(b))),
    }
}

fn group_condition(filter: &Filter) -> GroupCondition {
    match filter {
        Filter::Eq(Attribute::Id, value) => Box::new(user_groups::id.eq(value.clone())),
        Filter::Eq(Attribute::ExternalId, value) => {
            Box::new(user_groups::external_id.eq(value.clone()).assume_not_null())
        }
        Filter::Eq(Attribute::DisplayName, value) => Box::new(user_groups::name.eq(value.clone())),
        // Groups have neither userName nor email: nothing matches.
        Filter::Eq(Attribute::Email | Attribute::UserName, _) => {
            Box::new(user_groups::id.ne(user_groups::id))
        }
        Filter::And(a, b) => Box::new(group_condition(a).and(group_condition(b))),
        Filter::Or(a, b) => Box::new(group_condition(a).or(group_condition(b))),
    }
}

/// One page of a SCIM list: the items from `offset` (0-based), at most `count`, and how many match.
pub struct Listed<T> {
    pub total: i64,
    pub items: Vec<T>,
}

/// Users matching `filter` (all without one), in creation order.
pub fn list_users(
    conn: &mut DbConnection,
    filter: Option<&Filter>,
    offset: i64,
    count: i64,
) -> QueryResult<Listed<User>> {
    let matching = || {
        let query = users::table
            .filter(diesel::dsl::not(diesel::dsl::exists(
                scim_deleted_users::table.filter(scim_deleted_users::user_id.eq(users::id)),
            )))
            .into_boxed();
        match filter {
            Some(filter) => query.filter(user_condition(filter)),
            None => query,
        }
    };
    let total = matching().count().get_result(conn)?;
    let rows: Vec<UserRow> = if count == 0 {
        Vec::new()
    } else {
        matching()
            .order((users::created_at, users::id))
            .offset(offset)
            .limit(count)
            .select(UserRow::as_select())
            .load(conn)?
    };
    Ok(Listed {
        total,
        items: rows.into_iter().map(convert).collect::<QueryResult<_>>()?,
    })
}

/// Groups matching `filter` (all without one), in creation order, with their external ids.
pub fn list_groups(
    conn: &mut DbConnection,
    filter: Option<&Filter>,
    offset: i64,
    count: i64,
) -> QueryResult<Listed<(Group, Option<String>)>> {
    let matching = || {
        let query = user_groups::table.into_boxed();
        match filter {
            Some(filter) => query.filter(group_condition(filter)),
            None => query,
        }
    };
    let total = matching().count().get_result(conn)?;
    let rows: Vec<(GroupRow, Option<String>)> = if count == 0 {
        Vec::new()
    } else {
        matching()
            .order((user_groups::created_at, user_groups::id))
            .offset(offset)
            .limit(count)
            .select((GroupRow::as_select(), user_groups::external_id))
            .load(conn)?
    };
    let items = rows
        .into_iter()
        .map(|(row, external_id)| Ok((convert(row)?, external_id)))
        .collect::<QueryResult<_>>()?;
    Ok(Listed { total, items })
}

pub fn group_external_id(conn: &mut DbConnection, id: GroupId) -> QueryResult<Option<String>> {
    user_groups::table
        .find(id.to_string())
        .select(user_groups::external_id)
        .first(conn)
        .optional()
        .map(Option::flatten)
}

pub fn set_group_external_id(
    conn: &mut DbConnection,
    id: GroupId,
    external_id: Option<&str>,
) -> QueryResult<()> {
    diesel::update(user_groups::table.find(id.to_string()))
        .set(user_groups::external_id.eq(external_id))
        .execute(conn)
        .map(drop)
}

/// The user whose id or external id is `reference` (how an identity provider names a manager or
/// a member).
pub fn user_by_reference(conn: &mut DbConnection, reference: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(
            users::id
                .eq(reference)
                .or(users::external_id.eq(reference).assume_not_null()),
        )
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .map(convert)
        .transpose()
}

/// The members the identity provider gave the group (source `scim`), in the order they were added.
pub fn scim_members(conn: &mut DbConnection, group: GroupId) -> QueryResult<Vec<(UserId, String)>> {
    let rows: Vec<(String, String)> = memberships::table
        .inner_join(users::table)
        .filter(memberships::group_id.eq(group.to_string()))
        .filter(memberships::source.eq(MembershipSource::Scim.as_str()))
        .order((memberships::created_at, memberships::id))
        .select((memberships::user_id, users::display_name))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, name)| {
            id.parse()
                .map(|id| (id, name))
                .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
        })
        .collect()
}

/// Adds a `scim` membership unless there is one; returns whether it added it.
pub fn add_scim_member(
    conn: &mut DbConnection,
    group: GroupId,
    user: UserId,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let existing: i64 = memberships::table
        .filter(memberships::group_id.eq(group.to_string()))
        .filter(memberships::user_id.eq(user.to_string()))
        .filter(memberships::source.eq(MembershipSource::Scim.as_str()))
        .count()
        .get_result(conn)?;
    if existing > 0 {
        return Ok(false);
    }
    diesel::insert_into(memberships::table)
        .values((
            memberships::id.eq(uuid::Uuid::now_v7().to_string()),
            memberships::group_id.eq(group.to_string()),
            memberships::user_id.eq(user.to_string()),
            memberships::source.eq(MembershipSource::Scim.as_str()),
            memberships::expires_at.eq(None::<chrono::NaiveDateTime>),
            memberships::created_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Removes the `scim` membership only (a `direct` or `grant` one stays); returns whether there was one.
pub fn remove_scim_member(
    conn: &mut DbConnection,
    group: GroupId,
    user: UserId,
) -> QueryResult<bool> {
    diesel::delete(
        memberships::table
            .filter(memberships::group_id.eq(group.to_string()))
            .filter(memberships::user_id.eq(user.to_string()))
            .filter(memberships::source.eq(MembershipSource::Scim.as_str())),
    )
    .execute(conn)
    .map(|n| n > 0)
}

/// When the token was last used, for display.
pub fn last_used(row: &TokenRow) -> Option<DateTime<Utc>> {
    row.last_used_at.map(from_db)
}

/// Remembers that `user`'s manager is `reference` (a SCIM id or externalId not known yet).
pub fn set_pending_manager(
    conn: &mut DbConnection,
    user: UserId,
    reference: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    clear_pending_manager(conn, user)?;
    diesel::insert_into(scim_pending_managers::table)
        .values((
            scim_pending_managers::user_id.eq(user.to_string()),
            scim_pending_managers::reference.eq(reference),
            scim_pending_managers::created_at.eq(to_db(now)),
        ))
        .execute(conn)
        .map(drop)
}

pub fn clear_pending_manager(conn: &mut DbConnection, user: UserId) -> QueryResult<()> {
    diesel::delete(scim_pending_managers::table.find(user.to_string()))
        .execute(conn)
        .map(drop)
}

/// The users waiting for a manager named by one of `references` (a new user's id or externalId).
pub fn waiting_for_manager(
    conn: &mut DbConnection,
    references: &[String],
) -> QueryResult<Vec<UserId>> {
    let ids: Vec<String> = scim_pending_managers::table
        .filter(scim_pending_managers::reference.eq_any(references))
        .select(scim_pending_managers::user_id)
        .load(conn)?;
    ids.iter()
        .map(|id| {
            id.parse()
                .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
        })
        .collect()
}

/// The manager reference still waiting for `user`, if any.
pub fn pending_manager(conn: &mut DbConnection, user: UserId) -> QueryResult<Option<String>> {
    scim_pending_managers::table
        .find(user.to_string())
        .select(scim_pending_managers::reference)
        .first(conn)
        .optional()
}

/// Marks `user` deleted by the identity provider (or not): such a user is gone from SCIM.
pub fn set_deleted(
    conn: &mut DbConnection,
    user: UserId,
    deleted: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    diesel::delete(scim_deleted_users::table.find(user.to_string())).execute(conn)?;
    if let Some(at) = deleted {
        diesel::insert_into(scim_deleted_users::table)
            .values((
                scim_deleted_users::user_id.eq(user.to_string()),
                scim_deleted_users::deleted_at.eq(to_db(at)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn is_deleted(conn: &mut DbConnection, user: UserId) -> QueryResult<bool> {
    let n: i64 = scim_deleted_users::table
        .find(user.to_string())
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Serialises, until the transaction ends, the writes about these references (externalIds, SCIM ids):
/// a user naming a manager not pushed yet, and that manager's arrival. Without it, on PostgreSQL the
/// two can run at once, each missing the other's uncommitted row, and the manager is never set.
/// Locks are taken in sorted order, so two writers never wait on each other in a cycle. Nothing to do
/// on SQLite, whose writes run one at a time.
pub fn lock_references(conn: &mut DbConnection, references: &[&str]) -> QueryResult<()> {
    if !matches!(conn, DbConnection::Postgres(_)) {
        return Ok(());
    }
    let mut sorted: Vec<&str> = references.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for reference in sorted {
        // "SCM" in ASCII: the advisory-lock class of SCIM references.
        diesel::sql_query("SELECT pg_advisory_xact_lock(5456717, hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(reference)
            .execute(conn)?;
    }
    Ok(())
}
