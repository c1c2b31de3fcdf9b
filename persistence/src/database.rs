use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::connection::{Backend, ConnectionManager as Manager, DatabaseTarget, DbConnection};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Serialises migrations between replicas starting at once on one PostgreSQL ("PRTCLS" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x5052_5443_4c53;

/// How long a request waits for a pooled connection before it is told the service is busy
/// (r2d2's default of 30 s would also make a wrong `DATABASE_URL` hang start-up that long).
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

pub type PooledConnection = r2d2::PooledConnection<Manager>;

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("cannot connect to {target:?}: {source}")]
    Connect {
        target: DatabaseTarget,
        source: diesel::r2d2::Error,
    },
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("database: {0}")]
    Query(diesel::result::Error),
}

/// A WAL this long (in 4 KiB pages: 16 MiB) is checkpointed completely, so that it restarts.
const WAL_RESTART_PAGES: i64 = 4096;

/// Who checkpoints SQLite's write-ahead log into the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoints {
    /// SQLite's default: the commit that takes the WAL past 1,000 pages checkpoints it, fsyncs
    /// included, before its caller is answered. For tools and short-lived processes.
    OnCommit,
    /// The writer never checkpoints; the owner calls [`Database::checkpoint`] regularly (the server
    /// does, from a background task), so no request waits for a checkpoint's fsyncs.
    Background,
}

#[derive(Debug)]
struct NoAutoCheckpoint;

impl r2d2::CustomizeConnection<DbConnection, diesel::r2d2::Error> for NoAutoCheckpoint {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute("PRAGMA wal_autocheckpoint = 0")
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Connection pools for one database.
///
/// SQLite allows one writer at a time and starves WAL checkpoints when several connections write,
/// so writes go through a dedicated pool of one connection while reads use the shared pool.
/// On PostgreSQL both are the same pool.
#[derive(Clone)]
pub struct Database {
    backend: Backend,
    reader: r2d2::Pool<Manager>,
    writer: r2d2::Pool<Manager>,
}

/// Pool usage, for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct PoolStatus {
    pub role: &'static str,
    pub size: u32,
    pub idle: u32,
    pub max_size: u32,
}

impl Database {
    /// Connects (failing fast with the driver's own message) and builds the pools.
    pub fn connect(target: &DatabaseTarget, pool_size: u32) -> Result<Self, DatabaseError> {
        Self::connect_with(target, pool_size, Checkpoints::OnCommit)
    }

    /// As [`Database::connect`], choosing who checkpoints SQLite's WAL (PostgreSQL ignores it).
    pub fn connect_with(
        target: &DatabaseTarget,
        pool_size: u32,
        checkpoints: Checkpoints,
    ) -> Result<Self, DatabaseError> {
        // One direct connection first: a bad URL or password fails here with libpq's or SQLite's
        // message instead of a pool time-out.
        target.connect().map_err(|source| DatabaseError::Connect {
            target: target.clone(),
            source,
        })?;
        // A PostgreSQL connection can die while pooled (server restart, network), so it is pinged
        // when checked out; a SQLite connection is a file handle that cannot, so it is not.
        let ping = target.backend() == Backend::Postgres;
        let builder = |max_size: u32| {
            r2d2::Pool::builder()
                .max_size(max_size.max(1))
                .min_idle(Some(1))
                .connection_timeout(CHECKOUT_TIMEOUT)
                .test_on_check_out(ping)
        };
        let manager = || Manager {
            target: target.clone(),
        };
        let reader = builder(pool_size).build(manager())?;
        let writer = match target.backend() {
            Backend::Sqlite => match checkpoints {
                Checkpoints::OnCommit => builder(1).build(manager())?,
                Checkpoints::Background => builder(1)
                    .connection_customizer(Box::new(NoAutoCheckpoint))
                    .build(manager())?,
            },
            Backend::Postgres => reader.clone(),
        };
        Ok(Self {
            backend: target.backend(),
            reader,
            writer,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection for queries that only read.
    pub fn reader(&self) -> Result<PooledConnection, DatabaseError> {
        Ok(self.reader.get()?)
    }

    /// The connection for anything that writes.
    pub fn writer(&self) -> Result<PooledConnection, DatabaseError> {
        Ok(self.writer.get()?)
    }

    /// Applies pending migrations and returns their names. Safe to run from several replicas at once.
    pub fn run_migrations(&self) -> Result<Vec<String>, DatabaseError> {
        let mut conn = self.writer()?;
        let failed =
            |e: Box<dyn std::error::Error + Send + Sync>| DatabaseError::Migration(e.to_string());
        let names = |applied: Vec<diesel::migration::MigrationVersion<'_>>| {
            applied.iter().map(ToString::to_string).collect::<Vec<_>>()
        };
        match &mut *conn {
            DbConnection::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(names)
                .map_err(failed),
            DbConnection::Postgres(c) => {
                let lock = format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})");
                c.batch_execute(&lock)
                    .map_err(|e| DatabaseError::Migration(e.to_string()))?;
                let result = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(names)
                    .map_err(failed);
                let unlock = format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})");
                c.batch_execute(&unlock)
                    .map_err(|e| DatabaseError::Migration(e.to_string()))?;
                result
            }
        }
    }

    /// Copies what the WAL holds into the database file without blocking the writer (SQLite's
    /// `PASSIVE` checkpoint, on a reader connection). Under a steady stream of writes that pass never
    /// catches up with the writer, and SQLite starts the WAL again from its beginning only after a
    /// checkpoint has copied every frame; so past [`WAL_RESTART_PAGES`] a second passive pass runs on
    /// the writer connection itself, between two writes, copying the little the first pass left.
    /// The next write then restarts the WAL (unless a reader that began before is still on it; a
    /// later pass catches up). It never waits for readers, so a long export cannot hold writes up.
    /// Returns the WAL's size in pages. Nothing to do on PostgreSQL.
    pub fn checkpoint(&self) -> Result<i64, DatabaseError> {
        let log = Self::passive_checkpoint(&mut *self.reader()?)?;
        if log < WAL_RESTART_PAGES {
            return Ok(log);
        }
        Self::passive_checkpoint(&mut *self.writer()?)
    }

    /// One `PASSIVE` checkpoint on `conn`; the WAL's size in pages.
    fn passive_checkpoint(conn: &mut DbConnection) -> Result<i64, DatabaseError> {
        #[derive(diesel::QueryableByName)]
        struct Wal {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            log: i64,
        }
        match conn {
            DbConnection::Sqlite(c) => {
                use diesel::RunQueryDsl;
                let wal: Wal = diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
                    .get_result(c)
                    .map_err(DatabaseError::Query)?;
                Ok(wal.log)
            }
            DbConnection::Postgres(_) => Ok(0),
        }
    }

    /// Whether the database answers a trivial query (for `/readyz`).
    pub fn ping(&self) -> Result<(), DatabaseError> {
        let mut conn = self.reader()?;
        conn.batch_execute("SELECT 1")
            .map_err(|e| DatabaseError::Migration(e.to_string()))
    }

    pub fn pool_status(&self) -> Vec<PoolStatus> {
        let status = |role, pool: &r2d2::Pool<Manager>| {
            let state = pool.state();
            PoolStatus {
                role,
                size: state.connections,
                idle: state.idle_connections,
                max_size: pool.max_size(),
            }
        };
        match self.backend {
            Backend::Sqlite => vec![status("read", &self.reader), status("write", &self.writer)],
            Backend::Postgres => vec![status("shared", &self.reader)],
        }
    }
}
