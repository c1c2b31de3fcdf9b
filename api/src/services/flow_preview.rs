//! Who would approve a request through a flow for a given requester today.

use chrono::{DateTime, Utc};
use portcullis_domain::directory::User;
use portcullis_domain::flow::{
    ApprovalFlow, ConditionOutcome, FormAnswers, MAX_CONTEXT_LIST, ResolvedStep,
};
use portcullis_domain::request::{self, PolicyInput};
use portcullis_domain::{FlowId, UserId};
use portcullis_persistence::DbConnection;
use portcullis_persistence::repo::groups;

use super::{flows, users};
use crate::error::ApiError;

/// A flow's approvers resolved for one requester, step by step, with the people they name.
pub struct Preview {
    pub flow: ApprovalFlow,
    pub requester: User,
    pub steps: Vec<ResolvedStep>,
    pub people: Vec<User>,
    /// How the flow's conditions come out for this requester, for a request with the flow's first
    /// duration and no form answers.
    pub conditions: Vec<ConditionOutcome>,
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
    let conditions = if flow.has_conditions() {
        let input = PolicyInput {
            groups: groups::groups_of(conn, requester.id, now, MAX_CONTEXT_LIST as i64)?,
            now,
        };
        let duration = flow.duration_choices().first().copied();
        let context = request::condition_context(
            &flow,
            &requester,
            duration,
            None,
            &FormAnswers::new(),
            &input,
        );
        request::evaluate_conditions(&flow, &context)
    } else {
        Vec::new()
    };
    Ok(Preview {
        flow,
        requester,
        steps,
        people,
        conditions,
    })
}
