//! Persistence for Portcullis: one diesel code path over SQLite (embedded default) and PostgreSQL.
//!
//! Repositories are plain functions over `&mut DbConnection`; callers compose them inside
//! `DbConnection::transaction` so that a state change and its audit event commit together.

/// Inserts many rows in statements of a few hundred rows each, on the concrete connection (the
/// backend-generic one inserts one row per statement). For bulk loads: the benchmark's data generator.
#[macro_export]
macro_rules! insert_many {
    ($conn:expr, $table:expr, $rows:expr) => {{
        use diesel::RunQueryDsl;
        let mut inserted = 0usize;
        for chunk in $rows.chunks(500) {
            inserted += match &mut *$conn {
                $crate::DbConnection::Postgres(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?
                }
                // One cached single-row statement per row: SQLite would parse and plan a
                // multi-row statement on every call (its text changes with the number of rows).
                $crate::DbConnection::Sqlite(c) => {
                    let mut rows = 0;
                    for row in chunk {
                        rows += diesel::insert_into($table).values(row).execute(c)?;
                    }
                    rows
                }
            };
        }
        inserted
    }};
}

/// Runs `$body` with `$c` bound to the backend's own connection (`PgConnection` or
/// `SqliteConnection`); `$body` is compiled once per backend. For hot point reads: through
/// `DbConnection` (diesel's `MultiConnection`) a query's SQL text is written out again on every
/// execution, to collect its bind values, even when its prepared statement is cached; on the
/// backend's own connection a cached statement only binds.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match &mut *$conn {
            $crate::DbConnection::Postgres($c) => $body,
            $crate::DbConnection::Sqlite($c) => $body,
        }
    };
}

mod connection;
mod database;
pub mod error;
mod explain;
pub mod models;
pub mod page;
pub mod repo;
pub mod schema;
pub mod statistics;
#[cfg(test)]
mod test_support;
pub mod time;
mod together;

pub use connection::{Backend, ConnectionManager, DatabaseTarget, DbConnection, Pooled};
pub use database::{Checkpoints, Database, DatabaseError, PoolStatus, PooledConnection};
pub use error::{is_foreign_key_violation, is_unique_violation};
pub use page::{Cursor, Page, PageRequest};
