//! The database's plan for the list queries the API runs, for tests that prove they use indexes.
//!
//! `Explain` wraps the very query a repository function builds, so the plan checked is the plan of
//! the query served, not of a hand-written copy.

use diesel::connection::SimpleConnection;
use diesel::deserialize::{self, QueryableByName};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::row::NamedRow;
use diesel::sql_types::{Text, Untyped};

use crate::connection::{DbConnection, MultiBackend};

/// `EXPLAIN QUERY PLAN …` on SQLite, `EXPLAIN …` on PostgreSQL.
pub(crate) struct Explain<Q> {
    prefix: &'static str,
    query: Q,
}

impl<Q: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        pass.push_sql(self.prefix);
        self.query.walk_ast(pass.reborrow())
    }
}

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = Untyped;
}

impl<Q> RunQueryDsl<DbConnection> for Explain<Q> {}

/// One line of a plan: SQLite's `detail` column, PostgreSQL's `QUERY PLAN`.
struct PlanLine(String);

impl QueryableByName<MultiBackend> for PlanLine {
    fn build<'a>(row: &impl NamedRow<'a, MultiBackend>) -> deserialize::Result<Self> {
        NamedRow::get::<Text, String>(row, "detail")
            .or_else(|_| NamedRow::get::<Text, String>(row, "QUERY PLAN"))
            .map(PlanLine)
    }
}

/// The plan of `query`, one line per step. On PostgreSQL sequential scans are disabled for the
/// session first, so that a tiny test table still shows whether an index path exists.
pub(crate) fn plan<Q>(conn: &mut DbConnection, query: Q) -> QueryResult<Vec<String>>
where
    Q: QueryFragment<MultiBackend>,
{
    // Each engine has its own EXPLAIN (and only PostgreSQL has a planner switch to set and reset).
    let (prefix, reset) = match conn {
        DbConnection::Sqlite(_) => ("EXPLAIN QUERY PLAN ", None),
        DbConnection::Postgres(_) => {
            conn.batch_execute("SET enable_seqscan = off")?;
            ("EXPLAIN ", Some("RESET enable_seqscan"))
        }
    };
    let lines: Vec<PlanLine> = Explain { prefix, query }.load(conn)?;
    if let Some(reset) = reset {
        conn.batch_execute(reset)?;
    }
    Ok(lines.into_iter().map(|l| l.0).collect())
}
