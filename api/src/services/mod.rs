//! Use cases: each runs in one transaction, applies the domain's rules, and records its audit event.

pub mod devices;
pub mod flows;
pub mod groups;
pub mod requests;
pub mod settings;
pub mod users;
pub mod webhooks;

use chrono::{DateTime, Utc};
use portcullis_domain::UserId;
use portcullis_persistence::DbConnection;
use portcullis_persistence::repo::events::NewEvent;

use crate::error::ApiError;

/// Records an audit event about a directory object in the current transaction.
pub(crate) fn audit(
    conn: &mut DbConnection,
    event_type: &'static str,
    actor: Option<UserId>,
    subject: (&'static str, String),
    data: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    crate::notify::publish(
        conn,
        &NewEvent {
            event_type,
            occurred_at: at,
            actor_id: actor,
            subject_type: subject.0,
            subject_id: subject.1,
            data,
        },
    )?;
    Ok(())
}

/// Turns a domain parse into a validator error, so DTO validation uses the domain's rules.
pub(crate) fn rule<T>(result: Result<T, String>) -> Result<(), validator::ValidationError> {
    result.map(drop).map_err(|message| {
        let mut error = validator::ValidationError::new("invalid");
        error.message = Some(message.into());
        error
    })
}

/// Deserializes a field that may be absent (`None`), `null` (`Some(None)`) or a value.
pub(crate) fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
