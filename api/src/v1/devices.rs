//! Devices and the users assigned to them: the handlers (the documents are in `devices/dto.rs`).

use actix_web::{HttpResponse, delete, get, patch, post, web};
use portcullis_domain::directory::{CertificateFingerprint, DeviceName};
use portcullis_domain::{DeviceId, UserId};
use uuid::Uuid;

use crate::auth::{Admin, Principal};
use crate::error::ApiError;
use crate::etag::{IfMatch, etag};
use crate::extractors::{ValidJson, ValidQuery};
use crate::openapi::*;
use crate::pagination::PageParams;
use crate::services::devices::{self, Viewer};
use crate::state::AppState;

pub mod dto;

pub use dto::{CreateDeviceRequest, DeviceList, DeviceResponse, UpdateDeviceRequest};

fn viewer(principal: &Principal) -> Viewer {
    if principal.is_admin() {
        Viewer::Admin
    } else {
        Viewer::User(principal.user().id)
    }
}

/// A device certificate's fingerprint as sent (`None`: the device is unmanaged).
fn fingerprint(raw: Option<&str>) -> Result<Option<CertificateFingerprint>, ApiError> {
    raw.map(CertificateFingerprint::parse)
        .transpose()
        .map_err(|m| ApiError::invalid_field("certificate_fingerprint", m))
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
/// A `certificate_fingerprint` marks it managed: only managed devices may be named by device-admin
/// requests (seed 003).
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
    let new = devices::NewDevice {
        name,
        os: body.os,
        assigned_user_ids: user_ids(&body.assigned_user_ids),
        certificate_fingerprint: fingerprint(body.certificate_fingerprint.as_deref())?,
    };
    let (actor, now) = (Some(principal.user().id), state.now());
    let device = state
        .write(move |conn| devices::create(conn, actor, new, now))
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
/// Administrators rename a device, replace its assigned users, or mark it managed (the fingerprint of
/// the certificate it presented) or unmanaged (`null`). Send `If-Match` with the `ETag` you read
/// (412 if stale).
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
        certificate_fingerprint: body
            .certificate_fingerprint
            .map(|f| fingerprint(f.as_deref()))
            .transpose()?,
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
