//! The documents of the webhook channels' endpoints: channels, deliveries and their attempts.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use portcullis_persistence::repo::outbox::{Attempt, Entry};
use portcullis_persistence::repo::webhooks::Channel;
use portcullis_persistence::time::from_db;
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::list_response;
use crate::notify::EVENT_TYPES;

/// The name of an event type a webhook channel can receive (the audit log's event types).
pub struct EventType;

impl utoipa::PartialSchema for EventType {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An event type, as in the audit log. Seed 002's access-request events, the \
                 engine's own, directory and webhook-channel changes.",
            ))
            .enum_values(Some(EVENT_TYPES.iter().copied()))
            .into()
    }
}

impl ToSchema for EventType {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EventType")
    }
}

/// A webhook channel: where signed event notifications go.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ea0", "name": "SIEM", "url": "https://hooks.example.com/portcullis",
    "enabled": true, "events": ["access_management_access_request", "access_management_access_request_approval"],
    "version": 1, "created_at": "2026-11-23T09:30:00Z", "updated_at": "2026-11-23T09:30:00Z"
}))]
pub struct WebhookChannelResponse {
    #[schema(read_only)]
    pub id: Uuid,
    pub name: String,
    pub url: String,
    pub enabled: bool,
    #[schema(value_type = Vec<EventType>)]
    pub events: Vec<String>,
    /// Increments on every change; also the `ETag`.
    #[schema(read_only)]
    pub version: i64,
    #[schema(read_only)]
    pub created_at: DateTime<Utc>,
    #[schema(read_only)]
    pub updated_at: DateTime<Utc>,
}

impl From<&Channel> for WebhookChannelResponse {
    fn from(c: &Channel) -> Self {
        Self {
            id: c.id.as_uuid(),
            name: c.name.clone(),
            url: c.url.clone(),
            enabled: c.enabled,
            events: c.events.clone(),
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A channel just created, with its signing secret: shown this once, never again.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ea0", "name": "SIEM", "url": "https://hooks.example.com/portcullis",
    "enabled": true, "events": ["access_management_access_request"], "version": 1,
    "created_at": "2026-11-23T09:30:00Z", "updated_at": "2026-11-23T09:30:00Z",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
}))]
pub struct CreatedWebhookChannel {
    #[serde(flatten)]
    pub channel: WebhookChannelResponse,
    /// The Standard Webhooks signing secret (`whsec_` + base64 key). Store it now: it is never
    /// shown again.
    pub secret: String,
}

list_response!(
    WebhookChannelList,
    WebhookChannelResponse,
    "A page of webhook channels, newest first."
);

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "SIEM", "url": "https://hooks.example.com/portcullis", "enabled": true,
    "events": ["access_management_access_request", "access_management_access_request_approval",
        "access_management_access_request_deny"]
}))]
pub struct CreateWebhookChannelRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// An `http://` or `https://` URL without credentials. Redirects are not followed.
    #[schema(max_length = 2000)]
    pub url: String,
    /// Default `true`.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The event types to receive (at least one).
    #[schema(value_type = Vec<EventType>, min_items = 1, max_items = 100)]
    pub events: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "enabled": false }))]
pub struct UpdateWebhookChannelRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 2000)]
    pub url: Option<String>,
    pub enabled: Option<bool>,
    /// Replaces the event types.
    #[schema(value_type = Option<Vec<EventType>>, min_items = 1, max_items = 100)]
    pub events: Option<Vec<String>>,
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

/// Where a notification is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or for a retry.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; an admin can re-send it.
    Failed,
    /// Not sent on purpose.
    Skipped,
}

impl DeliveryStatus {
    fn parse(text: &str) -> Self {
        match text {
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            "skipped" => Self::Skipped,
            _ => Self::Pending,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

/// One message to a channel and how its delivery went. Its `id` is the `webhook-id` header the
/// receiver gets (the same on every attempt, so receivers can drop repeats).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7eb0", "channel_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ea0",
    "event_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e99", "event_type": "access_management_access_request",
    "status": "pending", "attempts": 2, "next_attempt_at": "2026-11-23T09:32:00Z", "last_status_code": 503,
    "last_latency_ms": 41, "last_error": "HTTP 503: unavailable", "created_at": "2026-11-23T09:30:00Z",
    "delivered_at": null
}))]
pub struct DeliveryResponse {
    pub id: Uuid,
    pub channel_id: Option<Uuid>,
    /// The audit event the message carries; `null` for a test ping.
    pub event_id: Option<Uuid>,
    pub event_type: String,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due; `null` unless pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's HTTP status on the last attempt; `null` if it could not be reached.
    pub last_status_code: Option<i32>,
    pub last_latency_ms: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<&Entry> for DeliveryResponse {
    fn from(e: &Entry) -> Self {
        let status = DeliveryStatus::parse(&e.status);
        Self {
            id: e.id.as_uuid(),
            channel_id: e.channel_id.map(|c| c.as_uuid()),
            event_id: e.event_id.map(|id| id.as_uuid()),
            event_type: e.topic.clone(),
            status,
            attempts: e.attempts,
            next_attempt_at: (status == DeliveryStatus::Pending).then_some(e.next_attempt_at),
            last_status_code: e.last_status_code,
            last_latency_ms: e.last_latency_ms,
            last_error: e.last_error.clone(),
            created_at: e.created_at,
            delivered_at: e.delivered_at,
        }
    }
}

list_response!(
    DeliveryList,
    DeliveryResponse,
    "A page of a channel's deliveries, newest first."
);

/// One attempt to deliver a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryAttempt {
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

impl From<Attempt> for DeliveryAttempt {
    fn from(a: Attempt) -> Self {
        Self {
            attempted_at: from_db(a.attempted_at),
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error,
        }
    }
}

/// A delivery with the exact body sent and every attempt.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7eb0", "channel_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7ea0",
    "event_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e99", "event_type": "access_management_access_request",
    "status": "delivered", "attempts": 2, "next_attempt_at": null, "last_status_code": 200,
    "last_latency_ms": 12, "last_error": null, "created_at": "2026-11-23T09:30:00Z",
    "delivered_at": "2026-11-23T09:30:31Z",
    "payload": { "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e99", "type": "access_management_access_request",
        "time": "2026-11-23T09:30:00Z", "category": "di_events", "service": "access_management",
        "actor": null, "subject": { "type": "access_request", "id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e98" },
        "data": {} },
    "attempt_log": [
        { "attempted_at": "2026-11-23T09:30:00Z", "status_code": 503, "latency_ms": 41, "error": "HTTP 503: unavailable" },
        { "attempted_at": "2026-11-23T09:30:31Z", "status_code": 200, "latency_ms": 12, "error": null }
    ]
}))]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryResponse,
    /// The body sent (the signed bytes, parsed).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<DeliveryAttempt>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// Only deliveries in this state.
    pub status: Option<DeliveryStatus>,
    #[validate(range(min = 1, max = 200, message = "must be between 1 and 200"))]
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}
