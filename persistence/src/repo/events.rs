use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{Query, QueryFragment, QueryId};
use diesel::sql_types::Bool;
use portcullis_domain::{EventId, UserId};

use crate::connection::DbConnection;
use crate::models::EventRow;
use crate::schema::{authzen_tasks, events, slack_connection, webhook_channels};
use crate::time::to_db;
use crate::together::Together3;

/// An audit event to record in the same transaction as the change it describes.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: &'static str,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Option<UserId>,
    pub subject_type: &'static str,
    pub subject_id: String,
    pub data: serde_json::Value,
}

/// What recording an event found out in the same statement, for the fan-out that follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub id: EventId,
    /// Whether any webhook channel is enabled.
    pub webhooks: bool,
    /// Whether Slack is connected.
    pub slack: bool,
    /// Whether the subject is a request submitted through AuthZEN whose PEP asked for a callback
    /// (PostgreSQL; `None`: not asked).
    pub callback: Option<bool>,
}

/// Records `event` and answers, in the same statement, whether any webhook channel is enabled and
/// whether Slack is connected (so that the caller reads the channels or the Slack connection only
/// when they may act on the event; nearly always neither does, and that answer then costs no extra
/// round trip); on PostgreSQL also whether the subject has an AuthZEN callback (SQLite, in process,
/// has no round trip to save: the few changes that may call back look it up).
pub fn record(conn: &mut DbConnection, event: &NewEvent) -> QueryResult<Recorded> {
    let (id, row) = new_row(event);
    match conn {
        DbConnection::Postgres(pg) => {
            let flags = insert_returning_pg(row).get_result(pg)?;
            Ok(recorded_pg(id, flags))
        }
        DbConnection::Sqlite(sqlite) => {
            let (webhooks, slack) = diesel::insert_into(events::table)
                .values(row)
                .returning((any_webhook_enabled(), slack_connected()))
                .get_result(sqlite)?;
            Ok(Recorded {
                id,
                webhooks,
                slack,
                callback: None,
            })
        }
    }
}

/// [`record`] for the events of one change, all about one subject (an approval that completes
/// records its decision and its grant): on PostgreSQL one `INSERT` of every row instead of one
/// each, each row answering the same flags; SQLite, in process, records them one by one.
pub fn record_all(conn: &mut DbConnection, events: &[NewEvent]) -> QueryResult<Vec<Recorded>> {
    match conn {
        DbConnection::Postgres(pg) if events.len() > 1 && one_subject(events) => {
            record_all_after_pg::<(), ()>(pg, events, None)
        }
        _ => events.iter().map(|event| record(conn, event)).collect(),
    }
}

/// Whether `events` is not empty and all about one subject (as one statement records them: every
/// row answers the same flags).
pub(crate) fn one_subject(events: &[NewEvent]) -> bool {
    !events.is_empty()
        && events
            .windows(2)
            .all(|pair| pair[0].subject_id == pair[1].subject_id)
}

/// The `INSERT INTO events … RETURNING` of every event of `events` (not empty, one subject: see
/// [`one_subject`]) on PostgreSQL; with `before`, two other writes of the same change ahead of it
/// in the same statement (`WITH first AS (…), second AS (…) INSERT INTO events …`: see
/// `grants::insert_recording`).
pub(crate) fn record_all_after_pg<A, B>(
    pg: &mut PgConnection,
    events: &[NewEvent],
    before: Option<(A, B)>,
) -> QueryResult<Vec<Recorded>>
where
    A: QueryFragment<Pg>,
    B: QueryFragment<Pg>,
{
    let (ids, rows): (Vec<EventId>, Vec<EventRow>) = events.iter().map(new_row).unzip();
    let insert = diesel::insert_into(events::table)
        .values(&rows)
        .returning(flags_pg(events[0].subject_id.clone()));
    let flags: Vec<FlagsPg> = match before {
        Some((first, second)) => Together3(first, second, insert).get_results(pg)?,
        None => insert.get_results(pg)?,
    };
    Ok(ids
        .into_iter()
        .zip(flags)
        .map(|(id, flags)| recorded_pg(id, flags))
        .collect())
}

