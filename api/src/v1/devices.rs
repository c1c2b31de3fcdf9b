use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use portcullis_domain::directory::{Device, DeviceName, DeviceOs};
use portcullis_domain::{DeviceId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::auth::{Admin, Principal};
use crate::error::ApiError;
use crate::etag::{IfMatch, etag};
use crate::extractors::{ValidJson, ValidQuery};
use crate::list_response;
use crate::openapi::*;
use crate::pagination::PageParams;
use crate::services::devices::{self, Viewer};
use crate::services::rule;
use crate::state::AppState;

/// A device and the users assigned to it (who may request admin rights on it).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e83", "name": "ada-macbook", "os": "macos",
    "assigned_user_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"], "version": 1,
    "created_at": "2026-11-23T09:30:00Z", "updated_at": "2026-11-23T09:30:00Z"
}))]
pub struct DeviceResponse {
    #[schema(read_only)]
    pub id: Uuid,
    pub name: String,
    pub os: DeviceOs,
    pub assigned_user_ids: Vec<Uuid>,
    /// Increments on every change; also the `ETag`.
    #[schema(read_only)]
    pub version: i64,
    #[schema(read_only)]
    pub created_at: DateTime<Utc>,
    #[schema(read_only)]
    pub updated_at: DateTime<Utc>,
}

impl From<Device> for DeviceResponse {
    fn from(device: Device) -> Self {
        Self {
            id: device.id.as_uuid(),
            name: device.name.into_inner(),
            os: device.os,
            assigned_user_ids: device
                .assigned_user_ids
                .iter()
                .map(UserId::as_uuid)
                .collect(),
            version: device.version,
            created_at: device.created_at,
            updated_at: device.updated_at,
        }
    }
}

list_response!(
    DeviceList,
    DeviceResponse,
    "A page of devices, newest first."
);

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "ada-macbook", "os": "macos", "assigned_user_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"]
}))]
pub struct CreateDeviceRequest {
    #[validate(custom(function = "valid_name"))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub os: DeviceOs,
    /// Active people, each listed once.
    #[serde(default)]
    #[validate(length(max = 100, message = "at most 100 users can be assigned to a device"))]
    #[schema(max_items = 100)]
    pub assigned_user_ids: Vec<Uuid>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "assigned_user_ids": [] }))]
pub struct UpdateDeviceRequest {
    #[validate(custom(function = "valid_name"))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub os: Option<DeviceOs>,
    /// Replaces the assigned users.
    #[validate(length(max = 100, message = "at most 100 users can be assigned to a device"))]
    #[schema(max_items = 100)]
    pub assigned_user_ids: Option<Vec<Uuid>>,
    /// Read-only, ignored: the GET's own field, accepted so that a read object can be sent back.
    #[schema(read_only)]
    pub id: Option<Uuid>,
    /// Read-only: when given, the version this change applies to, checked as `If-Match` is (412 if
    /// stale; with `If-Match` too, both must match).
    #[schema(read_only)]
    pub version: Option<i64>,
    /// Read-only, ignored.
    #[schema(read_only)]
    pub created_at: Option<DateTime<Utc>>,
    /// Read-only, ignored.
    #[schema(read_only)]
    pub updated_at: Option<DateTime<Utc>>,
}

fn valid_name(value: &str) -> Result<(), validator::ValidationError> {
    rule(DeviceName::parse(value))
}

fn viewer(principal: &Principal) -> Viewer {
    if principal.is_admin() {
        Viewer::Admin
    } else {
        Viewer::User(principal.user().id)
    }
}

fn user_ids(ids: &[Uuid]) -> Vec<UserId> {
    ids.iter().copied().map(UserId::from).collect()
}

