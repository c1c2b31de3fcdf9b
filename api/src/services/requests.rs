//! The request engine's use cases. Each runs in one transaction: the state change, its audit
//! events and any grant or membership commit together. Writes of a request are version-checked, so
//! concurrent decisions on one request are serialised: a writer that lost the race reloads and
//! re-applies its decision to the new state (which may now refuse it).

use chrono::{DateTime, Utc};
use portcullis_domain::access::{Grant, GrantStatus, Session};
use portcullis_domain::directory::{User, UserKind};
use portcullis_domain::flow::{ApprovalFlow, ApprovalType, ApproverType, FlowKind};
use portcullis_domain::request::{
    self, AccessRequest, RequestError, RequestStatus, Submission, Verdict,
};
use portcullis_domain::settings::Settings;
use portcullis_domain::{
    DeviceId, EventId, FlowId, GrantId, GroupId, RequestId, SessionId, UserId,
};
use portcullis_persistence::repo::events::NewEvent;
use portcullis_persistence::repo::{
    devices, flows as flow_repo, grants, groups, requests, settings, users,
};
use portcullis_persistence::{DbConnection, is_unique_violation};
use serde_json::json;

use crate::error::ApiError;
use crate::notify::{self, email};
use crate::services::{Prepared, Recheck, Written, flows};

pub const CREATED: &str = "access_management_access_request";
pub const APPROVED: &str = "access_management_access_request_approval";
pub const DENIED: &str = "access_management_access_request_deny";
pub const ASSOCIATION_CHANGE: &str = "access_management_association_change";
pub const STEP_DECISION: &str = "access_management_access_request_step_decision";
pub const CANCELED: &str = "access_management_access_request_cancel";
pub const EXPIRED: &str = "access_management_access_request_expire";
pub const ERROR: &str = "access_management_access_request_error";
pub const RETRIED: &str = "access_management_access_request_retry";
pub const REASSIGNED: &str = "access_management_access_request_reassign";
pub const COMMENTED: &str = "access_management_access_request_comment";
pub const SESSION_START: &str = "access_management_device_admin_session_start";
pub const SESSION_END: &str = "access_management_device_admin_session_end";

/// What the caller asked for when creating a request.
pub struct NewRequest {
    pub flow_id: FlowId,
    pub reason: String,
    pub duration_seconds: Option<i64>,
    pub device_id: Option<DeviceId>,
    pub requester_id: Option<UserId>,
    pub resubmitted_from: Option<RequestId>,
}

/// A decision as sent by an approver or an admin.
pub struct DecisionInput {
    pub verdict: Verdict,
    pub comment: Option<String>,
    pub reason: Option<String>,
    pub next_steps: Option<String>,
    pub is_override: bool,
    pub internal_note: Option<String>,
    pub duration_seconds: Option<i64>,
}

/// Maps a refused transition to the answer a client should get.
pub fn refusal(error: RequestError) -> ApiError {
    match error {
        RequestError::NotPending(_)
        | RequestError::NotInError(_)
        | RequestError::AlreadyDecided => ApiError::conflict(error.to_string()),
        RequestError::SelfDecision
        | RequestError::NotAnApprover
        | RequestError::AdminOnly
        | RequestError::RequesterOnly => ApiError::Forbidden(error.to_string()),
        RequestError::NoEligibleApprover(_) => {
            ApiError::invalid_field("flow_id", error.to_string())
        }
        RequestError::Invalid(message) => ApiError::invalid_field("body", message),
    }
}

fn not_found(id: RequestId) -> ApiError {
    ApiError::NotFound(format!("no access request with id {id}"))
}

/// Who may see a request: its requester, its approvers, admins and integration accounts.
pub fn may_view(request: &AccessRequest, viewer: &User) -> bool {
    viewer.acts_as_admin()
        || viewer.kind == UserKind::Integration
        || request.requester_id == viewer.id
        || request.involves(viewer.id)
}

