//! The request engine's use cases. Each loads the request, lets the aggregate decide
//! ([`portcullis_domain::request`]), saves what it decided in one transaction (the request, its
//! approver index, what it created, its audit events and their notifications: [`store`]), and
//! answers. Writes are version-checked, so concurrent decisions on one request are serialised: a
//! writer that lost the race reloads and decides again on the new state (which may now refuse it).

mod access;
mod break_glass;
mod create;
mod decide;
mod escalation;
mod extension;
mod fulfilment;
mod jobs;
mod lifecycle;
mod start;
mod view;

use chrono::{DateTime, Utc};
use portcullis_domain::directory::User;
use portcullis_domain::flow::ApprovalFlow;
use portcullis_domain::request::{
    AccessRequest, Actor, Change, Refusal, RequestError, RequestEvent,
};
use portcullis_domain::{EventId, RequestId};
use portcullis_persistence::repo::events::{self, NewEvent, Recorded};
use portcullis_persistence::repo::requests::{self, Saved};
use portcullis_persistence::{DbConnection, is_unique_violation};
use serde_json::json;

pub use self::access::{end_grant, end_session, start_session};
pub use self::break_glass::{check_reviewer, review};
pub use self::create::{CreatePlan, NewRequest, commit_create, create, prepare_create};
pub use self::decide::{DecisionInput, DecisionPlan, commit_decision, prepare_decision};
pub use self::escalation::escalate_due;
pub use self::extension::{ExtensionAsk, extend_grant, held};
pub use self::fulfilment::{check_task_actor, complete_task, reassign_task};
pub use self::jobs::run_jobs;
pub use self::lifecycle::{cancel, cancel_for_flow, comment, fail_all, reassign, resubmit, retry};
pub use self::start::{activate_grant, start_due};
pub use self::view::{RequestView, comments, detail};
use crate::error::ApiError;
use crate::notify::{self, email};
use crate::tx::Tx;

/// How a refused command is answered: the one place a request rule becomes a problem document.
pub fn refusal(error: RequestError) -> ApiError {
    let message = error.to_string();
    match error.refusal() {
        Refusal::NotFound => ApiError::NotFound(message),
        Refusal::Forbidden => ApiError::Forbidden(message),
        Refusal::Conflict => match error {
            RequestError::AlreadyOpen(existing) => ApiError::Conflict {
                detail: message,
                existing_id: existing.map(|id| id.to_string()),
            },
            _ => ApiError::conflict(message),
        },
        Refusal::Invalid => match error {
            RequestError::InvalidForm(errors) => ApiError::Validation(errors),
            _ => ApiError::invalid_field(error.field().unwrap_or("body"), message),
        },
        Refusal::TooMany => match error {
            RequestError::TooMany {
                retry_after_seconds,
                ..
            } => ApiError::TooManyRequests {
                retry_after_seconds: u64::try_from(retry_after_seconds).unwrap_or(1).max(1),
                detail: Some(message),
            },
            _ => ApiError::internal(message),
        },
        Refusal::Internal => ApiError::internal(message),
    }
}

fn not_found(id: RequestId) -> ApiError {
    refusal(RequestError::NotFound(id))
}

/// Loads a request the viewer may see, as the request says or as an App Admin of its flow (others
/// get the same 404 as for a missing one).
pub fn get_visible(
    conn: &mut DbConnection,
    id: RequestId,
    viewer: &User,
) -> Result<AccessRequest, ApiError> {
    let request = requests::find(conn, id)?.ok_or_else(|| not_found(id))?;
    if request.visible_to(&Actor::of(viewer)).is_err() {
        // The flow's App Admins see its tickets too (seed 004's Manage Requests).
        if !fulfilment::manages(conn, &request, viewer.id)? {
            return Err(not_found(id));
        }
    }
    Ok(request)
}

/// [`get_visible`] with the request's flow as it is now (`None` for a deleted flow), read in the
/// same statement: for a decision, which completes an approval with the flow's terms.
pub fn get_visible_with_flow(
    conn: &mut DbConnection,
    id: RequestId,
    viewer: &User,
) -> Result<(AccessRequest, Option<ApprovalFlow>), ApiError> {
    let (request, flow) = requests::find_with_flow(conn, id)?.ok_or_else(|| not_found(id))?;
    if !sees(&request, flow.as_ref(), viewer) {
        return Err(not_found(id));
    }
    Ok((request, flow))
}

/// Whether `viewer` may see `request`, made through `flow` (as it is now): as the request says, or
/// as an App Admin of the flow.
fn sees(request: &AccessRequest, flow: Option<&ApprovalFlow>, viewer: &User) -> bool {
    request.visible_to(&Actor::of(viewer)).is_ok()
        || flow.is_some_and(|flow| flow.is_app_admin(viewer.id))
}

