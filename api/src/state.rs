use std::sync::Arc;

use actix_web::web;
use chrono::{DateTime, Utc};
use diesel::Connection;
use portcullis_domain::Clock;
use portcullis_persistence::repo::settings::{self, StoredSettings};
use portcullis_persistence::{Database, DbConnection};

use crate::cache::HotCache;
use crate::error::ApiError;
use crate::group_commit::GroupCommit;
use crate::jwt::JwtVerifier;
use crate::notify::dispatcher::Dispatcher;
use crate::rate_limit::PrincipalRateLimiter;
use crate::services::{self, Prepared, Recheck, STALE_RETRIES, Written};
use crate::tx::Tx;

/// Moved to `crate::clock` (below the configuration, which names it); kept here for existing paths.
pub use crate::clock::SystemClock;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub jwt: Arc<JwtVerifier>,
    pub clock: Arc<dyn Clock>,
    /// Delivers the outbox; woken after every write.
    pub notifier: Arc<Dispatcher>,
    /// Requests per principal and minute.
    pub rate_limit: Arc<PrincipalRateLimiter>,
    /// SQLite's writer thread, batching concurrent writes into one commit; `None` on PostgreSQL,
    /// whose connections write in parallel.
    pub group_commit: Option<Arc<GroupCommit>>,
    /// The callers and settings most requests read (see [`HotCache`] for how fresh they are).
    pub cache: Arc<HotCache>,
    /// AuthZEN: the public URL and the key of binding tokens.
    pub pdp: Arc<crate::authzen::pdp::Pdp>,
    /// On PostgreSQL, the turns for its one pool's connections, handed to reads and writes in
    /// arrival order (see [`AppState::turn`]); `None` on SQLite, whose reads finish in microseconds
    /// and whose writes queue for the group commit.
    pub turns: Option<Arc<tokio::sync::Semaphore>>,
}

impl AppState {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The settings, from the cache when a copy is fresh.
    pub async fn settings(&self) -> Result<StoredSettings, ApiError> {
        let generation = self.cache.settings_generation();
        if let Some(settings) = self.cache.settings(generation) {
            return Ok(settings);
        }
        let settings = self.read(|conn| Ok(settings::get(conn)?)).await?;
        self.cache.remember_settings(generation, settings.clone());
        Ok(settings)
    }

    /// A turn for one of PostgreSQL's pooled connections (`None` on SQLite): as many turns as the
    /// pool has connections, handed out first come first served; the caller gives it back on the
    /// blocking thread right after the connection, so the next one need not wait for the answer to
    /// be polled.
    ///
    /// The pool alone is not fair: a connection given back goes to whichever blocking thread asks
    /// next, and a thread woken to take it often finds it taken. Under a closed loop of 16 callers
    /// on a pool of 6, some one-statement reads waited hundreds of milliseconds while most took one
    /// or two, and writes up to 90 ms.
    async fn turn(&self) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, ApiError> {
        let Some(turns) = &self.turns else {
            return Ok(None);
        };
        Arc::clone(turns)
            .acquire_owned()
            .await
            .map(Some)
            .map_err(|_| ApiError::internal("the server is shutting down"))
    }

    /// Runs read-only database work on the blocking pool, never on an actix worker thread (on
    /// PostgreSQL after its [`turn`](AppState::turn)).
    pub async fn read<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let turn = self.turn().await?;
        let db = self.db.clone();
        web::block(move || {
            let mut pooled = db.reader()?;
            let result = work(&mut pooled);
            if result.is_ok() {
                pooled.vouch();
            }
            // The connection goes back to the pool, then the turn (see `turn`).
            drop(pooled);
            drop(turn);
            result
        })
        .await?
    }

    /// [`AppState::read`] for a point read on the hot path (an AuthZEN evaluation): on SQLite,
    /// when a reader connection is free at once, the work runs right here (an index lookup in
    /// process, tens of microseconds: less than the hand-off to the blocking pool and back);
    /// otherwise, and always on PostgreSQL (network waits), on the blocking pool.
    pub async fn read_point<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        if self.db.backend() == portcullis_persistence::Backend::Sqlite
            && let Some(mut pooled) = self.db.try_reader()
        {
            let result = work(&mut pooled);
            if result.is_ok() {
                pooled.vouch();
            }
            return result;
        }
        self.read(work).await
    }

    /// Runs database work that writes in one transaction (on PostgreSQL, on the blocking pool after
    /// its [`turn`](AppState::turn); on SQLite, in a savepoint of the writer thread's next group
    /// commit): everything `work` does (the change and its audit event) commits together or not at
    /// all, before this returns.
    pub async fn write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut Tx) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let (value, queued) = match &self.group_commit {
            Some(group_commit) => group_commit.write(work).await?,
            None => {
                let turn = self.turn().await?;
                let (db, email) = (self.db.clone(), self.notifier.email_enabled());
                web::block(move || {
                    let mut pooled = db.writer()?;
                    let conn: &mut DbConnection = &mut pooled;
                    let result = conn.transaction(|conn| {
                        let mut tx = Tx::new(conn, email);
                        work(&mut tx).map(|value| (value, tx.has_queued()))
                    });
                    if result.is_ok() {
                        pooled.vouch();
                    }
                    drop(pooled);
                    drop(turn);
                    result
                })
                .await??
            }
        };
        if queued {
            // Deliver what the write queued now rather than at the next poll. Writes that queued
            // nothing leave the dispatcher asleep (its pass would take SQLite's one writer
            // connection to find nothing).
            self.notifier.wake();
        }
        Ok(value)
    }

    /// Runs a write in two halves: `prepare` reads what the write depends on and decides it;
    /// `commit` re-checks in the write transaction that what it relied on is unchanged (answering
    /// [`Written::Stale`] before writing anything if not) and writes. On SQLite `prepare` runs on
    /// the parallel reader pool, so that the one writer thread does only the re-checks and the
    /// writes; a stale plan is prepared again. On PostgreSQL both halves run in one transaction.
    pub async fn read_then_write<P, T, R, W>(&self, prepare: R, commit: W) -> Result<T, ApiError>
    where
        P: Send + 'static,
        T: Send + 'static,
        R: Fn(&mut DbConnection, Recheck) -> Result<Prepared<P, T>, ApiError>
            + Clone
            + Send
            + 'static,
        W: Fn(&mut Tx, P, Recheck) -> Result<Written<T>, ApiError> + Clone + Send + 'static,
    {
        if self.group_commit.is_none() {
            return self
                .write(move |conn| services::read_then_write(conn, prepare, commit))
                .await;
        }
        for _ in 0..STALE_RETRIES {
            // One read transaction, so that everything the plan relies on is one snapshot.
            let prepare = prepare.clone();
            let plan = match self
                .read(move |conn| conn.transaction(|conn| prepare(conn, Recheck::Yes)))
                .await?
            {
                Prepared::Answer(answer) => return Ok(answer),
                Prepared::Write(plan) => plan,
            };
            let commit = commit.clone();
            if let Written::Done(answer) = self
                .write(move |conn| commit(conn, plan, Recheck::Yes))
                .await?
            {
                return Ok(answer);
            }
        }
        Err(services::stale())
    }
}
