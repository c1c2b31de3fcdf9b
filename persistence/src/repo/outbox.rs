//! The transactional outbox: notifications written in the same transaction as the change that
//! causes them, then delivered at least once by a dispatcher.
//!
//! A dispatcher claims due entries with one conditional `UPDATE` that moves `next_attempt_at` past a
//! lease and stamps its own `claim_token`; a second dispatcher (another replica) running the same
//! statement finds the rows no longer due and skips them, so each entry goes to one dispatcher. A
//! dispatcher that dies mid-delivery leaves its entries due again when the lease ends.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::{ChannelId, DeliveryId, EventId};

use crate::connection::DbConnection;
use crate::is_unique_violation;
use crate::page::{Cursor, Page, PageRequest};
use crate::schema::{delivery_attempts, notification_marks, outbox};
use crate::time::{from_db, to_db};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub const WEBHOOK: &str = "webhook";
pub const EMAIL: &str = "email";
/// Slack Web API calls: messages to approvers, their updates, and the work interactions ask for.
pub const SLACK: &str = "slack";
/// ARAP callbacks: a PEP told that its access request's task completed.
pub const CALLBACK: &str = "callback";

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";
pub const SKIPPED: &str = "skipped";

/// A notification to deliver.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub kind: &'static str,
    pub channel_id: Option<ChannelId>,
    pub event_id: Option<EventId>,
    /// The event type (webhooks) or the message name (emails).
    pub topic: String,
    pub payload: String,
}

/// An outbox entry with its delivery state.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: DeliveryId,
    pub kind: String,
    pub channel_id: Option<ChannelId>,
    pub event_id: Option<EventId>,
    pub topic: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status_code: Option<i32>,
    pub last_latency_ms: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox, treat_none_as_default_value = false)]
struct EntryRow {
    id: String,
    kind: String,
    channel_id: Option<String>,
    event_id: Option<String>,
    topic: String,
    payload: String,
    status: String,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    claim_token: Option<String>,
    last_status_code: Option<i32>,
    last_latency_ms: Option<i64>,
    last_error: Option<String>,
    created_at: NaiveDateTime,
    delivered_at: Option<NaiveDateTime>,
}

fn entry(row: EntryRow) -> QueryResult<Entry> {
    let parse = || -> Result<Entry, BoxError> {
        Ok(Entry {
            id: row.id.parse()?,
            kind: row.kind,
            channel_id: row.channel_id.as_deref().map(str::parse).transpose()?,
            event_id: row.event_id.as_deref().map(str::parse).transpose()?,
            topic: row.topic,
            payload: row.payload,
            status: row.status,
            attempts: row.attempts,
            next_attempt_at: from_db(row.next_attempt_at),
            last_status_code: row.last_status_code,
            last_latency_ms: row.last_latency_ms,
            last_error: row.last_error,
            created_at: from_db(row.created_at),
            delivered_at: row.delivered_at.map(from_db),
        })
    };
    parse().map_err(diesel::result::Error::DeserializationError)
}

/// Adds an entry, due at once.
pub fn enqueue(
    conn: &mut DbConnection,
    new: &NewEntry,
    now: DateTime<Utc>,
) -> QueryResult<DeliveryId> {
    insert(conn, new, now, now, None).map(|row| row.id)
}

/// Adds an entry already claimed by the caller until `lease_until` (who delivers it at once); if
/// the caller dies, the entry is due for the dispatchers when the lease ends.
pub fn enqueue_claimed(
    conn: &mut DbConnection,
    new: &NewEntry,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    token: &str,
) -> QueryResult<Entry> {
    insert(conn, new, now, lease_until, Some(token))
}

fn insert(
    conn: &mut DbConnection,
    new: &NewEntry,
    now: DateTime<Utc>,
    due: DateTime<Utc>,
    token: Option<&str>,
) -> QueryResult<Entry> {
    let row = EntryRow {
        id: DeliveryId::new_v7().to_string(),
        kind: new.kind.to_owned(),
        channel_id: new.channel_id.map(|c| c.to_string()),
        event_id: new.event_id.map(|e| e.to_string()),
        topic: new.topic.clone(),
        payload: new.payload.clone(),
        status: PENDING.to_owned(),
        attempts: 0,
        next_attempt_at: to_db(due),
        claim_token: token.map(str::to_owned),
        last_status_code: None,
        last_latency_ms: None,
        last_error: None,
        created_at: to_db(now),
        delivered_at: None,
    };
    diesel::insert_into(outbox::table)
        .values(&row)
        .execute(conn)?;
    entry(row)
}

