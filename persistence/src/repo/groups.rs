use diesel::prelude::*;
use portcullis_domain::directory::{Group, Membership, MembershipSource};
use portcullis_domain::{GroupId, UserId};

use super::{contains_pattern, convert, lower};
use crate::connection::DbConnection;
use crate::keyset_page;
use crate::models::{GroupRow, MembershipRow};
use crate::page::{Page, PageRequest};
use crate::schema::{memberships, user_groups};

/// A membership that counts at a moment: it has no expiry, or its expiry is still ahead (an
/// expired grant's membership stops counting at its expiry, before the job removes it).
pub(crate) type Unexpired = diesel::dsl::Or<
    diesel::dsl::IsNull<memberships::expires_at>,
    diesel::dsl::Gt<memberships::expires_at, chrono::NaiveDateTime>,
>;

/// The memberships that count at `now` (see [`Unexpired`]), as a filter.
pub(crate) fn unexpired(now: chrono::DateTime<chrono::Utc>) -> Unexpired {
    memberships::expires_at
        .is_null()
        .or(memberships::expires_at.gt(crate::time::to_db(now)))
}

pub fn insert(conn: &mut DbConnection, group: &Group) -> QueryResult<()> {
    diesel::insert_into(user_groups::table)
        .values(GroupRow::from(group))
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, id: GroupId) -> QueryResult<Option<Group>> {
    user_groups::table
        .find(id.to_string())
        .select(GroupRow::as_select())
        .first(conn)
        .optional()?
        .map(convert)
        .transpose()
}

/// Groups whose name or description contains `q` (any case), newest first.
pub fn list(
    conn: &mut DbConnection,
    q: Option<&str>,
    page: &PageRequest,
) -> QueryResult<Page<Group>> {
    let mut query = user_groups::table
        .select(GroupRow::as_select())
        .into_boxed();
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = contains_pattern(q);
        query = query.filter(
            lower(user_groups::name)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(user_groups::description).like(pattern).escape('\\')),
        );
    }
    let rows: Vec<GroupRow> =
        keyset_page!(query, user_groups::created_at, user_groups::id, page).load(conn)?;
    Page::from_rows(rows, page.limit, GroupRow::cursor).try_map(convert)
}

/// Writes `group` if its stored version is still `expected_version`; returns whether it did.
pub fn update(conn: &mut DbConnection, group: &Group, expected_version: i64) -> QueryResult<bool> {
    let updated = diesel::update(
        user_groups::table
            .filter(user_groups::id.eq(group.id.to_string()))
            .filter(user_groups::version.eq(expected_version)),
    )
    .set(GroupRow::from(group))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Deletes the group and, by cascade, its memberships.
pub fn delete(conn: &mut DbConnection, id: GroupId) -> QueryResult<bool> {
    diesel::delete(user_groups::table.find(id.to_string()))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn insert_membership(conn: &mut DbConnection, membership: &Membership) -> QueryResult<()> {
    diesel::insert_into(memberships::table)
        .values(MembershipRow::from(membership))
        .execute(conn)
        .map(drop)
}

/// Every membership of `user_id` in `group_id`, whatever its source.
pub fn memberships_of(
    conn: &mut DbConnection,
    group_id: GroupId,
    user_id: UserId,
) -> QueryResult<Vec<Membership>> {
    memberships::table
        .filter(memberships::group_id.eq(group_id.to_string()))
        .filter(memberships::user_id.eq(user_id.to_string()))
        .select(MembershipRow::as_select())
        .load(conn)?
        .into_iter()
        .map(convert)
        .collect()
}

pub fn list_members(
    conn: &mut DbConnection,
    group_id: GroupId,
    page: &PageRequest,
) -> QueryResult<Page<Membership>> {
    let query = memberships::table
        .filter(memberships::group_id.eq(group_id.to_string()))
        .select(MembershipRow::as_select())
        .into_boxed();
    let rows: Vec<MembershipRow> =
        keyset_page!(query, memberships::created_at, memberships::id, page).load(conn)?;
    Page::from_rows(rows, page.limit, MembershipRow::cursor).try_map(convert)
}

/// Removes the membership an admin added; memberships from grants stay.
pub fn delete_direct_membership(
    conn: &mut DbConnection,
    group_id: GroupId,
    user_id: UserId,
) -> QueryResult<bool> {
    diesel::delete(
        memberships::table
            .filter(memberships::group_id.eq(group_id.to_string()))
            .filter(memberships::user_id.eq(user_id.to_string()))
            .filter(memberships::source.eq(MembershipSource::Direct.as_str())),
    )
    .execute(conn)
    .map(|n| n == 1)
}

/// The groups `user_id` is a member of at `now` (any source, unexpired), as (id, name) by name;
/// at most `limit` of them. What flow conditions see as `requester.groups`.
pub fn groups_of(
    conn: &mut DbConnection,
    user_id: UserId,
    now: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> QueryResult<Vec<(GroupId, String)>> {
    let group_ids: Vec<String> = memberships::table
        .filter(memberships::user_id.eq(user_id.to_string()))
        .filter(unexpired(now))
        .select(memberships::group_id)
        .distinct()
        .load(conn)?;
    let rows: Vec<(String, String)> = user_groups::table
        .filter(user_groups::id.eq_any(&group_ids))
        .select((user_groups::id, user_groups::name))
        .order(user_groups::name)
        .limit(limit)
        .load(conn)?;
    rows.into_iter()
        .map(|(id, name)| {
            let id = id
                .parse()
                .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
            Ok((id, name))
        })
        .collect()
}