/// Saves a command's change and publishes its events, in the caller's transaction. `None` (with
/// nothing written) when another writer changed the request first.
fn store(
    conn: &mut Tx,
    change: Change,
    now: DateTime<Utc>,
) -> Result<Option<AccessRequest>, ApiError> {
    let stored: Vec<NewEvent> = change
        .events
        .iter()
        .map(|event| new_event(event, &change.request, now))
        .collect();
    // On PostgreSQL a new request's first event goes with it, and a grant's events with the grant
    // (a round trip fewer each).
    let saved = requests::save_recording(conn, &change, &stored).map_err(|e| {
        // Unique indexes answer what a concurrent writer committed since the change was made.
        if is_unique_violation(&e, "open_key") {
            refusal(RequestError::AlreadyOpen(None))
        } else if change.session.is_some() && is_unique_violation(&e, "request_id") {
            ApiError::conflict("the session of this request was already started")
        } else if matches!(e, diesel::result::Error::RollbackTransaction) {
            // An extension's grant changed since it was read (see `requests::save`).
            ApiError::conflict("the grant changed at the same time; fetch it again")
        } else {
            e.into()
        }
    })?;
    let Saved::Written(mut recorded) = saved else {
        return Ok(None);
    };
    // The events the save did not store, in one statement on PostgreSQL.
    let rest = &stored[recorded.len()..];
    recorded.extend(events::record_all(conn, rest)?);
    let mut first_event = None;
    for (index, ((event, stored), recorded)) in
        change.events.iter().zip(&stored).zip(recorded).enumerate()
    {
        let id = record(conn, event, stored, recorded, &change.request, now)?;
        if index == 0 {
            first_event = Some(id);
            // A new request, a decided step, a retry or a reassignment hands the request to
            // approvers who have not seen it yet.
            email::approvers_newly_awaiting(
                conn,
                id,
                change.before.as_ref(),
                &change.request,
                now,
            )?;
        }
    }
    crate::services::slack::queue::on_request_change(
        conn,
        first_event,
        change.before.as_ref(),
        &change.request,
        now,
    )?;
    // An AuthZEN task's PEP asked to be told when the request completes.
    notify::callbacks::on_request_change(
        conn,
        change.before.as_ref(),
        &change.request,
        change.grant.is_some() || change.session.is_some(),
        now,
    )?;
    Ok(Some(change.request))
}

/// [`store`] where a lost race is answered with a 409 (the client fetches the request again).
fn store_or_conflict(
    conn: &mut Tx,
    change: Change,
    now: DateTime<Utc>,
) -> Result<AccessRequest, ApiError> {
    store(conn, change, now)?.ok_or_else(|| {
        ApiError::conflict("the request changed at the same time; fetch it again and retry")
    })
}

/// The audit event of a request event.
fn new_event(event: &RequestEvent, request: &AccessRequest, now: DateTime<Utc>) -> NewEvent {
    let mut data = json!({
        "request_id": request.id(),
        "flow_id": request.flow_id(),
        "flow_version": request.flow_version(),
        "requester_id": request.requester_id(),
        "status_before": event.status_before,
        "status_after": event.status_after,
    });
    if let (Some(data), serde_json::Value::Object(extra)) =
        (data.as_object_mut(), event.kind.data())
    {
        data.extend(extra);
        // Every event of a break-glass request says so (audit queries, webhook consumers).
        if request.break_glass() {
            data.insert("break_glass".to_owned(), json!(true));
        }
    }
    NewEvent {
        event_type: event.event_type(),
        occurred_at: now,
        actor_id: event.actor,
        subject_type: "access_request",
        subject_id: request.id().to_string(),
        data,
    }
}

/// Records a request event (`stored`, already stored when `recorded` says what storing it found)
/// with its webhook deliveries, and queues the emails it causes, all in the caller's transaction.
fn record(
    conn: &mut Tx,
    event: &RequestEvent,
    stored: &NewEvent,
    recorded: Recorded,
    request: &AccessRequest,
    now: DateTime<Utc>,
) -> Result<EventId, ApiError> {
    let id = notify::published(conn, stored, recorded)?;
    let event_type = stored.event_type;
    email::on_request_event(conn, id, event_type, request, now)?;
    email::on_fulfilment_event(conn, id, &event.kind, request, now)?;
    notify::starts::on_grant_event(conn, id, &event.kind, request, now)?;
    email::admins_of_submitted_request(conn, id, event_type, request, now)?;
    notify::break_glass::on_request_event(conn, id, &event.kind, request, now)?;
    Ok(id)
}
