//! `portcullis-bench generate`: fills an empty database with a realistic organisation and years of
//! access-request history, reproducibly (seeded), with bulk inserts; then writes the data file the
//! load benchmark's wrk scripts read (tokens, flows to request, requests to approve, ids to fetch).
//!
//! The organisation: 10,000 people in a management tree (5 admins), 500 groups with memberships
//! (everyone, the bench approvers, 48 application groups, 400 departments, 50 approver teams of five),
//! 200 flows covering every approver type, requirement and approval type, and `--requests` requests
//! (default 1,000,000) in every status with their steps, decisions, grants and events, built with the
//! domain's own transitions so that every row is one the server could have written.
//!
//! `portcullis-bench ceilings`: the bare database ceilings of our stack in the same run (see
//! `ceilings.rs`).

mod ceilings;
mod generator;

use generator::Generator;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use portcullis_persistence::repo::users;
use portcullis_persistence::{Database, DatabaseTarget, DbConnection};
use secrecy::SecretString;

const USERS: usize = 10_000;
const ADMINS: usize = 5;
const GROUPS: usize = 500;
const FLOWS: usize = 200;
/// Flows the load benchmark requests through: manual, the manager then the approver group.
const BENCH_FLOWS: usize = 30;
/// Members of the approver group of the bench flows.
const BENCH_APPROVERS: usize = 10;
/// Requests waiting for the approval that completes them (the approve benchmark's supply): this
/// many, or two in five of a smaller data set's requests, so that a quick run (100,000 requests,
/// 10 s per run: a closed run and a paced one at half its rate) does not run out of them.
const READY_TO_APPROVE: usize = 60_000;
const EXPIRY_DAYS: i64 = 30;
const HISTORY_DAYS: i64 = 3 * 365;
/// Requests per transaction and bulk statement batch.
const CHUNK: usize = 5_000;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis-bench",
    about = "Benchmark data and database ceilings for Portcullis"
)]
enum Command {
    /// Fill an empty database (migrations are applied) and write the load benchmark's data file.
    Generate {
        /// A SQLite file path or a `postgres://` URL; the database must be empty.
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// Requests to store in all.
        #[arg(long, default_value_t = 1_000_000)]
        requests: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The HS256 secret the benchmarked server verifies tokens with.
        #[arg(long, env = "PORTCULLIS_JWT_SECRET", hide_env_values = true)]
        jwt_secret: String,
        /// Where to write the data file for the wrk scripts.
        #[arg(long)]
        out: PathBuf,
    },
    /// Measure the bare database ceilings through the server's pools and pragmas (a single-row
    /// insert in its own transaction, a read by primary key) in a scratch table created and
    /// dropped here; print one JSON line.
    Ceilings {
        #[command(flatten)]
        database: portcullis_api::config::DatabaseArgs,
        /// Seconds each operation is measured for.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Seconds each operation runs before it is measured.
        #[arg(long, default_value_t = 1)]
        warmup_seconds: u64,
        /// Threads calling at once (the wrk runs' connections).
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
        callers: u16,
    },
}

fn main() -> anyhow::Result<()> {
    match Command::parse() {
        Command::Generate {
            database_url,
            requests,
            seed,
            jwt_secret,
            out,
        } => generate(&database_url, requests, seed, jwt_secret, &out),
        Command::Ceilings {
            database,
            seconds,
            warmup_seconds,
            callers,
        } => ceilings::run(&ceilings::Options {
            database,
            seconds,
            warmup_seconds,
            callers: usize::from(callers),
        }),
    }
}

fn generate(
    database_url: &str,
    requests: usize,
    seed: u64,
    jwt_secret: String,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let target = DatabaseTarget::parse(database_url).map_err(anyhow::Error::msg)?;
    let db = Database::connect(&target, 2)?;
    db.run_migrations()?;
    let started = Instant::now();
    let mut generator = Generator::new(seed);
    let mut pooled = db.writer()?;
    let conn: &mut DbConnection = &mut pooled;
    if let DbConnection::Sqlite(sqlite) = &mut *conn {
        // A bulk load into a scratch file: a crash means generating again, so skip the syncs.
        diesel::RunQueryDsl::execute(diesel::sql_query("PRAGMA synchronous = OFF"), sqlite)?;
        diesel::RunQueryDsl::execute(diesel::sql_query("PRAGMA cache_size = -262144"), sqlite)?;
    }
    if users::count_active_admins(conn)? > 0 {
        bail!("the database is not empty; the generator fills a fresh one");
    }
    generator.directory(conn)?;
    eprintln!("directory: {:.1} s", started.elapsed().as_secs_f64());
    generator.flows(conn)?;
    eprintln!("flows: {:.1} s", started.elapsed().as_secs_f64());
    let counts = generator.requests(conn, requests)?;
    eprintln!(
        "requests: {:.1} s ({counts})",
        started.elapsed().as_secs_f64()
    );
    let data = generator.data_file(&SecretString::from(jwt_secret))?;
    std::fs::write(out, data).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "generated in {:.1} s; data file {}",
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}
