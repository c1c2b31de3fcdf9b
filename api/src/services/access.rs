//! The access approvals gave: grants and device-admin sessions, as lists.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, Utc};
use portcullis_domain::access::{Grant, Session};
use portcullis_domain::flow::{ApprovalFlow, DisplayDraft};
use portcullis_domain::{FlowId, RequestId, UserId};
use portcullis_persistence::repo::{flows, grants, requests};
use portcullis_persistence::{DbConnection, Page, PageRequest};

use crate::error::ApiError;

/// The flow a grant came from, as a portal shows the application (seeds 000/001: "the resource
/// will be added to the Applications section").
#[derive(Debug, Clone)]
pub struct GrantedFlow {
    pub id: FlowId,
    /// The flow's name now (the name it had when requested, if it was deleted since).
    pub name: String,
    /// `None` when the flow was deleted since.
    pub display: Option<DisplayDraft>,
}

impl GrantedFlow {
    /// The flow `id` a request was made through, named `name_then` at the time, as `current`
    /// (`None`: deleted since) shows it now.
    pub fn of(id: FlowId, name_then: &str, current: Option<&ApprovalFlow>) -> Self {
        match current {
            Some(flow) => {
                let draft = flow.to_draft();
                Self {
                    id,
                    name: draft.name,
                    display: Some(draft.display),
                }
            }
            None => Self {
                id,
                name: name_then.to_owned(),
                display: None,
            },
        }
    }
}

/// A grant with the flow it came from.
pub struct GrantWithFlow {
    pub grant: Grant,
    pub flow: GrantedFlow,
}

/// A page of grants: one user's, or everyone's with `user` `None`; only active ones on request.
pub fn grants(
    conn: &mut DbConnection,
    user: Option<UserId>,
    active_only: bool,
    page: &PageRequest,
) -> Result<Page<GrantWithFlow>, ApiError> {
    let page = grants::list(conn, user, active_only, page)?;
    let request_ids: Vec<RequestId> = page.items.iter().map(|g| g.request_id).collect();
    let flows = flows_of(conn, &request_ids)?;
    let items =
        page.items
            .into_iter()
            .map(|grant| {
                let flow = flows.get(&grant.request_id).cloned().ok_or_else(|| {
                    ApiError::internal(format!("grant {} has no request", grant.id))
                })?;
                Ok(GrantWithFlow { grant, flow })
            })
            .collect::<Result<_, ApiError>>()?;
    Ok(Page {
        items,
        next: page.next,
    })
}

/// `grant` with the flow it came from.
pub fn with_flow(conn: &mut DbConnection, grant: Grant) -> Result<GrantWithFlow, ApiError> {
    let flow = flows_of(conn, &[grant.request_id])?
        .remove(&grant.request_id)
        .ok_or_else(|| ApiError::internal(format!("grant {} has no request", grant.id)))?;
    Ok(GrantWithFlow { grant, flow })
}

/// The flow each of `requests` was made through, as it is now.
pub fn flows_of(
    conn: &mut DbConnection,
    requests: &[RequestId],
) -> Result<HashMap<RequestId, GrantedFlow>, ApiError> {
    let made_through = requests::flows_of(conn, requests)?;
    let mut current: HashMap<FlowId, Option<ApprovalFlow>> = HashMap::new();
    let mut out = HashMap::new();
    for (request, flow_id, name_then) in made_through {
        let flow = match current.entry(flow_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(unknown) => unknown.insert(flows::find(conn, flow_id)?),
        };
        out.insert(request, GrantedFlow::of(flow_id, &name_then, flow.as_ref()));
    }
    Ok(out)
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
