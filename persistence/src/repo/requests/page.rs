//! A request's page as one read: the request, its flow as it is now, whether its steps show, the
//! people it names, its comments, its history and what it gave. On PostgreSQL one statement, one
//! round trip where the reads one by one took eight; on SQLite those reads, which cost no round
//! trips.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Nullable, Text};
use portcullis_domain::RequestId;
use portcullis_domain::access::{Grant, Session};
use portcullis_domain::directory::User;
use portcullis_domain::flow::ApprovalFlow;
use portcullis_domain::request::AccessRequest;

use super::rows::RequestRow;
use super::writes::{CommentRow, comments, find_with_flow, loaded};
use crate::connection::DbConnection;
use crate::models::{EventRow, UserRow};
use crate::repo::flows::{self, FlowRow};
use crate::repo::{convert, events, grants, json_rows, json_value, settings, users};

/// Everything a request's page is made from (see [`page`]).
#[derive(Debug)]
pub struct RequestPage {
    pub request: AccessRequest,
    /// The request's flow as it is now (`None` once deleted): its App Admins see the request too,
    /// and a grant shows the flow's current name.
    pub flow: Option<ApprovalFlow>,
    /// The setting that decides whether requesters see their request's steps.
    pub show_approval_progress: bool,
    /// The people the page may name, in no order: the requester, their manager and everyone the
    /// steps name (approvers and deciders). A person who no longer exists is not in it.
    pub people: Vec<User>,
    /// The request's audit events, oldest first.
    pub history: Vec<EventRow>,
    /// Its comments, oldest first.
    pub comments: Vec<CommentRow>,
    pub grant: Option<Grant>,
    pub session: Option<Session>,
}

/// What [`page`] reads, read one by one (SQLite's way; on PostgreSQL the reference the statement
/// is tested against).
pub fn page_one_by_one(conn: &mut DbConnection, id: RequestId) -> QueryResult<Option<RequestPage>> {
    let Some((request, flow)) = find_with_flow(conn, id)? else {
        return Ok(None);
    };
    let show_approval_progress = settings::get(conn)?.settings.show_approval_progress;
    let mut wanted = vec![request.requester_id()];
    wanted.extend(request.named_in_steps());
    let mut people = users::find_many(conn, &wanted)?;
    let manager = people
        .iter()
        .find(|u| u.id == request.requester_id())
        .and_then(|requester| requester.manager_id);
    if let Some(manager) = manager.filter(|m| !people.iter().any(|u| u.id == *m)) {
        people.extend(users::find(conn, manager)?);
    }
    Ok(Some(RequestPage {
        history: events::for_subject(conn, &id.to_string())?,
        comments: comments(conn, id)?,
        grant: grants::for_request(conn, id)?,
        session: grants::session_for_request(conn, id)?,
        request,
        flow,
        show_approval_progress,
        people,
    }))
}

