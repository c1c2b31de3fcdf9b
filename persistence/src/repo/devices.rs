use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::directory::Device;
use portcullis_domain::{DeviceId, UserId};

use crate::connection::DbConnection;
use crate::keyset_page;
use crate::models::{DeviceAssignmentRow, DeviceRow};
use crate::page::{Page, PageRequest};
use crate::schema::{device_assignments, devices};
use crate::time::to_db;

pub fn insert(conn: &mut DbConnection, device: &Device) -> QueryResult<()> {
    diesel::insert_into(devices::table)
        .values(DeviceRow::from(device))
        .execute(conn)?;
    assign(
        conn,
        device.id,
        &device.assigned_user_ids,
        device.created_at,
    )
}

fn assign(
    conn: &mut DbConnection,
    device: DeviceId,
    users: &[UserId],
    at: DateTime<Utc>,
) -> QueryResult<()> {
    // One statement per row: batch inserts do not compile through the multi-backend connection,
    // and a device has a handful of users.
    for user in users {
        diesel::insert_into(device_assignments::table)
            .values(DeviceAssignmentRow {
                device_id: device.to_string(),
                user_id: user.to_string(),
                created_at: to_db(at),
            })
            .execute(conn)?;
    }
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: DeviceId) -> QueryResult<Option<Device>> {
    let Some(row) = devices::table
        .find(id.to_string())
        .select(DeviceRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    with_assignments(conn, vec![row]).map(|mut devices| devices.pop())
}

/// Devices newest first; only those assigned to `assigned_to` when given.
pub fn list(
    conn: &mut DbConnection,
    assigned_to: Option<UserId>,
    page: &PageRequest,
) -> QueryResult<Page<Device>> {
    let mut query = devices::table.select(DeviceRow::as_select()).into_boxed();
    if let Some(user) = assigned_to {
        query = query.filter(
            devices::id.eq_any(
                device_assignments::table
                    .filter(device_assignments::user_id.eq(user.to_string()))
                    .select(device_assignments::device_id),
            ),
        );
    }
    let rows: Vec<DeviceRow> =
        keyset_page!(query, devices::created_at, devices::id, page).load(conn)?;
    let page = Page::from_rows(rows, page.limit, DeviceRow::cursor);
    let next = page.next;
    Ok(Page {
        items: with_assignments(conn, page.items)?,
        next,
    })
}

/// Loads the assignments of all `rows` in one query.
fn with_assignments(conn: &mut DbConnection, rows: Vec<DeviceRow>) -> QueryResult<Vec<Device>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let assignments: Vec<(String, String)> = device_assignments::table
        .filter(device_assignments::device_id.eq_any(ids))
        .order((
            device_assignments::created_at.asc(),
            device_assignments::user_id.asc(),
        ))
        .select((device_assignments::device_id, device_assignments::user_id))
        .load(conn)?;
    let mut by_device: HashMap<String, Vec<String>> = HashMap::new();
    for (device, user) in assignments {
        by_device.entry(device).or_default().push(user);
    }
    rows.into_iter()
        .map(|row| {
            let assigned = by_device.remove(&row.id).unwrap_or_default();
            row.into_device(assigned)
                .map_err(diesel::result::Error::DeserializationError)
        })
        .collect()
}

/// Writes `device` (and replaces its assignments) if its stored version is still `expected_version`.
pub fn update(
    conn: &mut DbConnection,
    device: &Device,
    expected_version: i64,
) -> QueryResult<bool> {
    let updated = diesel::update(
        devices::table
            .filter(devices::id.eq(device.id.to_string()))
            .filter(devices::version.eq(expected_version)),
    )
    .set(DeviceRow::from(device))
    .execute(conn)?;
    if updated != 1 {
        return Ok(false);
    }
    diesel::delete(
        device_assignments::table.filter(device_assignments::device_id.eq(device.id.to_string())),
    )
    .execute(conn)?;
    assign(
        conn,
        device.id,
        &device.assigned_user_ids,
        device.updated_at,
    )?;
    Ok(true)
}

/// Deletes the device and, by cascade, its assignments.
pub fn delete(conn: &mut DbConnection, id: DeviceId) -> QueryResult<bool> {
    diesel::delete(devices::table.find(id.to_string()))
        .execute(conn)
        .map(|n| n == 1)
}