type AnyWebhookEnabled = diesel::dsl::exists<
    diesel::dsl::Filter<webhook_channels::table, diesel::dsl::Eq<webhook_channels::enabled, bool>>,
>;

/// `EXISTS` an enabled webhook channel (an event's insert returns it).
fn any_webhook_enabled() -> AnyWebhookEnabled {
    diesel::dsl::exists(webhook_channels::table.filter(webhook_channels::enabled.eq(true)))
}

type SlackConnected = diesel::dsl::exists<
    diesel::dsl::Filter<slack_connection::table, diesel::dsl::Eq<slack_connection::id, i32>>,
>;

/// `EXISTS` the Slack connection (an event's insert returns it).
fn slack_connected() -> SlackConnected {
    diesel::dsl::exists(slack_connection::table.filter(slack_connection::id.eq(1)))
}

type HasCallback = diesel::dsl::exists<
    diesel::dsl::Filter<
        diesel::dsl::Filter<
            authzen_tasks::table,
            diesel::dsl::Eq<authzen_tasks::request_id, String>,
        >,
        diesel::dsl::IsNotNull<authzen_tasks::callback>,
    >,
>;

/// `EXISTS` an AuthZEN task for the request `subject` whose PEP asked for a callback (an event's
/// insert on PostgreSQL returns it).
fn has_callback(subject: String) -> HasCallback {
    diesel::dsl::exists(
        authzen_tasks::table
            .filter(authzen_tasks::request_id.eq(subject))
            .filter(authzen_tasks::callback.is_not_null()),
    )
}

/// What an event's insert returns on PostgreSQL about the event `subject`: whether a webhook channel
/// is enabled, whether Slack is connected, and whether the request has an AuthZEN callback.
fn flags_pg(subject: String) -> (AnyWebhookEnabled, SlackConnected, HasCallback) {
    (
        any_webhook_enabled(),
        slack_connected(),
        has_callback(subject),
    )
}

/// The stored row of `event`, under a new id.
pub(crate) fn new_row(event: &NewEvent) -> (EventId, EventRow) {
    let id = EventId::new_v7();
    let row = EventRow {
        id: id.to_string(),
        event_type: event.event_type.to_owned(),
        occurred_at: to_db(event.occurred_at),
        actor_id: event.actor_id.map(|a| a.to_string()),
        subject_type: event.subject_type.to_owned(),
        subject_id: event.subject_id.clone(),
        data: event.data.to_string(),
    };
    (id, row)
}

/// What [`insert_returning_pg`] answers: whether a webhook channel is enabled, whether Slack is
/// connected, whether the subject has an AuthZEN callback.
pub(crate) type FlagsPg = (bool, bool, bool);

/// PostgreSQL's `INSERT INTO events … RETURNING` the flags of [`Recorded`]: a statement of its own,
/// or the main query of a new request's (see `requests::save_recording`).
pub(crate) fn insert_returning_pg(
    row: EventRow,
) -> impl Query<SqlType = (Bool, Bool, Bool)> + QueryFragment<Pg> + QueryId + RunQueryDsl<PgConnection>
{
    let flags = flags_pg(row.subject_id.clone());
    diesel::insert_into(events::table)
        .values(row)
        .returning(flags)
}

pub(crate) fn recorded_pg(id: EventId, (webhooks, slack, callback): FlagsPg) -> Recorded {
    Recorded {
        id,
        webhooks,
        slack,
        callback: Some(callback),
    }
}

/// Stores many events in few statements (bulk loads only).
pub fn insert_many(conn: &mut DbConnection, rows: &[EventRow]) -> QueryResult<usize> {
    Ok(crate::insert_many!(conn, events::table, rows))
}

