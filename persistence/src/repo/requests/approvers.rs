//! The approver index (`request_approvers`): who may act on a pending request, behind "my tasks".

use chrono::NaiveDateTime;
use diesel::prelude::*;
use portcullis_domain::request::AccessRequest;

use crate::connection::DbConnection;
use crate::schema::request_approvers;
use crate::time::to_db;

use super::sql::push_term;

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

/// `before` is the state the stored rows were written from (the version the update replaced): its
/// rows are what the table holds, so they are derived instead of read (a round trip fewer per
/// decision on PostgreSQL); without it they are read.
pub(super) fn reindex_approvers(
    conn: &mut DbConnection,
    before: Option<&AccessRequest>,
    request: &AccessRequest,
) -> QueryResult<()> {
    let id = request.id().to_string();
    let wanted = approver_rows(request);
    let stored: Vec<Stored> = match before {
        Some(before) => stored_rows(before),
        None => request_approvers::table
            .filter(request_approvers::request_id.eq(&id))
            .select((
                request_approvers::user_id,
                request_approvers::position,
                request_approvers::awaiting,
            ))
            .load(conn)?,
    };
    let stored_awaiting = |row: &ApproverRow| awaited(&stored, row);
    if !same_rows(&stored, &wanted) {
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
    let start: Vec<&ApproverRow> = changed(true).collect();
    // A step handing over to the next on PostgreSQL: one statement sets both.
    if let DbConnection::Postgres(pg) = &mut *conn
        && let Some(change) = hand_over(&stored, &wanted)
    {
        return Reindex::new(&id, &change, false).execute(pg).map(drop);
    }
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

/// A stored approver row: user, position, awaiting.
type Stored = (String, i32, bool);

fn stored_rows(request: &AccessRequest) -> Vec<Stored> {
    approver_rows(request)
        .into_iter()
        .map(|row| (row.user_id, row.position, row.awaiting))
        .collect()
}

/// Whether `row`'s approver awaited in the stored rows (`None`: no such row).
fn awaited(stored: &[Stored], row: &ApproverRow) -> Option<bool> {
    stored
        .iter()
        .find(|(user, position, _)| *user == row.user_id && *position == row.position)
        .map(|(_, _, awaiting)| *awaiting)
}

/// Whether `wanted` has the stored rows (who and at which step), whatever awaits.
fn same_rows(stored: &[Stored], wanted: &[ApproverRow]) -> bool {
    stored.len() == wanted.len() && wanted.iter().all(|row| awaited(stored, row).is_some())
}

/// What a change does to the approver index when one statement does it on PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum IndexChange {
    /// The request closed: its rows go.
    Clear,
    /// A step hands over to the next: everyone who awaited stops, these approvers of the step at
    /// `position` start (`awaiting = (position = next AND user_id = ANY(…))`).
    HandOver { position: i32, users: Vec<String> },
}

/// The hand-over from `stored` to `wanted` (the same rows, only `awaiting` moved: everyone who
/// awaited stops, approvers of one step start), if that is what it is.
fn hand_over(stored: &[Stored], wanted: &[ApproverRow]) -> Option<IndexChange> {
    let was = |row: &ApproverRow| awaited(stored, row);
    if !same_rows(stored, wanted) {
        return None;
    }
    let awaited = stored.iter().filter(|(_, _, awaiting)| *awaiting).count();
    let stopped = wanted
        .iter()
        .filter(|row| !row.awaiting && was(row) == Some(true))
        .count();
    let start: Vec<&ApproverRow> = wanted
        .iter()
        .filter(|row| row.awaiting && was(row) == Some(false))
        .collect();
    let position = start.first()?.position;
    (stopped > 0 && stopped == awaited && start.iter().all(|row| row.position == position)).then(
        || IndexChange::HandOver {
            position,
            users: start.iter().map(|row| row.user_id.clone()).collect(),
        },
    )
}

/// The index change from `before` (what the table holds) to `after` that one statement makes, if
/// one does: a request that closes, or a step that hands over.
pub(super) fn index_change(before: &AccessRequest, after: &AccessRequest) -> Option<IndexChange> {
    let stored = stored_rows(before);
    let wanted = approver_rows(after);
    if wanted.is_empty() {
        return (!stored.is_empty()).then_some(IndexChange::Clear);
    }
    hand_over(&stored, &wanted)
}

/// The statement of an [`IndexChange`] for one request; `gated`, it acts only if the request's
/// `UPDATE` in the same statement (the common table `r`) wrote a row, i.e. its version check held.
pub(super) struct Reindex<'a> {
    request_id: &'a str,
    change: &'a IndexChange,
    gated: bool,
}

