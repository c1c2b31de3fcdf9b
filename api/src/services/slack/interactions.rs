//! Interactions Slack posts: once verified (by the handler, before anything is read), each is
//! recorded by its id and queued for the dispatcher in one transaction, so Slack is answered at once,
//! a retry of the same interaction queues nothing, and a server that dies after the answer still
//! acts on it after a restart.

use chrono::{DateTime, Utc};
use portcullis_persistence::repo::slack;

use super::{Job, enqueue};
use crate::error::ApiError;
use crate::slack::interaction::Received;
use crate::tx::Tx;

/// Queues an interaction unless it was already received; returns whether it was new.
pub fn receive(conn: &mut Tx, received: Received, now: DateTime<Utc>) -> Result<bool, ApiError> {
    if !slack::first_interaction(conn, &received.id, now)? {
        return Ok(false);
    }
    enqueue(conn, &Job::Interaction(received.interaction), None, now)?;
    Ok(true)
}
