//! A fresh database per test (a SQLite file, or a new PostgreSQL database), removed when it ends.

use super::*;

/// A fresh database that is removed when the test ends.
pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(std::path::PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join("portcullis-tests");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!(
            "{}-{}-{}.db",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            uuid::Uuid::now_v7().simple()
        ));
        Self {
            url: path.display().to_string(),
            cleanup: Cleanup::SqliteFile(path),
        }
    }

    /// A new PostgreSQL database, or `None` (a skip) when none is configured outside CI.
    pub fn postgres_if_configured() -> Option<Self> {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Some(Self::postgres(&url)),
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true requires TEST_DATABASE_URL: the PostgreSQL tests must run in CI")
            }
            _ => {
                eprintln!("skipped: set TEST_DATABASE_URL to run the PostgreSQL variant");
                None
            }
        }
    }

    /// A new, empty PostgreSQL database beside the one `TEST_DATABASE_URL` names.
    pub(super) fn postgres(admin_url: &str) -> Self {
        let name = format!("portcullis_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::establish(admin_url).unwrap_or_else(|e| {
            panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}")
        });
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .unwrap();
        Self {
            url: replace_database(admin_url, &name),
            cleanup: Cleanup::PostgresDatabase {
                admin_url: admin_url.to_owned(),
                name,
            },
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                if let Ok(mut conn) = PgConnection::establish(admin_url) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn);
                }
            }
        }
    }
}

/// `postgres://u@h:5432/test?x=y` with the database name replaced.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let prefix = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{prefix}/{name}?{query}"),
        None => format!("{prefix}/{name}"),
    }
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        replace_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        replace_database("postgresql://u:p@h/test?sslmode=disable", "x"),
        "postgresql://u:p@h/x?sslmode=disable"
    );
    assert_eq!(replace_database("postgres://h", "x"), "postgres://h/x");
}
