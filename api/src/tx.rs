//! A write transaction as the use cases see it: the connection, with what notifications need to
//! know about the write. Whether this server sends email decides whether email intents are queued
//! at all (a server without SMTP writes none); whether the write queued an outbox entry decides
//! whether the dispatcher is woken after the commit. Both travel with the transaction, explicitly,
//! from the writer that opens it ([`crate::state::AppState::write`], the SQLite group commit, the
//! jobs) to the code that queues.

use std::ops::{Deref, DerefMut};

use portcullis_persistence::DbConnection;

/// The connection of a write transaction (it derefs to it), with its notification context.
pub struct Tx<'c> {
    conn: &'c mut DbConnection,
    email: bool,
    queued: bool,
    slack: Option<bool>,
    /// The subject of the last event recorded, and whether it has an AuthZEN callback.
    callback: Option<(String, bool)>,
}

impl<'c> Tx<'c> {
    /// A write on `conn` (already in its transaction) by a server that sends email or not.
    pub fn new(conn: &'c mut DbConnection, email: bool) -> Self {
        Self {
            conn,
            email,
            queued: false,
            slack: None,
            callback: None,
        }
    }

    /// Whether this server sends email, so whether email intents are worth queueing.
    pub fn sends_email(&self) -> bool {
        self.email
    }

    /// Records that the write queued an outbox entry (the dispatcher has something new).
    pub fn queued(&mut self) {
        self.queued = true;
    }

    /// Whether the write queued an outbox entry.
    pub fn has_queued(&self) -> bool {
        self.queued
    }

    /// Records whether Slack is connected, as the statement that recorded an event found it.
    pub fn learned_slack(&mut self, connected: bool) {
        self.slack = Some(connected);
    }

    /// Whether Slack is connected, as the last event this transaction recorded found it (`None`
    /// before any: read the connection). Saves a read per change when Slack is not connected.
    pub fn slack_connected(&self) -> Option<bool> {
        self.slack
    }

    /// Records whether `subject` has an AuthZEN callback, as the statement that recorded an event
    /// about it found it.
    pub fn learned_callback(&mut self, subject: &str, exists: bool) {
        self.callback = Some((subject.to_owned(), exists));
    }

    /// Whether `subject` has an AuthZEN callback, as the last event this transaction recorded
    /// about it found it (`None` when that event was about something else: read it). Saves a read
    /// per completing change for the requests that did not come through AuthZEN.
    pub fn has_callback(&self, subject: &str) -> Option<bool> {
        match &self.callback {
            Some((known, exists)) if known == subject => Some(*exists),
            _ => None,
        }
    }
}

impl Deref for Tx<'_> {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        self.conn
    }
}

impl DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut DbConnection {
        self.conn
    }
}
