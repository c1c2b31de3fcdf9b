//! A request as its page shows it: the request, the people it names, its comments, its history
//! and what it gave, as the viewer may see them.

use portcullis_domain::access::Session;
use portcullis_domain::directory::User;
use portcullis_domain::request::AccessRequest;
use portcullis_domain::{RequestId, UserId};
use portcullis_persistence::DbConnection;
use portcullis_persistence::models::EventRow;
use portcullis_persistence::repo::requests;

use super::{get_visible, not_found, sees};
use crate::error::ApiError;
use crate::services::access::{GrantWithFlow, GrantedFlow};

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

/// The page of request `id` as `viewer` sees it (a 404 for a request they may not see), from one
/// read ([`requests::page`]: one statement on PostgreSQL).
pub fn detail(
    conn: &mut DbConnection,
    id: RequestId,
    viewer: &User,
) -> Result<RequestView, ApiError> {
    let page = requests::page(conn, id)?.ok_or_else(|| not_found(id))?;
    if !sees(&page.request, page.flow.as_ref(), viewer) {
        return Err(not_found(id));
    }
    let requests::RequestPage {
        request,
        flow,
        show_approval_progress,
        people,
        history,
        comments,
        grant,
        session,
    } = page;
    let hide_steps = request.hides_steps_from(viewer.id, show_approval_progress);
    let find = |id: UserId| people.iter().find(|u| u.id == id).cloned();
    let requester = find(request.requester_id());
    let manager = requester.as_ref().and_then(|r| r.manager_id).and_then(find);
    // Everyone the steps name, in their order (none when the steps are hidden).
    let approvers = if hide_steps {
        Vec::new()
    } else {
        request
            .named_in_steps()
            .into_iter()
            .filter_map(find)
            .collect()
    };
    let grant = grant.map(|grant| GrantWithFlow {
        flow: GrantedFlow::of(request.flow_id(), request.flow_name(), flow.as_ref()),
        grant,
    });
    Ok(RequestView {
        history,
        internal_notes: viewer.acts_as_admin(),
        comments,
        grant,
        session,
        request,
        hide_steps,
        requester,
        manager,
        approvers,
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
