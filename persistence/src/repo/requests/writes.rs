//! Writing requests: the one save of a command's change, bulk loads, comments, idempotency keys.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::flow::ApprovalFlow;
use portcullis_domain::request::{AccessRequest, Change, Comment, Write};

use super::approvers::{
    ApproverRow, Reindex, approver_rows, index_change, insert_approvers, reindex_approvers,
};
use super::insert::InsertNew;
use super::rows::RequestRow;
use super::sql::push_term;
use super::tasks;
use crate::repo::events::{self, NewEvent, Recorded};
use crate::repo::flows::{self, FlowRow};
use crate::repo::grants;
use portcullis_domain::{RequestId, UserId};

use crate::connection::DbConnection;
use crate::schema::{
    access_requests, approval_flows, idempotency_keys, request_approvers, request_comments,
    request_people,
};
use crate::time::to_db;

/// A new request with its approver index and the people it names (on PostgreSQL in one
/// statement: see [`InsertNew`]), and on PostgreSQL `event` in the same statement (what recording
/// it found is returned; `None`: the caller records it).
fn insert(
    conn: &mut DbConnection,
    request: &AccessRequest,
    event: Option<&NewEvent>,
) -> QueryResult<Option<Recorded>> {
    let row = diesel::insert_into(access_requests::table).values(RequestRow::from(request));
    let approvers = approver_rows(request);
    if let DbConnection::Postgres(pg) = conn {
        let id = request.id().to_string();
        let people = tasks::newly_named(None, request);
        let new = InsertNew::new(row, &id, &approvers, &people);
        return match event {
            Some(event) => {
                let (event_id, event_row) = events::new_row(event);
                let flags = new
                    .recording(events::insert_returning_pg(event_row))
                    .get_result(pg)?;
                Ok(Some(events::recorded_pg(event_id, flags)))
            }
            None => new.execute(pg).map(|_| None),
        };
    }
    row.execute(conn)?;
    insert_approvers(conn, &approvers)?;
    tasks::write_named(conn, None, request)?;
    Ok(None)
}

/// What [`save_recording`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// Another writer changed the request first: nothing was written.
    Stale,
    /// The change is written, with what recording found for the events the save recorded: the
    /// first of the events it was given, or all of them, or none (the caller records the rest).
    Written(Vec<Recorded>),
}

/// Writes what a command did, in the caller's transaction: the request (a new one, or a new
/// version if the stored one is still the version it was made from), its approver index, and the
/// grant, session or comment it created. Returns `false`, having written nothing, when another
/// writer changed the request first (the caller makes the change again from the new state). The
/// unique indexes answer a second open request for the same flow (`open_key`) and a second
/// session of one request (`request_id`) with a unique violation.
pub fn save(conn: &mut DbConnection, change: &Change) -> QueryResult<bool> {
    Ok(save_recording(conn, change, &[])? != Saved::Stale)
}

/// [`save`], given the change's events: where that saves a round trip on PostgreSQL, events are
/// stored in the statement of another write (a new request's first event with the request; every
/// event not yet recorded with an active grant, as when an approval completes a request) and
/// [`Saved::Written`] carries what recording them found (as [`events::record`] answers), in
/// order; the caller records the events after those.
pub fn save_recording(
    conn: &mut DbConnection,
    change: &Change,
    events: &[NewEvent],
) -> QueryResult<Saved> {
    let mut recorded = Vec::new();
    match change.write {
        Write::Insert => recorded.extend(insert(conn, &change.request, events.first())?),
        Write::Update { expected_version } => {
            if !update(
                conn,
                change.before.as_ref(),
                &change.request,
                expected_version,
            )? {
                return Ok(Saved::Stale);
            }
        }
        Write::Unchanged => {}
    }
    // What the store held before: nothing for a new request (whose `before` is the state it was
    // submitted in, which may already have tasks: a break-glass request's review).
    let stored = match change.write {
        Write::Insert => None,
        Write::Update { .. } | Write::Unchanged => change.before.as_ref(),
    };
    if change.write != Write::Unchanged {
        tasks::write(conn, stored, &change.request)?;
    }
    if matches!(change.write, Write::Update { .. }) {
        // A new request's were written with it.
        tasks::write_named(conn, stored, &change.request)?;
    }
    if let Some(grant) = &change.grant {
        let rest = &events[recorded.len()..];
        recorded.extend(grants::insert_recording(conn, grant, rest)?);
    }
    if let Some(grant) = &change.extended_grant
        && !grants::extend(conn, grant)?
    {
        // The grant changed since it was read (revoked, expired, extended): nothing is kept.
        return Err(diesel::result::Error::RollbackTransaction);
    }
    if let Some(grant) = &change.ended_grant
        && !grants::end(conn, grant)?
    {
        // The grant ended or changed since it was read: nothing is kept.
        return Err(diesel::result::Error::RollbackTransaction);
    }
    if let Some(session) = &change.session {
        grants::insert_session(conn, session)?;
    }
    if let Some(comment) = &change.comment {
        diesel::insert_into(request_comments::table)
            .values(CommentRow::from(comment))
            .execute(conn)?;
    }
    Ok(Saved::Written(recorded))
}

