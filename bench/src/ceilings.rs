//! `portcullis-bench ceilings`: the bare database ceilings of our stack, measured in the same run as
//! the load benchmark so that each operation can be stated as a fraction of them.
//!
//! Each operation runs for `--seconds` after a short warm-up, by `--callers` threads at once (16:
//! the wrk runs' connections) over the server's own pools: `Database::connect_with` with the
//! server's pool size (`PORTCULLIS_DB_POOL_SIZE`, or its default for this machine), its pragmas and
//! its background WAL checkpoints on SQLite, handing connections back vouched for as its handlers do.
//!
//! - **insert**: one row of a scratch table in its own transaction on the writer (on SQLite the one
//!   writer connection; on PostgreSQL the shared pool), the smallest write a create commits.
//! - **read**: one row of the scratch table by primary key on the reader pool, no transaction.
//! - **insert_group_commit** (SQLite only, for reference): the same insert through the server's group
//!   commit (`portcullis_api::group_commit`), which runs every write waiting at that moment in its
//!   own savepoint of one transaction and commits once: what batching changes for a one-row write.
//!
//! The scratch table (`portcullis_bench_ceiling`, a text UUID v7 key like every product table, a
//! timestamp and a 200-byte text) is created first, filled with `PREFILL` rows for the reads, and
//! dropped at the end; no product table is read or written. Prints one JSON line.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{NaiveDateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use portcullis_api::config::DatabaseArgs;
use portcullis_api::group_commit::GroupCommit;
use portcullis_domain::RequestId;
use portcullis_persistence::time::to_db;
use portcullis_persistence::{Backend, Checkpoints, Database, DbConnection};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

const TABLE: &str = "portcullis_bench_ceiling";

/// Rows written before the measurements: the reads pick one of them at random.
const PREFILL: usize = 100_000;

/// How often the server checkpoints SQLite's WAL (`CHECKPOINT_INTERVAL` in `api/src/startup.rs`).
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(50);

diesel::table! {
    portcullis_bench_ceiling (id) {
        id -> Text,
        created_at -> Timestamp,
        payload -> Text,
    }
}

use portcullis_bench_ceiling as ceiling;

#[derive(Insertable)]
#[diesel(table_name = portcullis_bench_ceiling)]
struct Row {
    id: String,
    created_at: NaiveDateTime,
    payload: String,
}

impl Row {
    fn new(n: u64) -> Self {
        Self {
            id: RequestId::new_v7().to_string(),
            created_at: to_db(Utc::now()),
            payload: format!("{n:>200}"),
        }
    }
}

pub struct Options {
    pub database: DatabaseArgs,
    pub seconds: u64,
    pub warmup_seconds: u64,
    pub callers: usize,
}

/// One operation's result, in the fields the wrk script prints.
struct Measured {
    ops: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
    errors: u64,
}

impl Measured {
    fn json(&mut self) -> Value {
        self.latencies_us.sort_unstable();
        let at = |q: f64| -> u32 {
            if self.latencies_us.is_empty() {
                return 0;
            }
            let i = ((self.latencies_us.len() as f64 * q).ceil() as usize).max(1) - 1;
            self.latencies_us[i.min(self.latencies_us.len() - 1)]
        };
        json!({
            "requests": self.ops,
            "duration_us": self.elapsed.as_micros() as u64,
            "rps": self.ops as f64 / self.elapsed.as_secs_f64(),
            "p50_us": at(0.50),
            "p90_us": at(0.90),
            "p99_us": at(0.99),
            "max_us": self.latencies_us.last().copied().unwrap_or(0),
            "errors": self.errors,
        })
    }
}

pub fn run(options: &Options) -> anyhow::Result<()> {
    let settings = options
        .database
        .settings()
        .map_err(|errors| anyhow::anyhow!(errors.join("; ")))?;
    // What the server builds (`Application::build`): the same pools, pragmas and checkpoints.
    let db = Database::connect_with(
        &settings.target,
        settings.pool_size,
        Checkpoints::Background,
    )?;
    let backend = db.backend();
    let stop = Arc::new(AtomicBool::new(false));
    let checkpointer = (backend == Backend::Sqlite).then(|| {
        let (db, stop) = (db.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Err(error) = db.checkpoint() {
                    eprintln!("WAL checkpoint failed: {error}");
                }
                std::thread::sleep(CHECKPOINT_INTERVAL);
            }
        })
    });

    let ids = create_table(&db)?;
    let result = measure_all(&db, options, &ids);
    let dropped = drop_table(&db);
    stop.store(true, Ordering::Relaxed);
    if let Some(checkpointer) = checkpointer {
        let _ = checkpointer.join();
    }
    let (mut insert, mut read, batched) = result?;
    dropped?;
    let mut line = json!({
        "backend": backend.to_string(),
        "scenario": "ceilings",
        "pool_size": settings.pool_size,
        "writer_connections": if backend == Backend::Sqlite { 1 } else { settings.pool_size },
        "callers": options.callers,
        "seconds": options.seconds,
        "insert": insert.json(),
        "read": read.json(),
    });
    if let Some(mut batched) = batched {
        line["insert_group_commit"] = batched.json();
    }
    println!("{line}");
    // Every connection is back in the pool and idle: none is being opened while the process
    // exits (libpq's TLS and OpenSSL's exit handlers, see RECIPES.md). Close them here.
    drop(db);
    Ok(())
}

type Results = (Measured, Measured, Option<Measured>);

