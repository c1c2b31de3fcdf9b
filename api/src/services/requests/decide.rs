//! An approver's decision or an administrator's override, in two halves (see
//! [`crate::state::AppState::read_then_write`]).

use chrono::{DateTime, Utc};
use portcullis_domain::RequestId;
use portcullis_domain::directory::User;
use portcullis_domain::request::{AccessRequest, Actor, Change, DecisionCommand, Verdict, Via};
use portcullis_persistence::DbConnection;

use super::fulfilment::FlowTerms;
use super::{get_visible_with_flow, refusal, store};
use crate::error::ApiError;
use crate::services::{Prepared, Written};
use crate::tx::Tx;

/// A decision as sent by an approver or an admin.
pub struct DecisionInput {
    pub verdict: Verdict,
    pub comment: Option<String>,
    pub reason: Option<String>,
    pub next_steps: Option<String>,
    pub is_override: bool,
    pub internal_note: Option<String>,
    pub duration_seconds: Option<i64>,
    pub via: Via,
}

/// A decision the aggregate made on the request as read, ready to be stored (see [`prepare_decision`]).
pub struct DecisionPlan {
    change: Change,
}

/// The reading half: loads the request (a 404 for one the actor may not see, whatever they ask of
/// it) and lets the aggregate decide; nothing is written.
pub fn prepare_decision(
    conn: &mut DbConnection,
    actor: &User,
    id: RequestId,
    input: &DecisionInput,
    now: DateTime<Utc>,
) -> Result<Prepared<DecisionPlan, AccessRequest>, ApiError> {
    let (before, flow) = get_visible_with_flow(conn, id, actor)?;
    let command = DecisionCommand {
        verdict: input.verdict,
        comment: input.comment.clone(),
        reason: input.reason.clone(),
        next_steps: input.next_steps.clone(),
        is_override: input.is_override,
        internal_note: input.internal_note.clone(),
        duration_seconds: input.duration_seconds,
        via: input.via,
    };
    let mut change = before
        .decide(&command, &Actor::of(actor), now)
        .map_err(refusal)?;
    // The flow as it is now completes an approval (its target group, fulfilment and owners).
    let terms = FlowTerms::of(flow.as_ref());
    change = super::fulfilment::complete_approval(conn, change, &terms, now)?;
    Ok(Prepared::Write(DecisionPlan { change }))
}

/// The writing half: stores the decided request (if nobody changed it since it was read), its
/// events and notifications, and the grant an approval creates.
pub fn commit_decision(
    conn: &mut Tx,
    plan: DecisionPlan,
    now: DateTime<Utc>,
) -> Result<Written<AccessRequest>, ApiError> {
    Ok(match store(conn, plan.change, now)? {
        Some(request) => Written::Done(request),
        None => Written::Stale,
    })
}
