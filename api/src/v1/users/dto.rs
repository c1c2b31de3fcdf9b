//! The documents of the user endpoints: a user record, its creation and changes, the list's filters.

use chrono::{DateTime, Utc};
use portcullis_domain::directory::{DisplayName, Email, ExternalId, User, UserKind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::list_response;
use crate::services::{double_option, rule};

/// A person or integration account.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80", "email": "ada@example.com", "display_name": "Ada Lovelace",
    "manager_id": null, "is_admin": false, "active": true, "kind": "person", "external_id": null, "version": 1,
    "created_at": "2026-11-23T09:30:00Z", "updated_at": "2026-11-23T09:30:00Z"
}))]
pub struct UserResponse {
    #[schema(read_only)]
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub manager_id: Option<Uuid>,
    pub is_admin: bool,
    pub active: bool,
    pub kind: UserKind,
    /// The subject an identity provider knows the user by.
    pub external_id: Option<String>,
    /// Increments on every change; also the `ETag`.
    #[schema(read_only)]
    pub version: i64,
    #[schema(read_only)]
    pub created_at: DateTime<Utc>,
    #[schema(read_only)]
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.as_uuid(),
            email: user.email.as_str().to_owned(),
            display_name: user.display_name.into_inner(),
            manager_id: user.manager_id.map(|m| m.as_uuid()),
            is_admin: user.is_admin,
            active: user.active,
            kind: user.kind,
            external_id: user.external_id.map(ExternalId::into_inner),
            version: user.version,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

list_response!(UserList, UserResponse, "A page of users, newest first.");

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "ada@example.com", "display_name": "Ada Lovelace",
    "manager_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80", "is_admin": false, "kind": "person"
}))]
pub struct CreateUserRequest {
    /// Unique (case-insensitive); stored lower-cased.
    #[validate(custom(function = "valid_email"))]
    #[schema(max_length = 254)]
    pub email: String,
    #[validate(custom(function = "valid_display_name"))]
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: String,
    /// An active person; the management chain may not loop.
    pub manager_id: Option<Uuid>,
    #[serde(default)]
    pub is_admin: bool,
    /// `person` (default) or `integration` (a service account for automation).
    pub kind: Option<UserKind>,
    #[validate(custom(function = "valid_external_id"))]
    #[schema(min_length = 1, max_length = 255)]
    pub external_id: Option<String>,
}

/// Fields to change; omitted fields stay as they are, `null` clears `manager_id` or `external_id`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "display_name": "Ada King", "manager_id": null }))]
pub struct UpdateUserRequest {
    #[validate(custom(function = "valid_email"))]
    pub email: Option<String>,
    #[validate(custom(function = "valid_display_name"))]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub manager_id: Option<Option<Uuid>>,
    pub is_admin: Option<bool>,
    /// `false` deactivates the user: their tokens stop working at once.
    pub active: Option<bool>,
    pub kind: Option<UserKind>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub external_id: Option<Option<String>>,
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

fn valid_email(value: &str) -> Result<(), validator::ValidationError> {
    rule(Email::parse(value))
}

fn valid_display_name(value: &str) -> Result<(), validator::ValidationError> {
    rule(DisplayName::parse(value))
}

fn valid_external_id(value: &str) -> Result<(), validator::ValidationError> {
    rule(ExternalId::parse(value))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListParams {
    /// Case-insensitive substring of the email or display name.
    #[validate(length(max = 200))]
    #[param(max_length = 200)]
    pub q: Option<String>,
    pub active: Option<bool>,
    pub kind: Option<UserKind>,
    pub is_admin: Option<bool>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}