fn measure_all(
    db: &Database,
    options: &Options,
    ids: &Arc<Vec<String>>,
) -> anyhow::Result<Results> {
    let counter = Arc::new(AtomicU64::new(0));
    let insert = |db: &Database, _: &mut StdRng| -> anyhow::Result<()> {
        let mut pooled = db.writer()?;
        let row = Row::new(counter.fetch_add(1, Ordering::Relaxed));
        pooled.transaction(|conn| {
            diesel::insert_into(ceiling::table)
                .values(&row)
                .execute(conn)
        })?;
        pooled.vouch();
        Ok(())
    };
    let read = |db: &Database, rng: &mut StdRng| -> anyhow::Result<()> {
        let id = &ids[rng.random_range(0..ids.len())];
        let mut pooled = db.reader()?;
        let conn: &mut DbConnection = &mut pooled;
        let _row: (String, NaiveDateTime, String) = ceiling::table
            .find(id)
            .select((ceiling::id, ceiling::created_at, ceiling::payload))
            .first(conn)?;
        pooled.vouch();
        Ok(())
    };
    let insert = measure("insert", db, options, &insert)?;
    let read = measure("read", db, options, &read)?;
    let batched = match db.backend() {
        Backend::Sqlite => Some(measure_group_commit(db, options, &counter)?),
        Backend::Postgres => None,
    };
    Ok((insert, read, batched))
}

/// The insert through the server's SQLite group commit. Its handle only sends the write to the
/// writer thread and awaits the answer, so each caller thread drives it with `block_on`.
fn measure_group_commit(
    db: &Database,
    options: &Options,
    counter: &AtomicU64,
) -> anyhow::Result<Measured> {
    let group_commit = GroupCommit::start(db.clone(), false)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()?;
    let insert = |_: &Database, _: &mut StdRng| -> anyhow::Result<()> {
        let row = Row::new(counter.fetch_add(1, Ordering::Relaxed));
        runtime
            .block_on(group_commit.write(move |conn| {
                diesel::insert_into(ceiling::table)
                    .values(&row)
                    .execute(&mut **conn)?;
                Ok(())
            }))
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        Ok(())
    };
    measure("insert_group_commit", db, options, &insert)
}

/// Runs `op` from `options.callers` threads for the warm-up, then for `options.seconds`.
fn measure<F>(name: &str, db: &Database, options: &Options, op: &F) -> anyhow::Result<Measured>
where
    F: Fn(&Database, &mut StdRng) -> anyhow::Result<()> + Sync,
{
    let first_error = std::sync::Mutex::new(None::<String>);
    let mut phases = [options.warmup_seconds, options.seconds]
        .into_iter()
        .filter(|&s| s > 0)
        .map(|seconds| {
            let barrier = Barrier::new(options.callers + 1);
            let duration = Duration::from_secs(seconds);
            std::thread::scope(|scope| -> anyhow::Result<Measured> {
                let callers: Vec<_> = (0..options.callers)
                    .map(|caller| {
                        let (barrier, first_error) = (&barrier, &first_error);
                        scope.spawn(move || {
                            let mut rng = StdRng::seed_from_u64(caller as u64);
                            let mut latencies = Vec::with_capacity(1 << 16);
                            let mut errors = 0u64;
                            barrier.wait();
                            let start = Instant::now();
                            while start.elapsed() < duration {
                                let began = Instant::now();
                                match op(db, &mut rng) {
                                    Ok(()) => latencies.push(
                                        u32::try_from(began.elapsed().as_micros())
                                            .unwrap_or(u32::MAX),
                                    ),
                                    Err(error) => {
                                        errors += 1;
                                        first_error
                                            .lock()
                                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                                            .get_or_insert_with(|| format!("{error:#}"));
                                    }
                                }
                            }
                            (latencies, errors)
                        })
                    })
                    .collect();
                barrier.wait();
                let start = Instant::now();
                let mut measured = Measured {
                    ops: 0,
                    elapsed: Duration::ZERO,
                    latencies_us: Vec::new(),
                    errors: 0,
                };
                for caller in callers {
                    let (latencies, errors) = caller
                        .join()
                        .map_err(|_| anyhow::anyhow!("a {name} caller thread panicked"))?;
                    measured.ops += latencies.len() as u64;
                    measured.latencies_us.extend(latencies);
                    measured.errors += errors;
                }
                measured.elapsed = start.elapsed();
                Ok(measured)
            })
        })
        .collect::<anyhow::Result<Vec<Measured>>>()?;
    if let Some(error) = first_error.into_inner().ok().flatten() {
        eprintln!("{name}: first error: {error}");
    }
    phases
        .pop()
        .context("no measurement phase ran (--seconds 0)")
}

/// Creates the scratch table (dropping one a crashed run left) and fills it for the reads;
/// returns the ids written.
fn create_table(db: &Database) -> anyhow::Result<Arc<Vec<String>>> {
    let mut pooled = db.writer()?;
    pooled.batch_execute(&format!(
        "DROP TABLE IF EXISTS {TABLE};
         CREATE TABLE {TABLE} (
             id         TEXT PRIMARY KEY NOT NULL,
             created_at TIMESTAMP NOT NULL,
             payload    TEXT NOT NULL
         );"
    ))?;
    let rows: Vec<Row> = (0..PREFILL as u64).map(Row::new).collect();
    let conn: &mut DbConnection = &mut pooled;
    conn.transaction(|conn| -> anyhow::Result<()> {
        portcullis_persistence::insert_many!(conn, ceiling::table, rows);
        Ok(())
    })?;
    if db.backend() == Backend::Postgres {
        pooled.batch_execute(&format!("ANALYZE {TABLE}"))?;
    }
    Ok(Arc::new(rows.into_iter().map(|row| row.id).collect()))
}

fn drop_table(db: &Database) -> anyhow::Result<()> {
    db.writer()?
        .batch_execute(&format!("DROP TABLE IF EXISTS {TABLE}"))
        .context("cannot drop the scratch table")
}
