use chrono::{DateTime, Utc};
use diesel::Connection;
use portcullis_domain::directory::{
    self, DisplayName, Email, ExternalId, ManagerCandidate, User, UserKind,
};
use portcullis_domain::flow::ApproverType;
use portcullis_domain::{UserId, ValidationErrors};
use portcullis_persistence::repo::users::{self, UserFilter};
use portcullis_persistence::{
    DbConnection, Page, PageRequest, is_foreign_key_violation, is_unique_violation,
};
use serde_json::json;

use super::{Changer, audit_by};
use crate::error::ApiError;
use crate::etag::IfMatch;
use crate::tx::Tx;

pub struct NewUser {
    pub email: Email,
    pub display_name: DisplayName,
    pub manager_id: Option<UserId>,
    pub is_admin: bool,
    pub kind: UserKind,
    pub external_id: Option<ExternalId>,
}

/// A partial update: `None` leaves a field as it is; `Some(None)` clears a nullable one.
#[derive(Default)]
pub struct UserChanges {
    pub email: Option<Email>,
    pub display_name: Option<DisplayName>,
    pub manager_id: Option<Option<UserId>>,
    pub is_admin: Option<bool>,
    pub active: Option<bool>,
    pub kind: Option<UserKind>,
    pub external_id: Option<Option<ExternalId>>,
}

/// What `delete` did: users nothing refers to are deleted, the others deactivated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Deleted,
    Deactivated,
}

fn not_found(id: UserId) -> ApiError {
    ApiError::NotFound(format!("no user with id {id}"))
}

pub fn get(conn: &mut DbConnection, id: UserId) -> Result<User, ApiError> {
    users::find(conn, id)?.ok_or_else(|| not_found(id))
}

pub fn list(
    conn: &mut DbConnection,
    filter: &UserFilter,
    page: &PageRequest,
) -> Result<Page<User>, ApiError> {
    Ok(users::list(conn, filter, page)?)
}

pub fn create(
    conn: &mut Tx,
    actor: Option<UserId>,
    input: NewUser,
    now: DateTime<Utc>,
) -> Result<User, ApiError> {
    create_by(conn, &Changer::Person(actor), input, now)
}

