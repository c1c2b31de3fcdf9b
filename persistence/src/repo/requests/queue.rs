//! The admin queue: its filters and tabs, counts, the export, and the plans the index tests check.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::flow::ApprovalType;
use portcullis_domain::request::{AccessRequest, RequestStatus};

use super::rows::{Listed, RequestRow, convert, into_listed};
use portcullis_domain::FlowId;

use crate::connection::{Backend, DbConnection};
use crate::repo::users::{PeopleSearch, with_people};
use crate::schema::access_requests;
use crate::time::to_db;

use super::queries::*;
/// The admin queue's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Requests an administrator decides, and every request in `error` (only admins can resolve those).
    Administrator,
    /// Requests with assigned approvers.
    Others,
}

/// The admin queue's filters; `None` and empty lists filter nothing.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub tab: Option<Tab>,
    pub statuses: Vec<RequestStatus>,
    pub approval_type: Option<ApprovalType>,
    /// Case-insensitive substring of the requester's name or email.
    pub requester: Option<String>,
    pub flow_id: Option<FlowId>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// Free text over the requester's name and email, the flow's name and the reason.
    pub q: Option<String>,
}

pub(super) type BoxedRequests<'a> =
    access_requests::BoxedQuery<'a, crate::connection::MultiBackend>;

/// At most this many people matched by a requester filter are listed in the query (so the database
/// walks the requester index for each); more are matched with a subquery.
pub(super) const LISTED_PEOPLE: i64 = 200;

fn requester_text(filter: &QueueFilter) -> Option<&str> {
    filter
        .requester
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
}

/// The people a requester filter matches, listed when they are few (`None` otherwise or without
/// one): a query naming a few requesters reads their part of the requester index instead of
/// scanning every request of the other filters.
pub(super) fn listed_requesters(
    conn: &mut DbConnection,
    filter: &QueueFilter,
) -> QueryResult<Option<Vec<String>>> {
    let Some(text) = requester_text(filter) else {
        return Ok(None);
    };
    let search = PeopleSearch::new(conn.backend(), text);
    let ids: Vec<String> = with_people!(&search, |people| people
        .limit(LISTED_PEOPLE + 1)
        .load(conn)?);
    Ok((ids.len() <= LISTED_PEOPLE as usize).then_some(ids))
}

/// Applies every filter but the tab to a query of requests.
pub(super) fn filtered<'a>(
    mut query: BoxedRequests<'a>,
    filter: &QueueFilter,
    backend: Backend,
    listed: Option<&[String]>,
) -> BoxedRequests<'a> {
    use crate::repo::{contains_pattern, lower};

    // Every status is no status filter (and keeps the created_at order index usable).
    if !filter.statuses.is_empty() && filter.statuses.len() < RequestStatus::ALL.len() {
        query = query.filter(
            access_requests::status.eq_any(
                filter
                    .statuses
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>(),
            ),
        );
    }
    if let Some(approval_type) = filter.approval_type {
        query = query.filter(access_requests::approval_type.eq(approval_type.as_str()));
    }
    if let Some(flow) = filter.flow_id {
        query = query.filter(access_requests::flow_id.eq(flow.to_string()));
    }
    if let Some(after) = filter.created_after {
        query = query.filter(access_requests::created_at.ge(to_db(after)));
    }
    if let Some(before) = filter.created_before {
        query = query.filter(access_requests::created_at.lt(to_db(before)));
    }
    if let Some(requester) = requester_text(filter) {
        query = match listed {
            // Nobody matches: an id no one has still makes an index lookup (an empty IN list
            // would be planned as a scan of every request).
            Some([]) => query.filter(access_requests::requester_id.eq(String::new())),
            Some(ids) => query.filter(access_requests::requester_id.eq_any(ids.to_vec())),
            None => with_people!(&PeopleSearch::new(backend, requester), |people| {
                query.filter(access_requests::requester_id.eq_any(people))
            }),
        };
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = contains_pattern(q);
        query = with_people!(&PeopleSearch::new(backend, q), |people| {
            query.filter(
                access_requests::requester_id
                    .eq_any(people)
                    .or(lower(access_requests::flow_name)
                        .like(pattern.clone())
                        .escape('\\'))
                    .or(lower(access_requests::reason).like(pattern).escape('\\')),
            )
        });
    }
    query
}

