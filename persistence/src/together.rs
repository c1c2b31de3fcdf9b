//! Two writes in one PostgreSQL statement: `WITH first AS (<first>) <second>`. A data-modifying
//! statement in `WITH` runs once and to completion whether or not anything reads it, and the
//! foreign keys between the two are checked at the end of the statement, so the pair is one round
//! trip instead of two, with the same effect and the same errors.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};

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
