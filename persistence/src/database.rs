use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::connection::{
    Backend, ConnectionManager as Manager, DatabaseTarget, DbConnection, Pooled,
};

pub(crate) const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
pub(crate) const POSTGRES_MIGRATIONS: EmbeddedMigrations =
    embed_migrations!("../migrations/postgres");

/// Serialises migrations between replicas starting at once on one PostgreSQL ("PRTCLS" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x5052_5443_4c53;

/// How long a request waits for a pooled connection before it is told the service is busy
/// (r2d2's default of 30 s would also make a wrong `DATABASE_URL` hang start-up that long).
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

mod checkpoint;

use checkpoint::{WAL_RESTART_PAGES, database_file};

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
    #[error("database file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("syncing the database file: {0}")]
    Sync(std::io::Error),
}

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

/// The SQLite writer's page cache, in KiB (SQLite's default is 2,000).
const WRITER_CACHE_KIB: i64 = 32 * 1024;

/// Sets up SQLite's writer connection: a page cache large enough for the pages writes keep
/// coming back to (the upper levels of every index and the pages being filled), and who
/// checkpoints.
#[derive(Debug)]
struct WriterSetup {
    checkpoints: Checkpoints,
}

impl r2d2::CustomizeConnection<Pooled, diesel::r2d2::Error> for WriterSetup {
    fn on_acquire(&self, conn: &mut Pooled) -> Result<(), diesel::r2d2::Error> {
        let mut pragmas = format!("PRAGMA cache_size = -{WRITER_CACHE_KIB};");
        if self.checkpoints == Checkpoints::Background {
            pragmas.push_str("PRAGMA wal_autocheckpoint = 0;");
        }
        conn.batch_execute(&pragmas)
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
    /// Set by [`Database::checkpoint`] once its passes have (nearly) caught up with a long WAL:
    /// the writer's next checkout finishes the checkpoint so that the WAL can restart.
    restart_due: Arc<AtomicBool>,
    /// [`WAL_RESTART_PAGES`], smaller in tests.
    restart_pages: i64,
    /// SQLite's database file, when [`Database::checkpoint`] runs: synced after its passes.
    file: Option<Arc<File>>,
    /// How far into the WAL the database file was last synced by [`Database::checkpoint`].
    synced: Arc<AtomicI64>,
}

/// How many connections a pool keeps open while none is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Idle {
    /// One, reopened in the background when it is checked out (a server: the next request does not
    /// wait for a connection to be made).
    KeepOne,
    /// None: connections are opened only when asked for (see [`Database::connect_for_command`]).
    None,
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
        Self::build(target, pool_size, checkpoints, Idle::KeepOne)
    }

    /// For a one-shot command (`migrate`, `create-admin`, `token`, `seed-demo`): one connection,
    /// opened when first asked for and never replaced in the background.
    ///
    /// A server's pools keep a connection idle: each checkout of the idle one has r2d2 open its
    /// replacement on a pool thread. A command that exits right after its work would then exit
    /// while that thread is in libpq's TLS handshake (or closing a connection it just made), and
    /// OpenSSL's exit handlers free what the thread is using: SIGSEGV after the work was done, in
    /// 7–25% of runs over TLS. Here nothing is opened but what the caller waits for, and dropping
    /// the `Database` closes it on the caller's thread, before the process exits.
    pub fn connect_for_command(target: &DatabaseTarget) -> Result<Self, DatabaseError> {
        Self::build(target, 1, Checkpoints::OnCommit, Idle::None)
    }

    fn build(
        target: &DatabaseTarget,
        pool_size: u32,
        checkpoints: Checkpoints,
        idle: Idle,
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
                .min_idle(Some(match idle {
                    Idle::KeepOne => 1,
                    Idle::None => 0,
                }))
                .connection_timeout(CHECKOUT_TIMEOUT)
                .test_on_check_out(ping)
        };
        let manager = || Manager {
            target: target.clone(),
        };
        let reader = builder(pool_size).build(manager())?;
        // SQLite: one writer connection (see `Database`), and the database file, which background
        // checkpoints sync themselves. PostgreSQL writes in parallel through the one pool.
        let (writer, file) = match target {
            DatabaseTarget::Sqlite { path } => (
                builder(1)
                    .connection_customizer(Box::new(WriterSetup { checkpoints }))
                    .build(manager())?,
                match checkpoints {
                    Checkpoints::Background => Some(database_file(path)?),
                    Checkpoints::OnCommit => None,
                },
            ),
            DatabaseTarget::Postgres { .. } => (reader.clone(), None),
        };
        Ok(Self {
            backend: target.backend(),
            reader,
            writer,
            restart_due: Arc::default(),
            restart_pages: WAL_RESTART_PAGES,
            file,
            synced: Arc::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection for queries that only read.
    pub fn reader(&self) -> Result<PooledConnection, DatabaseError> {
        Ok(self.reader.get()?)
    }

    /// A reader connection if one is free at once (never waits for one).
    pub fn try_reader(&self) -> Option<PooledConnection> {
        self.reader.try_get()
    }

    /// The connection for anything that writes. On SQLite, when [`Database::checkpoint`] has
    /// caught up with the WAL, it first finishes that checkpoint (see there).
    pub fn writer(&self) -> Result<PooledConnection, DatabaseError> {
        let mut conn = self.writer.get()?;
        if self.restart_due.swap(false, Ordering::AcqRel) {
            match Self::passive_checkpoint(&mut conn) {
                Ok(pass) if pass.log >= 0 => {}
                // -1: a pass on a reader holds the checkpoint lock. Either way the write goes
                // ahead and the next checkout tries again.
                Ok(_) => self.restart_due.store(true, Ordering::Release),
                Err(error) => {
                    tracing::warn!(%error, "the writer's checkpoint pass failed; retrying");
                    self.restart_due.store(true, Ordering::Release);
                }
            }
        }
        Ok(conn)
    }

    /// Applies pending migrations and returns their names. Safe to run from several replicas at once.
    pub fn run_migrations(&self) -> Result<Vec<String>, DatabaseError> {
        let mut conn = self.writer()?;
        let failed =
            |e: Box<dyn std::error::Error + Send + Sync>| DatabaseError::Migration(e.to_string());
        let names = |applied: Vec<diesel::migration::MigrationVersion<'_>>| {
            applied.iter().map(ToString::to_string).collect::<Vec<_>>()
        };
        // Each backend has its own migrations (`migrations/README.md` says why); PostgreSQL
        // replicas starting at once take turns on an advisory lock, SQLite has one writer anyway.
        match &mut **conn {
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
        // Two pools on SQLite (readers, the one writer), one shared pool on PostgreSQL.
        match self.backend {
            Backend::Sqlite => vec![status("read", &self.reader), status("write", &self.writer)],
            Backend::Postgres => vec![status("shared", &self.reader)],
        }
    }
}
