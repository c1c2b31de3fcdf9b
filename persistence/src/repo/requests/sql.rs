//! Building the hand-written statements the connection keeps prepared (see `UpdateRequest`).

use diesel::QueryResult;

/// Pushes `{before}{column}{operator}?` with `value` bound to the `?`.
pub(super) fn push_term<'b, DB, T, U>(
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
