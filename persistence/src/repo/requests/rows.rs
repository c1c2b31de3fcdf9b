//! A request as a row: the columns queries filter on, the rest as JSON ([`Detail`]).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::flow::{ApprovalType, ApproverRequirement, FlowKind, FormAnswers};
use portcullis_domain::request::{
    AccessRequest, FulfilmentState, Outcome, RequestStatus, Step, StoredRequest,
};
use portcullis_domain::{FlowId, GrantId, RequestId, UserId};

use crate::schema::access_requests;
use crate::time::{from_db, to_db};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = access_requests, treat_none_as_null = true, treat_none_as_default_value = false)]
pub(super) struct RequestRow {
    pub(super) id: String,
    pub(super) flow_id: String,
    pub(super) flow_name: String,
    pub(super) kind: String,
    pub(super) approval_type: String,
    pub(super) requester_id: String,
    pub(super) status: String,
    pub(super) reason: String,
    /// [`Detail`] as JSON.
    pub(super) detail: String,
    pub(super) created_at: NaiveDateTime,
    pub(super) decided_at: Option<NaiveDateTime>,
    pub(super) decided_by: Option<String>,
    pub(super) expires_at: Option<NaiveDateTime>,
    pub(super) version: i64,
    pub(super) open_key: Option<String>,
    /// The queue tab: `administrator`, `assigned` or `none`.
    pub(super) approver_kind: String,
}

/// The parts of a request that no query filters on.
///
/// List pages return `steps` exactly as stored here (see [`Listed`]), so a change to how a step
/// serialises needs the stored details rewritten by a migration (or that shortcut dropped); the
/// test `listed_steps_are_the_steps_as_the_api_writes_them` holds the two to the same text.
#[derive(Debug, serde::Serialize)]
struct Detail<'a> {
    flow_version: i64,
    approver_requirement: Option<ApproverRequirement>,
    duration_seconds: Option<i64>,
    device_id: Option<portcullis_domain::DeviceId>,
    steps: &'a [Step],
    outcome: Option<&'a Outcome>,
    error: Option<&'a str>,
    resubmitted_from: Option<RequestId>,
    /// The fulfilment's state, when the request has tasks (they are rows of `request_tasks`).
    #[serde(skip_serializing_if = "Option::is_none")]
    fulfilment: Option<FulfilmentState>,
    /// The answers to the flow's form (absent when there are none, as in requests stored before).
    #[serde(skip_serializing_if = "FormAnswers::is_empty")]
    form: &'a FormAnswers,
    /// An extension request's grant (absent otherwise, as in requests stored before).
    #[serde(skip_serializing_if = "Option::is_none")]
    extends_grant: Option<GrantId>,
    /// Made through a break-glass flow: it has a review task (absent otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    break_glass: bool,
    /// When the requester asked the access to start (absent otherwise, as in requests stored before).
    #[serde(skip_serializing_if = "Option::is_none")]
    starts_at: Option<DateTime<Utc>>,
}

/// The one-open-request rule's key (`requester:flow`), unique among stored requests: the domain
/// says when a request holds it ([`AccessRequest::open_place`]: while its ticket is open); the
/// unique index enforces it against concurrent creations.
pub(crate) fn open_key(requester: UserId, flow: FlowId) -> String {
    format!("{requester}:{flow}")
}

impl From<&AccessRequest> for RequestRow {
    fn from(r: &AccessRequest) -> Self {
        Self {
            id: r.id().to_string(),
            flow_id: r.flow_id().to_string(),
            flow_name: r.flow_name().to_owned(),
            kind: r.kind().as_str().to_owned(),
            approval_type: r.approval_type().as_str().to_owned(),
            requester_id: r.requester_id().to_string(),
            status: r.status().as_str().to_owned(),
            reason: r.reason().to_owned(),
            detail: serde_json::to_string(&Detail {
                flow_version: r.flow_version(),
                approver_requirement: r.approver_requirement(),
                duration_seconds: r.duration_seconds(),
                device_id: r.device_id(),
                steps: r.steps(),
                outcome: r.outcome(),
                error: r.error(),
                resubmitted_from: r.resubmitted_from(),
                fulfilment: r.fulfilment_state(),
                form: r.form(),
                extends_grant: r.extends_grant(),
                break_glass: r.break_glass(),
                starts_at: r.starts_at(),
            })
            .unwrap_or_default(),
            created_at: to_db(r.created_at()),
            decided_at: r.decided_at().map(to_db),
            decided_by: r
                .outcome()
                .and_then(|o| o.decided_by)
                .map(|u| u.to_string()),
            expires_at: r.expires_at().map(to_db),
            version: r.version(),
            open_key: r
                .open_place()
                .map(|(requester, flow)| open_key(requester, flow)),
            approver_kind: r.queue_tab().as_str().to_owned(),
        }
    }
}

