//! What an identity provider pushed of a user beyond the directory's fields (its `userName` and the
//! SCIM attributes as written), and what a page of SCIM users needs besides the users.

use diesel::prelude::*;
use portcullis_domain::UserId;

use crate::connection::DbConnection;
use crate::schema::{scim_deleted_users, scim_pending_managers, scim_users, users};

/// What an identity provider pushed of a user beyond the directory's fields: its `userName` and the
/// optional attributes of the SCIM document it last sent (JSON), so they read back as written.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = scim_users)]
pub struct ScimUserRow {
    pub user_id: String,
    pub user_name: String,
    /// The lower-cased userName: unique, compared ignoring case.
    pub user_name_key: String,
    pub attributes: String,
    pub updated_at: chrono::NaiveDateTime,
}

pub fn scim_user(conn: &mut DbConnection, user: UserId) -> QueryResult<Option<ScimUserRow>> {
    scim_users::table
        .find(user.to_string())
        .select(ScimUserRow::as_select())
        .first(conn)
        .optional()
}

/// The rows of these users (those who have one), for a page of a list.
pub fn scim_users_of(conn: &mut DbConnection, ids: &[UserId]) -> QueryResult<Vec<ScimUserRow>> {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    scim_users::table
        .filter(scim_users::user_id.eq_any(ids))
        .select(ScimUserRow::as_select())
        .load(conn)
}

/// Writes the user's row: a new one, or in place of the one there is (`exists`, as read in this
/// transaction), so a first push costs one statement.
pub fn save_scim_user(conn: &mut DbConnection, row: &ScimUserRow, exists: bool) -> QueryResult<()> {
    if exists {
        diesel::update(scim_users::table.find(&row.user_id))
            .set((
                scim_users::user_name.eq(&row.user_name),
                scim_users::user_name_key.eq(&row.user_name_key),
                scim_users::attributes.eq(&row.attributes),
                scim_users::updated_at.eq(row.updated_at),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(scim_users::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete_scim_user(conn: &mut DbConnection, user: UserId) -> QueryResult<()> {
    diesel::delete(scim_users::table.find(user.to_string()))
        .execute(conn)
        .map(drop)
}

/// The user (not deleted by an identity provider) whose userName is `key` (lower-cased): the one
/// whose row names it, else one without a row whose email it is.
pub fn user_name_holder(conn: &mut DbConnection, key: &str) -> QueryResult<Option<UserId>> {
    let named: Option<String> = scim_users::table
        .filter(scim_users::user_name_key.eq(key))
        .select(scim_users::user_id)
        .first(conn)
        .optional()?;
    let holder = match named {
        Some(id) => Some(id),
        None => users::table
            .filter(users::email.eq(key))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                scim_users::table.filter(scim_users::user_id.eq(users::id)),
            )))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                scim_deleted_users::table.filter(scim_deleted_users::user_id.eq(users::id)),
            )))
            .select(users::id)
            .first(conn)
            .optional()?,
    };
    holder
        .map(|id| {
            id.parse()
                .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
        })
        .transpose()
}

/// The manager references still waiting for these users, for a page of a list.
pub fn pending_managers_of(
    conn: &mut DbConnection,
    ids: &[UserId],
) -> QueryResult<Vec<(String, String)>> {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    scim_pending_managers::table
        .filter(scim_pending_managers::user_id.eq_any(ids))
        .select((
            scim_pending_managers::user_id,
            scim_pending_managers::reference,
        ))
        .load(conn)
}
