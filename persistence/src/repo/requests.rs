use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::flow::{ApprovalType, ApproverRequirement, FlowKind};
use portcullis_domain::request::{AccessRequest, Outcome, RequestStatus, Step, StepState};
use portcullis_domain::{CommentId, FlowId, RequestId, UserId};

use super::users::{PeopleSearch, with_people};
use crate::connection::{Backend, DbConnection};
use crate::schema::{access_requests, idempotency_keys, request_approvers, request_comments};
use crate::time::{from_db, to_db};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = access_requests, treat_none_as_null = true, treat_none_as_default_value = false)]
struct RequestRow {
    id: String,
    flow_id: String,
    flow_name: String,
    kind: String,
    approval_type: String,
    requester_id: String,
    status: String,
    reason: String,
    /// [`Detail`] as JSON.
    detail: String,
    created_at: NaiveDateTime,
    decided_at: Option<NaiveDateTime>,
    decided_by: Option<String>,
    expires_at: Option<NaiveDateTime>,
    version: i64,
    open_key: Option<String>,
    /// The queue tab: `administrator`, `assigned` or `none`.
    approver_kind: String,
}

/// The parts of a request that no query filters on.
///
/// List pages return `steps` exactly as stored here (see [`Listed`]), so a change to how a step
/// serialises needs the stored details rewritten by a migration (or that shortcut dropped); the
/// test `listed_steps_are_the_steps_as_the_api_writes_them` holds the two to the same text.
#[derive(Debug, serde::Serialize)]
struct Detail {
    flow_version: i64,
    approver_requirement: Option<ApproverRequirement>,
    duration_seconds: Option<i64>,
    device_id: Option<portcullis_domain::DeviceId>,
    steps: Vec<Step>,
    outcome: Option<Outcome>,
    error: Option<String>,
    resubmitted_from: Option<RequestId>,
}

fn approver_kind(r: &AccessRequest) -> &'static str {
    if r.approval_type == ApprovalType::Automatic {
        "none"
    } else if r
        .steps
        .iter()
        .any(|s| s.approver_type == portcullis_domain::flow::ApproverType::Administrator)
    {
        "administrator"
    } else {
        "assigned"
    }
}

pub(crate) fn open_key(requester: UserId, flow: FlowId) -> String {
    format!("{requester}:{flow}")
}

impl From<&AccessRequest> for RequestRow {
    fn from(r: &AccessRequest) -> Self {
        let open = matches!(r.status, RequestStatus::Pending | RequestStatus::Error);
        Self {
            id: r.id.to_string(),
            flow_id: r.flow_id.to_string(),
            flow_name: r.flow_name.clone(),
            kind: r.kind.as_str().to_owned(),
            approval_type: r.approval_type.as_str().to_owned(),
            requester_id: r.requester_id.to_string(),
            status: r.status.as_str().to_owned(),
            reason: r.reason.clone(),
            detail: serde_json::to_string(&Detail {
                flow_version: r.flow_version,
                approver_requirement: r.approver_requirement,
                duration_seconds: r.duration_seconds,
                device_id: r.device_id,
                steps: r.steps.clone(),
                outcome: r.outcome.clone(),
                error: r.error.clone(),
                resubmitted_from: r.resubmitted_from,
            })
            .unwrap_or_default(),
            created_at: to_db(r.created_at),
            decided_at: r.decided_at.map(to_db),
            decided_by: r
                .outcome
                .as_ref()
                .and_then(|o| o.decided_by)
                .map(|u| u.to_string()),
            expires_at: r.expires_at.map(to_db),
            version: r.version,
            open_key: open.then(|| open_key(r.requester_id, r.flow_id)),
            approver_kind: approver_kind(r).to_owned(),
        }
    }
}

impl TryFrom<RequestRow> for AccessRequest {
    type Error = BoxError;

    fn try_from(row: RequestRow) -> Result<Self, BoxError> {
        let Listed { mut request, steps } = Listed::try_from(row)?;
        request.steps = serde_json::from_str(steps.get())?;
        Ok(request)
    }
}

