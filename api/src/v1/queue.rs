//! The admin queue (seed 001): tabs, filters with defaults, counts, and a streamed export.

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use portcullis_domain::flow::ApprovalType;
use portcullis_domain::request::RequestStatus;
use portcullis_persistence::repo::requests::{self, ExportRow, QueueFilter, Tab};
use portcullis_persistence::repo::users;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::Admin;
use crate::error::ApiError;
use crate::extractors::ValidQuery;
use crate::openapi::*;
use crate::pagination::{PageParams, encode};
use crate::state::AppState;
use crate::v1::requests::RequestResponse;

/// Rows per database round trip of the export.
const EXPORT_BATCH: u32 = 1000;

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
    fn filters(
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

const STATUS_PARAM: &str = "Status filter; repeat it or separate values with commas; `all` for every status (default `pending`)";

/// The admin request queue
///
/// Defaults to manual requests that are pending (seed 001); `applied_filters` says what was applied.
#[utoipa::path(
    tag = "access-requests",
    params(QueueParams, ("status" = Option<Vec<StatusFilter>>, Query, description = STATUS_PARAM, explode = true)),
    responses(
        (status = 200, description = "A page of the queue", body = QueuePage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
#[get("/access-requests")]
pub async fn list_access_requests(
    state: web::Data<AppState>,
    _admin: Admin,
    req: HttpRequest,
    ValidQuery(p): ValidQuery<QueueParams>,
) -> Result<web::Json<QueuePage>, ApiError> {
    let (filter, applied, page) = p.filters(&req)?;
    let page = page.to_request()?;
    let page = state
        .read(move |conn| Ok(requests::queue(conn, &filter, &page)?))
        .await?;
    Ok(web::Json(QueuePage {
        next_page_token: page.next.as_ref().map(encode),
        items: page.items.into_iter().map(RequestResponse::from).collect(),
        applied_filters: applied,
    }))
}

/// Queue counters
///
/// The number of requests in each tab for the same filters as the queue, and per status.
#[utoipa::path(
    tag = "access-requests",
    params(QueueParams, ("status" = Option<Vec<StatusFilter>>, Query, description = STATUS_PARAM, explode = true)),
    responses(
        (status = 200, description = "The counters", body = QueueCounts),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
#[get("/access-requests/counts")]
pub async fn count_access_requests(
    state: web::Data<AppState>,
    _admin: Admin,
    req: HttpRequest,
    ValidQuery(p): ValidQuery<QueueParams>,
) -> Result<web::Json<QueueCounts>, ApiError> {
    let (filter, applied, _) = p.filters(&req)?;
    let counts = state
        .read(move |conn| {
            let tabs = TabCounts {
                administrator: requests::count(conn, &filter, Some(Tab::Administrator))?,
                others: requests::count(conn, &filter, Some(Tab::Others))?,
            };
            let statuses = requests::count_by_status(conn, &filter, filter.tab)?
                .into_iter()
                .map(|(status, count)| StatusCount { status, count })
                .collect();
            Ok(QueueCounts {
                applied_filters: applied,
                tabs,
                statuses,
            })
        })
        .await?;
    Ok(web::Json(counts))
}

/// Neutralises a CSV cell that a spreadsheet would run as a formula.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

const COLUMNS: [&str; 13] = [
    "id",
    "status",
    "flow_id",
    "flow_name",
    "requester_id",
    "requester_name",
    "requester_email",
    "approval_type",
    "reason",
    "duration_seconds",
    "created_at",
    "decided_at",
    "decided_by",
];

fn cells(row: &ExportRow, people: &[portcullis_domain::directory::User]) -> [String; 13] {
    let r = &row.request;
    let requester = people.iter().find(|p| p.id == r.requester_id());
    let time = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .unwrap_or_default()
    };
    [
        r.id().to_string(),
        r.status().to_string(),
        r.flow_id().to_string(),
        r.flow_name().to_owned(),
        r.requester_id().to_string(),
        requester
            .map(|p| p.display_name.to_string())
            .unwrap_or_default(),
        requester.map(|p| p.email.to_string()).unwrap_or_default(),
        r.approval_type().to_string(),
        r.reason().to_owned(),
        r.duration_seconds()
            .map(|d| d.to_string())
            .unwrap_or_default(),
        time(Some(r.created_at())),
        time(r.decided_at()),
        row.decided_by.clone().unwrap_or_default(),
    ]
}

/// Renders one batch of rows in the export's format; `first` says whether nothing was sent yet.
fn render(
    format: ExportFormat,
    rows: &[ExportRow],
    people: &[portcullis_domain::directory::User],
    first: bool,
) -> Result<Vec<u8>, ApiError> {
    match format {
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            if first {
                writer.write_record(COLUMNS).map_err(ApiError::internal)?;
            }
            for row in rows {
                let values = cells(row, people);
                writer
                    .write_record(values.iter().map(|v| neutralise(v).into_owned()))
                    .map_err(ApiError::internal)?;
            }
            writer.into_inner().map_err(ApiError::internal)
        }
        ExportFormat::Json => {
            let mut out = Vec::new();
            for (index, row) in rows.iter().enumerate() {
                if !(first && index == 0) {
                    out.push(b',');
                }
                let values = cells(row, people);
                let object: serde_json::Map<String, serde_json::Value> = COLUMNS
                    .iter()
                    .zip(values)
                    .map(|(k, v)| {
                        (
                            (*k).to_owned(),
                            if v.is_empty() {
                                serde_json::Value::Null
                            } else {
                                serde_json::Value::String(v)
                            },
                        )
                    })
                    .collect();
                serde_json::to_writer(&mut out, &object).map_err(ApiError::internal)?;
            }
            Ok(out)
        }
    }
}

/// Export the queue
///
/// The same filters as the queue, as CSV (RFC 4180, formula-looking cells neutralised with a leading
/// `'`) or a JSON array, newest first. Streamed in batches: memory stays flat whatever the row count.
#[utoipa::path(
    tag = "access-requests",
    params(ExportParams, ("status" = Option<Vec<StatusFilter>>, Query, description = STATUS_PARAM, explode = true)),
    responses(
        (status = 200, description = "The export: CSV with `format=csv`, a JSON array of the same rows with `format=json`",
            content(
                (String = "text/csv",
                    example = "id,status,flow_id,flow_name,requester_id,requester_name,requester_email,approval_type,reason,duration_seconds,created_at,decided_at,decided_by"),
                (Vec<serde_json::Value> = "application/json",
                    example = json!([{ "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80", "status": "approved", "flow_name": "GitHub Admin" }])),
            )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
#[get("/access-requests/export")]
pub async fn export_access_requests(
    state: web::Data<AppState>,
    _admin: Admin,
    req: HttpRequest,
    ValidQuery(p): ValidQuery<ExportParams>,
) -> Result<HttpResponse, ApiError> {
    let format = p.format.unwrap_or(ExportFormat::Csv);
    let (filter, _) = filter_of(
        p.tab,
        statuses(&req)?,
        p.approval_type,
        p.requester,
        p.flow_id,
        p.created_after,
        p.created_before,
        p.q,
    );
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, ApiError>>(2);
    let db = state.db.clone();
    tokio::task::spawn_blocking(move || {
        let send = |chunk: Result<Vec<u8>, ApiError>| {
            tx.blocking_send(chunk.map(web::Bytes::from)).is_ok()
        };
        let mut conn = match db.reader() {
            Ok(conn) => conn,
            Err(e) => {
                send(Err(e.into()));
                return;
            }
        };
        if format == ExportFormat::Json && !send(Ok(b"[".to_vec())) {
            return;
        }
        let (mut after, mut first) = (None, true);
        loop {
            let batch = match requests::export_batch(&mut conn, &filter, after.take(), EXPORT_BATCH)
            {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::error!(error = %e, "export failed");
                    send(Err(e.into()));
                    return;
                }
            };
            let mut ids: Vec<_> = batch
                .items
                .iter()
                .map(|r| r.request.requester_id())
                .collect();
            ids.sort();
            ids.dedup();
            let chunk = users::find_many(&mut conn, &ids)
                .map_err(ApiError::from)
                .and_then(|people| render(format, &batch.items, &people, first));
            if !send(chunk) {
                return; // the client went away
            }
            first = false;
            match batch.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        if format == ExportFormat::Json {
            send(Ok(b"]".to_vec()));
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|item| (item.map_err(actix_web::Error::from), rx))
    });
    let (content_type, extension) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Json => ("application/json", "json"),
    };
    let filename = format!(
        "access-requests-{}.{extension}",
        state.now().format("%Y%m%d-%H%M%S")
    );
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(filename)],
        })
        .streaming(body))
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formula_looking_cells_are_neutralised() {
        for cell in ["=SUM(A1)", "+1", "-1", "@cmd", "\tx", "\rx"] {
            assert_eq!(neutralise(cell), format!("'{cell}"));
        }
        assert_eq!(neutralise("plain text"), "plain text");
        assert_eq!(neutralise(""), "");
    }
}
