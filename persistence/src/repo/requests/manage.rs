//! The Manage Requests views (seed 004): the tickets of the apps a person helps manage, open,
//! closed, or waiting on them, with the admin queue's filters and paging.

use diesel::prelude::*;
use portcullis_domain::UserId;

use super::queries::with_tasks;
use super::queue::{BoxedRequests, QueueFilter, filtered, listed_requesters};
use super::rows::{Listed, RequestRow, into_listed};
use crate::connection::DbConnection;
use crate::schema::{
    access_requests, flow_users, request_approvers, request_people, request_task_assignees,
};

/// Whose tickets: every request (administrators), or those of the flows `user` owns (App Admin) and
/// those whose steps or tasks named them (App Approver, assignee).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    ManagedBy(UserId),
}

/// `Open`: pending, in error, or with a fulfilment task to do; `Closed`: the others;
/// `ActionRequired`: those in which an action waits on `me` (a decision or a task).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Open,
    Closed,
    ActionRequired,
}

/// Whether `user` helps manage any app: owns a flow, or was ever named by a request's steps or
/// tasks. Basic members do not (seed 004: they have no Manage Requests section).
pub fn manages_any(conn: &mut DbConnection, user: UserId) -> QueryResult<bool> {
    let user = user.to_string();
    let owner: bool = diesel::select(diesel::dsl::exists(
        flow_users::table
            .filter(flow_users::user_id.eq(user.clone()))
            .filter(flow_users::role.eq("owner")),
    ))
    .get_result(conn)?;
    if owner {
        return Ok(true);
    }
    diesel::select(diesel::dsl::exists(
        request_people::table.filter(request_people::user_id.eq(user)),
    ))
    .get_result(conn)
}

fn scoped<'a>(query: BoxedRequests<'a>, scope: Scope) -> BoxedRequests<'a> {
    let Scope::ManagedBy(user) = scope else {
        return query;
    };
    let user = user.to_string();
    let owned = flow_users::table
        .filter(flow_users::user_id.eq(user.clone()))
        .filter(flow_users::role.eq("owner"))
        .select(flow_users::flow_id);
    let named = request_people::table
        .filter(request_people::user_id.eq(user))
        .select(request_people::request_id);
    query.filter(
        access_requests::flow_id
            .eq_any(owned)
            .or(access_requests::id.eq_any(named)),
    )
}

fn in_view<'a>(query: BoxedRequests<'a>, view: View, me: UserId) -> BoxedRequests<'a> {
    match view {
        View::Open => query.filter(access_requests::open_key.is_not_null()),
        View::Closed => query.filter(access_requests::open_key.is_null()),
        View::ActionRequired => {
            let me = me.to_string();
            let deciding = request_approvers::table
                .filter(request_approvers::user_id.eq(me.clone()))
                .filter(request_approvers::awaiting)
                .select(request_approvers::request_id);
            let completing = request_task_assignees::table
                .filter(request_task_assignees::user_id.eq(me))
                .select(request_task_assignees::request_id);
            query.filter(
                access_requests::id
                    .eq_any(deciding)
                    .or(access_requests::id.eq_any(completing)),
            )
        }
    }
}

fn query<'a>(
    conn: &DbConnection,
    scope: Scope,
    view: View,
    me: UserId,
    filter: &QueueFilter,
    listed: Option<&[String]>,
) -> BoxedRequests<'a> {
    let query = filtered(
        access_requests::table.into_boxed(),
        filter,
        conn.backend(),
        listed,
    );
    in_view(scoped(query, scope), view, me)
}

/// The query of a page of a view (boxed, so that the index tests can explain it).
pub(super) fn page_query<'a>(
    conn: &DbConnection,
    scope: Scope,
    view: View,
    me: UserId,
    filter: &QueueFilter,
    listed: Option<&[String]>,
    page: &crate::PageRequest,
) -> super::queries::RequestPage<'a> {
    let query = query(conn, scope, view, me, filter, listed).select(RequestRow::as_select());
    crate::keyset_page!(
        query,
        access_requests::created_at,
        access_requests::id,
        page
    )
}

/// A page of `view` for `me` in `scope`, newest first.
pub fn manage(
    conn: &mut DbConnection,
    scope: Scope,
    view: View,
    me: UserId,
    filter: &QueueFilter,
    page: &crate::PageRequest,
) -> QueryResult<crate::Page<Listed>> {
    let listed = listed_requesters(conn, filter)?;
    let rows: Vec<RequestRow> =
        page_query(conn, scope, view, me, filter, listed.as_deref(), page).load(conn)?;
    let page = crate::Page::from_rows(rows, page.limit, |r| crate::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .try_map(into_listed)?;
    with_tasks(conn, page)
}

/// How many tickets `view` holds for `me` in `scope` with `filter`.
pub fn count_view(
    conn: &mut DbConnection,
    scope: Scope,
    view: View,
    me: UserId,
    filter: &QueueFilter,
) -> QueryResult<i64> {
    let listed = listed_requesters(conn, filter)?;
    query(conn, scope, view, me, filter, listed.as_deref())
        .count()
        .get_result(conn)
}