fn convert(row: RequestRow) -> QueryResult<AccessRequest> {
    AccessRequest::try_from(row).map_err(diesel::result::Error::DeserializationError)
}

/// A request as list pages return it: `request` without its steps (its `steps` is empty) and the
/// steps as the JSON text stored with it, which is what the API returns for them. A page copies
/// that text instead of parsing every step and decision and writing them out again (measured in
/// BENCHMARKS.md: about a third of a page's CPU).
#[derive(Debug)]
pub struct Listed {
    pub request: AccessRequest,
    pub steps: Box<serde_json::value::RawValue>,
}

/// [`Detail`] as read back, its steps left as text.
#[derive(serde::Deserialize)]
struct StoredDetail<'a> {
    flow_version: i64,
    approver_requirement: Option<ApproverRequirement>,
    duration_seconds: Option<i64>,
    device_id: Option<portcullis_domain::DeviceId>,
    #[serde(borrow)]
    steps: &'a serde_json::value::RawValue,
    outcome: Option<Outcome>,
    error: Option<String>,
    resubmitted_from: Option<RequestId>,
}

impl TryFrom<RequestRow> for Listed {
    type Error = BoxError;

    fn try_from(row: RequestRow) -> Result<Self, BoxError> {
        let detail: StoredDetail<'_> = serde_json::from_str(&row.detail)?;
        let steps = detail.steps.to_owned();
        let request = AccessRequest {
            id: row.id.parse()?,
            flow_id: row.flow_id.parse()?,
            flow_name: row.flow_name,
            flow_version: detail.flow_version,
            kind: FlowKind::parse(&row.kind)?,
            approval_type: ApprovalType::parse(&row.approval_type)?,
            approver_requirement: detail.approver_requirement,
            requester_id: row.requester_id.parse()?,
            status: RequestStatus::parse(&row.status)?,
            reason: row.reason,
            duration_seconds: detail.duration_seconds,
            device_id: detail.device_id,
            steps: Vec::new(),
            outcome: detail.outcome,
            error: detail.error,
            resubmitted_from: detail.resubmitted_from,
            created_at: from_db(row.created_at),
            decided_at: row.decided_at.map(from_db),
            expires_at: row.expires_at.map(from_db),
            version: row.version,
        };
        Ok(Listed { request, steps })
    }
}

fn into_listed(row: RequestRow) -> QueryResult<Listed> {
    Listed::try_from(row).map_err(diesel::result::Error::DeserializationError)
}

/// Keeps who may act on the request (the index behind "my tasks") in step with it. Most changes
/// only move `awaiting` (a decision, a step becoming active, the request closing): those rows are
/// flipped in place, one statement per direction. A changed set of approvers (a reassignment) is
/// rewritten.
/// `UPDATE request_approvers SET awaiting = ? WHERE request_id = ? …` for one request's rows, as a
/// statement the connection keeps prepared (diesel's own `UPDATE`s never are; see [`UpdateRequest`]).
/// Each combination of conditions is its own text, so its own cached statement.
struct SetAwaiting<'a> {
    request_id: &'a str,
    awaiting: bool,
    /// Only rows whose `awaiting` is the opposite (those that stop awaiting).
    only_changing: bool,
    position: Option<i32>,
    user_id: Option<&'a str>,
}

impl<'a> SetAwaiting<'a> {
    /// The request's awaiting rows (of `user` only, if given) stop awaiting.
    fn stop(request_id: &'a str, user_id: Option<&'a str>) -> Self {
        Self {
            request_id,
            awaiting: false,
            only_changing: true,
            position: None,
            user_id,
        }
    }

    /// `user`'s row at step `position` starts awaiting.
    fn start(request_id: &'a str, position: i32, user_id: &'a str) -> Self {
        Self {
            request_id,
            awaiting: true,
            only_changing: false,
            position: Some(position),
            user_id: Some(user_id),
        }
    }
}

