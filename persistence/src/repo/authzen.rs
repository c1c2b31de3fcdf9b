//! AuthZEN: the evaluation's reads (one index lookup each), the requestable flows of a group, the
//! signing key of binding tokens, and the tasks of requests submitted through ARAP.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::access::GrantStatus;
use portcullis_domain::flow::{ApprovalFlow, FlowKind};
use portcullis_domain::request::RequestStatus;
use portcullis_domain::{DeviceId, GroupId, RequestId, UserId};

use super::flows::{FlowRow, convert, current_groups_of};
use super::groups::unexpired;
use crate::connection::DbConnection;
use crate::schema::{
    access_requests, approval_flows, authzen_signing_keys, authzen_tasks, device_admin_sessions,
    device_assignments, devices, flow_groups, grants, memberships,
};
use crate::time::{from_db, to_db};

/// Whether `user` is a member of `group` at `now` (any source, [`unexpired`]).
pub fn is_member(
    conn: &mut DbConnection,
    user: UserId,
    group: GroupId,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let query = diesel::select(diesel::dsl::exists(
        memberships::table
            .filter(memberships::user_id.eq(user.to_string()))
            .filter(memberships::group_id.eq(group.to_string()))
            .filter(unexpired(now)),
    ));
    crate::on_backend!(conn, |c| query.get_result(c))
}

/// Whether `user` holds a running device-admin session on `device` at `now`.
pub fn in_session(
    conn: &mut DbConnection,
    user: UserId,
    device: DeviceId,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let at = to_db(now);
    let query = diesel::select(diesel::dsl::exists(
        device_admin_sessions::table
            .filter(device_admin_sessions::user_id.eq(user.to_string()))
            .filter(device_admin_sessions::device_id.eq(device.to_string()))
            .filter(device_admin_sessions::ends_at.gt(at))
            .filter(device_admin_sessions::started_at.le(at))
            .filter(device_admin_sessions::ended_at.is_null()),
    ));
    crate::on_backend!(conn, |c| query.get_result(c))
}

/// A flow that gives a group, as a denial offers it.
pub struct RequestableFlow {
    pub flow: ApprovalFlow,
    /// Whether `user` already has an open (pending or failed) request through it.
    pub open: bool,
}

/// The oldest enabled resource-request flow whose target is `group` and that `user` may see (a
/// current member of one of its visibility groups), if any.
pub fn requestable_flow(
    conn: &mut DbConnection,
    user: UserId,
    group: GroupId,
    now: DateTime<Utc>,
) -> QueryResult<Option<RequestableFlow>> {
    oldest_visible(conn, user, FlowKind::ResourceRequest, Some(group), now)
}

/// The oldest enabled device-admin flow `user` may see, when `device` is assigned to them and
/// managed (it presented its certificate): what a denial of admin rights on it offers.
pub fn requestable_device_flow(
    conn: &mut DbConnection,
    user: UserId,
    device: DeviceId,
    now: DateTime<Utc>,
) -> QueryResult<Option<RequestableFlow>> {
    let eligible: bool = diesel::select(diesel::dsl::exists(
        devices::table
            .inner_join(device_assignments::table)
            .filter(devices::id.eq(device.to_string()))
            .filter(devices::certificate_fingerprint.is_not_null())
            .filter(device_assignments::user_id.eq(user.to_string())),
    ))
    .get_result(conn)?;
    if !eligible {
        return Ok(None);
    }
    oldest_visible(conn, user, FlowKind::DeviceAdmin, None, now)
}

/// The oldest enabled flow of `kind` that `user` may see (a current member of one of its
/// visibility groups) and, when `giving` is set, whose target is that group, with whether `user`
/// has a request open through it.
fn oldest_visible(
    conn: &mut DbConnection,
    user: UserId,
    kind: FlowKind,
    giving: Option<GroupId>,
    now: DateTime<Utc>,
) -> QueryResult<Option<RequestableFlow>> {
    let visible = flow_groups::table
        .filter(flow_groups::role.eq("visibility"))
        .filter(flow_groups::group_id.eq_any(current_groups_of(user, now)))
        .select(flow_groups::flow_id);
    let mut query = approval_flows::table
        .filter(approval_flows::enabled.eq(true))
        .filter(approval_flows::kind.eq(kind.as_str()))
        .filter(approval_flows::id.eq_any(visible))
        .into_boxed();
    if let Some(group) = giving {
        query = query.filter(
            approval_flows::id.eq_any(
                flow_groups::table
                    .filter(flow_groups::group_id.eq(group.to_string()))
                    .filter(flow_groups::role.eq("target"))
                    .select(flow_groups::flow_id),
            ),
        );
    }
    let row: Option<FlowRow> = query
        .order((approval_flows::created_at, approval_flows::id))
        .select(FlowRow::as_select())
        .first(conn)
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let flow = convert(row)?;
    let open = diesel::select(diesel::dsl::exists(
        access_requests::table
            .filter(access_requests::open_key.eq(super::requests::open_key(user, flow.id()))),
    ))
    .get_result(conn)?;
    Ok(Some(RequestableFlow { flow, open }))
}

/// The signing key of binding tokens: `(kid, seed)`, the oldest one.
pub fn signing_key(conn: &mut DbConnection) -> QueryResult<Option<(String, String)>> {
    authzen_signing_keys::table
        .order(authzen_signing_keys::created_at)
        .select((authzen_signing_keys::kid, authzen_signing_keys::seed))
        .first(conn)
        .optional()
}

