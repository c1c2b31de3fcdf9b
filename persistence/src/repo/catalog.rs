//! The requester's catalog: the enabled flows a user may see, filtered as a catalog UI filters them
//! (text, kind, approval type, and whether the user could request now or already has access).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::UserId;
use portcullis_domain::flow::{ApprovalFlow, ApprovalType, FlowKind};

use super::flows::{FlowRow, convert, current_groups_of, name_or_description_contains};
use crate::connection::DbConnection;
use crate::keyset_page;
use crate::page::{Page, PageRequest};
use crate::schema::{access_requests, approval_flows, device_admin_sessions, flow_groups, grants};
use crate::time::to_db;

/// Whether the user could submit a request through the flow now, or already holds its access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// No open (pending or failed) request through the flow and no access from it.
    Requestable,
    /// An active grant from one of the user's requests through the flow (resource requests), or a
    /// running device-admin session (device-admin flows).
    HaveAccess,
}

/// What the catalog is narrowed to; `None` fields do not narrow.
#[derive(Debug, Clone, Default)]
pub struct CatalogFilter {
    /// A case-insensitive substring of the name or description.
    pub q: Option<String>,
    pub kind: Option<FlowKind>,
    pub approval_type: Option<ApprovalType>,
    pub availability: Option<Availability>,
}

/// The flows through which `user` holds access at `now`, as a subquery of flow ids: an active
/// grant, or a running session, from one of their requests. (A macro: the subquery's type is
/// long, and boxed subqueries do not go through the multi-backend connection.)
macro_rules! flows_with_access {
    ($user:expr, $now:expr) => {{
        let granted = grants::table
            .filter(grants::user_id.eq($user.to_string()))
            .filter(grants::status.eq("active"))
            .filter(grants::expires_at.is_null().or(grants::expires_at.gt($now)))
            .select(grants::request_id);
        let in_session = device_admin_sessions::table
            .filter(device_admin_sessions::user_id.eq($user.to_string()))
            .filter(device_admin_sessions::ended_at.is_null())
            .filter(device_admin_sessions::ends_at.gt($now))
            .select(device_admin_sessions::request_id);
        access_requests::table
            .filter(access_requests::requester_id.eq($user.to_string()))
            .filter(
                access_requests::id
                    .eq_any(granted)
                    .or(access_requests::id.eq_any(in_session)),
            )
            .select(access_requests::flow_id)
    }};
}

/// Enabled flows that `user` may see: those whose visibility groups include a group the user is
/// currently a member of (a membership that expired no longer counts), narrowed by `filter`.
pub fn visible_to(
    conn: &mut DbConnection,
    user: UserId,
    filter: &CatalogFilter,
    now: DateTime<Utc>,
    page: &PageRequest,
) -> QueryResult<Page<ApprovalFlow>> {
    let my_groups = current_groups_of(user, now);
    let visible = flow_groups::table
        .filter(flow_groups::role.eq("visibility"))
        .filter(flow_groups::group_id.eq_any(my_groups))
        .select(flow_groups::flow_id);
    let mut query = approval_flows::table
        .filter(approval_flows::enabled.eq(true))
        .filter(approval_flows::id.eq_any(visible))
        .select(FlowRow::as_select())
        .into_boxed();
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(name_or_description_contains(q));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(approval_flows::kind.eq(kind.as_str()));
    }
    if let Some(approval_type) = filter.approval_type {
        query = query.filter(approval_flows::approval_type.eq(approval_type.as_str()));
    }
    let at = to_db(now);
    match filter.availability {
        None => {}
        Some(Availability::HaveAccess) => {
            query = query.filter(approval_flows::id.eq_any(flows_with_access!(user, at)));
        }
        Some(Availability::Requestable) => {
            let open = access_requests::table
                .filter(access_requests::requester_id.eq(user.to_string()))
                .filter(access_requests::open_key.is_not_null())
                .select(access_requests::flow_id);
            query = query
                .filter(diesel::dsl::not(approval_flows::id.eq_any(open)))
                .filter(diesel::dsl::not(
                    approval_flows::id.eq_any(flows_with_access!(user, at)),
                ));
        }
    }
    let rows: Vec<FlowRow> =
        keyset_page!(query, approval_flows::created_at, approval_flows::id, page).load(conn)?;
    Page::from_rows(rows, page.limit, FlowRow::cursor).try_map(convert)
}