impl diesel::query_builder::QueryId for SetAwaiting<'_> {
    // No static id: the statement cache keys it by its text.
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> diesel::query_builder::QueryFragment<DB> for SetAwaiting<'_>
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<diesel::sql_types::Text>
        + diesel::sql_types::HasSqlType<diesel::sql_types::Bool>
        + diesel::sql_types::HasSqlType<diesel::sql_types::Integer>,
    str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
    bool: diesel::serialize::ToSql<diesel::sql_types::Bool, DB>,
    i32: diesel::serialize::ToSql<diesel::sql_types::Integer, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Bool, Integer, Text};
        let out = &mut out;
        out.push_sql("UPDATE ");
        out.push_identifier("request_approvers")?;
        push_term::<_, Bool, _>(out, " SET ", "awaiting", " = ", &self.awaiting)?;
        push_term::<_, Text, _>(out, " WHERE ", "request_id", " = ", self.request_id)?;
        if self.only_changing {
            push_term::<_, Bool, _>(out, " AND ", "awaiting", " <> ", &self.awaiting)?;
        }
        if let Some(position) = &self.position {
            push_term::<_, Integer, _>(out, " AND ", "position", " = ", position)?;
        }
        if let Some(user_id) = self.user_id {
            push_term::<_, Text, _>(out, " AND ", "user_id", " = ", user_id)?;
        }
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for SetAwaiting<'_> {}

fn reindex_approvers(conn: &mut DbConnection, request: &AccessRequest) -> QueryResult<()> {
    let id = request.id.to_string();
    let wanted = approver_rows(request);
    let stored: Vec<(String, i32, bool)> = request_approvers::table
        .filter(request_approvers::request_id.eq(&id))
        .select((
            request_approvers::user_id,
            request_approvers::position,
            request_approvers::awaiting,
        ))
        .load(conn)?;
    let stored_awaiting = |row: &ApproverRow| {
        stored
            .iter()
            .find(|(user, position, _)| *user == row.user_id && *position == row.position)
            .map(|(_, _, awaiting)| *awaiting)
    };
    if stored.len() != wanted.len() || wanted.iter().any(|row| stored_awaiting(row).is_none()) {
        diesel::delete(request_approvers::table.filter(request_approvers::request_id.eq(&id)))
            .execute(conn)?;
        return insert_approvers(conn, &wanted);
    }
    let changed = |to: bool| {
        wanted
            .iter()
            .filter(move |row| row.awaiting == to && stored_awaiting(row) != Some(to))
    };
    // An approver awaits on one step at most, so their id finds the row that stops awaiting.
    let stop: Vec<&str> = changed(false).map(|row| row.user_id.as_str()).collect();
    let awaiting = stored.iter().filter(|(_, _, awaiting)| *awaiting).count();
    let awaiting_rows = request_approvers::table
        .filter(request_approvers::request_id.eq(&id))
        .filter(request_approvers::awaiting.eq(true));
    if !stop.is_empty() && stop.len() == awaiting {
        // Nobody who awaited still does (their step is over): one statement, whatever the number
        // of approvers.
        SetAwaiting::stop(&id, None).execute(conn)?;
    } else if conn.per_value(stop.len()) {
        for user in stop {
            SetAwaiting::stop(&id, Some(user)).execute(conn)?;
        }
    } else if !stop.is_empty() {
        diesel::update(awaiting_rows.filter(request_approvers::user_id.eq_any(&stop)))
            .set(request_approvers::awaiting.eq(false))
            .execute(conn)?;
    }
    let start: Vec<&ApproverRow> = changed(true).collect();
    let mut positions: Vec<i32> = start.iter().map(|row| row.position).collect();
    positions.sort_unstable();
    positions.dedup();
    for position in positions {
        let users: Vec<&str> = start
            .iter()
            .filter(|row| row.position == position)
            .map(|row| row.user_id.as_str())
            .collect();
        let step_rows = request_approvers::table
            .filter(request_approvers::request_id.eq(&id))
            .filter(request_approvers::position.eq(position));
        if conn.per_value(users.len()) {
            for user in users {
                SetAwaiting::start(&id, position, user).execute(conn)?;
            }
        } else {
            diesel::update(step_rows.filter(request_approvers::user_id.eq_any(&users)))
                .set(request_approvers::awaiting.eq(true))
                .execute(conn)?;
        }
    }
    Ok(())
}

