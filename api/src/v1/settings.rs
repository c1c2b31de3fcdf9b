use actix_web::{HttpResponse, get, put, web};
use chrono::{DateTime, Utc};
use portcullis_domain::settings::Settings;
use portcullis_persistence::repo::settings::StoredSettings;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Admin;
use crate::error::ApiError;
use crate::etag::{IfMatch, etag};
use crate::extractors::ValidJson;
use crate::openapi::*;
use crate::services::settings;
use crate::state::AppState;

/// The organisation's access-request settings.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "resource_requests_enabled": true, "expiry_days": 30, "show_approval_progress": true,
    "email_request_received": true, "email_decision": true, "email_admin_new_request": true,
    "max_access_duration_seconds": 2592000, "approver_reminder_days": 3, "grant_ending_notice_hours": 24,
    "version": 1, "updated_at": "2026-11-23T09:30:00Z"
}))]
pub struct SettingsResponse {
    pub resource_requests_enabled: bool,
    pub expiry_days: i64,
    pub show_approval_progress: bool,
    pub email_request_received: bool,
    pub email_decision: bool,
    pub email_admin_new_request: bool,
    pub max_access_duration_seconds: i64,
    /// Approvers of a request pending this many days get one reminder email (0: never).
    pub approver_reminder_days: i64,
    /// Holders of timed access get an email this many hours before it ends (0: never).
    pub grant_ending_notice_hours: i64,
    /// Increments on every change; also the `ETag`.
    #[schema(read_only)]
    pub version: i64,
    #[schema(read_only)]
    pub updated_at: DateTime<Utc>,
}

impl From<StoredSettings> for SettingsResponse {
    fn from(stored: StoredSettings) -> Self {
        let Settings {
            resource_requests_enabled,
            expiry_days,
            show_approval_progress,
            email_request_received,
            email_decision,
            email_admin_new_request,
            max_access_duration_seconds,
            approver_reminder_days,
            grant_ending_notice_hours,
        } = stored.settings;
        Self {
            resource_requests_enabled,
            expiry_days,
            show_approval_progress,
            email_request_received,
            email_decision,
            email_admin_new_request,
            max_access_duration_seconds,
            approver_reminder_days,
            grant_ending_notice_hours,
            version: stored.version,
            updated_at: stored.updated_at,
        }
    }
}

/// Every setting (a full replacement). `version` and `updated_at`, as `GET` returns them, may be sent
/// back: `version` is then checked as `If-Match` is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSettingsRequest {
    /// Off: requesters see no catalog and cannot create requests.
    pub resource_requests_enabled: bool,
    /// Pending requests with no decision for this many days expire (1–365).
    pub expiry_days: i64,
    /// Requesters see who approves and how far their request got.
    pub show_approval_progress: bool,
    /// Email the requester a confirmation when they submit.
    pub email_request_received: bool,
    /// Email the requester the decision.
    pub email_decision: bool,
    /// Email administrators when a request needs them.
    pub email_admin_new_request: bool,
    /// The longest duration a flow may offer, in seconds (60 to one year).
    pub max_access_duration_seconds: i64,
    /// Approvers of a request pending this many days get one reminder (0: never; at most 365).
    #[serde(default = "default_reminder_days")]
    #[schema(default = 3)]
    pub approver_reminder_days: i64,
    /// Holders of timed access are told this many hours before it ends (0: never; at most 720).
    #[serde(default = "default_notice_hours")]
    #[schema(default = 24)]
    pub grant_ending_notice_hours: i64,
    /// Read-only: when given, the version this replacement applies to, checked as `If-Match` is
    /// (412 if stale; with `If-Match` too, both must match).
    #[schema(read_only)]
    pub version: Option<i64>,
    /// Read-only, ignored.
    #[schema(read_only)]
    pub updated_at: Option<DateTime<Utc>>,
}

fn default_reminder_days() -> i64 {
    Settings::default().approver_reminder_days
}

fn default_notice_hours() -> i64 {
    Settings::default().grant_ending_notice_hours
}

impl UpdateSettingsRequest {
    fn settings(&self) -> Settings {
        Settings {
            resource_requests_enabled: self.resource_requests_enabled,
            expiry_days: self.expiry_days,
            show_approval_progress: self.show_approval_progress,
            email_request_received: self.email_request_received,
            email_decision: self.email_decision,
            email_admin_new_request: self.email_admin_new_request,
            max_access_duration_seconds: self.max_access_duration_seconds,
            approver_reminder_days: self.approver_reminder_days,
            grant_ending_notice_hours: self.grant_ending_notice_hours,
        }
    }
}

impl Validate for UpdateSettingsRequest {
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        Ok(())
    }
}

/// Get the settings
///
/// Administrators read the organisation's access-request settings. The `ETag` header carries their
/// version.
#[utoipa::path(
    tag = "settings",
    responses(
        (status = 200, description = "The settings", body = SettingsResponse,
            headers(("ETag" = String, description = "The settings' version"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
#[get("/settings")]
pub async fn get_settings(
    state: web::Data<AppState>,
    _admin: Admin,
) -> Result<HttpResponse, ApiError> {
    let stored = state.read(settings::get).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(stored.version))
        .json(SettingsResponse::from(stored)))
}

/// Replace the settings
///
/// With `resource_requests_enabled: false` requesters see an empty catalog and cannot create requests.
/// `If-Match` is optional (last write wins); a stale one is 412.
#[utoipa::path(
    tag = "settings",
    params(("If-Match" = Option<String>, Header, description = "The `ETag` last read; fails with 412 if it changed")),
    request_body(content = UpdateSettingsRequest, example = json!({
    "resource_requests_enabled": true, "expiry_days": 14, "show_approval_progress": false,
    "email_request_received": true, "email_decision": true, "email_admin_new_request": false,
    "max_access_duration_seconds": 604800, "approver_reminder_days": 2, "grant_ending_notice_hours": 24
})),
    responses(
        (status = 200, description = "The new settings", body = SettingsResponse,
            headers(("ETag" = String, description = "The settings' new version"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[put("/settings")]
pub async fn replace_settings(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    if_match: IfMatch,
    ValidJson(body): ValidJson<UpdateSettingsRequest>,
) -> Result<HttpResponse, ApiError> {
    let if_match = if_match.and_version(body.version);
    let (actor, now) = (Some(principal.user().id), state.now());
    let stored = state
        .write(move |conn| settings::replace(conn, actor, body.settings(), &if_match, now))
        .await;
    state.cache.settings_changed();
    let stored = stored?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(stored.version))
        .json(SettingsResponse::from(stored)))
}
