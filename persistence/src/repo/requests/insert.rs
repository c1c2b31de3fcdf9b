//! A new request on PostgreSQL in one statement: its row, its approver index and the people it
//! names, as `WITH approvers AS (INSERT …), people AS (INSERT …) INSERT INTO access_requests …`.
//! Three round trips of a create become one. (On SQLite, whose index rows keep a foreign key to the
//! request, they are written after it; on PostgreSQL they have none.) A second open request
//! for the same flow is the same unique violation (`open_key`) as from a lone `INSERT`. With the
//! request's first event, the statement becomes `WITH …, new_request AS (INSERT INTO access_requests
//! …) INSERT INTO events … RETURNING …` ([`InsertNew::recording`]): a create's fourth round trip
//! joins the third.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, Text};

use super::approvers::{ApproverRow, InsertApprovers};
use super::tasks::PersonRow;

pub(super) struct InsertNew<'a, R> {
    /// The request's own `INSERT`, last (the statement's main query).
    request: R,
    approvers: Option<InsertApprovers<'a>>,
    request_id: &'a str,
    people: Vec<&'a str>,
}

impl<'a, R: QueryFragment<Pg>> InsertNew<'a, R> {
    /// `request` (the row's `INSERT`) with the index rows of the request `request_id`.
    pub(super) fn new(
        request: R,
        request_id: &'a str,
        approvers: &'a [ApproverRow],
        people: &'a [PersonRow],
    ) -> Self {
        Self {
            request,
            approvers: InsertApprovers::of(approvers),
            request_id,
            people: people.iter().map(|p| p.user_id.as_str()).collect(),
        }
    }
}

impl<R> QueryId for InsertNew<'_, R> {
    // No static id: the statement cache keys it by its text (one per shape: with or without
    // approvers, with or without people).
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<'a, R: QueryFragment<Pg>> InsertNew<'a, R> {
    /// The same statement with `event` (an `INSERT … RETURNING`) as its main query, the request's
    /// own `INSERT` moving into `new_request AS (…)`: the new request's first event is stored in
    /// the same round trip, and the statement answers what the event's `RETURNING` says.
    pub(super) fn recording<E>(self, event: E) -> Recording<'a, R, E> {
        Recording { new: self, event }
    }

    /// `WITH approvers AS (…), people AS (…) ` as far as there are any; returns what the next
    /// part of the statement starts with (`WITH ` when nothing was written, else `, `).
    fn walk_ctes<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<&'static str> {
        let mut with = "WITH ";
        if let Some(approvers) = &self.approvers {
            out.push_sql("WITH approvers AS (");
            approvers.walk_ast(out.reborrow())?;
            out.push_sql(") ");
            with = ", ";
        }
        if !self.people.is_empty() {
            out.push_sql(with);
            out.push_sql("people AS (INSERT INTO ");
            out.push_identifier("request_people")?;
            out.push_sql(" (user_id, request_id) SELECT u, ");
            out.push_bind_param::<Text, _>(self.request_id)?;
            out.push_sql(" FROM unnest(");
            out.push_bind_param::<Array<Text>, _>(&self.people)?;
            out.push_sql(") AS u ON CONFLICT DO NOTHING) ");
            with = ", ";
        }
        Ok(with)
    }
}

impl<R: QueryFragment<Pg>> QueryFragment<Pg> for InsertNew<'_, R> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.walk_ctes(out.reborrow())?;
        self.request.walk_ast(out.reborrow())
    }
}

impl<R, Conn> RunQueryDsl<Conn> for InsertNew<'_, R> {}

/// [`InsertNew`] whose main query is the request's first event (see [`InsertNew::recording`]).
pub(super) struct Recording<'a, R, E> {
    new: InsertNew<'a, R>,
    event: E,
}

impl<R, E> QueryId for Recording<'_, R, E> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<R, E: Query> Query for Recording<'_, R, E> {
    type SqlType = E::SqlType;
}

impl<R: QueryFragment<Pg>, E: QueryFragment<Pg>> QueryFragment<Pg> for Recording<'_, R, E> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let with = self.new.walk_ctes(out.reborrow())?;
        out.push_sql(with);
        out.push_sql("new_request AS (");
        self.new.request.walk_ast(out.reborrow())?;
        out.push_sql(") ");
        self.event.walk_ast(out.reborrow())
    }
}

impl<R, E, Conn> RunQueryDsl<Conn> for Recording<'_, R, E> {}