#[derive(Insertable)]
#[diesel(table_name = request_approvers)]
struct ApproverRow {
    request_id: String,
    user_id: String,
    position: i32,
    awaiting: bool,
    created_at: NaiveDateTime,
}

/// While the request is pending, one row per step and approver; `awaiting` on the first step
/// where the approver still has to decide (so a request is in someone's tasks once, whatever the
/// number of their steps). None once it is not: only pending requests are ever looked up by
/// approver, and the decision that closes a request then removes its rows from each approver's
/// part of the index instead of also moving them to another part (on SQLite, one page fewer per
/// approver to write).
fn approver_rows(request: &AccessRequest) -> Vec<ApproverRow> {
    let mut rows = Vec::new();
    if request.status != RequestStatus::Pending {
        return rows;
    }
    let mut awaited = Vec::new();
    for step in &request.steps {
        for approver in &step.approver_ids {
            let awaits = step.state == StepState::Active
                && !step.decisions.iter().any(|d| d.approver_id == *approver)
                && !awaited.contains(approver);
            if awaits {
                awaited.push(*approver);
            }
            rows.push(ApproverRow {
                request_id: request.id.to_string(),
                user_id: approver.to_string(),
                position: i32::try_from(step.position).unwrap_or(i32::MAX),
                awaiting: awaits,
                created_at: to_db(request.created_at),
            });
        }
    }
    rows
}

/// `INSERT INTO request_approvers … SELECT … FROM unnest($2, $3, $4)`: one request's approver rows
/// (they share its id and creation time) in one statement PostgreSQL keeps prepared, whatever their
/// number. A multi-row `VALUES` list has a text per row count, so PostgreSQL would parse and plan it
/// on every creation.
struct InsertApprovers<'a> {
    request_id: &'a str,
    created_at: NaiveDateTime,
    users: Vec<&'a str>,
    positions: Vec<i32>,
    awaiting: Vec<bool>,
}

impl<'a> InsertApprovers<'a> {
    /// The rows of one request (`rows` all share its id and creation time), or `None` if there are none.
    fn of(rows: &'a [ApproverRow]) -> Option<Self> {
        let first = rows.first()?;
        debug_assert!(
            rows.iter()
                .all(|r| r.request_id == first.request_id && r.created_at == first.created_at)
        );
        Some(Self {
            request_id: &first.request_id,
            created_at: first.created_at,
            users: rows.iter().map(|r| r.user_id.as_str()).collect(),
            positions: rows.iter().map(|r| r.position).collect(),
            awaiting: rows.iter().map(|r| r.awaiting).collect(),
        })
    }
}

impl diesel::query_builder::QueryId for InsertApprovers<'_> {
    type QueryId = InsertApprovers<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for InsertApprovers<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Array, Bool, Integer, Text, Timestamp};
        out.push_sql("INSERT INTO ");
        out.push_identifier("request_approvers")?;
        out.push_sql(" (");
        for (i, column) in [
            "request_id",
            "user_id",
            "position",
            "awaiting",
            "created_at",
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_identifier(column)?;
        }
        out.push_sql(") SELECT ");
        out.push_bind_param::<Text, _>(self.request_id)?;
        out.push_sql(", t.u, t.p, t.a, ");
        out.push_bind_param::<Timestamp, _>(&self.created_at)?;
        out.push_sql(" FROM unnest(");
        out.push_bind_param::<Array<Text>, _>(&self.users)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&self.positions)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bool>, _>(&self.awaiting)?;
        out.push_sql(") AS t(u, p, a)");
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for InsertApprovers<'_> {}

/// Stores one request's approver rows.
fn insert_approvers(conn: &mut DbConnection, rows: &[ApproverRow]) -> QueryResult<()> {
    match conn {
        DbConnection::Postgres(c) => {
            if let Some(insert) = InsertApprovers::of(rows) {
                insert.execute(c)?;
            }
        }
        DbConnection::Sqlite(_) => {
            crate::insert_many!(conn, request_approvers::table, rows);
        }
    }
    Ok(())
}