fn in_tab(query: BoxedRequests<'_>, tab: Option<Tab>) -> BoxedRequests<'_> {
    match tab {
        Some(Tab::Administrator) => query.filter(
            access_requests::approver_kind
                .eq("administrator")
                .or(access_requests::status.eq("error")),
        ),
        Some(Tab::Others) => query.filter(
            access_requests::approver_kind
                .eq("assigned")
                .and(access_requests::status.ne("error")),
        ),
        None => query,
    }
}

/// The admin queue, newest first.
pub fn queue(
    conn: &mut DbConnection,
    filter: &QueueFilter,
    page: &crate::PageRequest,
) -> QueryResult<crate::Page<Listed>> {
    let listed = listed_requesters(conn, filter)?;
    let rows: Vec<RequestRow> =
        queue_query(filter, conn.backend(), listed.as_deref(), page).load(conn)?;
    let page = crate::Page::from_rows(rows, page.limit, |r| crate::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .try_map(into_listed)?;
    with_tasks(conn, page)
}

/// How many requests match `filter` in `tab`.
pub fn count(conn: &mut DbConnection, filter: &QueueFilter, tab: Option<Tab>) -> QueryResult<i64> {
    let listed = listed_requesters(conn, filter)?;
    in_tab(
        filtered(
            access_requests::table.into_boxed(),
            filter,
            conn.backend(),
            listed.as_deref(),
        ),
        tab,
    )
    .count()
    .get_result(conn)
}

/// How many requests match `filter` (ignoring its statuses) in `tab`, per status.
pub fn count_by_status(
    conn: &mut DbConnection,
    filter: &QueueFilter,
    tab: Option<Tab>,
) -> QueryResult<Vec<(RequestStatus, i64)>> {
    // One count per status: boxed queries cannot be grouped, and each count is an index range.
    RequestStatus::ALL
        .iter()
        .map(|status| {
            let one = QueueFilter {
                statuses: vec![*status],
                ..filter.clone()
            };
            count(conn, &one, tab).map(|n| (*status, n))
        })
        .collect()
}

/// One row of the export: the request and who asked and decided.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub request: AccessRequest,
    pub decided_by: Option<String>,
}

/// The next batch of the export after `after` (newest first), for streaming.
pub(super) fn queue_query<'a>(
    filter: &QueueFilter,
    backend: Backend,
    listed: Option<&[String]>,
    page: &crate::PageRequest,
) -> RequestPage<'a> {
    let query = in_tab(
        filtered(access_requests::table.into_boxed(), filter, backend, listed),
        filter.tab,
    )
    .select(RequestRow::as_select());
    crate::keyset_page!(
        query,
        access_requests::created_at,
        access_requests::id,
        page
    )
}

pub fn export_batch(
    conn: &mut DbConnection,
    filter: &QueueFilter,
    after: Option<crate::Cursor>,
    limit: u32,
) -> QueryResult<crate::Page<ExportRow>> {
    let page = crate::PageRequest { limit, after };
    let listed = listed_requesters(conn, filter)?;
    let query = in_tab(
        filtered(
            access_requests::table.into_boxed(),
            filter,
            conn.backend(),
            listed.as_deref(),
        ),
        filter.tab,
    )
    .select(RequestRow::as_select());
    let rows: Vec<RequestRow> = crate::keyset_page!(
        query,
        access_requests::created_at,
        access_requests::id,
        &page
    )
    .load(conn)?;
    crate::Page::from_rows(rows, page.limit, |r| crate::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .try_map(|row| {
        let decided_by = row.decided_by.clone();
        convert(row).map(|request| ExportRow {
            request,
            decided_by,
        })
    })
}
