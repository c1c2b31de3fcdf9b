//! The queue's query parameters, with their defaults, and the documents it answers with.

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use portcullis_domain::flow::ApprovalType;
use portcullis_domain::request::RequestStatus;
use portcullis_persistence::repo::requests::{QueueFilter, Tab};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::pagination::PageParams;
use crate::v1::requests::RequestResponse;

/// `administrator`: requests an administrator decides, and every request in `error`;
/// `others`: requests with assigned approvers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueTab {
    Administrator,
    Others,
}

/// An approval-type filter: `all` clears the default (`manual`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalTypeFilter {
    Manual,
    Automatic,
    All,
}

/// A value of the `status` filter: a request status, or `all` for every status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    Pending,
    Approved,
    Denied,
    Canceled,
    Expired,
    Error,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    pub tab: Option<QueueTab>,
    /// Default `manual`; `all` for every type.
    pub approval_type: Option<ApprovalTypeFilter>,
    /// Case-insensitive substring of the requester's name or email.
    #[validate(length(max = 200))]
    #[param(max_length = 200)]
    pub requester: Option<String>,
    pub flow_id: Option<Uuid>,
    /// Requests created at or after this instant.
    pub created_after: Option<DateTime<Utc>>,
    /// Requests created before this instant.
    pub created_before: Option<DateTime<Utc>>,
    /// Free text over the requester's name and email, the flow's name and the reason.
    #[validate(length(max = 200))]
    #[param(max_length = 200)]
    pub q: Option<String>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` (default) or `json`.
    pub format: Option<ExportFormat>,
    pub tab: Option<QueueTab>,
    pub approval_type: Option<ApprovalTypeFilter>,
    #[validate(length(max = 200))]
    #[param(max_length = 200)]
    pub requester: Option<String>,
    pub flow_id: Option<Uuid>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    #[validate(length(max = 200))]
    #[param(max_length = 200)]
    pub q: Option<String>,
}

/// The filters a list was computed with, defaults included, so a UI can show and clear them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppliedFilters {
    pub tab: Option<QueueTab>,
    /// Empty: every status.
    pub status: Vec<RequestStatus>,
    /// `null`: every type.
    pub approval_type: Option<ApprovalType>,
    pub requester: Option<String>,
    pub flow_id: Option<Uuid>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub q: Option<String>,
}

/// A page of the admin queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuePage {
    pub items: Vec<RequestResponse>,
    pub next_page_token: Option<String>,
    pub applied_filters: AppliedFilters,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TabCounts {
    pub administrator: i64,
    pub others: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusCount {
    pub status: RequestStatus,
    pub count: i64,
}

/// Counters for the queue's tabs and, within the selected tab, per status.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "applied_filters": { "tab": null, "status": ["pending"], "approval_type": "manual", "requester": null,
        "flow_id": null, "created_after": null, "created_before": null, "q": null },
    "tabs": { "administrator": 3, "others": 12 },
    "statuses": [{ "status": "pending", "count": 15 }, { "status": "approved", "count": 40 }]
}))]
pub struct QueueCounts {
    pub applied_filters: AppliedFilters,
    /// Requests matching the filters in each tab.
    pub tabs: TabCounts,
    /// Requests matching the filters except `status`, in the selected tab (all tabs without one), per status.
    pub statuses: Vec<StatusCount>,
}

/// `status` may repeat (`status=pending&status=error`) or list values (`status=pending,error`);
/// absent means `pending`, `all` means every status.
fn statuses(req: &HttpRequest) -> Result<Vec<RequestStatus>, ApiError> {
    let mut given = Vec::new();
    for (key, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
        if key == "status" {
            for value in value.split(',').map(str::trim) {
                // `status=` or `status=pending,`: not a status (the schema's enum has no empty one).
                if value.is_empty() {
                    return Err(ApiError::bad_field(
                        "status",
                        "must not be empty: name a status, or leave the parameter out for pending requests",
                    ));
                }
                given.push(value.to_owned());
            }
        }
    }
    if given.is_empty() {
        return Ok(vec![RequestStatus::Pending]);
    }
    if given.iter().any(|v| v == "all") {
        return Ok(Vec::new());
    }
    let mut parsed = Vec::new();
    for value in given {
        let status = RequestStatus::parse(&value).map_err(|m| ApiError::bad_field("status", m))?;
        if !parsed.contains(&status) {
            parsed.push(status);
        }
    }
    Ok(parsed)
}

#[allow(clippy::too_many_arguments)]
fn filter_of(
    tab: Option<QueueTab>,
    statuses: Vec<RequestStatus>,
    approval_type: Option<ApprovalTypeFilter>,
    requester: Option<String>,
    flow_id: Option<Uuid>,
    created_after: Option<DateTime<Utc>>,
    created_before: Option<DateTime<Utc>>,
    q: Option<String>,
) -> (QueueFilter, AppliedFilters) {
    let approval_type = match approval_type.unwrap_or(ApprovalTypeFilter::Manual) {
        ApprovalTypeFilter::Manual => Some(ApprovalType::Manual),
        ApprovalTypeFilter::Automatic => Some(ApprovalType::Automatic),
        ApprovalTypeFilter::All => None,
    };
    let blank_to_none =
        |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let (requester, q) = (blank_to_none(requester), blank_to_none(q));
    let filter = QueueFilter {
        tab: tab.map(|t| match t {
            QueueTab::Administrator => Tab::Administrator,
            QueueTab::Others => Tab::Others,
        }),
        statuses: statuses.clone(),
        approval_type,
        requester: requester.clone(),
        flow_id: flow_id.map(Into::into),
        created_after,
        created_before,
        q: q.clone(),
    };
    let applied = AppliedFilters {
        tab,
        status: statuses,
        approval_type,
        requester,
        flow_id,
        created_after,
        created_before,
        q,
    };
    (filter, applied)
}

impl QueueParams {
    /// The queue filter (defaults applied), what to report as applied, and the page asked for.
    pub(super) fn filters(
        self,
        req: &HttpRequest,
    ) -> Result<(QueueFilter, AppliedFilters, PageParams), ApiError> {
        let (filter, applied) = filter_of(
            self.tab,
            statuses(req)?,
            self.approval_type,
            self.requester,
            self.flow_id,
            self.created_after,
            self.created_before,
            self.q,
        );
        Ok((
            filter,
            applied,
            PageParams {
                limit: self.limit,
                page_token: self.page_token,
            },
        ))
    }
}

impl ExportParams {
    /// The format (default CSV) and the queue filter (defaults applied) of an export.
    pub(super) fn filters(
        self,
        req: &HttpRequest,
    ) -> Result<(ExportFormat, QueueFilter), ApiError> {
        let format = self.format.unwrap_or(ExportFormat::Csv);
        let (filter, _) = filter_of(
            self.tab,
            statuses(req)?,
            self.approval_type,
            self.requester,
            self.flow_id,
            self.created_after,
            self.created_before,
            self.q,
        );
        Ok((format, filter))
    }
}
