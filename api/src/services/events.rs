//! The audit log, as a list.

use portcullis_persistence::models::EventRow;
use portcullis_persistence::repo::events::{self, EventFilter};
use portcullis_persistence::{DbConnection, Page, PageRequest};

use crate::error::ApiError;

/// A page of audit events matching `filter`.
pub fn list(
    conn: &mut DbConnection,
    filter: &EventFilter,
    page: &PageRequest,
) -> Result<Page<EventRow>, ApiError> {
    Ok(events::list(conn, filter, page)?)
}