/// Stores many requests with their approver index in few statements (bulk loads only).
pub fn insert_many(conn: &mut DbConnection, requests: &[AccessRequest]) -> QueryResult<usize> {
    let rows: Vec<RequestRow> = requests.iter().map(RequestRow::from).collect();
    let approvers: Vec<ApproverRow> = requests.iter().flat_map(approver_rows).collect();
    let named: Vec<_> = requests
        .iter()
        .flat_map(|r| tasks::newly_named(None, r))
        .collect();
    let inserted = crate::insert_many!(conn, access_requests::table, rows);
    crate::insert_many!(conn, request_approvers::table, approvers);
    crate::insert_many!(conn, request_people::table, named);
    tasks::insert_many(conn, requests)?;
    Ok(inserted)
}

pub fn find(conn: &mut DbConnection, id: RequestId) -> QueryResult<Option<AccessRequest>> {
    let Some(row) = access_requests::table
        .find(id.to_string())
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    loaded(conn, row).map(Some)
}

/// The request a row stores, with its steps and (when it has any) its tasks.
pub(super) fn loaded(conn: &mut DbConnection, row: RequestRow) -> QueryResult<AccessRequest> {
    let listed = super::rows::into_listed(row)?;
    let has_tasks = listed.has_tasks;
    let request = listed.request.with_steps(
        serde_json::from_str(listed.steps.get())
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?,
    );
    tasks::attach_one(conn, request, has_tasks)
}

/// [`find`] with the request's flow as it is now (`None` for a deleted flow), in one statement: a
/// decision reads both (the flow's terms complete an approval), one round trip on PostgreSQL.
pub fn find_with_flow(
    conn: &mut DbConnection,
    id: RequestId,
) -> QueryResult<Option<(AccessRequest, Option<ApprovalFlow>)>> {
    let Some((row, flow)) = access_requests::table
        .left_join(approval_flows::table.on(approval_flows::id.eq(access_requests::flow_id)))
        .filter(access_requests::id.eq(id.to_string()))
        .select((RequestRow::as_select(), Option::<FlowRow>::as_select()))
        .first::<(RequestRow, Option<FlowRow>)>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let flow = flow.map(flows::convert).transpose()?;
    Ok(Some((loaded(conn, row)?, flow)))
}

/// `UPDATE access_requests SET … WHERE id = ? AND version = ?`, every column a request's life
/// changes set from `row`, as a statement the connection keeps prepared. diesel marks every
/// `UPDATE` it builds unsafe to cache (a changeset may skip `None` fields, so its text could vary),
/// so SQLite would parse and plan this wide statement on every decision; this one's text never
/// varies, so it is cached like a query.
///
/// What a request was submitted as (flow, requester, reason, kind, approval type, flow name,
/// creation time) never changes once stored, and is not written again: SQLite rewrites an index
/// entry whenever a column of that index is in the `SET` list, even with the value unchanged, so
/// writing them would cost each decision two more random index pages (the requester and creation
/// time indexes) in a large database.
struct UpdateRequest {
    row: RequestRow,
    expected_version: i64,
}

impl diesel::query_builder::QueryId for UpdateRequest {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> diesel::query_builder::QueryFragment<DB> for UpdateRequest
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<diesel::sql_types::Text>
        + diesel::sql_types::HasSqlType<diesel::sql_types::Timestamp>
        + diesel::sql_types::HasSqlType<diesel::sql_types::BigInt>,
    String: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
    NaiveDateTime: diesel::serialize::ToSql<diesel::sql_types::Timestamp, DB>,
    Option<String>:
        diesel::serialize::ToSql<diesel::sql_types::Nullable<diesel::sql_types::Text>, DB>,
    Option<NaiveDateTime>:
        diesel::serialize::ToSql<diesel::sql_types::Nullable<diesel::sql_types::Timestamp>, DB>,
    i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
        let row = &self.row;
        let out = &mut out;
        out.push_sql("UPDATE ");
        out.push_identifier("access_requests")?;
        push_term::<_, Text, _>(out, " SET ", "status", " = ", &row.status)?;
        push_term::<_, Text, _>(out, ", ", "detail", " = ", &row.detail)?;
        push_term::<_, Nullable<Timestamp>, _>(out, ", ", "decided_at", " = ", &row.decided_at)?;
        push_term::<_, Nullable<Text>, _>(out, ", ", "decided_by", " = ", &row.decided_by)?;
        push_term::<_, Nullable<Timestamp>, _>(out, ", ", "expires_at", " = ", &row.expires_at)?;
        push_term::<_, BigInt, _>(out, ", ", "version", " = ", &row.version)?;
        push_term::<_, Nullable<Text>, _>(out, ", ", "open_key", " = ", &row.open_key)?;
        push_term::<_, Text, _>(out, ", ", "approver_kind", " = ", &row.approver_kind)?;
        push_term::<_, Text, _>(out, " WHERE ", "id", " = ", &row.id)?;
        push_term::<_, BigInt, _>(out, " AND ", "version", " = ", &self.expected_version)
    }
}

