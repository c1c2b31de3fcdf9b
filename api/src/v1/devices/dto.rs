//! The documents of the device endpoints: a device, its creation and changes.

use chrono::{DateTime, Utc};
use portcullis_domain::UserId;
use portcullis_domain::directory::{CertificateFingerprint, Device, DeviceName, DeviceOs};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::list_response;
use crate::services::{double_option, rule};

/// A device and the users assigned to it (who may request admin rights on it).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e83", "name": "ada-macbook", "os": "macos",
    "assigned_user_ids": ["0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"], "managed": true,
    "certificate_fingerprint": "5f2c9a0e8b7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c", "version": 1,
    "created_at": "2026-11-23T09:30:00Z", "updated_at": "2026-11-23T09:30:00Z"
}))]
pub struct DeviceResponse {
    #[schema(read_only)]
    pub id: Uuid,
    pub name: String,
    pub os: DeviceOs,
    pub assigned_user_ids: Vec<Uuid>,
    /// Whether the device presented its device certificate (seed 003): only managed devices may be
    /// named by a device-admin request.
    #[schema(read_only)]
    pub managed: bool,
    /// Managed devices: the SHA-256 fingerprint of the certificate presented (lower-case hex).
    pub certificate_fingerprint: Option<String>,
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
        let managed = device.managed();
        Self {
            id: device.id.as_uuid(),
            name: device.name.into_inner(),
            os: device.os,
            assigned_user_ids: device
                .assigned_user_ids
                .iter()
                .map(UserId::as_uuid)
                .collect(),
            managed,
            certificate_fingerprint: device
                .certificate_fingerprint
                .map(|f| f.as_str().to_owned()),
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
    /// Marks the device managed: the SHA-256 fingerprint of the device certificate it presented
    /// (64 hexadecimal digits). Without it the device is unmanaged.
    #[validate(custom(function = "valid_fingerprint"))]
    #[schema(pattern = "^[0-9A-Fa-f]{64}$", min_length = 64, max_length = 64)]
    pub certificate_fingerprint: Option<String>,
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
    /// A fingerprint marks the device managed (the certificate it presented, 64 hexadecimal
    /// digits); `null` marks it unmanaged; absent leaves it as it is.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = "^[0-9A-Fa-f]{64}$", min_length = 64, max_length = 64)]
    pub certificate_fingerprint: Option<Option<String>>,
    /// Read-only, ignored: follows `certificate_fingerprint`.
    #[schema(read_only)]
    pub managed: Option<bool>,
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

fn valid_fingerprint(value: &str) -> Result<(), validator::ValidationError> {
    rule(CertificateFingerprint::parse(value))
}
