//! The requester's and approver's own lists: my access requests, all my requests, my tasks.

use portcullis_domain::UserId;
use portcullis_persistence::repo::requests::{
    self, Action, ActionItem, Listed, MyRequest, OpenOrClosed,
};
use portcullis_persistence::repo::settings;
use portcullis_persistence::{DbConnection, Page, PageRequest};

use crate::error::ApiError;

/// A page of the requester's requests, and whether the organisation shows approval progress.
pub fn my_requests(
    conn: &mut DbConnection,
    me: UserId,
    state: Option<OpenOrClosed>,
    page: &PageRequest,
) -> Result<(Page<Listed>, bool), ApiError> {
    let show_progress = settings::get(conn)?.settings.show_approval_progress;
    Ok((
        requests::of_requester(conn, me, state, page)?,
        show_progress,
    ))
}

/// A page of the actions waiting on the caller (only `only`'s, if given).
pub fn my_tasks(
    conn: &mut DbConnection,
    me: UserId,
    only: Option<Action>,
    page: &PageRequest,
) -> Result<Page<ActionItem>, ApiError> {
    Ok(requests::action_required(conn, me, only, page)?)
}

/// A page of everything the caller asked for (access and help requests), and whether the
/// organisation shows approval progress.
pub fn my_tickets(
    conn: &mut DbConnection,
    me: UserId,
    state: Option<OpenOrClosed>,
    page: &PageRequest,
) -> Result<(Page<MyRequest>, bool), ApiError> {
    let show_progress = settings::get(conn)?.settings.show_approval_progress;
    Ok((requests::mine(conn, me, state, page)?, show_progress))
}