pub fn create_by(
    conn: &mut Tx,
    by: &Changer,
    input: NewUser,
    now: DateTime<Utc>,
) -> Result<User, ApiError> {
    if let Some(manager) = input.manager_id {
        check_manager(conn, None, manager)?;
    }
    if let Some(existing) = users::find_by_email(conn, &input.email)? {
        return Err(email_taken(existing.id));
    }
    let user = User {
        id: UserId::new_v7(),
        email: input.email,
        display_name: input.display_name,
        manager_id: input.manager_id,
        is_admin: input.is_admin,
        active: true,
        kind: input.kind,
        external_id: input.external_id,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    users::insert(conn, &user).map_err(unique_conflict)?;
    audit_by(
        conn,
        "user_create",
        by,
        ("user", user.id.to_string()),
        snapshot(&user),
        now,
    )?;
    Ok(user)
}

pub fn update(
    conn: &mut Tx,
    actor: Option<UserId>,
    id: UserId,
    changes: UserChanges,
    if_match: &IfMatch,
    now: DateTime<Utc>,
) -> Result<User, ApiError> {
    update_by(conn, &Changer::Person(actor), id, changes, if_match, now)
}

pub fn update_by(
    conn: &mut Tx,
    by: &Changer,
    id: UserId,
    changes: UserChanges,
    if_match: &IfMatch,
    now: DateTime<Utc>,
) -> Result<User, ApiError> {
    let actor = by.user();
    let before = get(conn, id)?;
    if_match.check(before.version)?;
    let mut after = before.clone();
    if let Some(email) = changes.email {
        if email != before.email
            && let Some(existing) = users::find_by_email(conn, &email)?
        {
            return Err(email_taken(existing.id));
        }
        after.email = email;
    }
    if let Some(name) = changes.display_name {
        after.display_name = name;
    }
    if let Some(manager) = changes.manager_id {
        if let Some(manager) = manager.filter(|m| Some(*m) != before.manager_id) {
            check_manager(conn, Some(id), manager)?;
        }
        after.manager_id = manager;
    }
    after.is_admin = changes.is_admin.unwrap_or(after.is_admin);
    after.active = changes.active.unwrap_or(after.active);
    after.kind = changes.kind.unwrap_or(after.kind);
    if let Some(external_id) = changes.external_id {
        after.external_id = external_id;
    }
    if after == before {
        return Ok(before);
    }
    if after.is_admin && after.kind == UserKind::Integration {
        return Err(ApiError::invalid_field(
            "is_admin",
            "an integration user cannot be an administrator",
        ));
    }
    if before.acts_as_admin() && !after.acts_as_admin() {
        ensure_not_last_admin(conn)?;
    }
    after.version = before.version + 1;
    after.updated_at = now;
    if !users::update(conn, &after, before.version).map_err(unique_conflict)? {
        return Err(ApiError::PreconditionFailed(
            "the user changed while it was being updated; retry".to_owned(),
        ));
    }
    let changed = changed_fields(&before, &after);
    // Seed 003: pending requests whose approvers this change affects need an admin (status `error`).
    if before.manager_id != after.manager_id {
        let mut with_manager_step = Vec::new();
        for request in portcullis_persistence::repo::requests::pending_of_requester(conn, id)? {
            let has_manager_step = portcullis_persistence::repo::requests::find(conn, request)?
                .is_some_and(|r| {
                    r.steps()
                        .iter()
                        .any(|s| s.approver_type == ApproverType::RequesterManager)
                });
            if has_manager_step {
                with_manager_step.push(request);
            }
        }
        super::requests::fail_all(
            conn,
            with_manager_step,
            "the requester's manager changed",
            actor,
            now,
        )?;
    }
    if before.active && !after.active {
        deactivated(conn, id, actor, now)?;
    }
    audit_by(
        conn,
        "user_update",
        by,
        ("user", id.to_string()),
        json!({ "changed": changed, "user": snapshot(&after) }),
        now,
    )?;
    Ok(after)
}

pub fn remove(
    conn: &mut Tx,
    actor: Option<UserId>,
    id: UserId,
    now: DateTime<Utc>,
) -> Result<Removal, ApiError> {
    remove_by(conn, &Changer::Person(actor), id, now)
}

pub fn remove_by(
    conn: &mut Tx,
    by: &Changer,
    id: UserId,
    now: DateTime<Utc>,
) -> Result<Removal, ApiError> {
    let user = get(conn, id)?;
    if user.acts_as_admin() {
        ensure_not_last_admin(conn)?;
    }
    // A savepoint, so that a refused delete leaves the transaction usable (PostgreSQL aborts it otherwise).
    let deleted = conn.transaction(|conn| users::delete(conn, id));
    match deleted {
        Ok(_) => {
            audit_by(
                conn,
                "user_delete",
                by,
                ("user", id.to_string()),
                snapshot(&user),
                now,
            )?;
            Ok(Removal::Deleted)
        }
        Err(e) if is_foreign_key_violation(&e) => {
            if user.active {
                let mut after = user.clone();
                after.active = false;
                after.version += 1;
                after.updated_at = now;
                if !users::update(conn, &after, user.version)? {
                    return Err(ApiError::PreconditionFailed(
                        "the user changed while it was being removed; retry".to_owned(),
                    ));
                }
                audit_by(
                    conn,
                    "user_deactivate",
                    by,
                    ("user", id.to_string()),
                    snapshot(&after),
                    now,
                )?;
                deactivated(conn, id, by.user(), now)?;
            }
            Ok(Removal::Deactivated)
        }
        Err(e) => Err(e.into()),
    }
}

/// What deactivating a user does, whoever deactivates them (an admin, or an identity provider):
/// a deactivated approver can no longer decide, so their pending requests go to `error` (seed 003);
/// and the access they were granted ends now (their grants are revoked, each grant's membership
/// removed, an admin's direct membership kept), rather than outliving them until it expires, or
/// forever for access without a time limit.
fn deactivated(
    conn: &mut Tx,
    id: UserId,
    actor: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let affected = portcullis_persistence::repo::requests::pending_with_approver(conn, id)?;
    super::requests::fail_all(conn, affected, "an approver was deactivated", actor, now)?;
    loop {
        // Active grants, and those still to start (which must then never start).
        let unended = portcullis_persistence::repo::grants::unended_of(conn, id, 200)?;
        if unended.is_empty() {
            return Ok(());
        }
        let mut ended = 0;
        for grant in unended {
            let revoked = super::requests::end_grant(
                conn,
                None,
                grant.id,
                portcullis_domain::access::GrantStatus::Revoked,
                now,
            )?;
            ended += usize::from(revoked.is_some());
        }
        if ended == 0 {
            // Each one changed under us: let the caller retry rather than loop.
            return Err(ApiError::PreconditionFailed(
                "the user's grants changed while they were being revoked; retry".to_owned(),
            ));
        }
    }
}

fn check_manager(
    conn: &mut DbConnection,
    user: Option<UserId>,
    manager: UserId,
) -> Result<(), ApiError> {
    let candidate = users::find(conn, manager)?.ok_or_else(|| {
        ApiError::invalid_field("manager_id", format!("no user with id {manager}"))
    })?;
    let candidate = ManagerCandidate {
        id: candidate.id,
        active: candidate.active,
        kind: candidate.kind,
        chain_above: users::manager_chain(conn, manager)?,
    };
    directory::check_manager(user, &candidate)
        .map_err(|message| ApiError::invalid_field("manager_id", message))
}

fn ensure_not_last_admin(conn: &mut DbConnection) -> Result<(), ApiError> {
    if users::count_active_admins(conn)? <= 1 {
        return Err(ApiError::conflict(
            "this is the last active administrator; make another user an administrator first",
        ));
    }
    Ok(())
}

fn email_taken(existing: UserId) -> ApiError {
    ApiError::Conflict {
        detail: "a user with this email already exists".to_owned(),
        existing_id: Some(existing.to_string()),
    }
}

/// A unique violation that slipped past the checks (two writers at once) is still a conflict.
fn unique_conflict(error: diesel::result::Error) -> ApiError {
    if is_unique_violation(&error, "email") {
        ApiError::conflict("a user with this email already exists")
    } else if is_unique_violation(&error, "external_id") {
        ApiError::conflict("a user with this external id already exists")
    } else {
        error.into()
    }
}

fn snapshot(user: &User) -> serde_json::Value {
    json!({
        "email": user.email,
        "display_name": user.display_name,
        "manager_id": user.manager_id,
        "is_admin": user.is_admin,
        "active": user.active,
        "kind": user.kind,
        "external_id": user.external_id,
    })
}

fn changed_fields(before: &User, after: &User) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut note = |differs: bool, name| {
        if differs {
            changed.push(name);
        }
    };
    note(before.email != after.email, "email");
    note(before.display_name != after.display_name, "display_name");
    note(before.manager_id != after.manager_id, "manager_id");
    note(before.is_admin != after.is_admin, "is_admin");
    note(before.active != after.active, "active");
    note(before.kind != after.kind, "kind");
    note(before.external_id != after.external_id, "external_id");
    changed
}

/// Collects the field errors of parsing a new user's values.
pub fn parse_new_user(
    email: &str,
    display_name: &str,
    manager_id: Option<uuid::Uuid>,
    is_admin: bool,
    kind: Option<UserKind>,
    external_id: Option<&str>,
) -> Result<NewUser, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let email = errors.collect("email", Email::parse(email));
    let display_name = errors.collect("display_name", DisplayName::parse(display_name));
    let external_id = external_id.and_then(|e| errors.collect("external_id", ExternalId::parse(e)));
    let kind = kind.unwrap_or(UserKind::Person);
    if is_admin && kind == UserKind::Integration {
        errors.push("is_admin", "an integration user cannot be an administrator");
    }
    match (email, display_name) {
        (Some(email), Some(display_name)) if errors.is_empty() => Ok(NewUser {
            email,
            display_name,
            manager_id: manager_id.map(UserId::from),
            is_admin,
            kind,
            external_id,
        }),
        _ => Err(errors),
    }
}
