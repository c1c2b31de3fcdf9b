//! The access approvals gave: grants and device-admin sessions, as lists.

use chrono::{DateTime, Utc};
use portcullis_domain::UserId;
use portcullis_domain::access::{Grant, Session};
use portcullis_persistence::repo::grants;
use portcullis_persistence::{DbConnection, Page, PageRequest};

use crate::error::ApiError;

/// A page of grants: one user's, or everyone's with `user` `None`; only active ones on request.
pub fn grants(
    conn: &mut DbConnection,
    user: Option<UserId>,
    active_only: bool,
    page: &PageRequest,
) -> Result<Page<Grant>, ApiError> {
    Ok(grants::list(conn, user, active_only, page)?)
}

/// A page of device-admin sessions: one user's, or everyone's with `user` `None`.
pub fn sessions(
    conn: &mut DbConnection,
    active: Option<bool>,
    user: Option<UserId>,
    now: DateTime<Utc>,
    page: &PageRequest,
) -> Result<Page<Session>, ApiError> {
    Ok(grants::list_sessions(conn, active, user, now, page)?)
}
