//! SQLite's write-ahead log, checkpointed off the request path: passes on a reader connection,
//! each followed by a sync of the database file, then one short pass on the writer so that the WAL
//! can restart (see [`Database::checkpoint`]).

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use super::{Database, DatabaseError};
use crate::connection::DbConnection;

/// A WAL this long (in 4 KiB pages: 256 MiB) is checkpointed completely, so that it restarts. Long
/// enough that a burst of writes restarts it every second or two rather than several times a second
/// (each restart holds writes up for one short checkpoint pass, see [`Database::checkpoint`]); readers
/// do not pay for its length, as they look up only the frames not yet checkpointed.
pub(super) const WAL_RESTART_PAGES: i64 = 65536;

/// The writer's own checkpoint pass (see [`Database::checkpoint`]) waits until the reader's passes
/// leave fewer pages than this to copy (512 KiB): writes wait for that pass, and its two fsyncs
/// take longer the more it copied (at 512 pages, the closed-loop p99 of approvals on the benchmark
/// machine was 22–40 ms; at 128, 16–21 ms)...
const WRITER_PASS_PAGES: i64 = 128;

/// ... or until this many reader passes have run, should writes outpace them.
const MAX_READER_PASSES: usize = 16;

/// A handle on the SQLite database file at `path`, opened once per process and never closed:
/// closing any descriptor of a file drops every POSIX lock the process holds on it, SQLite's own
/// included (<https://sqlite.org/howtocorrupt.html#_posix_advisory_locks_canceled_by_a_separate_thread_doing_close_>).
pub(super) fn database_file(path: &str) -> Result<Arc<File>, DatabaseError> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Arc<File>>>> = OnceLock::new();
    let failed = |source| DatabaseError::File {
        path: path.to_owned(),
        source,
    };
    let key = std::fs::canonicalize(path).map_err(failed)?;
    let mut open = OPEN
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(file) = open.get(&key) {
        return Ok(Arc::clone(file));
    }
    // Write access: Windows flushes only handles that may write. Nothing is written through it.
    let file = Arc::new(
        std::fs::OpenOptions::new()
            .write(true)
            .open(&key)
            .map_err(failed)?,
    );
    open.insert(key, Arc::clone(&file));
    Ok(file)
}

/// What a checkpoint pass reports: the WAL's length and how much of it is in the database file, in
/// pages, as of the pass's start (both -1 if another connection was checkpointing).
#[derive(Debug, Clone, Copy, diesel::QueryableByName)]
pub(super) struct Pass {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(super) log: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    checkpointed: i64,
}

/// The reader passes of one [`Database::checkpoint`]: `pass` runs one and returns the WAL's length
/// (-1 if another connection was checkpointing: the writer's own pass). Returns the last length
/// seen and whether the writer's last pass is due: the WAL is past `restart_pages` and the passes
/// have caught up with the writer (or given up trying). Not when a pass finds the WAL shorter than
/// the one before (restarted) or the writer's pass running: that pass is under way or done, and
/// asking for another would hold writes up a second time for nothing.
fn catch_up<E>(
    restart_pages: i64,
    mut pass: impl FnMut() -> Result<i64, E>,
) -> Result<(i64, bool), E> {
    let mut log = pass()?;
    if log < restart_pages {
        return Ok((log, false));
    }
    for _ in 1..MAX_READER_PASSES {
        let next = pass()?;
        if next < log {
            return Ok((next, false));
        }
        // Frames the writer appended during the previous pass.
        let appended = next - log;
        log = next;
        if appended < WRITER_PASS_PAGES {
            break;
        }
    }
    Ok((log, true))
}

