//! Directory sync use cases for users: what an identity provider pushes of a person, made through the
//! directory's own services (the same rules, effects on requests and audit events), plus what only
//! SCIM shows (the userName and the attributes as written, kept apart).

use chrono::{DateTime, Utc};
use portcullis_domain::UserId;
use portcullis_domain::directory::{DisplayName, Email, ExternalId, User, UserKind};
use portcullis_persistence::DbConnection;
use portcullis_persistence::repo::scim::{self as repo, ScimUserRow};
use serde_json::json;

use crate::error::ApiError;
use crate::etag::IfMatch;
use crate::services::users::{self, NewUser, UserChanges};
use crate::services::{Changer, audit_by};
use crate::tx::Tx;

/// A user as an identity provider describes them (a SCIM User, mapped).
#[derive(Debug, Clone)]
pub struct PushedUser {
    /// The identity provider's name for them: unique ignoring case, need not be the email.
    pub user_name: String,
    /// The optional SCIM attributes as pushed (a JSON object), kept so they read back as written.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub email: Email,
    pub display_name: DisplayName,
    pub external_id: Option<ExternalId>,
    pub active: bool,
    /// The manager's SCIM id or externalId; `None`: no manager.
    pub manager: Option<String>,
}

fn user_not_found() -> ApiError {
    ApiError::NotFound("no user with this id".to_owned())
}

/// A user the identity provider may see: not deleted by it.
pub fn visible_user(conn: &mut DbConnection, id: UserId) -> Result<User, ApiError> {
    let user = portcullis_persistence::repo::users::find(conn, id)?.ok_or_else(user_not_found)?;
    if repo::is_deleted(conn, id)? {
        return Err(user_not_found());
    }
    Ok(user)
}

/// The manager reference still waiting for its user, if any (shown as the manager meanwhile).
pub fn pending_manager(conn: &mut DbConnection, id: UserId) -> Result<Option<String>, ApiError> {
    Ok(repo::pending_manager(conn, id)?)
}

/// What the identity provider wrote of the user (none: never written by one, or written before
/// Portcullis kept it).
pub fn scim_user(conn: &mut DbConnection, id: UserId) -> Result<Option<ScimUserRow>, ApiError> {
    Ok(repo::scim_user(conn, id)?)
}

/// What the identity providers wrote of a page of users, and their pending managers
/// (`(user id, reference)`).
pub type ScimDetails = (Vec<ScimUserRow>, Vec<(String, String)>);

pub fn scim_details(conn: &mut DbConnection, ids: &[UserId]) -> Result<ScimDetails, ApiError> {
    Ok((
        repo::scim_users_of(conn, ids)?,
        repo::pending_managers_of(conn, ids)?,
    ))
}

/// Refuses a userName another user has (ignoring case; a user never named by an identity provider
/// has their email as userName).
fn check_user_name(
    conn: &mut DbConnection,
    user_name: &str,
    user: Option<UserId>,
) -> Result<(), ApiError> {
    match repo::user_name_holder(conn, &user_name.to_lowercase())? {
        Some(holder) if Some(holder) != user => Err(ApiError::Conflict {
            detail: "a user with this userName already exists".to_owned(),
            existing_id: Some(holder.to_string()),
        }),
        _ => Ok(()),
    }
}

/// Keeps the userName and attributes pushed; returns the names of those that changed.
fn save_scim_user(
    conn: &mut DbConnection,
    id: UserId,
    pushed: &PushedUser,
    before: Option<&ScimUserRow>,
    now: DateTime<Utc>,
) -> Result<Vec<String>, ApiError> {
    let row = ScimUserRow {
        user_id: id.to_string(),
        user_name: pushed.user_name.clone(),
        user_name_key: pushed.user_name.to_lowercase(),
        attributes: serde_json::Value::Object(pushed.attributes.clone()).to_string(),
        updated_at: portcullis_persistence::time::to_db(now),
    };
    let old: serde_json::Map<String, serde_json::Value> = before
        .and_then(|b| serde_json::from_str(&b.attributes).ok())
        .unwrap_or_default();
    let mut changed: Vec<String> = Vec::new();
    if before.map(|b| b.user_name.as_str()) != Some(row.user_name.as_str()) {
        changed.push("userName".to_owned());
    }
    let names: std::collections::BTreeSet<&String> =
        old.keys().chain(pushed.attributes.keys()).collect();
    changed.extend(
        names
            .into_iter()
            .filter(|name| old.get(*name) != pushed.attributes.get(*name))
            .cloned(),
    );
    if !changed.is_empty() {
        repo::save_scim_user(conn, &row, before.is_some()).map_err(|error| {
            if portcullis_persistence::is_unique_violation(&error, "user_name_key") {
                ApiError::conflict("a user with this userName already exists")
            } else {
                error.into()
            }
        })?;
    }
    Ok(changed)
}

