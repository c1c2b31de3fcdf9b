//! The requester's catalog: the enabled flows visible to the caller, each with who would approve,
//! the caller's current request through it (seed 000: "expand the resource to view the status of
//! your request") and, for device-admin flows, the caller's devices.

use chrono::{DateTime, Utc};
use portcullis_domain::directory::{Device, User};
use portcullis_domain::flow::{ApprovalFlow, FlowKind, ResolvedStep};
use portcullis_domain::request::AccessRequest;
use portcullis_persistence::repo::catalog::{self as catalog_repo, CatalogFilter};
use portcullis_persistence::repo::{devices, requests, settings};
use portcullis_persistence::{Cursor, DbConnection, PageRequest};

use super::flows;
use crate::error::ApiError;

/// Most devices listed for one device-admin flow.
const DEVICES_LISTED: u32 = 200;

/// A flow the caller may request through.
pub struct CatalogItem {
    pub flow: ApprovalFlow,
    /// Who would approve the caller's request, step by step...
    pub steps: Vec<ResolvedStep>,
    /// ...and those people.
    pub people: Vec<User>,
    /// Device-admin flows: the caller's devices.
    pub devices: Option<Vec<Device>>,
    /// The caller's latest request through the flow (their open one while it is open).
    pub my_request: Option<AccessRequest>,
}

/// A page of the catalog.
pub struct CatalogPage {
    /// Whether the organisation shows approval progress (and so who approves).
    pub show_approvers: bool,
    pub items: Vec<CatalogItem>,
    pub next: Option<Cursor>,
}

/// The caller's catalog; `None` while an admin has turned resource requests off.
pub fn catalog(
    conn: &mut DbConnection,
    caller: &User,
    filter: &CatalogFilter,
    now: DateTime<Utc>,
    page: &PageRequest,
) -> Result<Option<CatalogPage>, ApiError> {
    let settings = settings::get(conn)?.settings;
    if !settings.resource_requests_enabled {
        return Ok(None);
    }
    let visible = catalog_repo::visible_to(conn, caller.id, filter, now, page)?;
    let mut items = Vec::with_capacity(visible.items.len());
    for flow in visible.items {
        let (steps, people) = flows::preview(conn, &flow, caller, now)?;
        let devices = match flow.kind() {
            FlowKind::DeviceAdmin => {
                let all = PageRequest {
                    limit: DEVICES_LISTED,
                    after: None,
                };
                Some(devices::list(conn, Some(caller.id), &all)?.items)
            }
            FlowKind::ResourceRequest => None,
        };
        let my_request = match requests::latest_of_requester_for_flow(conn, caller.id, flow.id())? {
            Some(id) => requests::find(conn, id)?,
            None => None,
        };
        items.push(CatalogItem {
            flow,
            steps,
            people,
            devices,
            my_request,
        });
    }
    Ok(Some(CatalogPage {
        show_approvers: settings.show_approval_progress,
        items,
        next: visible.next,
    }))
}
