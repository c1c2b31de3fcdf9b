//! Notifications that are never lost: every audit event goes through [`publish`], which writes the
//! event and, in the same transaction, one outbox entry per webhook channel that receives it; the
//! request engine adds email entries ([`email`]) and ARAP callbacks ([`callbacks`]). The [`dispatcher`] delivers entries at least once,
//! retrying with backoff, and logs every attempt.

pub mod break_glass;
pub mod callbacks;
pub mod dispatcher;
pub mod email;
pub mod help;
pub mod reminders;
pub mod starts;
pub mod webhook;

use portcullis_domain::EventId;
use portcullis_persistence::repo::events::{self, NewEvent, Recorded};
use portcullis_persistence::repo::outbox::{self, NewEntry};
use portcullis_persistence::repo::{users, webhooks};
use serde_json::json;

use crate::error::ApiError;
use crate::tx::Tx;

pub use portcullis_domain::events::EVENT_TYPES;

/// Records an audit event and queues a webhook delivery for each enabled channel that receives
/// its type, all in the caller's transaction: the change, its event and its notifications commit
/// together or not at all.
pub fn publish(conn: &mut Tx, event: &NewEvent) -> Result<EventId, ApiError> {
    let recorded = events::record(conn, event)?;
    published(conn, event, recorded)
}

/// The rest of [`publish`] for an event already stored (with the change it describes, in one
/// statement): what storing it found, and the webhook deliveries.
pub fn published(conn: &mut Tx, event: &NewEvent, recorded: Recorded) -> Result<EventId, ApiError> {
    conn.learned_slack(recorded.slack);
    if let Some(callback) = recorded.callback {
        conn.learned_callback(&event.subject_id, callback);
    }
    let id = recorded.id;
    if !recorded.webhooks {
        return Ok(id);
    }
    let channels: Vec<_> = webhooks::enabled(conn)?
        .into_iter()
        .filter(|c| c.receives(event.event_type))
        .collect();
    if channels.is_empty() {
        return Ok(id);
    }
    let actor = match event.actor_id {
        Some(actor) => users::find(conn, actor)?.map(|u| {
            json!({ "id": u.id, "email": u.email.as_str(), "display_name": u.display_name.as_str() })
        }),
        None => None,
    };
    let body = webhook::payload(id, event, actor).to_string();
    for channel in channels {
        outbox::enqueue(
            conn,
            &NewEntry {
                kind: outbox::WEBHOOK,
                channel_id: Some(channel.id),
                event_id: Some(id),
                topic: event.event_type.to_owned(),
                payload: body.clone(),
            },
            event.occurred_at,
        )?;
        conn.queued();
    }
    Ok(id)
}
