//! Who would approve a request through a flow for a given requester today.

use chrono::{DateTime, Utc};
use portcullis_domain::directory::User;
use portcullis_domain::flow::{ApprovalFlow, ResolvedStep};
use portcullis_domain::{FlowId, UserId};
use portcullis_persistence::DbConnection;

use super::{flows, users};
use crate::error::ApiError;

/// A flow's approvers resolved for one requester, step by step, with the people they name.
pub struct Preview {
    pub flow: ApprovalFlow,
    pub requester: User,
    pub steps: Vec<ResolvedStep>,
    pub people: Vec<User>,
}

/// Resolves flow `id` for `requester`; a requester who does not exist is a field error of
/// `requester_id`.
pub fn preview(
    conn: &mut DbConnection,
    id: FlowId,
    requester: UserId,
    now: DateTime<Utc>,
) -> Result<Preview, ApiError> {
    let flow = flows::get(conn, id)?;
    let requester = users::get(conn, requester).map_err(|_| {
        ApiError::invalid_field("requester_id", format!("no user with id {requester}"))
    })?;
    let (steps, people) = flows::preview(conn, &flow, &requester, now)?;
    Ok(Preview {
        flow,
        requester,
        steps,
        people,
    })
}