/// The row [`PageStatement`] answers: the request, its flow, the setting, then the people, the
/// history, the comments, the grant and the session as JSON (`NULL` for none).
type PageRow = (
    RequestRow,
    Option<FlowRow>,
    Option<bool>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The page of request `id` (`None` when there is no such request), whoever asks: the caller
/// decides what the viewer may see of it. On PostgreSQL [`PageStatement`], then (for the few
/// requests with fulfilment tasks only) their tasks, as [`find_with_flow`] reads them; on SQLite
/// [`page_one_by_one`].
pub fn page(conn: &mut DbConnection, id: RequestId) -> QueryResult<Option<RequestPage>> {
    let DbConnection::Postgres(pg) = conn else {
        return page_one_by_one(conn, id);
    };
    let statement = PageStatement {
        request: RequestRow::as_select(),
        flow: Option::<FlowRow>::as_select(),
        id: id.to_string(),
    };
    let Some((row, flow, show, people, history, comments, grant, session)) =
        statement.get_result::<PageRow>(pg).optional()?
    else {
        return Ok(None);
    };
    let people: Vec<UserRow> = json_rows(people.as_deref())?;
    let grant: Option<grants::GrantRow> = grant.as_deref().map(json_value).transpose()?;
    let session: Option<grants::SessionRow> = session.as_deref().map(json_value).transpose()?;
    Ok(Some(RequestPage {
        request: loaded(conn, row)?,
        flow: flow.map(flows::convert).transpose()?,
        // The settings row is made by the first migration and never deleted (as `settings::get`).
        show_approval_progress: show.ok_or(diesel::result::Error::NotFound)?,
        people: people
            .into_iter()
            .map(convert)
            .collect::<QueryResult<_>>()?,
        history: json_rows(history.as_deref())?,
        comments: json_rows(comments.as_deref())?,
        grant: grant.map(grants::grant).transpose()?,
        session: session.map(grants::session).transpose()?,
    }))
}

/// [`page`]'s statement on PostgreSQL: the request's row joined to its flow's (as
/// [`find_with_flow`]), with one column per other part of the page, each a subquery on the
/// request's key through its own index (the events' subject, the comments' request, the unique
/// request of a grant and of a session). Rows are aggregated as JSON objects whose keys are the
/// row types' fields.
///
/// The people are the requester, their manager, and the approvers and deciders of the steps,
/// read from the stored steps (`detail -> 'steps'`, as `AccessRequest::named_in_steps` lists
/// them; the test against [`page_one_by_one`] fails if the stored form changes), each looked up by key
/// (`LATERAL … LIMIT 1`, see `flows::find_for_submission` for why not a join). Their ids are
/// gathered into an array and then unnested: the planner estimates each JSON set-returning function
/// at 100 rows, so over the steps and their decisions it expected 20,000 people, and the estimated
/// cost (167,000) passed PostgreSQL's `jit_above_cost`: every execution was JIT-compiled first, 20 ms
/// for a 0.3 ms read. An unnested array is estimated at 10 rows (a cost of about 700).
///
/// Its own type, with a static id in diesel's statement cache and one value to bind: the text is
/// made once per connection.
struct PageStatement {
    request: diesel::dsl::AsSelect<RequestRow, Pg>,
    flow: diesel::dsl::AsSelect<Option<FlowRow>, Pg>,
    id: String,
}

impl QueryId for PageStatement {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for PageStatement {
    type SqlType = (
        diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<RequestRow, Pg>>,
        diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<Option<FlowRow>, Pg>>,
        Nullable<Bool>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
    );
}

/// The columns after the flow's (see [`PageStatement`]).
const PARTS: &str = "\
, (SELECT s.show_approval_progress FROM settings s WHERE s.id = 1)\
, (SELECT json_agg(u)::text FROM (SELECT DISTINCT n.id FROM unnest(ARRAY(\
SELECT access_requests.requester_id \
UNION ALL SELECT r.manager_id FROM users r WHERE r.id = access_requests.requester_id \
UNION ALL SELECT json_array_elements_text(s.step -> 'approver_ids') \
FROM json_array_elements(access_requests.detail::json -> 'steps') AS s (step) \
UNION ALL SELECT d.decision ->> 'approver_id' \
FROM json_array_elements(access_requests.detail::json -> 'steps') AS s (step), \
json_array_elements(s.step -> 'decisions') AS d (decision))) AS n (id)) AS named \
CROSS JOIN LATERAL (SELECT u.id, u.email, u.display_name, u.manager_id, u.is_admin, u.active, \
u.kind, u.external_id, u.version, u.created_at, u.updated_at FROM users u \
WHERE u.id = named.id LIMIT 1) u)\
, (SELECT json_agg(e ORDER BY e.occurred_at, e.id)::text FROM (\
SELECT e.id, e.event_type, e.occurred_at, e.actor_id, e.subject_type, e.subject_id, e.data \
FROM events e WHERE e.subject_id = access_requests.id) e)\
, (SELECT json_agg(c ORDER BY c.created_at, c.id)::text FROM (\
SELECT c.id, c.request_id, c.author_id, c.body, c.created_at \
FROM request_comments c WHERE c.request_id = access_requests.id) c)\
, (SELECT row_to_json(g)::text FROM (\
SELECT g.id, g.request_id, g.user_id, g.group_id, g.membership_id, g.status, g.granted_at, \
g.expires_at, g.ended_at, g.ended_by, g.version, g.extension_count, g.extended_seconds, \
g.starts_at, g.activate_by, g.duration_seconds \
FROM grants g WHERE g.request_id = access_requests.id) g)\
, (SELECT row_to_json(d)::text FROM (\
SELECT d.id, d.request_id, d.device_id, d.user_id, d.started_at, d.ends_at, d.ended_at, \
d.ended_by FROM device_admin_sessions d WHERE d.request_id = access_requests.id) d) \
FROM access_requests LEFT JOIN approval_flows ON approval_flows.id = access_requests.flow_id \
WHERE access_requests.id = ";

impl QueryFragment<Pg> for PageStatement {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT ");
        self.request.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.flow.walk_ast(out.reborrow())?;
        out.push_sql(PARTS);
        out.push_bind_param::<Text, _>(&self.id)
    }
}

impl<Conn> RunQueryDsl<Conn> for PageStatement {}

#[cfg(test)]
mod tests;
