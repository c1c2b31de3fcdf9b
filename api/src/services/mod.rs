//! Use cases: each runs in one transaction, applies the domain's rules, and records its audit event.

pub mod access;
pub mod approvers;
pub mod catalog;
pub mod devices;
pub mod events;
pub mod flow_preview;
pub mod flows;
pub mod groups;
pub mod help;
pub mod manage;
pub mod queue;
pub mod requests;
pub mod scim;
pub mod settings;
pub mod slack;
pub mod users;
pub mod views;
pub mod webhooks;

use chrono::{DateTime, Utc};
use portcullis_domain::UserId;
use portcullis_persistence::DbConnection;
use portcullis_persistence::repo::events::NewEvent;

use crate::error::ApiError;
use crate::tx::Tx;

/// How many times a staged write is read again after what it read changed under it.
pub const STALE_RETRIES: usize = 5;

/// What the reading half of a staged write found (see [`crate::state::AppState::read_then_write`]).
pub enum Prepared<P, T> {
    /// The write to make, with everything read to decide it.
    Write(P),
    /// The answer, with nothing to write (a replayed idempotent request, say).
    Answer(T),
}

/// What the writing half of a staged write did.
pub enum Written<T> {
    Done(T),
    /// Something the reading half relied on changed before the write; nothing was written.
    Stale,
}

/// Whether the writing half of a staged write checks again what its reading half read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recheck {
    /// The reading half ran in an earlier transaction (on SQLite, on a reader connection before
    /// the writer thread took the write): what it read may have changed since.
    Yes,
    /// Both halves run in one transaction, one right after the other, like a one-transaction
    /// write (PostgreSQL, use cases composed of others): checking again would add queries and no
    /// guarantee that the transaction does not already give.
    No,
}

/// Runs a staged write's two halves on one connection in its current transaction, reading again
/// while what was read keeps changing (on PostgreSQL, and for use cases composed of others).
pub fn read_then_write<P, T>(
    conn: &mut Tx,
    prepare: impl Fn(&mut DbConnection, Recheck) -> Result<Prepared<P, T>, ApiError>,
    commit: impl Fn(&mut Tx, P, Recheck) -> Result<Written<T>, ApiError>,
) -> Result<T, ApiError> {
    for _ in 0..STALE_RETRIES {
        let plan = match prepare(conn, Recheck::No)? {
            Prepared::Answer(answer) => return Ok(answer),
            Prepared::Write(plan) => plan,
        };
        if let Written::Done(answer) = commit(conn, plan, Recheck::No)? {
            return Ok(answer);
        }
    }
    Err(stale())
}

/// The answer when a staged write kept finding its inputs changed.
pub fn stale() -> ApiError {
    ApiError::conflict("what this change depends on is being changed by others; retry")
}

/// Who changes the directory: a person (`None`: the server itself), or an identity provider
/// through SCIM, which is no user: its events have no actor and name it in their data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changer {
    Person(Option<UserId>),
    IdentityProvider { token_id: String, name: String },
}

impl Changer {
    /// The acting user, if a person acts.
    pub fn user(&self) -> Option<UserId> {
        match self {
            Self::Person(actor) => *actor,
            Self::IdentityProvider { .. } => None,
        }
    }
}

/// Records an audit event about a directory object made by `by` in the current transaction.
pub(crate) fn audit_by(
    conn: &mut Tx,
    event_type: &'static str,
    by: &Changer,
    subject: (&'static str, String),
    mut data: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    if let (Changer::IdentityProvider { token_id, name }, Some(fields)) = (by, data.as_object_mut())
    {
        fields.insert(
            "identity_provider".to_owned(),
            serde_json::json!({ "token_id": token_id, "name": name }),
        );
    }
    audit(conn, event_type, by.user(), subject, data, at)
}

/// Records an audit event about a directory object in the current transaction.
pub(crate) fn audit(
    conn: &mut Tx,
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
