//! Slack approvals (seed 003), as use cases: the connection an admin sets ([`connection`]); the
//! outbox entries a request's changes cause ([`queue`]): messages to the approvers of a step that
//! becomes active, the update of every message once they can no longer act, the requester's note
//! of the decision; the interactions Slack posts ([`interactions`]); and the work the dispatcher
//! does for each entry ([`worker`]): the Web API calls, and the decisions interactions ask for,
//! made through the request aggregate exactly as the API makes them.

pub mod connection;
pub mod interactions;
pub mod queue;
mod summary;
pub mod worker;

use serde::{Deserialize, Serialize};

use crate::slack::interaction::Interaction;

/// One outbox entry of kind `slack`: what to do, with the ids it needs (everything else is read
/// when it is done, so a message always shows the request as it is then).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// A direct message to an approver of an active step.
    AskApprover {
        request_id: String,
        approver_id: String,
    },
    /// A post in a channel of an administrator flow in channel mode.
    PostToChannel { request_id: String, channel: String },
    /// Every message of the request whose recipients can no longer act shows how it stands now.
    CloseMessages { request_id: String },
    /// The requester's direct message with the decision.
    TellRequester { request_id: String },
    /// A direct message to an administrator about a break-glass request (access already given).
    AlertAdmin {
        request_id: String,
        admin_id: String,
    },
    /// What a person did in Slack.
    Interaction(Interaction),
}

impl Job {
    /// The entry's topic in the delivery log.
    pub fn topic(&self) -> &'static str {
        match self {
            Self::AskApprover { .. } => "ask_approver",
            Self::PostToChannel { .. } => "post_to_channel",
            Self::CloseMessages { .. } => "close_messages",
            Self::TellRequester { .. } => "tell_requester",
            Self::AlertAdmin { .. } => "alert_admin",
            Self::Interaction(_) => "interaction",
        }
    }
}

/// Queues a job in the caller's transaction.
pub(crate) fn enqueue(
    conn: &mut crate::tx::Tx,
    job: &Job,
    event_id: Option<portcullis_domain::EventId>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), crate::error::ApiError> {
    use portcullis_persistence::repo::outbox;
    outbox::enqueue(
        conn,
        &outbox::NewEntry {
            kind: outbox::SLACK,
            channel_id: None,
            event_id,
            topic: job.topic().to_owned(),
            payload: serde_json::to_string(job).map_err(crate::error::ApiError::internal)?,
        },
        now,
    )?;
    conn.queued();
    Ok(())
}
