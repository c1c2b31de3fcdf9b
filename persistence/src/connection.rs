//! The two backends, named in one place: the connection, the engine and the target a URL selects.
//! Code elsewhere asks `backend()` or `per_value()` where the engines must be treated differently,
//! and says why there.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::r2d2::R2D2Connection;
use diesel::{Connection, PgConnection, SqliteConnection};

/// One connection to whichever backend `DATABASE_URL` selected.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Lists up to this long are looked up one value at a time on SQLite (see [`DbConnection::per_value`]).
const PER_VALUE_LIMIT: usize = 64;

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Sqlite(_) => Backend::Sqlite,
            DbConnection::Postgres(_) => Backend::Postgres,
        }
    }

    /// Whether a lookup of `len` values should run one cached statement per value rather than one
    /// `IN (?, ?, …)` statement. On SQLite the text of such a statement changes with the list's
    /// length, so diesel cannot cache it and SQLite parses and plans it on every call (tens of
    /// microseconds), while a cached one-value statement runs in a few microseconds in-process.
    /// PostgreSQL binds the list as one array (`= ANY($1)`), a cached statement and one round trip.
    pub fn per_value(&self, len: usize) -> bool {
        matches!(self, DbConnection::Sqlite(_)) && len <= PER_VALUE_LIMIT
    }
}

/// The database engine behind a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// Where to connect, decided by the URL's scheme: `postgres://` or `postgresql://` select
/// PostgreSQL; `sqlite:` or a plain path select a SQLite file.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Sqlite { path: String },
    Postgres { url: String },
}