impl Database {
    /// Copies what the WAL holds into the database file without blocking the writer (SQLite's
    /// `PASSIVE` checkpoint, on a reader connection). Under a steady stream of writes that pass never
    /// catches up with the writer, and SQLite starts the WAL again from its beginning only after a
    /// checkpoint has copied every frame; so past [`WAL_RESTART_PAGES`] the reader passes go on,
    /// each copying what the writer appended during the one before, until that is less than
    /// [`WRITER_PASS_PAGES`] (or [`MAX_READER_PASSES`] have run); then the writer's next checkout
    /// ([`Database::writer`], between two batches of writes) runs one last passive pass on the writer
    /// connection, copying the little that is left. Writes wait for that pass only, so it is kept
    /// short. The next write then restarts the WAL (unless a
    /// reader that began before is still on it; a later pass catches up). It never waits for
    /// readers, so a long export cannot hold writes up. Returns the WAL's size in pages. Nothing to
    /// do on PostgreSQL.
    ///
    /// SQLite syncs the database file only after a pass that copied every frame, which under steady
    /// writes is the writer's last pass alone: that pass then flushed the pages of the whole WAL
    /// (tens of thousands, a quarter of a second on the benchmark machine) while writes waited. So
    /// each reader pass that copies frames is followed by a sync of the database file here, off the
    /// request path, and the writer's pass flushes only what it copies itself.
    pub fn checkpoint(&self) -> Result<i64, DatabaseError> {
        let mut reader = self.reader()?;
        let (log, due) = catch_up(self.restart_pages, || self.reader_pass(&mut reader))?;
        if due {
            self.restart_due.store(true, Ordering::Release);
        }
        Ok(log)
    }

    /// One `PASSIVE` checkpoint on a reader, then a sync of the database file if the pass copied
    /// frames; the WAL's size in pages. (SQLite syncs the file itself when the WAL's end did not
    /// move while it copied, which a pass cannot tell: its report stops at the end it started
    /// from. A sync with nothing to write costs next to nothing.)
    fn reader_pass(&self, conn: &mut DbConnection) -> Result<i64, DatabaseError> {
        let pass = Self::passive_checkpoint(conn)?;
        if let Some(file) = &self.file
            && pass.checkpointed > 0
            && self.synced.swap(pass.checkpointed, Ordering::AcqRel) != pass.checkpointed
        {
            file.sync_data().map_err(DatabaseError::Sync)?;
        }
        Ok(pass.log)
    }

