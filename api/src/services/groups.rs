use chrono::{DateTime, Utc};
use portcullis_domain::directory::{
    self, Description, Group, GroupName, Membership, MembershipSource,
};
use portcullis_domain::{GroupId, MembershipId, UserId};
use portcullis_persistence::repo::{groups, users};
use portcullis_persistence::{
    DbConnection, Page, PageRequest, is_foreign_key_violation, is_unique_violation,
};
use serde_json::json;

use super::{Changer, audit, audit_by};
use crate::error::ApiError;
use crate::etag::IfMatch;
use crate::tx::Tx;

#[derive(Default)]
pub struct GroupChanges {
    pub name: Option<GroupName>,
    pub description: Option<Description>,
}

fn not_found(id: GroupId) -> ApiError {
    ApiError::NotFound(format!("no group with id {id}"))
}

pub fn get(conn: &mut DbConnection, id: GroupId) -> Result<Group, ApiError> {
    groups::find(conn, id)?.ok_or_else(|| not_found(id))
}

pub fn list(
    conn: &mut DbConnection,
    q: Option<&str>,
    page: &PageRequest,
) -> Result<Page<Group>, ApiError> {
    Ok(groups::list(conn, q, page)?)
}

pub fn create(
    conn: &mut Tx,
    actor: Option<UserId>,
    name: GroupName,
    description: Description,
    now: DateTime<Utc>,
) -> Result<Group, ApiError> {
    create_by(conn, &Changer::Person(actor), name, description, now)
}

pub fn create_by(
    conn: &mut Tx,
    by: &Changer,
    name: GroupName,
    description: Description,
    now: DateTime<Utc>,
) -> Result<Group, ApiError> {
    let group = Group {
        id: GroupId::new_v7(),
        name,
        description,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    groups::insert(conn, &group).map_err(name_conflict)?;
    audit_by(
        conn,
        "user_group_create",
        by,
        ("user_group", group.id.to_string()),
        snapshot(&group),
        now,
    )?;
    Ok(group)
}

pub fn update(
    conn: &mut Tx,
    actor: Option<UserId>,
    id: GroupId,
    changes: GroupChanges,
    if_match: &IfMatch,
    now: DateTime<Utc>,
) -> Result<Group, ApiError> {
    update_by(conn, &Changer::Person(actor), id, changes, if_match, now)
}

pub fn update_by(
    conn: &mut Tx,
    by: &Changer,
    id: GroupId,
    changes: GroupChanges,
    if_match: &IfMatch,
    now: DateTime<Utc>,
) -> Result<Group, ApiError> {
    let before = get(conn, id)?;
    if_match.check(before.version)?;
    let mut after = before.clone();
    after.name = changes.name.unwrap_or(after.name);
    after.description = changes.description.unwrap_or(after.description);
    if after == before {
        return Ok(before);
    }
    after.version += 1;
    after.updated_at = now;
    if !groups::update(conn, &after, before.version).map_err(name_conflict)? {
        return Err(ApiError::PreconditionFailed(
            "the group changed while it was being updated; retry".to_owned(),
        ));
    }
    audit_by(
        conn,
        "user_group_update",
        by,
        ("user_group", id.to_string()),
        snapshot(&after),
        now,
    )?;
    Ok(after)
}

/// Deletes the group and its memberships; a group that something else still refers to is a conflict.
pub fn delete(
    conn: &mut Tx,
    actor: Option<UserId>,
    id: GroupId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    delete_by(conn, &Changer::Person(actor), id, now)
}

pub fn delete_by(
    conn: &mut Tx,
    by: &Changer,
    id: GroupId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let group = get(conn, id)?;
    groups::delete(conn, id).map_err(|e| {
        if is_foreign_key_violation(&e) {
            ApiError::conflict(
                "the group is still used (by an approval flow or a grant); remove those first",
            )
        } else {
            e.into()
        }
    })?;
    audit_by(
        conn,
        "user_group_delete",
        by,
        ("user_group", id.to_string()),
        snapshot(&group),
        now,
    )?;
    Ok(())
}

pub fn list_members(
    conn: &mut DbConnection,
    id: GroupId,
    page: &PageRequest,
) -> Result<Page<Membership>, ApiError> {
    get(conn, id)?;
    Ok(groups::list_members(conn, id, page)?)
}

/// Adds `user_id` to the group directly (as an admin does).
pub fn add_member(
    conn: &mut Tx,
    actor: Option<UserId>,
    group_id: GroupId,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<Membership, ApiError> {
    get(conn, group_id)?;
    let user = users::find(conn, user_id)?
        .ok_or_else(|| ApiError::invalid_field("user_id", format!("no user with id {user_id}")))?;
    directory::check_may_hold_access(user.kind, user.active)
        .map_err(|m| ApiError::invalid_field("user_id", m))?;
    let existing = groups::memberships_of(conn, group_id, user_id)?;
    if existing
        .iter()
        .any(|m| m.source == MembershipSource::Direct)
    {
        return Err(ApiError::conflict(
            "the user is already a member of this group",
        ));
    }
    let membership = Membership {
        id: MembershipId::new_v7(),
        group_id,
        user_id,
        source: MembershipSource::Direct,
        expires_at: None,
        created_at: now,
    };
    groups::insert_membership(conn, &membership).map_err(|e| {
        if is_unique_violation(&e, "memberships") {
            ApiError::conflict("the user is already a member of this group")
        } else {
            e.into()
        }
    })?;
    audit(
        conn,
        "user_group_member_add",
        actor,
        ("user_group", group_id.to_string()),
        json!({ "user_id": user_id, "source": "direct" }),
        now,
    )?;
    Ok(membership)
}

/// Removes the direct membership; access from grants is revoked through the grant instead.
pub fn remove_member(
    conn: &mut Tx,
    actor: Option<UserId>,
    group_id: GroupId,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    get(conn, group_id)?;
    if !groups::delete_direct_membership(conn, group_id, user_id)? {
        return Err(
            if groups::memberships_of(conn, group_id, user_id)?.is_empty() {
                ApiError::NotFound(format!("user {user_id} is not a member of this group"))
            } else {
                ApiError::conflict(
                    "the user is a member through an access grant only; revoke the grant instead",
                )
            },
        );
    }
    audit(
        conn,
        "user_group_member_remove",
        actor,
        ("user_group", group_id.to_string()),
        json!({ "user_id": user_id, "source": "direct" }),
        now,
    )?;
    Ok(())
}

fn name_conflict(error: diesel::result::Error) -> ApiError {
    if is_unique_violation(&error, "name") {
        ApiError::conflict("a group with this name already exists")
    } else {
        error.into()
    }
}

fn snapshot(group: &Group) -> serde_json::Value {
    json!({ "name": group.name, "description": group.description })
}