impl DatabaseTarget {
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("must not be empty".to_owned());
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres {
                url: url.to_owned(),
            });
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err("a sqlite: URL needs a file path".to_owned());
        }
        if path == ":memory:" {
            return Err(
                "an in-memory SQLite database cannot be shared by a pool; use a file path"
                    .to_owned(),
            );
        }
        if let Some((scheme, _)) = path.split_once("://") {
            return Err(format!(
                "unsupported scheme '{scheme}': use a SQLite path or postgres://"
            ));
        }
        Ok(Self::Sqlite {
            path: path.to_owned(),
        })
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite { .. } => Backend::Sqlite,
            Self::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Opens one connection, with libpq's or SQLite's own error message on failure.
    pub(crate) fn connect(&self) -> Result<DbConnection, diesel::r2d2::Error> {
        match self {
            Self::Postgres { url } => PgConnection::establish(url)
                .map(DbConnection::Postgres)
                .map_err(diesel::r2d2::Error::ConnectionError),
            Self::Sqlite { path } => {
                let mut conn = SqliteConnection::establish(path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // busy_timeout first: switching to WAL needs a lock that parallel pool start-up contends for.
                // Temporary storage in memory: a savepoint's journal (every write of a group commit
                // has one) would otherwise spill to a file created and deleted per write.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000;
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;
                     PRAGMA temp_store = MEMORY;",
                )
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// Hides a PostgreSQL URL's password when printed.
impl fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite { path } => write!(f, "sqlite:{path}"),
            Self::Postgres { url } => f.write_str(&redact_password(url)),
        }
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// A connection that just finished work successfully is handed out again without a ping if it comes
/// back within this window (HikariCP's `aliveBypassWindowMs` has the same default): under load a
/// PostgreSQL round trip per checkout is a tenth of a request's statements, and a connection that
/// answered half a second ago is as good as proven alive.
pub const ALIVE_BYPASS: Duration = Duration::from_millis(500);

/// What the pools hold: a connection, and when work on it last succeeded (see [`Pooled::vouch`]).
/// Dereferences to the [`DbConnection`].
pub struct Pooled {
    conn: DbConnection,
    vouched: Option<Instant>,
}

impl Pooled {
    /// Records that work on this connection just succeeded, so that its next checkout within
    /// [`ALIVE_BYPASS`] skips the ping. Work that failed leaves it unvouched: whatever failed (the
    /// server may have closed the connection) is then found by the ping, which replaces a dead
    /// connection instead of handing it out again.
    pub fn vouch(&mut self) {
        self.vouched = Some(Instant::now());
    }
}

impl Deref for Pooled {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// r2d2 manager that picks the backend by URL scheme (the derived `establish` would try each
/// backend in turn and hide the real error).
pub struct ConnectionManager {
    pub(crate) target: DatabaseTarget,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        Ok(Pooled {
            conn: self.target.connect()?,
            vouched: None,
        })
    }

    /// Pings (`SELECT 1`) unless the connection was vouched for within [`ALIVE_BYPASS`]; the
    /// pools call it on checkout only on PostgreSQL.
    fn is_valid(&self, conn: &mut Pooled) -> Result<(), Self::Error> {
        if conn
            .vouched
            .take()
            .is_some_and(|at| at.elapsed() < ALIVE_BYPASS)
        {
            return Ok(());
        }
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    /// A connection whose transaction state diesel could not restore (a failed rollback), or that
    /// comes back from a panicking thread, is closed rather than pooled again.
    fn has_broken(&self, conn: &mut Pooled) -> bool {
        std::thread::panicking() || conn.conn.is_broken()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_selects_the_backend() {
        assert_eq!(
            DatabaseTarget::parse("portcullis.db").unwrap().backend(),
            Backend::Sqlite
        );
        assert_eq!(
            DatabaseTarget::parse("sqlite:data/p.db").unwrap(),
            DatabaseTarget::Sqlite {
                path: "data/p.db".into()
            }
        );
        assert_eq!(
            DatabaseTarget::parse("sqlite:///tmp/p.db").unwrap(),
            DatabaseTarget::Sqlite {
                path: "/tmp/p.db".into()
            }
        );
        assert_eq!(
            DatabaseTarget::parse("postgres://u@h/db")
                .unwrap()
                .backend(),
            Backend::Postgres
        );
        assert_eq!(
            DatabaseTarget::parse("postgresql://u@h/db")
                .unwrap()
                .backend(),
            Backend::Postgres
        );
    }

    #[test]
    fn unusable_urls_are_rejected_with_a_reason() {
        assert!(DatabaseTarget::parse("").is_err());
        assert!(DatabaseTarget::parse("sqlite:").is_err());
        assert!(DatabaseTarget::parse(":memory:").is_err());
        assert!(
            DatabaseTarget::parse("mysql://root@localhost/db")
                .unwrap_err()
                .contains("mysql")
        );
    }

    /// `.cargo/config.toml` sets the bundled SQLite's compile-time options through
    /// `LIBSQLITE3_FLAGS`; an environment that sets the variable itself, or a libsqlite3-sys that
    /// stops reading it, would build without them, which only the benchmarks would notice.
    #[test]
    fn the_bundled_sqlite_is_built_with_the_options_the_cargo_config_sets() {
        use diesel::RunQueryDsl;
        use diesel::sql_types::Text;

        #[derive(diesel::QueryableByName)]
        struct CompileOption {
            #[diesel(sql_type = Text)]
            compile_options: String,
        }

        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let options: Vec<String> = diesel::sql_query("PRAGMA compile_options")
            .load::<CompileOption>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|o| o.compile_options)
            .collect();
        assert!(options.iter().any(|o| o == "THREADSAFE=1"), "{options:?}");
        for wanted in ["ENABLE_QPSG", "DEFAULT_MEMSTATUS=0"] {
            assert!(options.iter().any(|o| o == wanted), "{wanted}: {options:?}");
        }
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "one page cache and one mutex for every connection: {options:?}"
        );
    }

    #[test]
    fn debug_output_never_shows_a_password() {
        let target = DatabaseTarget::parse("postgres://app:s3cret@db:5432/portcullis").unwrap();
        let printed = format!("{target:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(printed.contains("app:***@db:5432"), "{printed}");
    }
}