/// Loads a request the viewer may see (others get the same 404 as for a missing one).
pub fn get_visible(
    conn: &mut DbConnection,
    id: RequestId,
    viewer: &User,
) -> Result<AccessRequest, ApiError> {
    requests::find(conn, id)?
        .filter(|r| may_view(r, viewer))
        .ok_or_else(|| not_found(id))
}

/// Records a request event (and its webhook deliveries) and queues the requester's emails it
/// causes, all in the caller's transaction.
fn record(
    conn: &mut DbConnection,
    event_type: &'static str,
    actor: Option<UserId>,
    request: &AccessRequest,
    status_before: Option<RequestStatus>,
    extra: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<EventId, ApiError> {
    let mut data = json!({
        "request_id": request.id,
        "flow_id": request.flow_id,
        "flow_version": request.flow_version,
        "requester_id": request.requester_id,
        "status_before": status_before,
        "status_after": request.status,
    });
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    let id = notify::publish(
        conn,
        &NewEvent {
            event_type,
            occurred_at: now,
            actor_id: actor,
            subject_type: "access_request",
            subject_id: request.id.to_string(),
            data,
        },
    )?;
    email::on_request_event(conn, id, event_type, request, now)?;
    Ok(id)
}

/// Resolves who approves `flow` for `requester` today.
fn resolve(
    conn: &mut DbConnection,
    flow: &ApprovalFlow,
    requester: &User,
    now: DateTime<Utc>,
) -> Result<Vec<portcullis_domain::flow::ResolvedStep>, ApiError> {
    flows::resolve(conn, flow, requester, now)
}

/// A request ready to be stored, with what it was decided from (see [`prepare_create`]).
pub struct CreatePlan {
    principal: UserId,
    created: AccessRequest,
    approved_at_once: bool,
    flow_version: i64,
    /// The requester and every approver, with the version of each as read (for a re-checking
    /// commit only).
    people: Vec<(String, i64)>,
    target_group: Option<GroupId>,
    idempotency: Option<(String, String)>,
}

/// The requester and the approvers of `request`, each once.
fn people_of(request: &AccessRequest) -> Vec<UserId> {
    let mut ids: Vec<UserId> = request
        .steps
        .iter()
        .flat_map(|step| step.approver_ids.iter().copied())
        .collect();
    ids.push(request.requester_id);
    ids.sort_unstable_by_key(ToString::to_string);
    ids.dedup();
    ids
}

/// Creates a request in one transaction. With an idempotency key, a replay of the same body returns
/// the first request (`Ok((request, true))`) and the same key with another body is a 422.
pub fn create(
    conn: &mut DbConnection,
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

/// The reading half of a creation: checks the caller, the flow and the input under `settings`, and
/// resolves the approvers; nothing is written. The people's versions, which only a re-checking
/// commit compares, are read only for one.
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
    if !settings.resource_requests_enabled {
        return Err(ApiError::Forbidden(
            "resource requests are turned off by an administrator".to_owned(),
        ));
    }
    let requester = match input.requester_id.filter(|id| *id != principal.id) {
        Some(id) => {
            if !principal.acts_as_admin() && principal.kind != UserKind::Integration {
                return Err(ApiError::Forbidden(
                    "only administrators and integration accounts may request on behalf of someone"
                        .to_owned(),
                ));
            }
            let user = users::find(conn, id)?.ok_or_else(|| {
                ApiError::invalid_field("requester_id", format!("no user with id {id}"))
            })?;
            if !user.active || user.kind != UserKind::Person {
                return Err(ApiError::invalid_field(
                    "requester_id",
                    "must be an active person",
                ));
            }
            user
        }
        None if principal.kind == UserKind::Integration => {
            return Err(ApiError::invalid_field(
                "requester_id",
                "an integration account never holds access; name the person it requests for",
            ));
        }
        None => principal.clone(),
    };
    let unavailable = || {
        ApiError::NotFound(format!(
            "no approval flow with id {} is available to you",
            input.flow_id
        ))
    };
    let flow_repo::FlowForRequest {
        flow,
        visible,
        open_request,
    } = flow_repo::find_for_request(conn, input.flow_id, requester.id, now)?
        .filter(|f| f.flow.enabled())
        .ok_or_else(unavailable)?;
    if !visible {
        return Err(unavailable());
    }
    let reason =
        request::parse_reason(&input.reason).map_err(|m| ApiError::invalid_field("reason", m))?;
    let duration_seconds = choose_duration(&flow, input.duration_seconds)?;
    let device_id = choose_device(conn, &flow, &requester, input.device_id)?;
    if let Some(existing) = open_request {
        return Err(already_open(existing));
    }
    let resolved = resolve(conn, &flow, &requester, now)?;
    let submission = Submission {
        flow_id: flow.id(),
        flow_name: flow.name().to_owned(),
        flow_version: flow.version(),
        kind: flow.kind(),
        approval_type: flow.approval_type(),
        approver_requirement: flow.approver_requirement(),
        requester_id: requester.id,
        reason,
        duration_seconds,
        device_id,
        resubmitted_from: input.resubmitted_from,
    };
    let mut created = AccessRequest::submit(
        RequestId::new_v7(),
        submission,
        resolved,
        settings.expiry_days,
        now,
    )
    .map_err(refusal)?;
    let approved_at_once = created.status == RequestStatus::Approved;
    if approved_at_once {
        // Recorded as pending first, so the history reads created → approved.
        created.status = RequestStatus::Pending;
    }
    let people = match recheck {
        Recheck::Yes => users::versions(conn, &people_of(&created))?,
        Recheck::No => Vec::new(),
    };
    Ok(Prepared::Write(CreatePlan {
        principal: principal.id,
        created,
        approved_at_once,
        flow_version: flow.version(),
        people,
        target_group: flow.target_group_id(),
        idempotency: idempotency.clone(),
    }))
}

fn already_open(existing: RequestId) -> ApiError {
    ApiError::Conflict {
        detail: "there is already an open request for this flow".to_owned(),
        existing_id: Some(existing.to_string()),
    }
}

/// The writing half of a creation: stores the request with its events, notifications and (for an
/// automatic flow) grant, unless the flow or the people it involves changed since it was prepared.
pub fn commit_create(
    conn: &mut DbConnection,
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
        mut created,
        approved_at_once,
        flow_version,
        people,
        target_group,
        idempotency,
    } = plan;
    // The flow and the people it resolved to are as read (a deactivated approver or a new manager
    // would have moved an open request to `error`; this one is prepared again instead).
    let unchanged = recheck == Recheck::No
        || flow_repo::enabled_version(conn, created.flow_id)? == Some(flow_version)
            && users::versions(conn, &people_of(&created))? == people;
    if !unchanged {
        return Ok(Written::Stale);
    }
    requests::insert(conn, &created).map_err(|e| {
        // Another creation for the same requester and flow committed since this was prepared.
        if is_unique_violation(&e, "open_key") {
            ApiError::conflict("there is already an open request for this flow")
        } else {
            e.into()
        }
    })?;
    let event = record(
        conn,
        CREATED,
        Some(principal),
        &created,
        None,
        json!({ "reason": created.reason }),
        now,
    )?;
    email::approvers_newly_awaiting(conn, event, None, &created, now)?;
    if approved_at_once {
        let before = created.clone();
        created.status = RequestStatus::Approved;
        created.version += 1;
        created = settle_approval(
            conn,
            None,
            &before,
            created,
            target_group,
            json!({ "automatic": true }),
            now,
        )?;
    }
    if let Some((key, hash)) = idempotency {
        requests::remember_idempotency_key(conn, principal, &key, &hash, created.id, now)?;
    }
    Ok(Written::Done((created, false)))
}

