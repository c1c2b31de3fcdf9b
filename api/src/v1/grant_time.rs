//! Time controls on a grant (issue 27): its holder asks for more time, or starts access that waits
//! for them (activation).

use actix_web::{HttpResponse, post, web};
use portcullis_domain::GrantId;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extractors::ValidJson;
use crate::openapi::*;
use crate::services::access;
use crate::services::requests::{self, ExtensionAsk};
use crate::state::AppState;
use crate::v1::access::GrantResponse;
use crate::v1::requests::{RequestResponse, respond, valid_reason};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "duration_seconds": 3600, "reason": "The release slipped by an hour" }))]
pub struct ExtendGrantBody {
    /// How much longer: one of the flow's durations (422 past the flow's `extensions` limits).
    #[validate(range(min = 1, message = "must be positive"))]
    #[schema(minimum = 1)]
    pub duration_seconds: i64,
    /// Why more time is needed (10–2000 characters).
    #[validate(custom(function = "valid_reason"))]
    pub reason: String,
}

/// Extend a grant
///
/// The holder of an active timed grant asks for more time: an extension request through the grant's
/// flow (its own approvals, unless the flow's `extensions` say `automatic`), with the original
/// request's form answers. Its approval moves the grant's `expires_at` later by `duration_seconds`
/// (never earlier) and keeps the same membership; the request names the grant in
/// `extends_grant_id`. A grant that has ended (or whose time is up), an untimed grant, a flow whose
/// `extensions.approval` is `none` and an open request on the flow are 409s; past the flow's
/// `max_count` or `max_total_seconds`, 422. Others' grants are 404s (403 for administrators).
#[utoipa::path(
    tag = "access",
    params(("id" = Uuid, Path, description = "The grant's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ec0")),
    request_body = ExtendGrantBody,
    responses(
        (status = 201, description = "The extension request (already approved, with the grant extended, when automatic)",
            body = RequestResponse, headers(("Location" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[post("/grants/{id}/extend")]
pub async fn extend_grant(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: Result<ValidJson<ExtendGrantBody>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let (holder, now, id) = (
        principal.0.clone(),
        state.now(),
        GrantId::from(id.into_inner()),
    );
    // Whose grant it is comes before what was sent.
    let caller = holder.clone();
    state
        .read(move |conn| requests::held(conn, &caller, id).map(drop))
        .await?;
    let ValidJson(body) = body?;
    let ask = ExtensionAsk {
        duration_seconds: body.duration_seconds,
        reason: body.reason,
    };
    let viewer = holder.id;
    let request = state
        .write(move |conn| requests::extend_grant(conn, &holder, id, ask, now))
        .await?;
    let location = format!("/v1/access-requests/{}", request.id());
    let response: RequestResponse = respond(&state, request, viewer).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
        .json(response))
}

/// Activate a grant
///
/// The holder starts access that waits for them (`awaiting_activation`, from a flow with
/// `activation`): the membership is added now and the grant's clock runs from now (`expires_at` =
/// now + its `duration_seconds`). Before its `starts_at`, at or after its `activate_by`, or for a
/// grant not awaiting activation (scheduled, already active, ended), 409. No body. Others' grants
/// are 404s (403 for administrators, who may see them but not start them).
#[utoipa::path(
    tag = "access",
    params(("id" = Uuid, Path, description = "The grant's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ec0")),
    responses(
        (status = 200, description = "The grant, now active", body = GrantResponse),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/grants/{id}/activate")]
pub async fn activate_grant(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<web::Json<GrantResponse>, ApiError> {
    let (holder, now, id) = (principal.0, state.now(), GrantId::from(id.into_inner()));
    let started = state
        .write(move |conn| {
            let grant = requests::activate_grant(conn, &holder, id, now)?;
            access::with_flow(conn, grant)
        })
        .await?;
    Ok(web::Json(GrantResponse::from(started)))
}