/// The events about one subject, oldest first.
pub fn for_subject(conn: &mut DbConnection, subject_id: &str) -> QueryResult<Vec<EventRow>> {
    events::table
        .filter(events::subject_id.eq(subject_id))
        .order((events::occurred_at.asc(), events::id.asc()))
        .select(EventRow::as_select())
        .load(conn)
}

/// The events of several subjects (a page of tickets' timelines), each subject's oldest first.
pub fn for_subjects(conn: &mut DbConnection, subject_ids: &[String]) -> QueryResult<Vec<EventRow>> {
    if subject_ids.is_empty() {
        return Ok(Vec::new());
    }
    events::table
        .filter(events::subject_id.eq_any(subject_ids))
        .order((
            events::subject_id.asc(),
            events::occurred_at.asc(),
            events::id.asc(),
        ))
        .select(EventRow::as_select())
        .load(conn)
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub event_type: Option<String>,
    pub subject_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Events newest first (id as tie-break), filtered; `since` is inclusive, `until` exclusive.
pub fn list(
    conn: &mut DbConnection,
    filter: &EventFilter,
    page: &crate::PageRequest,
) -> QueryResult<crate::Page<EventRow>> {
    let mut query = events::table.select(EventRow::as_select()).into_boxed();
    if let Some(event_type) = &filter.event_type {
        query = query.filter(events::event_type.eq(event_type.clone()));
    }
    if let Some(subject) = &filter.subject_id {
        query = query.filter(events::subject_id.eq(subject.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(events::occurred_at.ge(to_db(since)));
    }
    if let Some(until) = filter.until {
        query = query.filter(events::occurred_at.lt(to_db(until)));
    }
    let rows: Vec<EventRow> =
        crate::keyset_page!(query, events::occurred_at, events::id, page).load(conn)?;
    Ok(crate::Page::from_rows(rows, page.limit, |row| {
        crate::Cursor {
            created_at: row.occurred_at,
            id: row.id.clone(),
        }
    }))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::test_support::scratch_postgres;

    fn event(subject: &str, event_type: &'static str) -> NewEvent {
        NewEvent {
            event_type,
            occurred_at: Utc::now(),
            actor_id: None,
            subject_type: "access_request",
            subject_id: subject.to_owned(),
            data: serde_json::json!({"n": event_type}),
        }
    }

    /// On PostgreSQL the events of one change (an approval that completes: its decision and its
    /// grant) are one statement, each stored under its own id with the flags answered; events
    /// about different subjects are one statement each (each answers its own callback flag).
    #[test]
    fn postgres_records_the_events_of_one_change_in_one_statement() {
        let Some((mut pg, _drop)) = scratch_postgres() else {
            return;
        };
        let statements = crate::test_support::record_statements(&mut pg);
        let mut conn = DbConnection::Postgres(pg);
        let pair = [event("r1", "decided"), event("r1", "granted")];
        let recorded = record_all(&mut conn, &pair).unwrap();
        assert_eq!(
            statements.lock().unwrap().len(),
            1,
            "one statement for both"
        );
        assert_eq!(recorded.len(), 2);
        assert_ne!(recorded[0].id, recorded[1].id);
        assert!(
            recorded
                .iter()
                .all(|r| !r.webhooks && !r.slack && r.callback == Some(false))
        );
        let stored: Vec<(String, String)> = events::table
            .filter(events::subject_id.eq("r1"))
            .select((events::id, events::event_type))
            .order(events::event_type)
            .load(&mut conn)
            .unwrap();
        assert_eq!(
            stored,
            vec![
                (recorded[0].id.to_string(), "decided".to_owned()),
                (recorded[1].id.to_string(), "granted".to_owned()),
            ]
        );
        statements.lock().unwrap().clear();
        let apart = [event("r2", "a"), event("r3", "b")];
        assert_eq!(record_all(&mut conn, &apart).unwrap().len(), 2);
        assert_eq!(statements.lock().unwrap().len(), 2, "one statement each");
    }
}