/// Claims up to `limit` due entries (oldest due first) until `lease_until`, for the dispatcher
/// whose pass is `token`, and returns them. Entries another dispatcher claimed first are skipped.
pub fn claim_due(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    token: &str,
    limit: i64,
) -> QueryResult<Vec<Entry>> {
    let due: Vec<String> = outbox::table
        .filter(outbox::status.eq(PENDING))
        .filter(outbox::next_attempt_at.le(to_db(now)))
        .order(outbox::next_attempt_at.asc())
        .limit(limit)
        .select(outbox::id)
        .load(conn)?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    claim(conn, &due, now, lease_until, token)
}

fn claim(
    conn: &mut DbConnection,
    ids: &[String],
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    token: &str,
) -> QueryResult<Vec<Entry>> {
    // The due condition is repeated here: under PostgreSQL's READ COMMITTED a concurrent claimer
    // that updated a row first makes this statement re-check the new row version and skip it.
    diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::status.eq(PENDING))
            .filter(outbox::next_attempt_at.le(to_db(now))),
    )
    .set((
        outbox::claim_token.eq(token),
        outbox::next_attempt_at.eq(to_db(lease_until)),
    ))
    .execute(conn)?;
    outbox::table
        .filter(outbox::id.eq_any(ids))
        .filter(outbox::claim_token.eq(token))
        .order(outbox::id.asc())
        .select(EntryRow::as_select())
        .load(conn)?
        .into_iter()
        .map(entry)
        .collect()
}

/// What one attempt gave.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// Where an entry goes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Delivered,
    RetryAt(DateTime<Utc>),
    Failed,
    /// Not sent, on purpose (email is not configured).
    Skipped,
}

/// Records an attempt of an entry this dispatcher still holds (`token`); returns false if the lease
/// had ended and another dispatcher took the entry over.
pub fn finish(
    conn: &mut DbConnection,
    id: DeliveryId,
    token: &str,
    result: &AttemptResult,
    next: Next,
) -> QueryResult<bool> {
    let at = to_db(result.attempted_at);
    let (status, next_at, delivered_at) = match next {
        Next::Delivered => (DELIVERED, at, Some(at)),
        Next::RetryAt(when) => (PENDING, to_db(when), None),
        Next::Failed => (FAILED, at, None),
        Next::Skipped => (SKIPPED, at, None),
    };
    let updated = diesel::update(
        outbox::table
            .find(id.to_string())
            .filter(outbox::claim_token.eq(token)),
    )
    .set((
        outbox::status.eq(status),
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::next_attempt_at.eq(next_at),
        outbox::claim_token.eq(None::<String>),
        outbox::last_status_code.eq(result.status_code),
        outbox::last_latency_ms.eq(Some(result.latency_ms)),
        outbox::last_error.eq(result.error.clone()),
        outbox::delivered_at.eq(delivered_at),
    ))
    .execute(conn)?;
    if updated == 1 && next != Next::Skipped {
        diesel::insert_into(delivery_attempts::table)
            .values((
                delivery_attempts::id.eq(DeliveryId::new_v7().to_string()),
                delivery_attempts::outbox_id.eq(id.to_string()),
                delivery_attempts::attempted_at.eq(at),
                delivery_attempts::status_code.eq(result.status_code),
                delivery_attempts::latency_ms.eq(result.latency_ms),
                delivery_attempts::error.eq(result.error.clone()),
            ))
            .execute(conn)?;
    }
    Ok(updated == 1)
}