/// List devices
///
/// Administrators see every device; everyone else sees the devices assigned to them.
#[utoipa::path(
    tag = "devices",
    params(PageParams),
    responses(
        (status = 200, description = "A page of devices", body = DeviceList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
    )
)]
#[get("/devices")]
pub async fn list_devices(
    state: web::Data<AppState>,
    principal: Principal,
    ValidQuery(params): ValidQuery<PageParams>,
) -> Result<web::Json<DeviceList>, ApiError> {
    let page = params.to_request()?;
    let viewer = viewer(&principal);
    let devices = state
        .read(move |conn| devices::list(conn, viewer, &page))
        .await?;
    Ok(web::Json(DeviceList::from_page(
        devices,
        DeviceResponse::from,
    )))
}

/// Create a device
///
/// Administrators register a device and the users assigned to it (who may request admin rights on it).
#[utoipa::path(
    tag = "devices",
    request_body = CreateDeviceRequest,
    responses(
        (status = 201, description = "The device was created", body = DeviceResponse,
            headers(("ETag" = String, description = "The device's version"), ("Location" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[post("/devices")]
pub async fn create_device(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    ValidJson(body): ValidJson<CreateDeviceRequest>,
) -> Result<HttpResponse, ApiError> {
    let name = DeviceName::parse(&body.name).map_err(|m| ApiError::invalid_field("name", m))?;
    let (actor, now, assigned) = (
        Some(principal.user().id),
        state.now(),
        user_ids(&body.assigned_user_ids),
    );
    let device = state
        .write(move |conn| devices::create(conn, actor, name, body.os, assigned, now))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(device.version))
        .insert_header(("Location", format!("/v1/devices/{}", device.id)))
        .json(DeviceResponse::from(device)))
}

/// Get a device
///
/// Administrators read any device; everyone else only the devices assigned to them (404 otherwise).
#[utoipa::path(
    tag = "devices",
    params(("id" = Uuid, Path, description = "The device's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 200, description = "The device", body = DeviceResponse,
            headers(("ETag" = String, description = "The device's version"))),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
#[get("/devices/{id}")]
pub async fn get_device(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (viewer, id) = (viewer(&principal), DeviceId::from(id.into_inner()));
    let device = state
        .read(move |conn| devices::get(conn, viewer, id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(device.version))
        .json(DeviceResponse::from(device)))
}

/// Update a device
///
/// Administrators rename a device or replace its assigned users. Send `If-Match` with the `ETag` you
/// read (412 if stale).
#[utoipa::path(
    tag = "devices",
    params(
        ("id" = Uuid, Path, description = "The device's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read; the update fails with 412 if it changed"),
    ),
    request_body = UpdateDeviceRequest,
    responses(
        (status = 200, description = "The updated device", body = DeviceResponse,
            headers(("ETag" = String, description = "The device's new version"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[patch("/devices/{id}")]
pub async fn update_device(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    ValidJson(body): ValidJson<UpdateDeviceRequest>,
) -> Result<HttpResponse, ApiError> {
    let if_match = if_match.and_version(body.version);
    let changes = devices::DeviceChanges {
        name: body
            .name
            .as_deref()
            .map(DeviceName::parse)
            .transpose()
            .map_err(|m| ApiError::invalid_field("name", m))?,
        os: body.os,
        assigned_user_ids: body.assigned_user_ids.as_deref().map(user_ids),
    };
    let (actor, now, id) = (
        Some(principal.user().id),
        state.now(),
        DeviceId::from(id.into_inner()),
    );
    let device = state
        .write(move |conn| devices::update(conn, actor, id, changes, &if_match, now))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(device.version))
        .json(DeviceResponse::from(device)))
}

/// Delete a device
///
/// Administrators remove a device and its assignments.
#[utoipa::path(
    tag = "devices",
    params(("id" = Uuid, Path, description = "The device's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 204, description = "The device was deleted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
#[delete("/devices/{id}")]
pub async fn delete_device(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (actor, now, id) = (
        Some(principal.user().id),
        state.now(),
        DeviceId::from(id.into_inner()),
    );
    state
        .write(move |conn| devices::delete(conn, actor, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
