//! SQLite's group commit, driven directly: in one batch, a write that fails (by its own refusal,
//! a constraint or a panic) leaves nothing behind, every other write commits, and each caller gets
//! its own answer, with whether it queued a notification (the dispatcher is woken only then).

use std::sync::Arc;

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use portcullis_api::error::ApiError;
use portcullis_api::group_commit::GroupCommit;
use portcullis_persistence::repo::outbox::{self, NewEntry};
use portcullis_persistence::{Database, DatabaseTarget};

use crate::helpers::TestDatabase;

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn insert(conn: &mut portcullis_persistence::DbConnection, n: i64) -> Result<(), ApiError> {
    diesel::sql_query(format!("INSERT INTO scratch (n) VALUES ({n})")).execute(conn)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_leaves_nothing_and_the_rest_of_its_batch_commits() {
    let database = TestDatabase::sqlite();
    let db = Database::connect(&DatabaseTarget::parse(&database.url).unwrap(), 2).unwrap();
    let writer = Arc::new(GroupCommit::start(db.clone(), false).unwrap());
    writer
        .write(|conn| {
            conn.batch_execute("CREATE TABLE scratch (n INTEGER PRIMARY KEY)")?;
            Ok(())
        })
        .await
        .unwrap();

    // Enough concurrent writers that batches hold many writes, failures among them.
    let writes: Vec<_> = (1..=300_i64)
        .map(|n| {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .write(move |conn| {
                        insert(conn, n)?;
                        insert(conn, 1000 + n)?;
                        match n {
                            _ if n % 3 == 0 => Err(ApiError::conflict("refused after writing")),
                            // A constraint: the second statement fails, the first must go too.
                            _ if n % 7 == 0 => insert(conn, 1000 + n).map(|()| n),
                            _ if n % 50 == 1 => panic!("a bug in write {n}"),
                            _ => Ok(n),
                        }
                    })
                    .await
            })
        })
        .collect();

    let mut expected = Vec::new();
    for (n, write) in (1..=300_i64).zip(writes) {
        let answer = write.await.unwrap();
        match answer {
            Ok((got, queued)) => {
                assert_eq!(got, n);
                assert!(!queued, "write {n} queued no notification");
                assert!(
                    n % 3 != 0 && n % 7 != 0 && n % 50 != 1,
                    "write {n} should have failed"
                );
                expected.extend([n, 1000 + n]);
            }
            Err(ApiError::Conflict { .. }) => assert_eq!(n % 3, 0, "write {n}"),
            Err(ApiError::Internal(detail)) => {
                assert!(n % 7 == 0 && n % 3 != 0, "write {n}: {detail}");
                assert!(detail.contains("UNIQUE"), "{detail}");
            }
            Err(ApiError::Unavailable(detail)) => {
                assert!(
                    n % 50 == 1 && n % 3 != 0 && n % 7 != 0,
                    "write {n}: {detail}"
                );
                assert!(detail.contains("nothing was stored"), "{detail}");
            }
            Err(other) => panic!("write {n}: unexpected {other:?}"),
        }
    }

    let stored: Vec<i64> = {
        let mut conn = db.reader().unwrap();
        diesel::sql_query("SELECT n FROM scratch ORDER BY n")
            .load::<Row>(&mut **conn)
            .unwrap()
            .into_iter()
            .map(|row| row.n)
            .collect()
    };
    expected.sort_unstable();
    assert_eq!(stored, expected);
    assert!(!stored.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_tells_whether_it_queued_a_notification() {
    let database = TestDatabase::sqlite();
    let db = Database::connect(&DatabaseTarget::parse(&database.url).unwrap(), 2).unwrap();
    db.run_migrations().unwrap();
    let writer = GroupCommit::start(db.clone(), false).unwrap();
    let now = chrono::Utc::now();
    let entry = NewEntry {
        kind: outbox::EMAIL,
        channel_id: None,
        event_id: None,
        topic: "request_received".to_owned(),
        payload: "{}".to_owned(),
    };
    // The code that queues says so on the write's Tx (as `notify::publish` and the email queue do);
    // the group commit hands it back with the answer, after the commit.
    let (_, queued) = writer
        .write(move |conn| {
            let entry = outbox::enqueue(conn, &entry, now)?;
            conn.queued();
            Ok(entry)
        })
        .await
        .unwrap();
    assert!(queued, "a write that added an outbox entry");
    let (pending, queued) = writer
        .write(|conn| Ok(outbox::pending_count(conn)?))
        .await
        .unwrap();
    assert!(!queued, "a write that added none");
    assert_eq!(pending, 1);
}