pub fn insert_signing_key(
    conn: &mut DbConnection,
    kid: &str,
    seed: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(authzen_signing_keys::table)
        .values((
            authzen_signing_keys::kid.eq(kid),
            authzen_signing_keys::seed.eq(seed),
            authzen_signing_keys::created_at.eq(to_db(now)),
        ))
        .execute(conn)
        .map(drop)
}

/// A request submitted through ARAP.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = authzen_tasks)]
pub struct TaskRow {
    pub id: String,
    pub request_id: String,
    pub submitter_id: String,
    pub subject_id: String,
    pub resource_type: String,
    pub resource_id: String,
    pub approval_id: String,
    pub evaluation_id: String,
    pub binding_jti: String,
    pub idempotency_key: Option<String>,
    pub body_hash: Option<String>,
    pub created_at: NaiveDateTime,
    /// What the submission's `callback` asked for (JSON), if anything.
    pub callback: Option<String>,
}

pub fn insert_task(conn: &mut DbConnection, task: &TaskRow) -> QueryResult<()> {
    diesel::insert_into(authzen_tasks::table)
        .values(task)
        .execute(conn)
        .map(drop)
}

/// The task of `request` and its callback (JSON), when its submission asked for one.
pub fn callback_of(
    conn: &mut DbConnection,
    request: RequestId,
) -> QueryResult<Option<(String, String)>> {
    authzen_tasks::table
        .filter(authzen_tasks::request_id.eq(request.to_string()))
        .filter(authzen_tasks::callback.is_not_null())
        .select((authzen_tasks::id, authzen_tasks::callback.assume_not_null()))
        .first(conn)
        .optional()
}

pub fn find_task(conn: &mut DbConnection, id: &str) -> QueryResult<Option<TaskRow>> {
    authzen_tasks::table
        .find(id)
        .select(TaskRow::as_select())
        .first(conn)
        .optional()
}

pub fn task_by_approval(
    conn: &mut DbConnection,
    approval_id: &str,
) -> QueryResult<Option<TaskRow>> {
    authzen_tasks::table
        .filter(authzen_tasks::approval_id.eq(approval_id))
        .select(TaskRow::as_select())
        .first(conn)
        .optional()
}

/// The task `submitter` made with this `Idempotency-Key`, if any.
pub fn task_by_idempotency_key(
    conn: &mut DbConnection,
    submitter: UserId,
    key: &str,
) -> QueryResult<Option<TaskRow>> {
    authzen_tasks::table
        .filter(authzen_tasks::submitter_id.eq(submitter.to_string()))
        .filter(authzen_tasks::idempotency_key.eq(key))
        .select(TaskRow::as_select())
        .first(conn)
        .optional()
}

/// What a task's status and result are read from: its request's status and decision time, and the
/// access it gave (the grant's status and end, or the session's end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskProgress {
    pub status: RequestStatus,
    pub requester_id: UserId,
    pub decided_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The access it gave, once given: the grant (whether it is active, and its end), or for a
    /// device-admin request the session (whether it is running at `now`, and its end).
    pub access: Option<(bool, Option<DateTime<Utc>>)>,
}

pub fn progress(
    conn: &mut DbConnection,
    request: RequestId,
    now: DateTime<Utc>,
) -> QueryResult<Option<TaskProgress>> {
    type Row = (String, String, Option<NaiveDateTime>, Option<NaiveDateTime>);
    let row: Option<Row> = access_requests::table
        .find(request.to_string())
        .select((
            access_requests::status,
            access_requests::requester_id,
            access_requests::decided_at,
            access_requests::expires_at,
        ))
        .first(conn)
        .optional()?;
    let Some((status, requester_id, decided_at, expires_at)) = row else {
        return Ok(None);
    };
    let grant: Option<(String, Option<NaiveDateTime>)> = grants::table
        .filter(grants::request_id.eq(request.to_string()))
        .select((grants::status, grants::expires_at))
        .first(conn)
        .optional()?;
    let access = match grant {
        Some((status, end)) => Some((status == GrantStatus::Active.as_str(), end.map(from_db))),
        // A device-admin request gives a session instead, once its requester starts it.
        None => device_admin_sessions::table
            .filter(device_admin_sessions::request_id.eq(request.to_string()))
            .select((
                device_admin_sessions::ends_at,
                device_admin_sessions::ended_at,
            ))
            .first::<(NaiveDateTime, Option<NaiveDateTime>)>(conn)
            .optional()?
            .map(|(ends_at, ended_at)| {
                let ends_at = from_db(ends_at);
                (ended_at.is_none() && ends_at > now, Some(ends_at))
            }),
    };
    let bad = |e: Box<dyn std::error::Error + Send + Sync>| {
        diesel::result::Error::DeserializationError(e)
    };
    Ok(Some(TaskProgress {
        status: RequestStatus::parse(&status).map_err(|e| bad(e.into()))?,
        requester_id: requester_id
            .parse()
            .map_err(|e: uuid::Error| bad(e.into()))?,
        decided_at: decided_at.map(from_db),
        expires_at: expires_at.map(from_db),
        access,
    }))
}

/// Whether a submission already spent the denial whose binding token has this `jti`.
pub fn jti_spent(conn: &mut DbConnection, jti: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        authzen_tasks::table.filter(authzen_tasks::binding_jti.eq(jti)),
    ))
    .get_result(conn)
}
