//! A bound value PostgreSQL's planner cannot look into: `(SELECT $n)`.
//!
//! A prepared statement is planned for the values at hand (a custom plan) for its first five
//! executions; then PostgreSQL keeps its generic plan, made without the values, only if that one is
//! estimated to cost no more. When the values change the estimates (a group's size from the
//! statistics, the length of an array), the custom plan always looks cheaper and the statement is
//! planned again on every execution, which can cost more than running it. Bound as `(SELECT $n)`, a
//! value is known to neither plan: both cost the same and the generic plan, planned once per
//! connection, is kept. Only for statements whose plan does not depend on the values (index
//! lookups by key); a list whose best plan does depend on them wants the custom plan.

use std::marker::PhantomData;

use diesel::QueryResult;
use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, TypedExpressionType, ValidGrouping,
    is_aggregate,
};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, SqlType};

/// `value` bound as `ST`, written `(SELECT $n)` (see the module's documentation).
pub(crate) fn opaque<ST, T>(value: T) -> Opaque<ST, T> {
    Opaque {
        value,
        sql_type: PhantomData,
    }
}

pub(crate) struct Opaque<ST, T> {
    value: T,
    sql_type: PhantomData<ST>,
}

impl<ST: SqlType + TypedExpressionType, T> Expression for Opaque<ST, T> {
    type SqlType = ST;
}

impl<ST, T: ToSql<ST, Pg>> QueryFragment<Pg> for Opaque<ST, T>
where
    Pg: HasSqlType<ST>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("(SELECT ");
        out.push_bind_param::<ST, T>(&self.value)?;
        out.push_sql(")");
        Ok(())
    }
}

impl<ST, T> QueryId for Opaque<ST, T> {
    // No static id: the statement cache keys the statement by its text.
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST, T, QS> AppearsOnTable<QS> for Opaque<ST, T> where Self: Expression {}

impl<ST, T, QS> SelectableExpression<QS> for Opaque<ST, T> where Self: AppearsOnTable<QS> {}

impl<ST, T, GB> ValidGrouping<GB> for Opaque<ST, T> {
    type IsAggregate = is_aggregate::Never;
}
