//! Group commit for SQLite's single writer.
//!
//! SQLite takes one write transaction at a time, and each commit appends every page it dirtied to
//! the WAL. With one transaction per HTTP request, concurrent writes queue on the writer's pool
//! (one blocking thread each, waking in turn) and pages that every write touches (the tail of a
//! table, the right edge of an index on a time-ordered key) are written again by every commit.
//!
//! Here one thread owns the writes: handlers send their write closures over a channel; the thread
//! takes whatever is waiting (up to [`MAX_BATCH`]), runs each in its own savepoint inside one
//! transaction, commits once, and only then answers each caller. A write that fails rolls back to
//! its savepoint alone and gets its own error; the others still commit. Nobody is answered before
//! the commit that makes their write durable, so a 2xx still means "stored" (the SIGKILL test in
//! `tests/tests/api/crash.rs` holds this to account).

use std::panic::{AssertUnwindSafe, catch_unwind};

use diesel::Connection;
use diesel::connection::TransactionManager;
use portcullis_persistence::{Database, DbConnection};
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiError;
use crate::tx::Tx;

/// The most writes one transaction carries: enough to amortise a commit over every connection a
/// busy server has open, small enough that a batch's latency stays a few milliseconds.
const MAX_BATCH: usize = 64;

/// Writes waiting beyond this make their callers wait to enqueue (back-pressure, not memory growth).
const QUEUE_CAPACITY: usize = 1024;

type TxManager = <DbConnection as Connection>::TransactionManager;

/// Called once the batch's fate is known: `Ok` after the commit, `Err` with why it did not commit.
type Outcome = Box<dyn FnOnce(Result<(), &str>) + Send>;
/// A write: it runs on the batch's connection, told whether this server sends email.
type Job = Box<dyn FnOnce(&mut DbConnection, bool) -> Outcome + Send>;

/// The handle handlers write through; cheap to share.
pub struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writer thread. It ends when the last handle is dropped.
    pub fn start(db: Database, email: bool) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel(QUEUE_CAPACITY);
        std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || run(&db, email, queue))?;
        Ok(Self { jobs })
    }

    /// Runs `work` in its own savepoint of the next batch and returns its result once the batch
    /// has committed, with whether it queued notifications. If `work` fails, nothing it did is
    /// kept and its error is returned.
    pub async fn write<T, F>(&self, work: F) -> Result<(T, bool), ApiError>
    where
        F: FnOnce(&mut Tx) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |conn, email| {
            // Nested in the batch's transaction, diesel runs this in a savepoint.
            let result = conn.transaction(|conn| {
                let mut tx = Tx::new(conn, email);
                work(&mut tx).map(|value| (value, tx.has_queued()))
            });
            Box::new(move |committed: Result<(), &str>| {
                let result = match (result, committed) {
                    (Ok(_), Err(reason)) => Err(ApiError::Internal(format!(
                        "the write was not committed: {reason}"
                    ))),
                    (result, _) => result,
                };
                // The caller may have gone (client disconnected); the write stands regardless.
                let _ = answer.send(result);
            })
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| ApiError::Unavailable("the database writer has stopped".to_owned()))?;
        answered.await.map_err(|_| {
            ApiError::Unavailable("the write was not carried out; nothing was stored".to_owned())
        })?
    }
}

fn run(db: &Database, email: bool, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.blocking_recv() {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit(db, email, batch);
    }
}

/// Runs one batch in one transaction. Dropping a job unrun (or its outcome) tells its caller that
/// nothing was stored.
fn commit(db: &Database, email: bool, batch: Vec<Job>) {
    let mut pooled = match db.writer() {
        Ok(pooled) => pooled,
        Err(error) => {
            tracing::error!(%error, writes = batch.len(), "no database connection for a batch of writes");
            return;
        }
    };
    let conn: &mut DbConnection = &mut pooled;
    if let Err(error) = TxManager::begin_transaction(conn) {
        tracing::error!(%error, writes = batch.len(), "cannot begin a write transaction");
        return;
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        match catch_unwind(AssertUnwindSafe(|| job(&mut *conn, email))) {
            Ok(outcome) => outcomes.push(outcome),
            Err(_) => {
                // The job's savepoint is still open: undo it alone; its caller learns that
                // nothing was stored when its answer channel is dropped.
                tracing::error!("a write panicked; its changes are rolled back");
                if let Err(error) = TxManager::rollback_transaction(conn) {
                    tracing::error!(%error, "cannot roll back a panicked write; dropping its batch");
                    let _ = TxManager::rollback_transaction(conn);
                    fail(outcomes, "another write in its batch failed");
                    return;
                }
            }
        }
    }
    match TxManager::commit_transaction(conn) {
        Ok(()) => outcomes.into_iter().for_each(|outcome| outcome(Ok(()))),
        Err(error) => {
            tracing::error!(%error, writes = outcomes.len(), "a batch of writes did not commit");
            let _ = TxManager::rollback_transaction(conn);
            fail(outcomes, "the commit failed");
        }
    }
}

fn fail(outcomes: Vec<Outcome>, reason: &str) {
    for outcome in outcomes {
        outcome(Err(reason));
    }
}