fn choose_duration(flow: &ApprovalFlow, asked: Option<i64>) -> Result<Option<i64>, ApiError> {
    let choices = flow.duration_choices();
    match (asked, choices) {
        (None, []) => Ok(None),
        (Some(_), []) => Err(ApiError::invalid_field(
            "duration_seconds",
            "this flow grants access without a time limit",
        )),
        (None, [only]) => Ok(Some(*only)),
        (None, _) => Err(ApiError::invalid_field(
            "duration_seconds",
            format!("choose one of {choices:?}"),
        )),
        (Some(seconds), _) if choices.contains(&seconds) => Ok(Some(seconds)),
        (Some(_), _) => Err(ApiError::invalid_field(
            "duration_seconds",
            format!("must be one of {choices:?}"),
        )),
    }
}

fn choose_device(
    conn: &mut DbConnection,
    flow: &ApprovalFlow,
    requester: &User,
    asked: Option<DeviceId>,
) -> Result<Option<DeviceId>, ApiError> {
    match (flow.kind(), asked) {
        (FlowKind::ResourceRequest, None) => Ok(None),
        (FlowKind::ResourceRequest, Some(_)) => Err(ApiError::invalid_field(
            "device_id",
            "only device-admin requests name a device",
        )),
        (FlowKind::DeviceAdmin, None) => Err(ApiError::invalid_field(
            "device_id",
            "a device-admin request needs the device",
        )),
        (FlowKind::DeviceAdmin, Some(id)) => {
            let assigned = devices::find(conn, id)?
                .is_some_and(|d| d.assigned_user_ids.contains(&requester.id));
            if assigned {
                Ok(Some(id))
            } else {
                Err(ApiError::invalid_field(
                    "device_id",
                    "must be a device assigned to the requester",
                ))
            }
        }
    }
}