/// Queues a delivered, failed or skipped entry again, due at once with a fresh retry budget;
/// returns false if it is already pending.
pub fn resend(conn: &mut DbConnection, id: DeliveryId, now: DateTime<Utc>) -> QueryResult<bool> {
    diesel::update(
        outbox::table
            .find(id.to_string())
            .filter(outbox::status.ne(PENDING)),
    )
    .set((
        outbox::status.eq(PENDING),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(to_db(now)),
        outbox::claim_token.eq(None::<String>),
        outbox::delivered_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn find(conn: &mut DbConnection, id: DeliveryId) -> QueryResult<Option<Entry>> {
    outbox::table
        .find(id.to_string())
        .select(EntryRow::as_select())
        .first(conn)
        .optional()?
        .map(entry)
        .transpose()
}

/// A channel's deliveries, newest first, optionally of one status.
pub fn list_for_channel(
    conn: &mut DbConnection,
    channel: ChannelId,
    status: Option<&str>,
    page: &PageRequest,
) -> QueryResult<Page<Entry>> {
    let mut query = outbox::table
        .filter(outbox::channel_id.eq(channel.to_string()))
        .select(EntryRow::as_select())
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(outbox::status.eq(status.to_owned()));
    }
    let rows: Vec<EntryRow> =
        crate::keyset_page!(query, outbox::created_at, outbox::id, page).load(conn)?;
    Page::from_rows(rows, page.limit, |row| Cursor {
        created_at: row.created_at,
        id: row.id.clone(),
    })
    .try_map(entry)
}

/// The entries of one kind (Slack's), newest first, optionally of one status.
pub fn list_for_kind(
    conn: &mut DbConnection,
    kind: &str,
    status: Option<&str>,
    page: &PageRequest,
) -> QueryResult<Page<Entry>> {
    let mut query = outbox::table
        .filter(outbox::kind.eq(kind.to_owned()))
        .select(EntryRow::as_select())
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(outbox::status.eq(status.to_owned()));
    }
    let rows: Vec<EntryRow> =
        crate::keyset_page!(query, outbox::created_at, outbox::id, page).load(conn)?;
    Page::from_rows(rows, page.limit, |row| Cursor {
        created_at: row.created_at,
        id: row.id.clone(),
    })
    .try_map(entry)
}

/// One attempt to deliver an entry.
#[derive(Debug, Clone, Queryable)]
pub struct Attempt {
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// An entry's attempts, oldest first.
pub fn attempts(conn: &mut DbConnection, id: DeliveryId) -> QueryResult<Vec<Attempt>> {
    delivery_attempts::table
        .filter(delivery_attempts::outbox_id.eq(id.to_string()))
        .order((
            delivery_attempts::attempted_at.asc(),
            delivery_attempts::id.asc(),
        ))
        .select((
            delivery_attempts::attempted_at,
            delivery_attempts::status_code,
            delivery_attempts::latency_ms,
            delivery_attempts::error,
        ))
        .load(conn)
}

/// Entries waiting for delivery (the queue depth).
pub fn pending_count(conn: &mut DbConnection) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::status.eq(PENDING))
        .count()
        .get_result(conn)
}

/// Records that the notification `kind` about `subject_id` was sent; returns false if it already
/// was (by this or another replica), so each such notification is sent once.
pub fn mark_once(
    conn: &mut DbConnection,
    subject_id: &str,
    kind: &str,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let exists = diesel::select(diesel::dsl::exists(
        notification_marks::table
            .filter(notification_marks::subject_id.eq(subject_id))
            .filter(notification_marks::kind.eq(kind)),
    ))
    .get_result::<bool>(conn)?;
    if exists {
        return Ok(false);
    }
    // A savepoint, so that losing the race to another replica leaves the outer transaction usable.
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(notification_marks::table)
            .values((
                notification_marks::subject_id.eq(subject_id),
                notification_marks::kind.eq(kind),
                notification_marks::created_at.eq(to_db(now)),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e, "notification_marks") => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether the notification `kind` about `subject_id` was already sent.
pub fn marked(conn: &mut DbConnection, subject_id: &str, kind: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        notification_marks::table
            .filter(notification_marks::subject_id.eq(subject_id))
            .filter(notification_marks::kind.eq(kind)),
    ))
    .get_result(conn)
}