pub fn insert(conn: &mut DbConnection, request: &AccessRequest) -> QueryResult<()> {
    diesel::insert_into(access_requests::table)
        .values(RequestRow::from(request))
        .execute(conn)?;
    insert_approvers(conn, &approver_rows(request))
}

/// Stores many requests with their approver index in few statements (bulk loads only).
pub fn insert_many(conn: &mut DbConnection, requests: &[AccessRequest]) -> QueryResult<usize> {
    let rows: Vec<RequestRow> = requests.iter().map(RequestRow::from).collect();
    let approvers: Vec<ApproverRow> = requests.iter().flat_map(approver_rows).collect();
    let inserted = crate::insert_many!(conn, access_requests::table, rows);
    crate::insert_many!(conn, request_approvers::table, approvers);
    Ok(inserted)
}

pub fn find(conn: &mut DbConnection, id: RequestId) -> QueryResult<Option<AccessRequest>> {
    access_requests::table
        .find(id.to_string())
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?
        .map(convert)
        .transpose()
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

/// Pushes `{before}{column}{operator}?` with `value` bound to the `?`.
fn push_term<'b, DB, T, U>(
    out: &mut diesel::query_builder::AstPass<'_, 'b, DB>,
    before: &str,
    column: &str,
    operator: &str,
    value: &'b U,
) -> QueryResult<()>
where
    DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<T>,
    U: diesel::serialize::ToSql<T, DB> + ?Sized,
{
    out.push_sql(before);
    out.push_identifier(column)?;
    out.push_sql(operator);
    out.push_bind_param::<T, U>(value)
}

impl<Conn> RunQueryDsl<Conn> for UpdateRequest {}

/// Writes `request` (a new version) if the stored version is still `expected_version`.
/// This check is what serialises concurrent decisions: only one writer of a version wins.
pub fn update(
    conn: &mut DbConnection,
    request: &AccessRequest,
    expected_version: i64,
) -> QueryResult<bool> {
    let updated = UpdateRequest {
        row: RequestRow::from(request),
        expected_version,
    }
    .execute(conn)?;
    if updated == 1 {
        reindex_approvers(conn, request)?;
    }
    Ok(updated == 1)
}

fn ids(rows: Vec<String>) -> QueryResult<Vec<RequestId>> {
    rows.iter()
        .map(|id| {
            id.parse()
                .map_err(|e: uuid::Error| diesel::result::Error::DeserializationError(Box::new(e)))
        })
        .collect()
}

const PENDING: &str = "pending";

/// A query for request ids, boxed (so that the index tests can explain it).
type IdQuery = diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::Select<access_requests::table, access_requests::id>,
    crate::connection::MultiBackend,
>;