/// Creates the user (or brings back one the identity provider deleted, with the same email).
pub fn create_user(
    conn: &mut Tx,
    by: &Changer,
    pushed: PushedUser,
    now: DateTime<Utc>,
) -> Result<User, ApiError> {
    let external_id = pushed.external_id.as_ref().map(|e| e.as_str().to_owned());
    let user_name_key = format!("userName:{}", pushed.user_name.to_lowercase());
    let references: Vec<&str> = [
        pushed.manager.as_deref(),
        external_id.as_deref(),
        Some(&user_name_key),
    ]
    .into_iter()
    .flatten()
    .collect();
    repo::lock_references(conn, &references)?;
    if let Some(existing) = portcullis_persistence::repo::users::find_by_email(conn, &pushed.email)?
        && repo::is_deleted(conn, existing.id)?
    {
        repo::set_deleted(conn, existing.id, None)?;
        return replace_user(conn, by, existing.id, pushed, &IfMatch::Absent, None, now);
    }
    check_user_name(conn, &pushed.user_name, None)?;
    let (manager_id, pending) = resolve_manager(conn, None, pushed.manager.as_deref())?;
    let user = users::create_by(
        conn,
        by,
        NewUser {
            email: pushed.email.clone(),
            display_name: pushed.display_name.clone(),
            manager_id,
            is_admin: false,
            kind: UserKind::Person,
            external_id: pushed.external_id.clone(),
        },
        now,
    )?;
    if let Some(reference) = pending {
        repo::set_pending_manager(conn, user.id, &reference, now)?;
    }
    save_scim_user(conn, user.id, &pushed, None, now)?;
    let user = if pushed.active {
        user
    } else {
        users::update_by(
            conn,
            by,
            user.id,
            UserChanges {
                active: Some(false),
                ..UserChanges::default()
            },
            &IfMatch::Absent,
            now,
        )?
    };
    adopt_waiting_reports(conn, by, &user, now)?;
    Ok(user)
}

/// Replaces what the identity provider owns of the user: userName, email, name, external id, active,
/// manager, and the attributes it wrote. `read`: what a PATCH read of the identity provider's
/// document, which must still be there (else 412: the PATCH reads again), so no change is lost.
pub fn replace_user(
    conn: &mut Tx,
    by: &Changer,
    id: UserId,
    pushed: PushedUser,
    if_match: &IfMatch,
    read: Option<&Option<ScimUserRow>>,
    now: DateTime<Utc>,
) -> Result<User, ApiError> {
    let external_id = pushed.external_id.as_ref().map(|e| e.as_str().to_owned());
    let own_id = id.to_string();
    let user_name_key = format!("userName:{}", pushed.user_name.to_lowercase());
    let references: Vec<&str> = [
        pushed.manager.as_deref(),
        external_id.as_deref(),
        Some(&own_id),
        Some(&user_name_key),
    ]
    .into_iter()
    .flatten()
    .collect();
    repo::lock_references(conn, &references)?;
    let before = visible_user(conn, id)?;
    let written = repo::scim_user(conn, id)?;
    if read.is_some_and(|read| *read != written) {
        return Err(ApiError::PreconditionFailed(
            "the user changed while it was being updated; retry".to_owned(),
        ));
    }
    check_user_name(conn, &pushed.user_name, Some(id))?;
    let (manager_id, pending) = resolve_manager(conn, Some(id), pushed.manager.as_deref())?;
    let changes = UserChanges {
        email: Some(pushed.email.clone()),
        display_name: Some(pushed.display_name.clone()),
        manager_id: Some(manager_id),
        active: Some(pushed.active),
        external_id: Some(pushed.external_id.clone()),
        ..UserChanges::default()
    };
    let user = users::update_by(conn, by, id, changes, if_match, now)?;
    match pending {
        Some(reference) => repo::set_pending_manager(conn, id, &reference, now)?,
        None => repo::clear_pending_manager(conn, id)?,
    }
    let changed = save_scim_user(conn, id, &pushed, written.as_ref(), now)?;
    // A change of what only SCIM shows (userName, name parts, the emails' types…) is audited too.
    if user.version == before.version && !changed.is_empty() {
        audit_by(
            conn,
            "user_update",
            by,
            ("user", id.to_string()),
            json!({ "changed": [], "scim_changed": changed, "user_name": pushed.user_name }),
            now,
        )?;
    }
    adopt_waiting_reports(conn, by, &user, now)?;
    Ok(user)
}

/// A DELETE from the identity provider: the user is deactivated and kept (requests, decisions and
/// the audit log still name them), and no longer exists for SCIM.
pub fn delete_user(
    conn: &mut Tx,
    by: &Changer,
    id: UserId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    visible_user(conn, id)?;
    users::update_by(
        conn,
        by,
        id,
        UserChanges {
            active: Some(false),
            ..UserChanges::default()
        },
        &IfMatch::Absent,
        now,
    )?;
    repo::clear_pending_manager(conn, id)?;
    // Their userName is free again; a later POST with their email brings them back.
    repo::delete_scim_user(conn, id)?;
    repo::set_deleted(conn, id, Some(now))?;
    Ok(())
}

/// The manager a reference names: a known user (`Some(id)`, none pending), or one not pushed yet
/// (no manager for now, the reference kept to be resolved when they arrive).
fn resolve_manager(
    conn: &mut DbConnection,
    user: Option<UserId>,
    reference: Option<&str>,
) -> Result<(Option<UserId>, Option<String>), ApiError> {
    let Some(reference) = reference.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok((None, None));
    };
    match repo::user_by_reference(conn, reference)? {
        Some(manager) if Some(manager.id) == user => Err(ApiError::invalid_field(
            "manager",
            "a user cannot be their own manager",
        )),
        Some(manager) => Ok((Some(manager.id), None)),
        None => Ok((None, Some(reference.to_owned()))),
    }
}

/// Gives the users who named `user` as their manager before it arrived their manager.
fn adopt_waiting_reports(
    conn: &mut Tx,
    by: &Changer,
    user: &User,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let mut references = vec![user.id.to_string()];
    references.extend(user.external_id.as_ref().map(|e| e.as_str().to_owned()));
    for report in repo::waiting_for_manager(conn, &references)? {
        repo::clear_pending_manager(conn, report)?;
        let changes = UserChanges {
            manager_id: Some(Some(user.id)),
            ..UserChanges::default()
        };
        users::update_by(conn, by, report, changes, &IfMatch::Absent, now)?;
    }
    Ok(())
}