/// Persists an approval, creating the grant of a resource request in `target_group` (the flow's);
/// if that group is gone the request goes to `error` instead (seed 001's retryable error).
fn settle_approval(
    conn: &mut DbConnection,
    actor: Option<UserId>,
    before: &AccessRequest,
    mut after: AccessRequest,
    target_group: Option<GroupId>,
    extra: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<AccessRequest, ApiError> {
    let mut grant = None;
    if after.kind == FlowKind::ResourceRequest {
        let group = match target_group {
            Some(group) => groups::find(conn, group)?,
            None => None,
        };
        match group {
            Some(group) => {
                grant = Some(Grant::new(
                    after.id,
                    after.requester_id,
                    group.id,
                    after.duration_seconds,
                    now,
                ));
            }
            None => {
                let mut failed = before.clone();
                failed
                    .fail("the group access is granted through no longer exists".to_owned())
                    .map_err(refusal)?;
                failed.version = before.version + 1;
                after = failed;
            }
        }
    }
    if !requests::update(conn, &after, before.version)? {
        return Err(ApiError::conflict(
            "the request changed while it was being decided; retry",
        ));
    }
    if after.status == RequestStatus::Error {
        record(
            conn,
            ERROR,
            actor,
            &after,
            Some(before.status),
            json!({ "error": after.error }),
            now,
        )?;
        return Ok(after);
    }
    record(
        conn,
        APPROVED,
        actor,
        &after,
        Some(before.status),
        extra,
        now,
    )?;
    if let Some(grant) = grant {
        grants::insert(conn, &grant)?;
        let data = json!({
            "change": "added", "grant_id": grant.id, "group_id": grant.group_id, "user_id": grant.user_id,
            "expires_at": grant.expires_at,
        });
        record(
            conn,
            ASSOCIATION_CHANGE,
            actor,
            &after,
            Some(RequestStatus::Approved),
            data,
            now,
        )?;
    }
    Ok(after)
}

/// A decision applied to the request as read, ready to be stored (see [`prepare_decision`]).
pub struct DecisionPlan {
    actor: UserId,
    before: AccessRequest,
    after: AccessRequest,
    settled: bool,
    target_group: Option<GroupId>,
    extra: serde_json::Value,
    reason: Option<String>,
    next_steps: Option<String>,
}

/// The reading half of an approver's decision or an admin's override (see
/// [`crate::state::AppState::read_then_write`]): loads the request and applies the decision to
/// it (refusing it as the domain says); nothing is written.
pub fn prepare_decision(
    conn: &mut DbConnection,
    actor: &User,
    id: RequestId,
    input: &DecisionInput,
    now: DateTime<Utc>,
) -> Result<Prepared<DecisionPlan, AccessRequest>, ApiError> {
    // Visibility first: a request the actor may not see is a 404 whatever they ask of it.
    let before = get_visible(conn, id, actor)?;
    if actor.kind == UserKind::Integration {
        return Err(ApiError::Forbidden(
            "integration accounts never approve or deny".to_owned(),
        ));
    }
    if input.is_override && !actor.acts_as_admin() {
        return Err(ApiError::Forbidden(
            "only administrators can override".to_owned(),
        ));
    }
    let mut after = before.clone();
    let denial = (input.reason.clone(), input.next_steps.clone());
    let settled = if input.is_override {
        after
            .override_decision(
                actor.id,
                true,
                input.verdict,
                input.comment.clone(),
                denial,
                now,
            )
            .map(|()| true)
    } else {
        after.decide(
            actor.id,
            input.verdict,
            input.comment.clone(),
            denial,
            input.duration_seconds,
            now,
        )
    }
    .map_err(refusal)?;
    after.version = before.version + 1;
    let target_group = if settled && after.status == RequestStatus::Approved {
        flow_repo::find(conn, after.flow_id)?.and_then(|f| f.target_group_id())
    } else {
        None
    };
    Ok(Prepared::Write(DecisionPlan {
        actor: actor.id,
        before,
        after,
        settled,
        target_group,
        extra: json!({
            "decision": input.verdict,
            "override": input.is_override,
            "comment": input.comment,
            "internal_note": input.internal_note,
        }),
        reason: input.reason.clone(),
        next_steps: input.next_steps.clone(),
    }))
}

/// The writing half of a decision: stores the decided request (if nobody changed it since it was
/// read), its events and notifications, and the grant an approval creates.
pub fn commit_decision(
    conn: &mut DbConnection,
    plan: DecisionPlan,
    now: DateTime<Utc>,
) -> Result<Written<AccessRequest>, ApiError> {
    let DecisionPlan {
        actor,
        before,
        after,
        settled,
        target_group,
        extra,
        reason,
        next_steps,
    } = plan;
    let result = match (settled, after.status) {
        (true, RequestStatus::Approved) => {
            settle_approval(conn, Some(actor), &before, after, target_group, extra, now)
        }
        (true, _) => {
            if !requests::update(conn, &after, before.version)? {
                return Ok(Written::Stale);
            }
            let mut data = extra;
            data["reason"] = json!(reason);
            data["next_steps"] = json!(next_steps);
            record(
                conn,
                DENIED,
                Some(actor),
                &after,
                Some(before.status),
                data,
                now,
            )?;
            Ok(after)
        }
        (false, _) => {
            if !requests::update(conn, &after, before.version)? {
                return Ok(Written::Stale);
            }
            let event = record(
                conn,
                STEP_DECISION,
                Some(actor),
                &after,
                Some(before.status),
                extra,
                now,
            )?;
            email::approvers_newly_awaiting(conn, event, Some(&before), &after, now)?;
            Ok(after)
        }
    };
    match result {
        // `settle_approval` found the request changed before writing anything.
        Err(ApiError::Conflict { .. }) => Ok(Written::Stale),
        other => other.map(Written::Done),
    }
}

/// Applies a simple transition with a version-checked write and an event.
fn transition(
    conn: &mut DbConnection,
    actor: Option<UserId>,
    before: &AccessRequest,
    change: impl FnOnce(&mut AccessRequest) -> Result<(), RequestError>,
    event_type: &'static str,
    extra: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<AccessRequest, ApiError> {
    let mut after = before.clone();
    change(&mut after).map_err(refusal)?;
    after.version = before.version + 1;
    if !requests::update(conn, &after, before.version)? {
        return Err(ApiError::conflict(
            "the request changed at the same time; fetch it again and retry",
        ));
    }
    let event = record(
        conn,
        event_type,
        actor,
        &after,
        Some(before.status),
        extra,
        now,
    )?;
    // A retry or a reassignment hands the request to approvers who have not seen it yet.
    email::approvers_newly_awaiting(conn, event, Some(before), &after, now)?;
    Ok(after)
}

pub fn cancel(
    conn: &mut DbConnection,
    actor: &User,
    id: RequestId,
    now: DateTime<Utc>,
) -> Result<AccessRequest, ApiError> {
    let before = get_visible(conn, id, actor)?;
    let is_admin = actor.acts_as_admin();
    transition(
        conn,
        Some(actor.id),
        &before,
        |r| r.cancel(actor.id, is_admin, now),
        CANCELED,
        json!({}),
        now,
    )
}

pub fn retry(
    conn: &mut DbConnection,
    actor: &User,
    id: RequestId,
    now: DateTime<Utc>,
) -> Result<AccessRequest, ApiError> {
    let before = get_visible(conn, id, actor)?;
    if !actor.acts_as_admin() {
        return Err(refusal(RequestError::AdminOnly));
    }
    let flow = flow_repo::find(conn, before.flow_id)?.ok_or_else(|| {
        ApiError::conflict("the flow of this request no longer exists; deny or cancel it")
    })?;
    let requester = users::find(conn, before.requester_id)?.ok_or_else(|| not_found(id))?;
    let resolved = resolve(conn, &flow, &requester, now)?;
    let expiry_days = settings::get(conn)?.settings.expiry_days;
    let (version, requirement) = (flow.version(), flow.approver_requirement());
    if flow.approval_type() == ApprovalType::Automatic {
        return Err(ApiError::conflict(
            "the flow is now automatic; approve the request with an override",
        ));
    }
    transition(
        conn,
        Some(actor.id),
        &before,
        |r| r.retry(true, version, resolved, requirement, expiry_days, now),
        RETRIED,
        json!({}),
        now,
    )
}

pub fn reassign(
    conn: &mut DbConnection,
    actor: &User,
    id: RequestId,
    to: UserId,
    now: DateTime<Utc>,
) -> Result<AccessRequest, ApiError> {
    let before = get_visible(conn, id, actor)?;
    let target = users::find(conn, to)?
        .filter(|u| u.active && u.kind == UserKind::Person)
        .ok_or_else(|| ApiError::invalid_field("to_user_id", "must be an active person"))?;
    let administrator_step = before.steps.iter().any(|s| {
        s.approver_type == ApproverType::Administrator && s.approver_ids.contains(&actor.id)
    });
    if administrator_step && !target.is_admin {
        return Err(ApiError::invalid_field(
            "to_user_id",
            "an administrator step can only go to another administrator",
        ));
    }
    transition(
        conn,
        Some(actor.id),
        &before,
        |r| r.reassign(actor.id, target.id),
        REASSIGNED,
        json!({ "from_user_id": actor.id, "to_user_id": target.id }),
        now,
    )
}

/// A new request for a denied one, linked to it.
pub fn resubmit(
    conn: &mut DbConnection,
    actor: &User,
    id: RequestId,
    reason: String,
    now: DateTime<Utc>,
) -> Result<AccessRequest, ApiError> {
    let denied = get_visible(conn, id, actor)?;
    if denied.requester_id != actor.id {
        return Err(refusal(RequestError::RequesterOnly));
    }
    if denied.status != RequestStatus::Denied {
        return Err(ApiError::conflict(
            "only a denied request can be resubmitted",
        ));
    }
    let input = NewRequest {
        flow_id: denied.flow_id,
        reason,
        duration_seconds: denied.duration_seconds,
        device_id: denied.device_id,
        requester_id: None,
        resubmitted_from: Some(denied.id),
    };
    create(conn, actor, &input, &None, now).map(|(request, _)| request)
}

pub fn comment(
    conn: &mut DbConnection,
    actor: &User,
    id: RequestId,
    body: &str,
    now: DateTime<Utc>,
) -> Result<requests::CommentRow, ApiError> {
    let request = get_visible(conn, id, actor)?;
    let body = request::parse_text(Some(body))
        .map_err(|m| ApiError::invalid_field("body", m))?
        .ok_or_else(|| ApiError::invalid_field("body", "must not be empty"))?;
    let row = requests::add_comment(conn, id, actor.id, &body, now)?;
    record(
        conn,
        COMMENTED,
        Some(actor.id),
        &request,
        Some(request.status),
        json!({ "comment_id": row.id }),
        now,
    )?;
    Ok(row)
}

/// Moves the open requests `ids` to `error` (skipping those no longer pending), with one event each.
pub fn fail_all(
    conn: &mut DbConnection,
    ids: Vec<RequestId>,
    why: &str,
    actor: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let mut failed = 0;
    for id in ids {
        let Some(before) = requests::find(conn, id)? else {
            continue;
        };
        if before.status != RequestStatus::Pending {
            continue;
        }
        transition(
            conn,
            actor,
            &before,
            |r| r.fail(why.to_owned()),
            ERROR,
            json!({ "error": why }),
            now,
        )?;
        failed += 1;
    }
    Ok(failed)
}

/// Cancels the open requests of a deleted flow.
pub fn cancel_for_flow(
    conn: &mut DbConnection,
    flow: FlowId,
    actor: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    for id in requests::open_for_flow(conn, flow)? {
        let Some(before) = requests::find(conn, id)? else {
            continue;
        };
        transition(
            conn,
            actor,
            &before,
            |r| r.cancel_for_deleted_flow(now),
            CANCELED,
            json!({ "cause": "the approval flow was deleted" }),
            now,
        )?;
    }
    Ok(())
}

/// The requester starts the session an approved device-admin request allows (once).
pub fn start_session(
    conn: &mut DbConnection,
    actor: &User,
    id: RequestId,
    now: DateTime<Utc>,
) -> Result<Session, ApiError> {
    let request = get_visible(conn, id, actor)?;
    if request.requester_id != actor.id {
        return Err(refusal(RequestError::RequesterOnly));
    }
    if request.kind != FlowKind::DeviceAdmin {
        return Err(ApiError::conflict(
            "only device-admin requests have sessions",
        ));
    }
    if request.status != RequestStatus::Approved {
        return Err(ApiError::conflict(format!(
            "the request is {}, not approved",
            request.status
        )));
    }
    if grants::session_for_request(conn, id)?.is_some() {
        return Err(ApiError::conflict(
            "the session of this request was already started",
        ));
    }
    let (Some(device), Some(duration)) = (request.device_id, request.duration_seconds) else {
        return Err(ApiError::internal(
            "an approved device-admin request lacks its device or duration",
        ));
    };
    let session = Session::start(id, device, actor.id, duration, now);
    grants::insert_session(conn, &session).map_err(|e| {
        if is_unique_violation(&e, "request_id") {
            ApiError::conflict("the session of this request was already started")
        } else {
            e.into()
        }
    })?;
    let data = json!({ "session_id": session.id, "device_id": device, "ends_at": session.ends_at });
    record(
        conn,
        SESSION_START,
        Some(actor.id),
        &request,
        Some(request.status),
        data,
        now,
    )?;
    Ok(session)
}

pub fn end_session(
    conn: &mut DbConnection,
    actor: &User,
    id: SessionId,
    now: DateTime<Utc>,
) -> Result<Session, ApiError> {
    let mut session = grants::find_session(conn, id)?
        .filter(|s| actor.acts_as_admin() || s.user_id == actor.id)
        .ok_or_else(|| ApiError::NotFound(format!("no session with id {id}")))?;
    session
        .end(Some(actor.id), now)
        .map_err(ApiError::conflict)?;
    if !grants::end_session(conn, &session)? {
        return Err(ApiError::conflict("the session has already ended"));
    }
    if let Some(request) = requests::find(conn, session.request_id)? {
        record(
            conn,
            SESSION_END,
            Some(actor.id),
            &request,
            Some(request.status),
            json!({ "session_id": id, "early": true }),
            now,
        )?;
    }
    Ok(session)
}

/// Ends a grant: its holder gives it up or an admin revokes it (`Revoked`), or its time is up (`Expired`).
pub fn end_grant(
    conn: &mut DbConnection,
    actor: Option<&User>,
    id: GrantId,
    status: GrantStatus,
    now: DateTime<Utc>,
) -> Result<Option<Grant>, ApiError> {
    let Some(mut grant) = grants::find(conn, id)? else {
        return Err(ApiError::NotFound(format!("no grant with id {id}")));
    };
    if let Some(actor) = actor
        && !actor.acts_as_admin()
        && grant.user_id != actor.id
    {
        return Err(ApiError::NotFound(format!("no grant with id {id}")));
    }
    grant
        .end(status, actor.map(|a| a.id), now)
        .map_err(ApiError::conflict)?;
    if !grants::end(conn, &grant)? {
        return Ok(None);
    }
    if let Some(request) = requests::find(conn, grant.request_id)? {
        let data = json!({
            "change": "removed", "grant_id": grant.id, "group_id": grant.group_id, "user_id": grant.user_id,
            "grant_status": grant.status,
        });
        record(
            conn,
            ASSOCIATION_CHANGE,
            actor.map(|a| a.id),
            &request,
            Some(request.status),
            data,
            now,
        )?;
    }
    Ok(Some(grant))
}

/// One pass of the background jobs; returns how many items each job handled.
pub fn run_jobs(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<(usize, usize, usize), ApiError> {
    let mut expired = 0;
    for id in requests::due_for_expiry(conn, now, batch)? {
        let Some(before) = requests::find(conn, id)? else {
            continue;
        };
        let mut after = before.clone();
        if after.expire(now).is_err() {
            continue;
        }
        after.version = before.version + 1;
        // Another replica may have expired it first: the version check makes the event happen once.
        if requests::update(conn, &after, before.version)? {
            record(
                conn,
                EXPIRED,
                None,
                &after,
                Some(before.status),
                json!({}),
                now,
            )?;
            expired += 1;
        }
    }
    let mut ended_grants = 0;
    for grant in grants::due_for_expiry(conn, now, batch)? {
        if end_grant(conn, None, grant.id, GrantStatus::Expired, now)?.is_some() {
            ended_grants += 1;
        }
    }
    let mut ended_sessions = 0;
    for mut session in grants::sessions_due(conn, now, batch)? {
        if session.end(None, now).is_ok() && grants::end_session(conn, &session)? {
            if let Some(request) = requests::find(conn, session.request_id)? {
                let data = json!({ "session_id": session.id, "early": false });
                record(
                    conn,
                    SESSION_END,
                    None,
                    &request,
                    Some(request.status),
                    data,
                    now,
                )?;
            }
            ended_sessions += 1;
        }
    }
    Ok((expired, ended_grants, ended_sessions))
}
