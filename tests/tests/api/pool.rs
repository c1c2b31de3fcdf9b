//! PostgreSQL connections the server closed (a restart, an idle kill) do not stay in the pool: a
//! pooled connection is pinged on checkout unless work on it succeeded within the last
//! `ALIVE_BYPASS`, and one that failed is closed or pinged next time, so a dead connection fails
//! at most the one use that finds it.

use diesel::{Connection, PgConnection, RunQueryDsl};
use portcullis_persistence::{Database, DatabaseTarget, DbConnection};

use crate::helpers::TestDatabase;

#[derive(diesel::QueryableByName)]
struct Backend {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

fn backend_pid(conn: &mut DbConnection) -> diesel::QueryResult<i32> {
    diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Backend>(conn)
        .map(|b| b.pid)
}

/// Ends `pid`'s session, as a server restart would.
fn terminate(url: &str, pid: i32) {
    let mut admin = PgConnection::establish(url).unwrap();
    diesel::sql_query(format!("SELECT pg_terminate_backend({pid})"))
        .execute(&mut admin)
        .unwrap();
}

/// A pool of one connection, so that every checkout hands out the same one while it lives.
fn one_connection(database: &TestDatabase) -> Database {
    Database::connect(&DatabaseTarget::parse(&database.url).unwrap(), 1).unwrap()
}

#[test]
#[cfg_attr(
    postgres_tests_skipped,
    ignore = "set TEST_DATABASE_URL to run the PostgreSQL tests"
)]
fn a_connection_not_vouched_for_is_pinged_and_replaced_before_use() {
    let Some(database) = TestDatabase::postgres_if_configured() else {
        return;
    };
    let db = one_connection(&database);
    let killed = backend_pid(&mut db.reader().unwrap()).unwrap();
    terminate(&database.url, killed);
    // No work vouched for it: the checkout's ping finds it closed and opens another.
    let mut conn = db.reader().unwrap();
    let pid = backend_pid(&mut conn).unwrap();
    assert_ne!(pid, killed);
}

#[test]
#[cfg_attr(
    postgres_tests_skipped,
    ignore = "set TEST_DATABASE_URL to run the PostgreSQL tests"
)]
fn a_vouched_connection_that_died_fails_at_most_one_use() {
    let Some(database) = TestDatabase::postgres_if_configured() else {
        return;
    };
    let db = one_connection(&database);
    let killed = {
        let mut conn = db.reader().unwrap();
        let pid = backend_pid(&mut conn).unwrap();
        conn.vouch();
        pid
    };
    terminate(&database.url, killed);
    let mut results = Vec::new();
    for _ in 0..3 {
        let mut conn = db.reader().unwrap();
        let result = backend_pid(&mut conn);
        if result.is_ok() {
            // What the server does after work that succeeded.
            conn.vouch();
        }
        results.push(result);
    }
    // Within the bypass window the dead connection may be handed out once; its failure closes it.
    assert!(
        results[1..]
            .iter()
            .all(|r| r.as_ref().is_ok_and(|pid| *pid != killed)),
        "{results:?}"
    );
}
