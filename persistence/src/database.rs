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
        // One direct connection first: a bad URL or password fails here with libpq's or SQLite's
        // message instead of a pool time-out.
        target.connect().map_err(|source| DatabaseError::Connect {
            target: target.clone(),
            source,
        })?;
        let pool = |max_size: u32| {
            r2d2::Pool::builder()
                .max_size(max_size.max(1))
                .min_idle(Some(1))
                .connection_timeout(CHECKOUT_TIMEOUT)
                .build(Manager {
                    target: target.clone(),
                })
        };
        let reader = pool(pool_size)?;
        let writer = match target.backend() {
            Backend::Sqlite => pool(1)?,
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
