//! Background jobs in the server process: expire pending requests after `expiry_days`, end grants
//! whose time is up (removing their membership) and sessions whose time is up, queue reminders,
//! escalate requests left undecided, start scheduled grants at their `starts_at` and end those never
//! activated in time.
//!
//! Several replicas may run them against one PostgreSQL at once: every change is a version-checked
//! write, so an item is processed, and its event written, exactly once.

use std::sync::Arc;
use std::time::Duration;

use diesel::Connection;
use portcullis_domain::Clock;
use portcullis_persistence::{Backend, Database, DbConnection, statistics};

use crate::error::ApiError;
use crate::notify::dispatcher::Dispatcher;
use crate::notify::reminders;
use crate::services::requests;
use crate::tx::Tx;

/// Items handled per job and pass; a pass ends early only when there is nothing left.
const BATCH: i64 = 200;

pub async fn run(
    db: Database,
    clock: Arc<dyn Clock>,
    interval: Duration,
    notifier: Arc<Dispatcher>,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let (db, now, email) = (db.clone(), clock.now(), notifier.email_enabled());
        let pass = tokio::task::spawn_blocking(move || -> Result<[usize; 8], ApiError> {
            let mut pooled = db.writer()?;
            let conn: &mut DbConnection = &mut pooled;
            let (requests, grants, sessions) =
                conn.transaction(|conn| requests::run_jobs(&mut Tx::new(conn, email), now, BATCH))?;
            let (reminded, told) =
                conn.transaction(|conn| reminders::run(&mut Tx::new(conn, email), now, BATCH))?;
            let escalated = conn.transaction(|conn| {
                requests::escalate_due(&mut Tx::new(conn, email), now, BATCH)
            })?;
            let (started, unstarted) = conn
                .transaction(|conn| requests::start_due(&mut Tx::new(conn, email), now, BATCH))?;
            Ok([
                requests, grants, sessions, reminded, told, escalated, started, unstarted,
            ])
        })
        .await;
        match pass {
            Ok(Ok([0, 0, 0, 0, 0, 0, 0, 0])) => {}
            Ok(Ok(
                [
                    requests,
                    grants,
                    sessions,
                    reminded,
                    told,
                    escalated,
                    started,
                    unstarted,
                ],
            )) => {
                notifier.wake();
                tracing::info!(
                    expired_requests = requests,
                    ended_grants = grants,
                    ended_sessions = sessions,
                    reminded_requests = reminded,
                    access_ending_notices = told,
                    escalated_requests = escalated,
                    started_grants = started,
                    unstarted_grants_ended = unstarted,
                    "jobs ran"
                );
            }
            Ok(Err(error)) => tracing::warn!(%error, "jobs failed; retrying at the next interval"),
            Err(error) => tracing::warn!(%error, "jobs task failed"),
        }
    }
}

/// Analyzes the tables whose planner statistics are missing or stale, every `interval`
/// (PostgreSQL; see [`statistics`]). Runs on a reader connection: `ANALYZE` blocks no writer.
pub async fn keep_statistics(db: Database, interval: Duration) {
    if db.backend() != Backend::Postgres {
        return;
    }
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let db = db.clone();
        let pass = tokio::task::spawn_blocking(move || -> Result<Vec<String>, ApiError> {
            let mut conn = db.reader()?;
            Ok(statistics::refresh(&mut conn)?)
        })
        .await;
        match pass {
            Ok(Ok(tables)) if tables.is_empty() => {}
            Ok(Ok(tables)) => tracing::info!(?tables, "planner statistics refreshed"),
            Ok(Err(error)) => tracing::warn!(%error, "refreshing planner statistics failed"),
            Err(error) => tracing::warn!(%error, "statistics task failed"),
        }
    }
}
