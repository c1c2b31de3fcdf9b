//! The one-shot commands (`migrate`, `create-admin`, `token`, `seed-demo`) exit cleanly over TLS.
//!
//! They once died with SIGSEGV in 7–25% of runs against a PostgreSQL with TLS, after their work was
//! done: the pool reopened its idle connection on a background thread while the process exited and
//! OpenSSL's exit handlers ran. Each command runs many times here, each run a new process.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::helpers::{SECRET, TestDatabase, server_binary};

/// Runs of each command: at the old failure rates (7–25%), 50 runs all passing by chance has a
/// probability under 3%.
const RUNS: usize = 50;

#[derive(diesel::QueryableByName)]
struct Tls {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    ssl: bool,
}

/// `url` with `sslmode=require`, whatever mode it named.
fn with_tls_required(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("sslmode="))
        .collect();
    params.push("sslmode=require");
    format!("{base}?{}", params.join("&"))
}

fn run(url: &str, args: &[&str]) -> Output {
    Command::new(server_binary())
        .args(args)
        .env("DATABASE_URL", url)
        .env("PORTCULLIS_JWT_SECRET", SECRET)
        .env("PORTCULLIS_LOG_FORMAT", "json")
        .output()
        .unwrap()
}

fn describe(output: &Output) -> String {
    match output.status.signal() {
        Some(signal) => format!("killed by signal {signal}"),
        None => format!(
            "exit {:?}: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    }
}

#[test]
#[cfg_attr(
    postgres_tests_skipped,
    ignore = "set TEST_DATABASE_URL to run the PostgreSQL tests"
)]
fn one_shot_commands_exit_cleanly_over_tls_on_postgres() {
    let Some(database) = TestDatabase::postgres_if_configured() else {
        return;
    };
    let url = with_tls_required(&database.url);
    let mut conn = PgConnection::establish(&url)
        .unwrap_or_else(|e| panic!("PostgreSQL must accept TLS for this test (ssl = on): {e}"));
    let tls = diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result::<Tls>(&mut conn)
        .unwrap();
    assert!(tls.ssl, "the connection is not encrypted");
    drop(conn);

    let commands: [&[&str]; 4] = [
        &["migrate"],
        &[
            "create-admin",
            "--email",
            "ops@example.com",
            "--name",
            "Ops",
        ],
        &["token", "--email", "ops@example.com", "--ttl", "60"],
        &["seed-demo"],
    ];
    let mut failures = Vec::new();
    for args in commands {
        for attempt in 0..RUNS {
            let output = run(&url, args);
            if !output.status.success() {
                failures.push(format!(
                    "{} (run {attempt}): {}",
                    args[0],
                    describe(&output)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} runs failed:\n{}",
        failures.len(),
        commands.len() * RUNS,
        failures.join("\n")
    );
    // The token printed is one: a JWT, on one line.
    let token = run(&url, &["token", "--email", "ops@example.com"]);
    assert_eq!(
        String::from_utf8_lossy(&token.stdout)
            .trim()
            .split('.')
            .count(),
        3
    );
}

#[test]
fn tls_is_required_in_the_url_whatever_it_named() {
    assert_eq!(
        with_tls_required("postgres://u@h:5432/db"),
        "postgres://u@h:5432/db?sslmode=require"
    );
    assert_eq!(
        with_tls_required("postgres://u@h/db?sslmode=disable&application_name=x"),
        "postgres://u@h/db?application_name=x&sslmode=require"
    );
}
