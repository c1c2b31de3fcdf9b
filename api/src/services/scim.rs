//! Directory sync use cases: identity providers' tokens, and the changes they push, made through the
//! directory's own services (the same rules, the same effects on requests, the same audit events,
//! with the identity provider named in each).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use portcullis_domain::directory::{Description, Group, GroupName};
use portcullis_domain::{GroupId, UserId};
use portcullis_persistence::DbConnection;
use portcullis_persistence::repo::scim::{self as repo, TokenRow};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::groups::{self, GroupChanges};
use super::{Changer, audit, audit_by};
use crate::error::ApiError;
use crate::etag::IfMatch;
use crate::tx::Tx;

mod users;

pub use users::{
    PushedUser, ScimDetails, create_user, delete_user, pending_manager, replace_user, scim_details,
    scim_user, visible_user,
};

const TOKEN_PREFIX: &str = "scim_";
/// A token's last use is written at most this often (every SCIM call would otherwise write).
const TOUCH_EVERY_SECONDS: i64 = 60;

fn hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// Every token, newest first (their hashes and names; never a token itself).
pub fn tokens(conn: &mut DbConnection) -> Result<Vec<TokenRow>, ApiError> {
    Ok(repo::tokens(conn)?)
}

/// A new token for an identity provider: stored hashed; the token is returned this once.
pub fn create_token(
    conn: &mut Tx,
    actor: UserId,
    name: String,
    now: DateTime<Utc>,
) -> Result<(TokenRow, String), ApiError> {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    let row = TokenRow {
        id: uuid::Uuid::now_v7().to_string(),
        name,
        token_hash: hash(&token),
        created_by: Some(actor.to_string()),
        created_at: portcullis_persistence::time::to_db(now),
        last_used_at: None,
        revoked_at: None,
    };
    repo::insert_token(conn, &row)?;
    audit(
        conn,
        "scim_token_create",
        Some(actor),
        ("scim_token", row.id.clone()),
        json!({ "name": row.name }),
        now,
    )?;
    Ok((row, token))
}

pub fn revoke_token(
    conn: &mut Tx,
    actor: UserId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<TokenRow, ApiError> {
    let token = repo::find_token(conn, id)?
        .ok_or_else(|| ApiError::NotFound(format!("no SCIM token with id {id}")))?;
    if repo::revoke_token(conn, id, now)? {
        audit(
            conn,
            "scim_token_revoke",
            Some(actor),
            ("scim_token", id.to_owned()),
            json!({ "name": token.name }),
            now,
        )?;
    }
    repo::find_token(conn, id)?
        .ok_or_else(|| ApiError::NotFound(format!("no SCIM token with id {id}")))
}

/// The active token `token` is, and whether its last use is old enough to be written again.
pub fn authenticate(
    conn: &mut DbConnection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<(TokenRow, bool)>, ApiError> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    Ok(repo::active_token(conn, &hash(token))?.map(|row| {
        let stale =
            repo::last_used(&row).is_none_or(|at| (now - at).num_seconds() >= TOUCH_EVERY_SECONDS);
        (row, stale)
    }))
}

pub fn touch(conn: &mut DbConnection, id: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    Ok(repo::touch_token(conn, id, now)?)
}

/// A group as an identity provider describes it.
#[derive(Debug, Clone)]
pub struct PushedGroup {
    pub name: GroupName,
    pub external_id: Option<String>,
    /// Members by SCIM id or externalId; `None`: not given (a PUT without `members` keeps them).
    pub members: Option<Vec<String>>,
}

pub fn group(conn: &mut DbConnection, id: GroupId) -> Result<(Group, Option<String>), ApiError> {
    let group = groups::get(conn, id)?;
    let external_id = repo::group_external_id(conn, id)?;
    Ok((group, external_id))
}

pub fn create_group(
    conn: &mut Tx,
    by: &Changer,
    pushed: PushedGroup,
    now: DateTime<Utc>,
) -> Result<GroupId, ApiError> {
    let description =
        Description::parse("").map_err(|e| ApiError::invalid_field("description", e))?;
    let group = groups::create_by(conn, by, pushed.name, description, now)?;
    repo::set_group_external_id(conn, group.id, pushed.external_id.as_deref())
        .map_err(external_id_conflict)?;
    if let Some(members) = pushed.members {
        let ids = resolve_members(conn, &members)?;
        set_members(conn, by, group.id, &ids, now)?;
    }
    Ok(group.id)
}

pub fn replace_group(
    conn: &mut Tx,
    by: &Changer,
    id: GroupId,
    pushed: PushedGroup,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    groups::update_by(
        conn,
        by,
        id,
        GroupChanges {
            name: Some(pushed.name),
            description: None,
        },
        &IfMatch::Absent,
        now,
    )?;
    repo::set_group_external_id(conn, id, pushed.external_id.as_deref())
        .map_err(external_id_conflict)?;
    if let Some(members) = pushed.members {
        let ids = resolve_members(conn, &members)?;
        set_members(conn, by, id, &ids, now)?;
    }
    Ok(())
}

pub fn delete_group(
    conn: &mut Tx,
    by: &Changer,
    id: GroupId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    groups::delete_by(conn, by, id, now)
}

/// The users the references name; an unknown one is an error naming it.
pub fn resolve_members(
    conn: &mut DbConnection,
    references: &[String],
) -> Result<Vec<UserId>, ApiError> {
    let mut ids = Vec::with_capacity(references.len());
    for reference in references {
        let user = repo::user_by_reference(conn, reference)?.ok_or_else(|| {
            ApiError::invalid_field("members", format!("no user with id {reference}"))
        })?;
        if !ids.contains(&user.id) {
            ids.push(user.id);
        }
    }
    Ok(ids)
}

/// Makes `ids` the group's `scim` members: adds the missing, removes the others. Memberships of
/// other sources (an admin's, a grant's) are never touched.
pub fn set_members(
    conn: &mut Tx,
    by: &Changer,
    group: GroupId,
    ids: &[UserId],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let current: Vec<UserId> = repo::scim_members(conn, group)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let removed: Vec<UserId> = current
        .iter()
        .filter(|id| !ids.contains(id))
        .copied()
        .collect();
    remove_members(conn, by, group, &removed, now)?;
    add_members(conn, by, group, ids, now)
}

pub fn add_members(
    conn: &mut Tx,
    by: &Changer,
    group: GroupId,
    ids: &[UserId],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    for &user in ids {
        if repo::add_scim_member(conn, group, user, now)? {
            member_event(conn, by, "user_group_member_add", group, user, now)?;
        }
    }
    Ok(())
}

pub fn remove_members(
    conn: &mut Tx,
    by: &Changer,
    group: GroupId,
    ids: &[UserId],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    for &user in ids {
        if repo::remove_scim_member(conn, group, user)? {
            member_event(conn, by, "user_group_member_remove", group, user, now)?;
        }
    }
    Ok(())
}

fn member_event(
    conn: &mut Tx,
    by: &Changer,
    event_type: &'static str,
    group: GroupId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    audit_by(
        conn,
        event_type,
        by,
        ("user_group", group.to_string()),
        json!({ "user_id": user, "source": "scim" }),
        now,
    )
}

fn external_id_conflict(error: diesel::result::Error) -> ApiError {
    if portcullis_persistence::is_unique_violation(&error, "external_id") {
        ApiError::conflict("a group with this externalId already exists")
    } else {
        error.into()
    }
}
