//! The admin queue (seed 001): tabs, filters with defaults, counts, and a streamed export.

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::auth::Admin;
use crate::error::ApiError;
use crate::extractors::ValidQuery;
use crate::openapi::*;
use crate::pagination::encode;
use crate::services::queue;
use crate::state::AppState;
use crate::v1::requests::RequestResponse;

mod export;
mod params;

use export::Renderer;

pub use params::{
    AppliedFilters, ApprovalTypeFilter, ExportFormat, ExportParams, QueueCounts, QueuePage,
    QueueParams, QueueTab, StatusCount, StatusFilter, TabCounts,
};

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
        .read(move |conn| queue::list(conn, &filter, &page))
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
    let counts = state.read(move |conn| queue::counts(conn, &filter)).await?;
    let counts = QueueCounts {
        applied_filters: applied,
        tabs: TabCounts {
            administrator: counts.administrator,
            others: counts.others,
        },
        statuses: (counts.statuses.into_iter())
            .map(|(status, count)| StatusCount { status, count })
            .collect(),
    };
    Ok(web::Json(counts))
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
                    example = "id,status,flow_id,flow_name,requester_id,requester_name,requester_email,approval_type,reason,duration_seconds,created_at,decided_at,decided_by,form,starts_at"),
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
    let (format, filter) = p.filters(&req)?;
    let rx = queue::export(
        state.db.clone(),
        filter,
        Renderer {
            format,
            first: true,
        },
    );
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| {
            (
                item.map(web::Bytes::from).map_err(actix_web::Error::from),
                rx,
            )
        })
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
