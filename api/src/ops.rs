//! Unversioned operations endpoints: liveness, readiness and Prometheus metrics.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::openapi::ServiceUnavailable;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "status": "ok" }))]
pub struct HealthStatus {
    /// `ok` (alive) or `ready` (the database answers).
    pub status: String,
}

/// Liveness
///
/// The process is up and serving HTTP. Does not touch the database.
#[utoipa::path(
    tag = "operations",
    security(()),
    responses((status = 200, description = "Alive", body = HealthStatus))
)]
#[get("/healthz")]
pub async fn healthz() -> web::Json<HealthStatus> {
    web::Json(HealthStatus {
        status: "ok".to_owned(),
    })
}

/// Readiness
///
/// Ready to serve: the database answers a query.
#[utoipa::path(
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "Ready", body = HealthStatus,
            example = json!({ "status": "ready" })),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<HealthStatus>, ApiError> {
    let db = state.db.clone();
    web::block(move || db.ping())
        .await?
        .map_err(|e| ApiError::Unavailable(format!("the database is not reachable: {e}")))?;
    Ok(web::Json(HealthStatus {
        status: "ready".to_owned(),
    }))
}

/// Prometheus metrics
///
/// Requests by route template and status, request latency, and database pool usage, in the
/// Prometheus text format.
#[utoipa::path(
    tag = "operations",
    security(()),
    responses((status = 200, description = "Metrics in the Prometheus text format", content_type = "text/plain",
        body = String, example = "portcullis_http_requests_total{method=\"GET\",route=\"/v1/me\",status=\"200\"} 3"))
)]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, ApiError> {
    let body = metrics.render(&state.db).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
