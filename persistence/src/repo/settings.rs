use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::settings::Settings;

use crate::connection::DbConnection;
use crate::schema::settings;
use crate::time::{from_db, to_db};

#[derive(Debug, Clone, Queryable, Selectable, AsChangeset)]
#[diesel(table_name = settings)]
struct SettingsRow {
    resource_requests_enabled: bool,
    expiry_days: i64,
    show_approval_progress: bool,
    email_request_received: bool,
    email_decision: bool,
    email_admin_new_request: bool,
    max_access_duration_seconds: i64,
    version: i64,
    updated_at: NaiveDateTime,
    approver_reminder_days: i64,
    grant_ending_notice_hours: i64,
}

/// The settings with their version and last change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSettings {
    pub settings: Settings,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

pub fn get(conn: &mut DbConnection) -> QueryResult<StoredSettings> {
    let row: SettingsRow = settings::table
        .find(1)
        .select(SettingsRow::as_select())
        .first(conn)?;
    Ok(StoredSettings {
        settings: Settings {
            resource_requests_enabled: row.resource_requests_enabled,
            expiry_days: row.expiry_days,
            show_approval_progress: row.show_approval_progress,
            email_request_received: row.email_request_received,
            email_decision: row.email_decision,
            email_admin_new_request: row.email_admin_new_request,
            max_access_duration_seconds: row.max_access_duration_seconds,
            approver_reminder_days: row.approver_reminder_days,
            grant_ending_notice_hours: row.grant_ending_notice_hours,
        },
        version: row.version,
        updated_at: from_db(row.updated_at),
    })
}

/// Writes the settings if the stored version is still `expected_version`; returns whether it did.
pub fn update(
    conn: &mut DbConnection,
    stored: &StoredSettings,
    expected_version: i64,
) -> QueryResult<bool> {
    let s = &stored.settings;
    let row = SettingsRow {
        resource_requests_enabled: s.resource_requests_enabled,
        expiry_days: s.expiry_days,
        show_approval_progress: s.show_approval_progress,
        email_request_received: s.email_request_received,
        email_decision: s.email_decision,
        email_admin_new_request: s.email_admin_new_request,
        max_access_duration_seconds: s.max_access_duration_seconds,
        version: stored.version,
        updated_at: to_db(stored.updated_at),
        approver_reminder_days: s.approver_reminder_days,
        grant_ending_notice_hours: s.grant_ending_notice_hours,
    };
    diesel::update(
        settings::table
            .find(1)
            .filter(settings::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
    .map(|n| n == 1)
}
