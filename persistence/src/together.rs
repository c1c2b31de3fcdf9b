//! Two (or three) writes in one PostgreSQL statement: `WITH first AS (<first>) <second>`. A
//! data-modifying statement in `WITH` runs once and to completion whether or not anything reads
//! it, and the foreign keys between them are checked at the end of the statement, so the writes
//! are one round trip instead of two or three, with the same effect and the same errors.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

pub struct Together<A, B>(pub A, pub B);

impl<A, B> QueryId for Together<A, B> {
    // No static id: the statement cache keys it by its text.
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<A: QueryFragment<Pg>, B: QueryFragment<Pg>> QueryFragment<Pg> for Together<A, B> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH first AS (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(") ");
        self.1.walk_ast(out.reborrow())
    }
}

impl<A, B, Conn> RunQueryDsl<Conn> for Together<A, B> {}

/// Three writes in one PostgreSQL statement: `WITH first AS (<first>), second AS (<second>)
/// <last>`, answering what `last` returns (an `INSERT … RETURNING`). PostgreSQL allows
/// data-modifying `WITH` parts only at the top level, so this is not two nested [`Together`]s.
pub struct Together3<A, B, C>(pub A, pub B, pub C);

impl<A, B, C> QueryId for Together3<A, B, C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<A, B, C: Query> Query for Together3<A, B, C> {
    type SqlType = C::SqlType;
}

impl<A: QueryFragment<Pg>, B: QueryFragment<Pg>, C: QueryFragment<Pg>> QueryFragment<Pg>
    for Together3<A, B, C>
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH first AS (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql("), second AS (");
        self.1.walk_ast(out.reborrow())?;
        out.push_sql(") ");
        self.2.walk_ast(out.reborrow())
    }
}

impl<A, B, C, Conn> RunQueryDsl<Conn> for Together3<A, B, C> {}
