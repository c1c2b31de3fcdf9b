//! The documents of the device endpoints: a device, its creation and changes.

use chrono::{DateTime, Utc};
use portcullis_domain::UserId;
use portcullis_domain::directory::{Device, DeviceName, DeviceOs};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::list_response;
use crate::services::rule;

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