fn open_for_flow_query(flow: FlowId) -> IdQuery {
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

fn pending_with_approver_query(user: UserId) -> IdQuery {
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

fn due_for_expiry_query(now: DateTime<Utc>, limit: i64) -> IdQuery {
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

/// A comment on a request.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = request_comments)]
pub struct CommentRow {
    pub id: String,
    pub request_id: String,
    pub author_id: String,
    pub body: String,
    pub created_at: NaiveDateTime,
}

pub fn add_comment(
    conn: &mut DbConnection,
    request: RequestId,
    author: UserId,
    body: &str,
    at: DateTime<Utc>,
) -> QueryResult<CommentRow> {
    let row = CommentRow {
        id: CommentId::new_v7().to_string(),
        request_id: request.to_string(),
        author_id: author.to_string(),
        body: body.to_owned(),
        created_at: to_db(at),
    };
    diesel::insert_into(request_comments::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
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

/// Which of a requester's requests: still open (pending or in error) or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenOrClosed {
    Open,
    Closed,
}

const OPEN_STATUSES: [&str; 2] = [PENDING, "error"];

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
    query = match state {
        Some(OpenOrClosed::Open) => query.filter(access_requests::status.eq_any(OPEN_STATUSES)),
        Some(OpenOrClosed::Closed) => query.filter(access_requests::status.ne_all(OPEN_STATUSES)),
        None => query,
    };
    let rows: Vec<RequestRow> = crate::keyset_page!(
        query,
        access_requests::created_at,
        access_requests::id,
        page
    )
    .load(conn)?;
    crate::Page::from_rows(rows, page.limit, |r| crate::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .try_map(into_listed)
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

type RequestPage<'a> = access_requests::BoxedQuery<
    'a,
    crate::connection::MultiBackend,
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<RequestRow, crate::connection::MultiBackend>>,
>;

fn tasks_query(user: UserId, page: &crate::PageRequest) -> TasksPage {
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

type TasksPage = diesel::dsl::IntoBoxed<
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

type BoxedRequests<'a> = access_requests::BoxedQuery<'a, crate::connection::MultiBackend>;

/// At most this many people matched by a requester filter are listed in the query (so the database
/// walks the requester index for each); more are matched with a subquery.
const LISTED_PEOPLE: i64 = 200;

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
fn listed_requesters(
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
fn filtered<'a>(
    mut query: BoxedRequests<'a>,
    filter: &QueueFilter,
    backend: Backend,
    listed: Option<&[String]>,
) -> BoxedRequests<'a> {
    use super::{contains_pattern, lower};

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
    crate::Page::from_rows(rows, page.limit, |r| crate::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .try_map(into_listed)
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
fn queue_query<'a>(
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

/// The queries whose plans the index tests check.
#[derive(Debug, Clone)]
pub enum ListQuery {
    Tasks(UserId),
    Queue(QueueFilter),
    /// The open requests of a flow (failed or cancelled with it).
    OpenForFlow(FlowId),
    /// The expiry sweep's batch.
    DueForExpiry,
    /// The people a requester filter with this text matches.
    PeopleMatching(String),
    /// The pending requests a deactivated approver leaves behind.
    PendingWithApprover(UserId),
}

/// The database's plan for the first page of a list query, exactly as the API runs it.
pub fn explain(conn: &mut DbConnection, which: &ListQuery) -> QueryResult<Vec<String>> {
    let page = crate::PageRequest {
        limit: 50,
        after: None,
    };
    match which {
        ListQuery::Tasks(user) => crate::explain::plan(conn, tasks_query(*user, &page)),
        ListQuery::Queue(filter) => {
            let listed = listed_requesters(conn, filter)?;
            {
                let backend = conn.backend();
                crate::explain::plan(conn, queue_query(filter, backend, listed.as_deref(), &page))
            }
        }
        ListQuery::OpenForFlow(flow) => crate::explain::plan(conn, open_for_flow_query(*flow)),
        ListQuery::DueForExpiry => {
            crate::explain::plan(conn, due_for_expiry_query(Utc::now(), 100))
        }
        ListQuery::PendingWithApprover(user) => {
            crate::explain::plan(conn, pending_with_approver_query(*user))
        }
        ListQuery::PeopleMatching(text) => {
            let search = PeopleSearch::new(conn.backend(), text);
            with_people!(&search, |people| crate::explain::plan(
                conn,
                people.limit(LISTED_PEOPLE + 1)
            ))
        }
    }
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

#[cfg(test)]
mod tests {
    use chrono::SubsecRound;
    use portcullis_domain::GroupId;
    use portcullis_domain::flow::{ApproverSpec, ResolvedStep};
    use portcullis_domain::request::{Submission, Verdict};

    use super::*;

    /// A two-step request with a decision on its first step and a comment on it.
    fn decided_request() -> AccessRequest {
        let now = Utc::now().trunc_subsecs(6);
        let (requester, manager) = (UserId::new_v7(), UserId::new_v7());
        let reviewers = [UserId::new_v7(), UserId::new_v7()];
        let steps = vec![
            ResolvedStep {
                position: 0,
                spec: ApproverSpec::RequesterManager,
                approver_ids: vec![manager],
                require_all: false,
            },
            ResolvedStep {
                position: 1,
                spec: ApproverSpec::UserGroup {
                    group_id: GroupId::new_v7(),
                    require_all: true,
                },
                approver_ids: reviewers.to_vec(),
                require_all: true,
            },
        ];
        let submission = Submission {
            flow_id: FlowId::new_v7(),
            flow_name: "GitHub \"Admin\" — ünïcode".into(),
            flow_version: 3,
            kind: FlowKind::ResourceRequest,
            approval_type: ApprovalType::Manual,
            approver_requirement: Some(ApproverRequirement::AllInOrder),
            requester_id: requester,
            reason: "Review pull requests\nfor the release".into(),
            duration_seconds: Some(86_400),
            device_id: None,
            resubmitted_from: None,
        };
        let mut request =
            AccessRequest::submit(RequestId::new_v7(), submission, steps, 30, now).unwrap();
        let comment = Some("Looks \"fine\" to me\n".to_owned());
        request
            .decide(manager, Verdict::Approve, comment, (None, None), None, now)
            .unwrap();
        request
    }

    #[test]
    fn request_updates_are_prepared_statements_that_check_the_version() {
        use std::sync::{Arc, Mutex};

        use diesel::connection::InstrumentationEvent;
        use diesel::sqlite::SqliteConnection;
        use diesel_migrations::MigrationHarness;

        let mut sqlite = SqliteConnection::establish(":memory:").unwrap();
        sqlite
            .run_pending_migrations(crate::database::SQLITE_MIGRATIONS)
            .unwrap();
        // The statement is under test, not the directory: no users behind the request's ids.
        diesel::connection::SimpleConnection::batch_execute(
            &mut sqlite,
            "PRAGMA foreign_keys = OFF",
        )
        .unwrap();
        let prepared = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&prepared);
        sqlite.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { sql, .. } = event
                && sql.starts_with("UPDATE")
            {
                sink.lock().unwrap().push(sql.to_owned());
            }
        });
        // Through the backend-generic connection, as the services run it.
        let mut conn = DbConnection::Sqlite(sqlite);
        let mut request = decided_request();
        insert(&mut conn, &request).unwrap();
        for _ in 0..3 {
            let before = request.version;
            request.version += 1;
            request.expires_at = request.expires_at.map(|at| at + chrono::Duration::hours(1));
            assert!(update(&mut conn, &request, before).unwrap());
        }
        // The second step's reviewers both approve: each stops awaiting as they decide.
        let reviewers = request.steps[1].approver_ids.clone();
        for reviewer in reviewers {
            let before = request.clone();
            request
                .decide(
                    reviewer,
                    Verdict::Approve,
                    None,
                    (None, None),
                    None,
                    Utc::now().trunc_subsecs(6),
                )
                .unwrap();
            request.version = before.version + 1;
            assert!(update(&mut conn, &request, before.version).unwrap());
        }
        let awaiting: i64 = request_approvers::table
            .filter(request_approvers::request_id.eq(request.id.to_string()))
            .filter(request_approvers::awaiting.eq(true))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(awaiting, 0);
        let rows: i64 = request_approvers::table
            .filter(request_approvers::request_id.eq(request.id.to_string()))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(rows, 0, "a decided request leaves the approver index");
        // A stale version writes nothing.
        let mut stale = request.clone();
        stale.version += 1;
        stale.expires_at = None;
        assert!(!update(&mut conn, &stale, request.version - 1).unwrap());

        let stored = find(&mut conn, request.id).unwrap().unwrap();
        assert_eq!(stored, request);
        let prepared = prepared.lock().unwrap();
        let request_updates = prepared
            .iter()
            .filter(|sql| sql.contains("access_requests"))
            .count();
        assert_eq!(
            request_updates, 1,
            "prepared once, then reused: {prepared:?}"
        );
        assert!(
            prepared.iter().any(|sql| sql.contains("request_approvers")),
            "the approver rows' updates are kept prepared too: {prepared:?}"
        );
    }

    #[test]
    fn listed_steps_are_the_steps_as_the_api_writes_them() {
        let request = decided_request();
        let listed = into_listed(RequestRow::from(&request)).unwrap();
        assert_eq!(
            listed.steps.get(),
            serde_json::to_string(&request.steps).unwrap()
        );
        let without_steps = AccessRequest {
            steps: Vec::new(),
            ..request.clone()
        };
        assert_eq!(listed.request, without_steps);
        assert_eq!(convert(RequestRow::from(&request)).unwrap(), request);
    }
}
