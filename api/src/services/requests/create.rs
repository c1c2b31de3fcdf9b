//! Submitting a request, in two halves (see [`crate::state::AppState::read_then_write`]): the
//! reading half checks the caller and the input and resolves the approvers; the writing half
//! re-checks what it relied on (when it runs in a later transaction) and saves.

use chrono::{DateTime, Utc};
use portcullis_domain::directory::User;
use portcullis_domain::flow::{FlowKind, FormAnswers, MAX_CONTEXT_LIST};
use portcullis_domain::request::{
    self, AccessRequest, Actor, BreakGlassInput, Change, Draft, PolicyInput, RequestError,
};
use portcullis_domain::settings::Settings;
use portcullis_domain::{DeviceId, FlowId, GrantId, RequestId, UserId};
use portcullis_persistence::DbConnection;
use portcullis_persistence::repo::{
    devices, flows as flow_repo, grants, groups, requests, settings, users,
};

use super::fulfilment::FlowTerms;
use super::{not_found, refusal, store};
use crate::error::ApiError;
use crate::services::{Prepared, Recheck, Written, approvers};
use crate::tx::Tx;

/// What the caller asked for when creating a request.
pub struct NewRequest {
    pub flow_id: FlowId,
    pub reason: String,
    pub duration_seconds: Option<i64>,
    pub device_id: Option<DeviceId>,
    pub requester_id: Option<UserId>,
    pub resubmitted_from: Option<RequestId>,
    /// The answers to the flow's form.
    pub form: FormAnswers,
    /// An extension request: the caller's grant it asks more time for (see [`super::extension`]).
    pub extends_grant: Option<GrantId>,
    /// When the access should start (flows with `scheduling`); `None`: on approval.
    pub starts_at: Option<DateTime<Utc>>,
}

/// A request ready to be stored, with what it was decided from (see [`prepare_create`]).
pub struct CreatePlan {
    principal: UserId,
    change: Change,
    flow_version: i64,
    /// The requester and every approver, with the version of each as read (for a re-checking
    /// commit only).
    people: Vec<(String, i64)>,
    /// What completes an automatic approval (the flow's target group, fulfilment, owners and
    /// activation rule).
    terms: FlowTerms,
    idempotency: Option<(String, String)>,
}

/// Creates a request in one transaction. With an idempotency key, a replay of the same body returns
/// the first request (`Ok((request, true))`) and the same key with another body is a 422.
pub fn create(
    conn: &mut Tx,
    principal: &User,
    input: &NewRequest,
    idempotency: &Option<(String, String)>,
    now: DateTime<Utc>,
) -> Result<(AccessRequest, bool), ApiError> {
    let settings = settings::get(conn)?.settings;
    crate::services::read_then_write(
        conn,
        |conn, recheck| {
            prepare_create(conn, principal, input, idempotency, &settings, recheck, now)
        },
        |conn, plan, recheck| commit_create(conn, plan, recheck, now),
    )
}

/// The first request stored under the caller's idempotency key, if any (a 422 if the key came
/// with another body).
fn replay(
    conn: &mut DbConnection,
    principal: UserId,
    idempotency: Option<&(String, String)>,
) -> Result<Option<(AccessRequest, bool)>, ApiError> {
    let Some((key, hash)) = idempotency else {
        return Ok(None);
    };
    let Some((stored_hash, id)) = requests::idempotent_result(conn, principal, key)? else {
        return Ok(None);
    };
    if &stored_hash != hash {
        return Err(ApiError::invalid_field(
            "Idempotency-Key",
            "this key was already used with a different body; use a new key for a new request",
        ));
    }
    let first = requests::find(conn, id)?.ok_or_else(|| not_found(id))?;
    Ok(Some((first, true)))
}

