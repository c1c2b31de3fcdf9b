use chrono::{DateTime, Utc};
use portcullis_domain::UserId;
use portcullis_domain::settings::Settings;
use portcullis_persistence::DbConnection;
use portcullis_persistence::repo::settings::{self, StoredSettings};
use serde_json::json;

use super::audit;
use crate::error::ApiError;
use crate::etag::IfMatch;
use crate::tx::Tx;

pub use portcullis_domain::events::SETTINGS_UPDATE;

pub fn get(conn: &mut DbConnection) -> Result<StoredSettings, ApiError> {
    Ok(settings::get(conn)?)
}

pub fn replace(
    conn: &mut Tx,
    actor: Option<UserId>,
    new: Settings,
    if_match: &IfMatch,
    now: DateTime<Utc>,
) -> Result<StoredSettings, ApiError> {
    new.validate()?;
    let before = settings::get(conn)?;
    if_match.check(before.version)?;
    if before.settings == new {
        return Ok(before);
    }
    let after = StoredSettings {
        settings: new,
        version: before.version + 1,
        updated_at: now,
    };
    if !settings::update(conn, &after, before.version)? {
        return Err(ApiError::PreconditionFailed(
            "the settings changed while they were being updated; retry".to_owned(),
        ));
    }
    audit(
        conn,
        SETTINGS_UPDATE,
        actor,
        ("settings", "settings".to_owned()),
        json!({
            "version_before": before.version,
            "version_after": after.version,
            "before": before.settings,
            "after": after.settings,
        }),
        now,
    )?;
    Ok(after)
}
