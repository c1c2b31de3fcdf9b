//! Reading requests: by requester, by approver (tasks), and the jobs' lookups.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::rows::{Listed, RequestRow, into_listed};
use portcullis_domain::{FlowId, RequestId, UserId};

use crate::connection::DbConnection;
use crate::schema::{access_requests, request_approvers};
use crate::time::to_db;

pub(super) fn ids(rows: Vec<String>) -> QueryResult<Vec<RequestId>> {
    rows.iter()
        .map(|id| {
            id.parse()
                .map_err(|e: uuid::Error| diesel::result::Error::DeserializationError(Box::new(e)))
        })
        .collect()
}

pub(super) const PENDING: &str = "pending";

/// A query for request ids, boxed (so that the index tests can explain it).
pub(super) type IdQuery = diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::Select<access_requests::table, access_requests::id>,
    crate::connection::MultiBackend,
>;

pub(super) fn open_for_flow_query(flow: FlowId) -> IdQuery {
    access_requests::table
        .select(access_requests::id)
        .into_boxed()
        .filter(access_requests::flow_id.eq(flow.to_string()))
        // What the (partial) open-flow index covers: the rows the status filter keeps.
        .filter(access_requests::open_key.is_not_null())
        .filter(access_requests::status.eq_any([PENDING, "error"]))
}

/// Pending or failed requests through `flow`.
pub fn open_for_flow(conn: &mut DbConnection, flow: FlowId) -> QueryResult<Vec<RequestId>> {
    ids(open_for_flow_query(flow).load(conn)?)
}

/// Pending requests made by `requester`.
pub fn pending_of_requester(
    conn: &mut DbConnection,
    requester: UserId,
) -> QueryResult<Vec<RequestId>> {
    ids(access_requests::table
        .filter(access_requests::requester_id.eq(requester.to_string()))
        .filter(access_requests::status.eq(PENDING))
        .select(access_requests::id)
        .load(conn)?)
}

/// Pending requests in which `user` is one of the approvers (only pending requests have approver
/// rows; the status filter keeps this true should that change): the rows where they await, from
/// the tasks index, and the others (a later step's, or theirs after deciding), from the index that
/// holds only those rows.
pub fn pending_with_approver(conn: &mut DbConnection, user: UserId) -> QueryResult<Vec<RequestId>> {
    ids(pending_with_approver_query(user).load(conn)?)
}

pub(super) fn pending_with_approver_query(user: UserId) -> IdQuery {
    let user = user.to_string();
    let awaiting = request_approvers::table
        .filter(request_approvers::user_id.eq(user.clone()))
        .filter(request_approvers::awaiting)
        .select(request_approvers::request_id);
    let not_awaiting = request_approvers::table
        .filter(diesel::dsl::not(request_approvers::awaiting))
        .filter(request_approvers::user_id.eq(user))
        .select(request_approvers::request_id);
    access_requests::table
        .select(access_requests::id)
        .into_boxed()
        .filter(
            access_requests::id
                .eq_any(awaiting)
                .or(access_requests::id.eq_any(not_awaiting)),
        )
        .filter(access_requests::status.eq(PENDING))
}

pub(super) fn due_for_expiry_query(now: DateTime<Utc>, limit: i64) -> IdQuery {
    access_requests::table
        .select(access_requests::id)
        .into_boxed()
        // What the (partial) expiry index covers: pending requests all have an open key.
        .filter(access_requests::open_key.is_not_null())
        .filter(access_requests::status.eq(PENDING))
        .filter(access_requests::expires_at.le(to_db(now)))
        .order(access_requests::expires_at.asc())
        .limit(limit)
}

/// Pending requests whose expiry time has come, oldest first.
pub fn due_for_expiry(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<RequestId>> {
    ids(due_for_expiry_query(now, limit).load(conn)?)
}

/// Which of a requester's requests: still open (pending, in error, or with a fulfilment in
/// progress) or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenOrClosed {
    Open,
    Closed,
}