/// The reading half of a creation: the aggregate checks the caller, the flow and the input under
/// `settings` with what is read for it here, and the approvers are resolved; nothing is written.
/// The people's versions, which only a re-checking commit compares, are read only for one.
pub fn prepare_create(
    conn: &mut DbConnection,
    principal: &User,
    input: &NewRequest,
    idempotency: &Option<(String, String)>,
    settings: &Settings,
    recheck: Recheck,
    now: DateTime<Utc>,
) -> Result<Prepared<CreatePlan, (AccessRequest, bool)>, ApiError> {
    if let Some(first) = replay(conn, principal.id, idempotency.as_ref())? {
        return Ok(Prepared::Answer(first));
    }
    request::check_enabled(settings).map_err(refusal)?;
    let actor = Actor::of(principal);
    let requester = match actor.requests_for(input.requester_id).map_err(refusal)? {
        Some(id) => request::check_requester(id, users::find(conn, id)?).map_err(refusal)?,
        None => principal.clone(),
    };
    let found = flow_repo::find_for_submission(
        conn,
        input.flow_id,
        requester.id,
        requester.manager_id,
        now,
    )?;
    let device = match (&found, input.device_id) {
        (Some(f), Some(id)) if f.flow.kind() == FlowKind::DeviceAdmin => devices::find(conn, id)?,
        _ => None,
    };
    // A flow with conditions sees the requester's groups (read only for such a flow).
    let policy = match &found {
        Some(f) if f.flow.has_conditions() => Some(PolicyInput {
            groups: groups::groups_of(conn, requester.id, now, MAX_CONTEXT_LIST as i64)?,
            now,
        }),
        _ => None,
    };
    // A break-glass flow counts the requester's recent break-glass requests (under a lock on
    // PostgreSQL, so that two submissions at once cannot both count the same past).
    let break_glass = match &found {
        Some(f) if f.flow.break_glass() => Some(break_glass_input(conn, requester.id, now)?),
        _ => None,
    };
    let submission = Draft {
        flow_id: input.flow_id,
        flow: found.as_ref().map(|f| &f.flow),
        visible: found.as_ref().is_some_and(|f| f.visible),
        open_request: found.as_ref().and_then(|f| f.open_request),
        requester: &requester,
        reason: &input.reason,
        duration_seconds: input.duration_seconds,
        device_id: input.device_id,
        device: device.as_ref(),
        resubmitted_from: input.resubmitted_from,
        form: &input.form,
        policy: policy.as_ref(),
        break_glass: break_glass.as_ref(),
        starts_at: input.starts_at,
        now,
    }
    .check()
    .map_err(refusal)?;
    let Some(flow_repo::FlowForRequest { flow, people, .. }) = found else {
        return Err(refusal(RequestError::FlowUnavailable(input.flow_id)));
    };
    let submission = match input.extends_grant {
        Some(id) => {
            let grant = grants::find(conn, id)?
                .ok_or_else(|| ApiError::NotFound(format!("no grant with id {id}")))?;
            submission.extending(&grant, &flow, now).map_err(refusal)?
        }
        None => submission,
    };
    let resolved = approvers::resolve_from(conn, &flow, &requester, people, now)?;
    let change = AccessRequest::submit(
        RequestId::new_v7(),
        submission,
        resolved,
        settings.expiry_days,
        principal.id,
        now,
    )
    .map_err(refusal)?;
    let people = match recheck {
        Recheck::Yes => users::versions(conn, &change.request.people())?,
        Recheck::No => Vec::new(),
    };
    Ok(Prepared::Write(CreatePlan {
        principal: principal.id,
        change,
        flow_version: flow.version(),
        people,
        terms: FlowTerms::of(Some(&flow)),
        idempotency: idempotency.clone(),
    }))
}

/// What a break-glass submission is checked against: the requester's break-glass requests of the
/// window (read after taking their lock) and the administrators who review it.
fn break_glass_input(
    conn: &mut DbConnection,
    requester: UserId,
    now: DateTime<Utc>,
) -> Result<BreakGlassInput, ApiError> {
    requests::break_glass::lock_requester(conn, requester)?;
    Ok(BreakGlassInput {
        recent: requests::break_glass::made_since(conn, requester, request::window_start(now))?,
        admins: super::fulfilment::it_admins(conn)?,
    })
}

/// The writing half of a creation: stores the request with its events, notifications and (for an
/// automatic flow) grant, unless the flow or the people it involves changed since it was prepared.
pub fn commit_create(
    conn: &mut Tx,
    plan: CreatePlan,
    recheck: Recheck,
    now: DateTime<Utc>,
) -> Result<Written<(AccessRequest, bool)>, ApiError> {
    if recheck == Recheck::Yes
        && let Some(first) = replay(conn, plan.principal, plan.idempotency.as_ref())?
    {
        return Ok(Written::Done(first));
    }
    let CreatePlan {
        principal,
        mut change,
        flow_version,
        people,
        terms,
        idempotency,
    } = plan;
    // The flow and the people it resolved to are as read (a deactivated approver or a new manager
    // would have moved an open request to `error`; this one is prepared again instead).
    let unchanged = recheck == Recheck::No
        || flow_repo::enabled_version(conn, change.request.flow_id())? == Some(flow_version)
            && users::versions(conn, &change.request.people())? == people;
    if !unchanged {
        return Ok(Written::Stale);
    }
    // SQLite's writing half runs apart from its reading half: the allowance is counted again here,
    // where writes run one at a time.
    if recheck == Recheck::Yes && change.request.break_glass() {
        let recent = requests::break_glass::made_since(
            conn,
            change.request.requester_id(),
            request::window_start(now),
        )?;
        request::check_allowance(&recent, now).map_err(refusal)?;
    }
    change = super::fulfilment::complete_approval(conn, change, &terms, now)?;
    let created = store(conn, change, now)?
        .ok_or_else(|| ApiError::conflict("the request changed while it was being made; retry"))?;
    if let Some((key, hash)) = idempotency {
        requests::remember_idempotency_key(conn, principal, &key, &hash, created.id(), now)?;
    }
    Ok(Written::Done((created, false)))
}