    /// One `PASSIVE` checkpoint on `conn`.
    pub(super) fn passive_checkpoint(conn: &mut DbConnection) -> Result<Pass, DatabaseError> {
        // PostgreSQL has no WAL of ours to checkpoint: the server checkpoints its own.
        match conn {
            DbConnection::Sqlite(c) => {
                use diesel::RunQueryDsl;
                diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
                    .get_result(c)
                    .map_err(DatabaseError::Query)
            }
            DbConnection::Postgres(_) => Ok(Pass {
                log: 0,
                checkpointed: 0,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::time::Duration;

    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::DatabaseTarget;
    use crate::database::Checkpoints;

    /// Salt-1 of the WAL's header: SQLite changes it whenever the WAL restarts.
    fn wal_salt(path: &std::path::Path) -> [u8; 4] {
        let header = std::fs::read(format!("{}-wal", path.display())).unwrap();
        header[16..20].try_into().unwrap()
    }

    /// Runs [`catch_up`] over scripted pass results; returns its answer and the passes it ran.
    fn catch_up_over(lengths: &[i64]) -> ((i64, bool), usize) {
        let mut script = lengths.iter().copied();
        let mut ran = 0;
        let answer = catch_up::<std::convert::Infallible>(1000, || {
            ran += 1;
            Ok(script
                .next()
                .expect("catch_up ran more passes than scripted"))
        })
        .unwrap();
        (answer, ran)
    }

    #[test]
    fn the_writers_last_pass_is_asked_for_once_the_reader_passes_catch_up_with_a_long_wal() {
        // A short WAL: one pass, nothing due.
        assert_eq!(catch_up_over(&[999]), ((999, false), 1));
        // Long: passes go on while the writer appends many pages during each...
        let appended = WRITER_PASS_PAGES;
        assert_eq!(
            catch_up_over(&[1000, 1000 + appended, 1000 + appended + 1]),
            ((1000 + appended + 1, true), 3)
        );
        // ... and give up after MAX_READER_PASSES should the writer outpace them.
        let outpaced: Vec<i64> = (0..MAX_READER_PASSES as i64)
            .map(|i| 1000 + i * appended)
            .collect();
        assert_eq!(
            catch_up_over(&outpaced),
            ((*outpaced.last().unwrap(), true), MAX_READER_PASSES)
        );
    }

    #[test]
    fn no_second_writer_pass_is_asked_for_when_the_wal_restarted_or_the_writer_is_checkpointing() {
        // The writer's pass held the checkpoint lock (-1) while the readers were catching up: it
        // finishes the checkpoint itself; asking again would stall writes a second time.
        assert_eq!(catch_up_over(&[1000, 1900, -1]), ((-1, false), 3));
        // The WAL restarted between two passes.
        assert_eq!(catch_up_over(&[1000, 1900, 40]), ((40, false), 3));
        // The writer's pass was running from the start.
        assert_eq!(catch_up_over(&[-1]), ((-1, false), 1));
    }

    #[test]
    fn under_steady_writes_a_long_wal_still_restarts() {
        let path = std::env::temp_dir().join(format!("portcullis-wal-{}.db", uuid::Uuid::now_v7()));
        let target = DatabaseTarget::parse(path.to_str().unwrap()).unwrap();
        let mut db = Database::connect_with(&target, 2, Checkpoints::Background).unwrap();
        db.restart_pages = 256;
        db.writer()
            .unwrap()
            .batch_execute("CREATE TABLE t (x BLOB NOT NULL)")
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicUsize::new(0));
        let writes = {
            let (db, stop, written) = (db.clone(), Arc::clone(&stop), Arc::clone(&written));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    db.writer()
                        .unwrap()
                        .batch_execute("INSERT INTO t VALUES (randomblob(3000))")
                        .unwrap();
                    written.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        // Checkpoint until a pass finds the WAL long.
        let mut sizes = vec![db.checkpoint().unwrap()];
        while sizes.last().is_some_and(|&log| log < 256) && sizes.len() < 500 {
            std::thread::sleep(Duration::from_millis(5));
            sizes.push(db.checkpoint().unwrap());
        }
        let salt = wal_salt(&path);
        // The writer's next checkout finishes the checkpoint and its write restarts the WAL.
        // (Without that pass the WAL restarts only when a reader's pass happens to see no write
        // at all, which these back-to-back writes leave no time for.)
        let after = written.load(Ordering::Relaxed);
        while written.load(Ordering::Relaxed) < after + 3 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let restarted = wal_salt(&path) != salt;
        stop.store(true, Ordering::Relaxed);
        writes.join().unwrap();
        // The reader passes copied frames while writes went on, so they synced the file themselves.
        let synced = db.synced.load(Ordering::Acquire);
        drop(db);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        assert!(
            sizes.last().is_some_and(|&log| log >= 256),
            "the WAL never grew long enough to test: {sizes:?}"
        );
        assert!(restarted, "the WAL did not restart: {sizes:?}");
        assert!(synced > 0, "no reader pass synced the database file");
    }

    #[test]
    fn the_database_file_is_opened_once_and_never_closed() {
        let dir = std::env::temp_dir().join(format!("portcullis-file-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("one.db");
        let connect = |path: &std::path::Path, checkpoints| {
            let target = DatabaseTarget::parse(path.to_str().unwrap()).unwrap();
            Database::connect_with(&target, 1, checkpoints).unwrap()
        };
        let first = connect(&path, Checkpoints::Background);
        let handle = Arc::as_ptr(first.file.as_ref().unwrap());
        drop(first);
        // Dropping the database did not close the file (that would drop SQLite's locks on it in
        // this process): the same handle comes back, also for another spelling of the path.
        let again = connect(&dir.join(".").join("one.db"), Checkpoints::Background);
        assert_eq!(Arc::as_ptr(again.file.as_ref().unwrap()), handle);
        // Only the server's checkpointing needs it.
        assert!(connect(&path, Checkpoints::OnCommit).file.is_none());
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
