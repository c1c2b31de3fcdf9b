//! The admin queue: a page of it, its counters, and the export streamed batch by batch.

use portcullis_domain::directory::User;
use portcullis_domain::request::RequestStatus;
use portcullis_persistence::repo::requests::{self, ExportRow, Listed, QueueFilter, Tab};
use portcullis_persistence::repo::users;
use portcullis_persistence::{Database, DbConnection, Page, PageRequest};
use tokio::sync::mpsc;

use crate::error::ApiError;

/// Rows per database round trip of the export.
const EXPORT_BATCH: u32 = 1000;

/// A page of the queue.
pub fn list(
    conn: &mut DbConnection,
    filter: &QueueFilter,
    page: &PageRequest,
) -> Result<Page<Listed>, ApiError> {
    Ok(requests::queue(conn, filter, page)?)
}

/// The queue's counters for one filter.
pub struct Counts {
    /// Requests matching the filter in the administrator tab.
    pub administrator: i64,
    /// ...and in the tab of requests with assigned approvers.
    pub others: i64,
    /// Requests matching the filter except its statuses, in its tab (all tabs without one).
    pub statuses: Vec<(RequestStatus, i64)>,
}

pub fn counts(conn: &mut DbConnection, filter: &QueueFilter) -> Result<Counts, ApiError> {
    Ok(Counts {
        administrator: requests::count(conn, filter, Some(Tab::Administrator))?,
        others: requests::count(conn, filter, Some(Tab::Others))?,
        statuses: requests::count_by_status(conn, filter, filter.tab)?,
    })
}

/// How the export's body is written: what opens and closes it, and each batch of rows with the
/// requesters they name. An empty chunk is not sent.
pub trait ExportBody: Send + 'static {
    fn start(&mut self) -> Vec<u8>;
    fn batch(&mut self, rows: &[ExportRow], people: &[User]) -> Result<Vec<u8>, ApiError>;
    fn end(&mut self) -> Vec<u8>;
}

/// Streams the requests that match `filter`, newest first, in batches read on the blocking pool
/// through one reader connection, so memory stays flat whatever the row count. The receiver ends
/// after an error (which is logged) or when the body is complete; the reading stops as soon as the
/// receiver is dropped (the client went away).
pub fn export(
    db: Database,
    filter: QueueFilter,
    mut body: impl ExportBody,
) -> mpsc::Receiver<Result<Vec<u8>, ApiError>> {
    let (tx, rx) = mpsc::channel::<Result<Vec<u8>, ApiError>>(2);
    tokio::task::spawn_blocking(move || {
        let send = |chunk: Result<Vec<u8>, ApiError>| match chunk {
            Ok(bytes) if bytes.is_empty() => true,
            chunk => tx.blocking_send(chunk).is_ok(),
        };
        let mut conn = match db.reader() {
            Ok(conn) => conn,
            Err(e) => {
                send(Err(e.into()));
                return;
            }
        };
        if !send(Ok(body.start())) {
            return;
        }
        let mut after = None;
        loop {
            let batch = match requests::export_batch(&mut conn, &filter, after.take(), EXPORT_BATCH)
            {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::error!(error = %e, "export failed");
                    send(Err(e.into()));
                    return;
                }
            };
            let mut ids: Vec<_> = batch
                .items
                .iter()
                .map(|r| r.request.requester_id())
                .collect();
            ids.sort();
            ids.dedup();
            let chunk = users::find_many(&mut conn, &ids)
                .map_err(ApiError::from)
                .and_then(|people| body.batch(&batch.items, &people));
            if !send(chunk) {
                return; // the client went away
            }
            match batch.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        send(Ok(body.end()));
    });
    rx
}
