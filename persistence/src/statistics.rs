//! Planner statistics kept current on PostgreSQL.
//!
//! PostgreSQL plans from statistics that only `ANALYZE` gathers. A table nobody has analyzed yet is
//! planned with fixed guesses (any equality matches 0.5% of the rows), so on a database filled
//! right after its migrations the admin queue's default view is planned as if a handful of
//! requests were pending: it gathers every pending request and sorts them, 6–10× slower than the
//! plan it gets once analyzed (walk the newest requests and stop at the page's end). The
//! autovacuum daemon analyzes such a table within a minute or so, and a large one only after a
//! tenth of it has changed; a bulk load (an import, a directory sync) leaves the statistics behind
//! for that long.
//!
//! So the server checks, every few seconds, which of its tables the autovacuum daemon's own rule
//! says need analyzing (changed rows since the last analyze above 50 + 10% of the rows), and on
//! every table that was written but never analyzed, and analyzes them itself. One replica at a
//! time does it (an advisory lock); the check is one read of PostgreSQL's activity counters, which
//! lag the writes by up to a few seconds. SQLite's plans here do not depend on statistics: nothing
//! to do there.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

use crate::connection::DbConnection;

/// Serialises the analyzing of several replicas ("PRTSTA" in ASCII).
const STATISTICS_LOCK_KEY: i64 = 0x5052_5453_5441;

/// The autovacuum daemon's defaults (`autovacuum_analyze_threshold`, `…_scale_factor`).
const BASE_THRESHOLD: i64 = 50;
const SCALE_FACTOR: f64 = 0.1;

#[derive(QueryableByName)]
struct Stale {
    #[diesel(sql_type = Text)]
    table_name: String,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// The tables of the current schema whose statistics are missing or stale: written since their
/// last analyze by more than the autovacuum rule allows, or written and never analyzed
/// (`reltuples` is -1 until the first analyze).
fn stale_tables(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    diesel::sql_query(
        "SELECT s.relname::text AS table_name
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
         WHERE s.schemaname = current_schema()
           AND s.relname <> '__diesel_schema_migrations'
           AND s.n_mod_since_analyze > 0
           AND (c.reltuples < 0 OR s.n_mod_since_analyze > $1 + $2::float8 * c.reltuples)
         ORDER BY s.n_mod_since_analyze DESC",
    )
    .bind::<BigInt, _>(BASE_THRESHOLD)
    .bind::<diesel::sql_types::Double, _>(SCALE_FACTOR)
    .load::<Stale>(conn)
    .map(|rows| rows.into_iter().map(|row| row.table_name).collect())
}

/// Analyzes the tables whose statistics are missing or stale (see the module's documentation) and
/// returns their names; nothing on SQLite, or while another replica is at it.
pub fn refresh(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    // SQLite has no statistics views nor autovacuum to help: nothing is refreshed there.
    if !matches!(conn, DbConnection::Postgres(_)) {
        return Ok(Vec::new());
    }
    conn.transaction(|conn| {
        let locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
            .bind::<BigInt, _>(STATISTICS_LOCK_KEY)
            .get_result::<Locked>(conn)?
            .locked;
        if !locked {
            return Ok(Vec::new());
        }
        let tables = stale_tables(conn)?;
        for table in &tables {
            // Names come from the catalogue; quoted as identifiers all the same.
            diesel::sql_query(format!("ANALYZE \"{}\"", table.replace('"', "\"\"")))
                .execute(conn)?;
        }
        Ok(tables)
    })
}
