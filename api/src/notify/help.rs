//! The emails of help requests (seed 004's "ask for help"), queued in the outbox with the event
//! that causes them: the answerers hear of a new question, each side of a comment from the other,
//! and the asker of a resolution by someone else.

use chrono::{DateTime, Utc};
use portcullis_domain::EventId;
use portcullis_domain::help::{HelpChange, HelpEvent};
use portcullis_persistence::repo::users;
use serde_json::json;

use super::email::{HELP_COMMENT, HELP_REQUESTED, HELP_RESOLVED, queue};
use crate::error::ApiError;
use crate::tx::Tx;

/// Queues the emails `change` causes.
pub fn on_help_event(
    conn: &mut Tx,
    event_id: EventId,
    change: &HelpChange,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if !conn.sends_email() {
        return Ok(());
    }
    let help = &change.after;
    let (message, recipients, extra) = match &change.event {
        HelpEvent::Opened => (HELP_REQUESTED, help.answerer_ids.clone(), json!({})),
        HelpEvent::Commented(comment) => {
            let others = if comment.author_id == help.asker_id {
                help.answerer_ids.clone()
            } else {
                vec![help.asker_id]
            };
            (HELP_COMMENT, others, json!({ "body": comment.body }))
        }
        HelpEvent::Resolved if change.actor == help.asker_id => return Ok(()),
        HelpEvent::Resolved => (HELP_RESOLVED, vec![help.asker_id], json!({})),
    };
    let mut wanted = recipients.clone();
    wanted.extend([help.asker_id, change.actor]);
    let people = users::find_many(conn, &wanted)?;
    let name = |id| {
        people
            .iter()
            .find(|u| u.id == id)
            .map(|u| {
                (
                    u.display_name.as_str().to_owned(),
                    u.email.as_str().to_owned(),
                )
            })
            .unwrap_or_default()
    };
    let (asker_name, asker_email) = name(help.asker_id);
    let mut data = json!({
        "help_request_id": help.id,
        "flow_name": help.flow_name,
        "asker_name": asker_name,
        "asker_email": asker_email,
        "message": help.message,
        "author_name": name(change.actor).0,
    });
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    for recipient in people
        .iter()
        .filter(|u| recipients.contains(&u.id) && u.id != change.actor)
    {
        queue(conn, Some(event_id), message, recipient, data.clone(), now)?;
    }
    Ok(())
}