impl TryFrom<RequestRow> for AccessRequest {
    type Error = BoxError;

    fn try_from(row: RequestRow) -> Result<Self, BoxError> {
        let Listed { request, steps, .. } = Listed::try_from(row)?;
        Ok(request.with_steps(serde_json::from_str(steps.get())?))
    }
}

pub(super) fn convert(row: RequestRow) -> QueryResult<AccessRequest> {
    AccessRequest::try_from(row).map_err(diesel::result::Error::DeserializationError)
}

/// A request as list pages return it: `request` without its steps (its `steps` is empty) and the
/// steps as the JSON text stored with it, which is what the API returns for them. A page copies
/// that text instead of parsing every step and decision and writing them out again (measured in
/// BENCHMARKS.md: about a third of a page's CPU).
#[derive(Debug)]
pub struct Listed {
    pub request: AccessRequest,
    pub steps: Box<serde_json::value::RawValue>,
    /// Whether the request has tasks, fulfilment or review (loaded apart: see [`super::tasks::attach`]).
    pub has_tasks: bool,
}

/// [`Detail`] as read back, its steps left as text.
#[derive(serde::Deserialize)]
struct StoredDetail<'a> {
    flow_version: i64,
    approver_requirement: Option<ApproverRequirement>,
    duration_seconds: Option<i64>,
    device_id: Option<portcullis_domain::DeviceId>,
    #[serde(borrow)]
    steps: &'a serde_json::value::RawValue,
    outcome: Option<Outcome>,
    error: Option<String>,
    resubmitted_from: Option<RequestId>,
    #[serde(default)]
    fulfilment: Option<FulfilmentState>,
    /// Absent when there are no answers (written so, and in requests stored before forms).
    #[serde(default)]
    form: FormAnswers,
    #[serde(default)]
    extends_grant: Option<GrantId>,
    #[serde(default)]
    break_glass: bool,
    starts_at: Option<DateTime<Utc>>,
}

impl TryFrom<RequestRow> for Listed {
    type Error = BoxError;

    fn try_from(row: RequestRow) -> Result<Self, BoxError> {
        let detail: StoredDetail<'_> = serde_json::from_str(&row.detail)?;
        // A break-glass request always has its review task.
        let has_tasks = detail.fulfilment.is_some() || detail.break_glass;
        let steps = detail.steps.to_owned();
        let request = AccessRequest::restore(StoredRequest {
            id: row.id.parse()?,
            flow_id: row.flow_id.parse()?,
            flow_name: row.flow_name,
            flow_version: detail.flow_version,
            kind: FlowKind::parse(&row.kind)?,
            approval_type: ApprovalType::parse(&row.approval_type)?,
            approver_requirement: detail.approver_requirement,
            requester_id: row.requester_id.parse()?,
            status: RequestStatus::parse(&row.status)?,
            reason: row.reason,
            duration_seconds: detail.duration_seconds,
            device_id: detail.device_id,
            steps: Vec::new(),
            outcome: detail.outcome,
            error: detail.error,
            resubmitted_from: detail.resubmitted_from,
            created_at: from_db(row.created_at),
            decided_at: row.decided_at.map(from_db),
            expires_at: row.expires_at.map(from_db),
            tasks: Vec::new(),
            version: row.version,
            form: detail.form,
            extends_grant: detail.extends_grant,
            break_glass: detail.break_glass,
            starts_at: detail.starts_at,
        });
        Ok(Listed {
            request,
            steps,
            has_tasks,
        })
    }
}

pub(super) fn into_listed(row: RequestRow) -> QueryResult<Listed> {
    Listed::try_from(row).map_err(diesel::result::Error::DeserializationError)
}