impl<Conn> RunQueryDsl<Conn> for UpdateRequest {}

/// Writes `request` (a new version) if the stored version is still `expected_version`.
/// This check is what serialises concurrent decisions: only one writer of a version wins.
pub(super) fn update(
    conn: &mut DbConnection,
    before: Option<&AccessRequest>,
    request: &AccessRequest,
    expected_version: i64,
) -> QueryResult<bool> {
    let update = UpdateRequest {
        row: RequestRow::from(request),
        expected_version,
    };
    // On PostgreSQL a decision that closes the request or hands it to the next step writes the
    // request and its approver index in one statement (a round trip fewer).
    if let (DbConnection::Postgres(pg), Some(before)) = (&mut *conn, before)
        && let Some(change) = index_change(before, request)
    {
        let id = request.id().to_string();
        let index = Reindex::new(&id, &change, true);
        let updated: i64 = UpdateWithIndex { update, index }.get_result(pg)?;
        return Ok(updated == 1);
    }
    let updated = update.execute(conn)?;
    if updated == 1 {
        reindex_approvers(conn, before, request)?;
    }
    Ok(updated == 1)
}

/// `WITH r AS (UPDATE access_requests … RETURNING 1), i AS (<the index change, only if r wrote a
/// row>) SELECT count(*) FROM r`: the request's version-checked update and its approver index in
/// one statement; 1 if the version check held, 0 (with nothing written) if not.
struct UpdateWithIndex<'a> {
    update: UpdateRequest,
    index: Reindex<'a>,
}

impl diesel::query_builder::QueryId for UpdateWithIndex<'_> {
    // No static id: cached by its text (one per kind of index change).
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for UpdateWithIndex<'_> {
    type SqlType = diesel::sql_types::BigInt;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for UpdateWithIndex<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        out.push_sql("WITH r AS (");
        self.update.walk_ast(out.reborrow())?;
        out.push_sql(" RETURNING 1), i AS (");
        self.index.walk_ast(out.reborrow())?;
        out.push_sql(") SELECT count(*) FROM r");
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for UpdateWithIndex<'_> {}

/// A comment on a request.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = request_comments)]
pub struct CommentRow {
    pub id: String,
    pub request_id: String,
    pub author_id: String,
    pub body: String,
    pub created_at: NaiveDateTime,
}

impl From<&Comment> for CommentRow {
    fn from(comment: &Comment) -> Self {
        Self {
            id: comment.id.to_string(),
            request_id: comment.request_id.to_string(),
            author_id: comment.author_id.to_string(),
            body: comment.body.clone(),
            created_at: to_db(comment.created_at),
        }
    }
}

/// Comments on a request, oldest first.
pub fn comments(conn: &mut DbConnection, request: RequestId) -> QueryResult<Vec<CommentRow>> {
    request_comments::table
        .filter(request_comments::request_id.eq(request.to_string()))
        .order((
            request_comments::created_at.asc(),
            request_comments::id.asc(),
        ))
        .select(CommentRow::as_select())
        .load(conn)
}

/// The request a principal's idempotency key already created, with the hash of the body it was sent with.
pub fn idempotent_result(
    conn: &mut DbConnection,
    principal: UserId,
    key: &str,
) -> QueryResult<Option<(String, RequestId)>> {
    let found: Option<(String, String)> = idempotency_keys::table
        .find((principal.to_string(), key))
        .select((idempotency_keys::body_hash, idempotency_keys::request_id))
        .first(conn)
        .optional()?;
    found
        .map(|(hash, id)| {
            id.parse()
                .map(|id| (hash, id))
                .map_err(|e: uuid::Error| diesel::result::Error::DeserializationError(Box::new(e)))
        })
        .transpose()
}

pub fn remember_idempotency_key(
    conn: &mut DbConnection,
    principal: UserId,
    key: &str,
    body_hash: &str,
    request: RequestId,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::principal_id.eq(principal.to_string()),
            idempotency_keys::key.eq(key),
            idempotency_keys::body_hash.eq(body_hash),
            idempotency_keys::request_id.eq(request.to_string()),
            idempotency_keys::created_at.eq(to_db(at)),
        ))
        .execute(conn)
        .map(drop)
}
