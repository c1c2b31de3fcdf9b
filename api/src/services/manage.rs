//! The Manage Requests views (seed 004): administrators (IT Admins) see every ticket; App Admins
//! those of the flows they own; App Approvers (and task assignees) those whose steps or tasks
//! named them. Basic members have no such section: 403.

use portcullis_domain::directory::User;
use portcullis_persistence::models::EventRow;
use portcullis_persistence::repo::events;
use portcullis_persistence::repo::requests::{self, Listed, QueueFilter, Scope, View};
use portcullis_persistence::{DbConnection, Page, PageRequest};

use crate::error::ApiError;

/// A ticket with its activity timeline (its audit events, oldest first).
pub struct Ticket {
    pub request: Listed,
    pub history: Vec<EventRow>,
}

/// A page of a view, the number of tickets in each view (for the tabs), and whether the viewer
/// may read internal notes in the timelines.
pub struct Views {
    pub page: Page<Ticket>,
    pub open: i64,
    pub closed: i64,
    pub action_required: i64,
    pub internal_notes: bool,
}

/// Whose tickets `viewer` sees, or a 403 for a basic member.
fn scope_of(conn: &mut DbConnection, viewer: &User) -> Result<Scope, ApiError> {
    if viewer.acts_as_admin() {
        return Ok(Scope::All);
    }
    if requests::manages_any(conn, viewer.id)? {
        return Ok(Scope::ManagedBy(viewer.id));
    }
    Err(ApiError::Forbidden(
        "Manage Requests is for IT Admins, App Admins and App Approvers".to_owned(),
    ))
}

pub fn list(
    conn: &mut DbConnection,
    viewer: &User,
    view: View,
    filter: &QueueFilter,
    page: &PageRequest,
) -> Result<Views, ApiError> {
    let scope = scope_of(conn, viewer)?;
    let me = viewer.id;
    let page = requests::manage(conn, scope, view, me, filter, page)?;
    // Every timeline of the page in one query.
    let ids: Vec<String> = (page.items.iter())
        .map(|r| r.request.id().to_string())
        .collect();
    let mut history = events::for_subjects(conn, &ids)?;
    let mut tickets = Vec::with_capacity(page.items.len());
    for request in page.items {
        let id = request.request.id().to_string();
        let (mine, others) = history.into_iter().partition(|e| e.subject_id == id);
        history = others;
        tickets.push(Ticket {
            request,
            history: mine,
        });
    }
    Ok(Views {
        page: Page {
            items: tickets,
            next: page.next,
        },
        open: requests::count_view(conn, scope, View::Open, me, filter)?,
        closed: requests::count_view(conn, scope, View::Closed, me, filter)?,
        action_required: requests::count_view(conn, scope, View::ActionRequired, me, filter)?,
        internal_notes: viewer.acts_as_admin(),
    })
}