/// A requester's requests, newest first.
pub fn of_requester(
    conn: &mut DbConnection,
    requester: UserId,
    state: Option<OpenOrClosed>,
    page: &crate::PageRequest,
) -> QueryResult<crate::Page<Listed>> {
    let mut query = access_requests::table
        .filter(access_requests::requester_id.eq(requester.to_string()))
        .select(RequestRow::as_select())
        .into_boxed();
    // A ticket is open while it holds its open-request place (pending, in error, or with a
    // fulfilment task still to do: see `AccessRequest::open_place`).
    query = match state {
        Some(OpenOrClosed::Open) => query.filter(access_requests::open_key.is_not_null()),
        Some(OpenOrClosed::Closed) => query.filter(access_requests::open_key.is_null()),
        None => query,
    };
    let rows: Vec<RequestRow> = crate::keyset_page!(
        query,
        access_requests::created_at,
        access_requests::id,
        page
    )
    .load(conn)?;
    let page = crate::Page::from_rows(rows, page.limit, |r| crate::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .try_map(into_listed)?;
    with_tasks(conn, page)
}

/// A page of listed requests with their fulfilment tasks.
pub(super) fn with_tasks(
    conn: &mut DbConnection,
    page: crate::Page<Listed>,
) -> QueryResult<crate::Page<Listed>> {
    Ok(crate::Page {
        items: super::tasks::attach(conn, page.items)?,
        next: page.next,
    })
}

/// Pending requests in which `user` approves an active step and has not decided yet, newest first.
pub fn tasks_of(
    conn: &mut DbConnection,
    user: UserId,
    page: &crate::PageRequest,
) -> QueryResult<crate::Page<Listed>> {
    let rows: Vec<RequestRow> = tasks_query(user, page).load(conn)?;
    crate::Page::from_rows(rows, page.limit, |r| crate::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .try_map(into_listed)
}

pub(super) type RequestPage<'a> = access_requests::BoxedQuery<
    'a,
    crate::connection::MultiBackend,
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<RequestRow, crate::connection::MultiBackend>>,
>;

pub(super) fn tasks_query(user: UserId, page: &crate::PageRequest) -> TasksPage {
    let query = request_approvers::table
        .inner_join(access_requests::table)
        .filter(request_approvers::user_id.eq(user.to_string()))
        // As the partial tasks index says it (`WHERE awaiting`): a bound `= true` would not let
        // either database use it.
        .filter(request_approvers::awaiting)
        .select(RequestRow::as_select())
        .into_boxed();
    crate::keyset_page!(
        query,
        request_approvers::created_at,
        request_approvers::request_id,
        page
    )
}

pub(super) type TasksPage = diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::Select<
        diesel::dsl::Filter<
            diesel::dsl::Filter<
                diesel::dsl::InnerJoin<request_approvers::table, access_requests::table>,
                diesel::dsl::Eq<request_approvers::user_id, String>,
            >,
            request_approvers::awaiting,
        >,
        diesel::dsl::AsSelect<RequestRow, crate::connection::MultiBackend>,
    >,
    crate::connection::MultiBackend,
>;

/// Manual requests pending since before `cutoff` whose approvers have not had the notification
/// `mark` yet (reminders), oldest first.
pub fn pending_unmarked_since(
    conn: &mut DbConnection,
    cutoff: DateTime<Utc>,
    mark: &str,
    limit: i64,
) -> QueryResult<Vec<RequestId>> {
    use crate::schema::notification_marks;
    ids(access_requests::table
        .filter(access_requests::status.eq(PENDING))
        .filter(access_requests::created_at.le(to_db(cutoff)))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            notification_marks::table
                .filter(notification_marks::subject_id.eq(access_requests::id))
                .filter(notification_marks::kind.eq(mark.to_owned())),
        )))
        .order(access_requests::created_at.asc())
        .limit(limit)
        .select(access_requests::id)
        .load(conn)?)
}

/// Pending requests of `flow` made at or before `cutoff` that have no mark `mark` yet, oldest first.
pub fn pending_of_flow_unmarked_since(
    conn: &mut DbConnection,
    flow: FlowId,
    cutoff: DateTime<Utc>,
    mark: &str,
    limit: i64,
) -> QueryResult<Vec<RequestId>> {
    use crate::schema::notification_marks;
    ids(access_requests::table
        .filter(access_requests::flow_id.eq(flow.to_string()))
        .filter(access_requests::status.eq(PENDING))
        .filter(access_requests::created_at.le(to_db(cutoff)))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            notification_marks::table
                .filter(notification_marks::subject_id.eq(access_requests::id))
                .filter(notification_marks::kind.eq(mark.to_owned())),
        )))
        .order(access_requests::created_at.asc())
        .limit(limit)
        .select(access_requests::id)
        .load(conn)?)
}

/// The flow each of `requests` was made through: `(request, flow, the flow's name then)`.
pub fn flows_of(
    conn: &mut DbConnection,
    requests: &[RequestId],
) -> QueryResult<Vec<(RequestId, FlowId, String)>> {
    let wanted: Vec<String> = requests.iter().map(ToString::to_string).collect();
    let rows: Vec<(String, String, String)> = access_requests::table
        .filter(access_requests::id.eq_any(wanted))
        .select((
            access_requests::id,
            access_requests::flow_id,
            access_requests::flow_name,
        ))
        .load(conn)?;
    let parse = |e: uuid::Error| diesel::result::Error::DeserializationError(Box::new(e));
    rows.into_iter()
        .map(|(id, flow, name)| {
            Ok((
                id.parse().map_err(parse)?,
                flow.parse().map_err(parse)?,
                name,
            ))
        })
        .collect()
}

/// The latest request `requester` made through `flow` (their open one, when they have one: no
/// newer request can be made while it is open).
pub fn latest_of_requester_for_flow(
    conn: &mut DbConnection,
    requester: UserId,
    flow: FlowId,
) -> QueryResult<Option<RequestId>> {
    let id: Option<String> = access_requests::table
        .filter(access_requests::requester_id.eq(requester.to_string()))
        .filter(access_requests::flow_id.eq(flow.to_string()))
        .order((
            access_requests::created_at.desc(),
            access_requests::id.desc(),
        ))
        .select(access_requests::id)
        .first(conn)
        .optional()?;
    Ok(ids(id.into_iter().collect())?.pop())
}
