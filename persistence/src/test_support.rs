//! What the crate's tests share.

use diesel::Connection;

/// A fresh PostgreSQL database with the schema beside the one `TEST_DATABASE_URL` names, and a
/// guard that drops it; `None` (the test is skipped) without the variable outside CI.
pub(crate) fn scratch_postgres() -> Option<(diesel::PgConnection, impl Drop)> {
    use diesel::connection::SimpleConnection;
    use diesel_migrations::MigrationHarness;

    struct Dropped(diesel::PgConnection, String);
    impl Drop for Dropped {
        fn drop(&mut self) {
            let _ = self
                .0
                .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.1));
        }
    }

    let Some(url) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true requires TEST_DATABASE_URL: the PostgreSQL tests must run in CI"
        );
        eprintln!("skipped: set TEST_DATABASE_URL to run the PostgreSQL variant");
        return None;
    };
    let name = format!("portcullis_store_{}", uuid::Uuid::now_v7().simple());
    let mut admin = diesel::PgConnection::establish(&url).unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, query) = url
        .split_once('?')
        .map_or((url.as_str(), ""), |(b, q)| (b, q));
    let scratch = format!(
        "{}/{name}{}{query}",
        &base[..base.rfind('/').unwrap()],
        if query.is_empty() { "" } else { "?" }
    );
    let guard = Dropped(admin, name);
    let mut conn = diesel::PgConnection::establish(&scratch).unwrap();
    conn.run_pending_migrations(crate::database::POSTGRES_MIGRATIONS)
        .unwrap();
    Some((conn, guard))
}

/// How often PostgreSQL planned the one prepared statement of this connection whose text is like
/// `pattern`: `(custom plans, generic plans)` (`pg_prepared_statements`).
pub(crate) fn plans_of(conn: &mut crate::DbConnection, pattern: &str) -> (i64, i64) {
    use diesel::RunQueryDsl;
    use diesel::sql_types::{BigInt, Text};

    #[derive(diesel::QueryableByName)]
    struct Plans {
        #[diesel(sql_type = BigInt)]
        custom_plans: i64,
        #[diesel(sql_type = BigInt)]
        generic_plans: i64,
    }

    let mut found: Vec<Plans> = diesel::sql_query(
        "SELECT custom_plans, generic_plans FROM pg_prepared_statements WHERE statement LIKE $1",
    )
    .bind::<Text, _>(pattern)
    .load(conn)
    .unwrap();
    assert_eq!(found.len(), 1, "one prepared statement like {pattern}");
    let plans = found.remove(0);
    (plans.custom_plans, plans.generic_plans)
}

/// The text of every statement `pg` starts from now on, in order (a test takes or clears it to
/// count a call's round trips).
pub(crate) fn record_statements(
    pg: &mut diesel::PgConnection,
) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    use diesel::connection::InstrumentationEvent;

    let statements = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&statements);
    pg.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            sink.lock().unwrap().push(query.to_string());
        }
    });
    statements
}
