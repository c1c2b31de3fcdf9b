//! Notifications that are never lost: every audit event goes through [`publish`], which writes the
//! event and, in the same transaction, one outbox entry per webhook channel that receives it; the
//! request engine adds email entries ([`email`]). The [`dispatcher`] delivers entries at least once,
//! retrying with backoff, and logs every attempt.

pub mod dispatcher;
pub mod email;
pub mod reminders;
pub mod webhook;

use portcullis_domain::EventId;
use portcullis_persistence::DbConnection;
use portcullis_persistence::repo::events::{self, NewEvent};
use portcullis_persistence::repo::outbox::{self, NewEntry};
use portcullis_persistence::repo::{users, webhooks};
use serde_json::json;

use crate::error::ApiError;
use crate::services::{flows, requests, settings};

/// Runs `write` (on the thread that writes) and tells whether it queued a notification, so that
/// the dispatcher is woken only when there is something new to deliver.
pub fn queued_by<T>(write: impl FnOnce() -> T) -> (T, bool) {
    let before = outbox::added_on_this_thread();
    let result = write();
    (result, outbox::added_on_this_thread() != before)
}

/// Every event type the server records, which is what a webhook channel may subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    requests::CREATED,
    requests::APPROVED,
    requests::DENIED,
    requests::ASSOCIATION_CHANGE,
    flows::FLOW_CREATE,
    flows::FLOW_UPDATE,
    flows::FLOW_DELETE,
    settings::SETTINGS_UPDATE,
    requests::STEP_DECISION,
    requests::CANCELED,
    requests::EXPIRED,
    requests::ERROR,
    requests::RETRIED,
    requests::REASSIGNED,
    requests::COMMENTED,
    requests::SESSION_START,
    requests::SESSION_END,
    "user_create",
    "user_update",
    "user_deactivate",
    "user_delete",
    "user_group_create",
    "user_group_update",
    "user_group_delete",
    "user_group_member_add",
    "user_group_member_remove",
    "device_create",
    "device_update",
    "device_delete",
    webhook::CHANNEL_CREATE,
    webhook::CHANNEL_UPDATE,
    webhook::CHANNEL_DELETE,
    "scim_token_create",
    "scim_token_revoke",
];

/// Records an audit event and queues a webhook delivery for each enabled channel that receives
/// its type, all in the caller's transaction: the change, its event and its notifications commit
/// together or not at all.
pub fn publish(conn: &mut DbConnection, event: &NewEvent) -> Result<EventId, ApiError> {
    let (id, any_channel) = events::record(conn, event)?;
    if !any_channel {
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
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_unique() {
        let mut sorted = EVENT_TYPES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), EVENT_TYPES.len());
    }
}
