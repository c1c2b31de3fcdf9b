//! A request as its page shows it: the request, the people it names, its comments, its history
//! and what it gave, as the viewer may see them.

use portcullis_domain::access::Session;
use portcullis_domain::directory::User;
use portcullis_domain::request::AccessRequest;
use portcullis_domain::{RequestId, UserId};
use portcullis_persistence::DbConnection;
use portcullis_persistence::models::EventRow;
use portcullis_persistence::repo::{events, grants, requests, settings, users};

use super::get_visible;
use crate::error::ApiError;
use crate::services::access::GrantWithFlow;

/// Everything a request's page shows.
pub struct RequestView {
    pub request: AccessRequest,
    /// Whether its steps are hidden from the viewer (see [`AccessRequest::hides_steps_from`]).
    pub hide_steps: bool,
    pub requester: Option<User>,
    pub manager: Option<User>,
    /// The people the steps name, in their order (none when the steps are hidden).
    pub approvers: Vec<User>,
    pub comments: Vec<requests::CommentRow>,
    /// The request's audit events, oldest first.
    pub history: Vec<EventRow>,
    /// Whether the viewer may read the decisions' internal notes in `history` (administrators).
    pub internal_notes: bool,
    pub grant: Option<GrantWithFlow>,
    pub session: Option<Session>,
}

/// The page of request `id` as `viewer` sees it (a 404 for a request they may not see).
pub fn detail(
    conn: &mut DbConnection,
    id: RequestId,
    viewer: &User,
) -> Result<RequestView, ApiError> {
    let request = get_visible(conn, id, viewer)?;
    let show = settings::get(conn)?.settings.show_approval_progress;
    let hide_steps = request.hides_steps_from(viewer.id, show);
    // The requester and everyone the steps name, in one lookup; the manager is usually among them
    // (the first step's approver).
    let named = if hide_steps {
        Vec::new()
    } else {
        request.named_in_steps()
    };
    let wanted: Vec<UserId> = [request.requester_id()]
        .into_iter()
        .chain(named.iter().copied())
        .collect();
    let mut people = users::find_many(conn, &wanted)?;
    let find = |people: &[User], id: UserId| people.iter().find(|u| u.id == id).cloned();
    let requester = find(&people, request.requester_id());
    let manager = match requester.as_ref().and_then(|r| r.manager_id) {
        Some(manager) => match find(&people, manager) {
            Some(found) => Some(found),
            None => users::find(conn, manager)?,
        },
        None => None,
    };
    people.retain(|u| named.contains(&u.id));
    people.sort_by_key(|user| named.iter().position(|id| *id == user.id));
    Ok(RequestView {
        history: events::for_subject(conn, &id.to_string())?,
        internal_notes: viewer.acts_as_admin(),
        comments: requests::comments(conn, id)?,
        grant: match grants::for_request(conn, id)? {
            Some(grant) => {
                let flow = crate::services::access::flows_of(conn, &[id])?.remove(&id);
                flow.map(|flow| GrantWithFlow { grant, flow })
            }
            None => None,
        },
        session: grants::session_for_request(conn, id)?,
        request,
        hide_steps,
        requester,
        manager,
        approvers: people,
    })
}

/// The comments on request `id`, oldest first, for a viewer who may see it (a 404 otherwise).
pub fn comments(
    conn: &mut DbConnection,
    id: RequestId,
    viewer: &User,
) -> Result<Vec<requests::CommentRow>, ApiError> {
    get_visible(conn, id, viewer)?;
    Ok(requests::comments(conn, id)?)
}