impl<'a> Reindex<'a> {
    pub(super) fn new(request_id: &'a str, change: &'a IndexChange, gated: bool) -> Self {
        Self {
            request_id,
            change,
            gated,
        }
    }
}

impl diesel::query_builder::QueryId for Reindex<'_> {
    // No static id: cached by its text.
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for Reindex<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Array, Integer, Text};
        match self.change {
            IndexChange::Clear => {
                out.push_sql("DELETE FROM ");
                out.push_identifier("request_approvers")?;
                push_term::<_, Text, _>(&mut out, " WHERE ", "request_id", " = ", self.request_id)?;
            }
            IndexChange::HandOver { position, users } => {
                out.push_sql("UPDATE ");
                out.push_identifier("request_approvers")?;
                push_term::<_, Integer, _>(
                    &mut out,
                    " SET awaiting = (",
                    "position",
                    " = ",
                    position,
                )?;
                out.push_sql(" AND user_id = ANY(");
                out.push_bind_param::<Array<Text>, _>(users)?;
                push_term::<_, Text, _>(
                    &mut out,
                    ")) WHERE ",
                    "request_id",
                    " = ",
                    self.request_id,
                )?;
                push_term::<_, Integer, _>(
                    &mut out,
                    " AND (awaiting OR (",
                    "position",
                    " = ",
                    position,
                )?;
                out.push_sql(" AND user_id = ANY(");
                out.push_bind_param::<Array<Text>, _>(users)?;
                out.push_sql(")))");
            }
        }
        if self.gated {
            out.push_sql(" AND EXISTS (SELECT 1 FROM r)");
        }
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for Reindex<'_> {}

#[derive(Insertable)]
#[diesel(table_name = request_approvers)]
pub(super) struct ApproverRow {
    request_id: String,
    user_id: String,
    position: i32,
    awaiting: bool,
    created_at: NaiveDateTime,
}

/// The approver index's rows of `request`, as the domain derives them
/// ([`AccessRequest::approver_index`]). Only pending requests have rows: the decision that closes
/// a request removes them from each approver's part of the index instead of also moving them to
/// another part (on SQLite, one page fewer per approver to write).
pub(super) fn approver_rows(request: &AccessRequest) -> Vec<ApproverRow> {
    let request_id = request.id().to_string();
    let created_at = to_db(request.created_at());
    request
        .approver_index()
        .into_iter()
        .map(|entry| ApproverRow {
            request_id: request_id.clone(),
            user_id: entry.user_id.to_string(),
            position: i32::try_from(entry.position).unwrap_or(i32::MAX),
            awaiting: entry.awaiting,
            created_at,
        })
        .collect()
}

/// `INSERT INTO request_approvers … SELECT … FROM unnest($2, $3, $4)`: one request's approver rows
/// (they share its id and creation time) in one statement PostgreSQL keeps prepared, whatever their
/// number. A multi-row `VALUES` list has a text per row count, so PostgreSQL would parse and plan it
/// on every creation.
pub(super) struct InsertApprovers<'a> {
    request_id: &'a str,
    created_at: NaiveDateTime,
    users: Vec<&'a str>,
    positions: Vec<i32>,
    awaiting: Vec<bool>,
}

impl<'a> InsertApprovers<'a> {
    /// The rows of one request (`rows` all share its id and creation time), or `None` if there are none.
    pub(super) fn of(rows: &'a [ApproverRow]) -> Option<Self> {
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
pub(super) fn insert_approvers(conn: &mut DbConnection, rows: &[ApproverRow]) -> QueryResult<()> {
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
