use chrono::{DateTime, Utc};
use portcullis_domain::directory::{self, CertificateFingerprint, Device, DeviceName, DeviceOs};
use portcullis_domain::{DeviceId, UserId, ValidationErrors};
use portcullis_persistence::repo::{devices, users};
use portcullis_persistence::{DbConnection, Page, PageRequest};
use serde_json::json;

use super::audit;
use crate::error::ApiError;
use crate::etag::IfMatch;
use crate::tx::Tx;

/// A device as an administrator registers it.
pub struct NewDevice {
    pub name: DeviceName,
    pub os: DeviceOs,
    pub assigned_user_ids: Vec<UserId>,
    /// `Some`: the device is managed (the certificate it presented).
    pub certificate_fingerprint: Option<CertificateFingerprint>,
}

#[derive(Default)]
pub struct DeviceChanges {
    pub name: Option<DeviceName>,
    pub os: Option<DeviceOs>,
    pub assigned_user_ids: Option<Vec<UserId>>,
    /// `Some(None)` marks the device unmanaged.
    pub certificate_fingerprint: Option<Option<CertificateFingerprint>>,
}

/// Who is asking, for visibility: admins see every device, others only theirs.
#[derive(Debug, Clone, Copy)]
pub enum Viewer {
    Admin,
    User(UserId),
}

fn not_found(id: DeviceId) -> ApiError {
    ApiError::NotFound(format!("no device with id {id}"))
}

pub fn get(conn: &mut DbConnection, viewer: Viewer, id: DeviceId) -> Result<Device, ApiError> {
    let device = devices::find(conn, id)?.ok_or_else(|| not_found(id))?;
    match viewer {
        Viewer::User(user) if !device.assigned_user_ids.contains(&user) => Err(not_found(id)),
        _ => Ok(device),
    }
}

pub fn list(
    conn: &mut DbConnection,
    viewer: Viewer,
    page: &PageRequest,
) -> Result<Page<Device>, ApiError> {
    let assigned_to = match viewer {
        Viewer::Admin => None,
        Viewer::User(user) => Some(user),
    };
    Ok(devices::list(conn, assigned_to, page)?)
}

pub fn create(
    conn: &mut Tx,
    actor: Option<UserId>,
    new: NewDevice,
    now: DateTime<Utc>,
) -> Result<Device, ApiError> {
    check_assignees(conn, &new.assigned_user_ids, &[])?;
    let device = Device {
        id: DeviceId::new_v7(),
        name: new.name,
        os: new.os,
        assigned_user_ids: new.assigned_user_ids,
        certificate_fingerprint: new.certificate_fingerprint,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    devices::insert(conn, &device)?;
    audit(
        conn,
        "device_create",
        actor,
        ("device", device.id.to_string()),
        snapshot(&device),
        now,
    )?;
    Ok(device)
}

pub fn update(
    conn: &mut Tx,
    actor: Option<UserId>,
    id: DeviceId,
    changes: DeviceChanges,
    if_match: &IfMatch,
    now: DateTime<Utc>,
) -> Result<Device, ApiError> {
    let before = get(conn, Viewer::Admin, id)?;
    if_match.check(before.version)?;
    let mut after = before.clone();
    after.name = changes.name.unwrap_or(after.name);
    after.os = changes.os.unwrap_or(after.os);
    if let Some(fingerprint) = changes.certificate_fingerprint {
        after.certificate_fingerprint = fingerprint;
    }
    if let Some(assigned) = changes.assigned_user_ids {
        check_assignees(conn, &assigned, &before.assigned_user_ids)?;
        after.assigned_user_ids = assigned;
    }
    if after == before {
        return Ok(before);
    }
    after.version += 1;
    after.updated_at = now;
    if !devices::update(conn, &after, before.version)? {
        return Err(ApiError::PreconditionFailed(
            "the device changed while it was being updated; retry".to_owned(),
        ));
    }
    audit(
        conn,
        "device_update",
        actor,
        ("device", id.to_string()),
        snapshot(&after),
        now,
    )?;
    Ok(after)
}

pub fn delete(
    conn: &mut Tx,
    actor: Option<UserId>,
    id: DeviceId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let device = get(conn, Viewer::Admin, id)?;
    devices::delete(conn, id)?;
    audit(
        conn,
        "device_delete",
        actor,
        ("device", id.to_string()),
        snapshot(&device),
        now,
    )?;
    Ok(())
}

fn check_unique(ids: &[UserId]) -> Result<(), ApiError> {
    for (index, id) in ids.iter().enumerate() {
        if ids[..index].contains(id) {
            return Err(ApiError::invalid_field(
                &format!("assigned_user_ids[{index}]"),
                "is listed twice",
            ));
        }
    }
    Ok(())
}

/// Every assignee must exist, be listed once, and (unless `already_assigned`) be an active person:
/// integration users never hold access.
fn check_assignees(
    conn: &mut DbConnection,
    ids: &[UserId],
    already_assigned: &[UserId],
) -> Result<(), ApiError> {
    check_unique(ids)?;
    let found = users::find_many(conn, ids)?;
    let mut errors = ValidationErrors::new();
    for (index, id) in ids.iter().enumerate() {
        let field = format!("assigned_user_ids[{index}]");
        match found.iter().find(|u| u.id == *id) {
            None => errors.push(field, format!("no user with id {id}")),
            Some(_) if already_assigned.contains(id) => {}
            Some(user) => {
                if let Err(message) = directory::check_may_hold_access(user.kind, user.active) {
                    errors.push(field, message);
                }
            }
        }
    }
    Ok(errors.into_result()?)
}

fn snapshot(device: &Device) -> serde_json::Value {
    json!({
        "name": device.name, "os": device.os, "assigned_user_ids": device.assigned_user_ids,
        "managed": device.managed(), "certificate_fingerprint": device.certificate_fingerprint,
    })
}
