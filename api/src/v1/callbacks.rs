//! The AuthZEN callbacks' delivery log (ARAP's callback completion; the callbacks themselves are
//! `crate::notify::callbacks`).

use actix_web::{get, web};

use crate::auth::Admin;
use crate::error::ApiError;
use crate::extractors::ValidQuery;
use crate::openapi::*;
use crate::state::AppState;
use crate::v1::webhooks::{DeliveryList, DeliveryParams, deliveries_of_kind};

/// List AuthZEN callback deliveries
///
/// Administrators read the log of ARAP callbacks, newest first: each notification of a completed
/// task (`authzen_task_approved`, `…_denied`, `…_expired`, `…_cancelled`) with its attempts'
/// outcome (status, attempts, the receiver's last status code and error; a destination refused when
/// sent is `failed` at once).
#[utoipa::path(
    tag = "authzen",
    params(DeliveryParams),
    responses(
        (status = 200, description = "A page of deliveries, newest first", body = DeliveryList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
#[get("/settings/authzen/callback-deliveries")]
pub async fn list_callback_deliveries(
    state: web::Data<AppState>,
    _admin: Admin,
    ValidQuery(params): ValidQuery<DeliveryParams>,
) -> Result<web::Json<DeliveryList>, ApiError> {
    deliveries_of_kind(
        &state,
        portcullis_persistence::repo::outbox::CALLBACK,
        &params,
    )
    .await
}
