use std::borrow::Cow;

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use portcullis_domain::{ChannelId, DeliveryId};
use portcullis_persistence::repo::outbox::{Attempt, Entry};
use portcullis_persistence::repo::webhooks::Channel;
use portcullis_persistence::time::from_db;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::auth::Admin;
use crate::error::ApiError;
use crate::etag::{IfMatch, etag};
use crate::extractors::{ValidJson, ValidQuery};
use crate::list_response;
use crate::notify::EVENT_TYPES;
use crate::openapi::*;
use crate::services::webhooks::{self, ChannelFields};
use crate::state::AppState;

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

    fn as_str(self) -> &'static str {
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

fn channel_id(id: web::Path<Uuid>) -> ChannelId {
    ChannelId::from(id.into_inner())
}

/// List webhook channels
///
/// Administrators list the webhook channels, newest first. Secrets are never returned.
#[utoipa::path(
    tag = "webhooks",
    params(crate::pagination::PageParams),
    responses(
        (status = 200, description = "A page of channels", body = WebhookChannelList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
#[get("/webhook-channels")]
pub async fn list_webhook_channels(
    state: web::Data<AppState>,
    _admin: Admin,
    ValidQuery(params): ValidQuery<crate::pagination::PageParams>,
) -> Result<web::Json<WebhookChannelList>, ApiError> {
    let page = params.to_request()?;
    let channels = state.read(move |conn| webhooks::list(conn, &page)).await?;
    Ok(web::Json(WebhookChannelList::from_page(channels, |c| {
        WebhookChannelResponse::from(&c)
    })))
}

/// Create a webhook channel
///
/// The response carries the signing secret, shown this once. Each message is signed per the
/// Standard Webhooks specification: `webhook-id`, `webhook-timestamp` and `webhook-signature`
/// (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, keyed with the secret's base64 key).
#[utoipa::path(
    tag = "webhooks",
    request_body = CreateWebhookChannelRequest,
    responses(
        (status = 201, description = "The channel was created", body = CreatedWebhookChannel,
            headers(("ETag" = String, description = "The channel's version"), ("Location" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[post("/webhook-channels")]
pub async fn create_webhook_channel(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    ValidJson(body): ValidJson<CreateWebhookChannelRequest>,
) -> Result<HttpResponse, ApiError> {
    let fields = ChannelFields {
        name: Some(body.name),
        url: Some(body.url),
        enabled: Some(body.enabled),
        events: Some(body.events),
    };
    let (actor, now) = (Some(principal.user().id), state.now());
    let channel = state
        .write(move |conn| webhooks::create(conn, actor, fields, now))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(channel.version))
        .insert_header(("Location", format!("/v1/webhook-channels/{}", channel.id)))
        .json(CreatedWebhookChannel {
            channel: WebhookChannelResponse::from(&channel),
            secret: channel.secret.expose_secret().to_owned(),
        }))
}

/// Get a webhook channel
///
/// The secret is never returned after creation.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The channel's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 200, description = "The channel", body = WebhookChannelResponse,
            headers(("ETag" = String, description = "The channel's version"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
#[get("/webhook-channels/{id}")]
pub async fn get_webhook_channel(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = channel_id(id);
    let channel = state.read(move |conn| webhooks::get(conn, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(channel.version))
        .json(WebhookChannelResponse::from(&channel)))
}

/// Update a webhook channel
///
/// Administrators change a channel's name, URL, events or `enabled`. Send `If-Match` with the `ETag`
/// you read (412 if stale). The secret stays.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("id" = Uuid, Path, description = "The channel's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read; the update fails with 412 if it changed"),
    ),
    request_body = UpdateWebhookChannelRequest,
    responses(
        (status = 200, description = "The updated channel", body = WebhookChannelResponse,
            headers(("ETag" = String, description = "The channel's new version"))),
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
#[patch("/webhook-channels/{id}")]
pub async fn update_webhook_channel(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    ValidJson(body): ValidJson<UpdateWebhookChannelRequest>,
) -> Result<HttpResponse, ApiError> {
    let if_match = if_match.and_version(body.version);
    let fields = ChannelFields {
        name: body.name,
        url: body.url,
        enabled: body.enabled,
        events: body.events,
    };
    let (actor, now, id) = (Some(principal.user().id), state.now(), channel_id(id));
    let channel = state
        .write(move |conn| webhooks::update(conn, actor, id, fields, &if_match, now))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(channel.version))
        .json(WebhookChannelResponse::from(&channel)))
}

/// Delete a webhook channel
///
/// Its delivery log goes with it; messages not yet delivered are dropped.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The channel's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 204, description = "The channel was deleted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
#[delete("/webhook-channels/{id}")]
pub async fn delete_webhook_channel(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (actor, now, id) = (Some(principal.user().id), state.now(), channel_id(id));
    state
        .write(move |conn| webhooks::delete(conn, actor, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Send a test message to a webhook channel
///
/// Sends a signed `webhook_channel_ping` at once (enabled or not) and answers with the outcome:
/// `delivered`, or `failed` with the receiver's status or the connection error. Pings are not retried.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The channel's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80")),
    responses(
        (status = 200, description = "The ping's delivery after its one attempt", body = DeliveryResponse),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
#[post("/webhook-channels/{id}/test")]
pub async fn test_webhook_channel(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    id: web::Path<Uuid>,
) -> Result<web::Json<DeliveryResponse>, ApiError> {
    let (actor, now, id) = (principal.user().id, state.now(), channel_id(id));
    let (token, lease_until) = state.notifier.claim(now);
    let claim = token.clone();
    let ping = state
        .write(move |conn| webhooks::queue_ping(conn, actor, id, now, (&claim, lease_until)))
        .await?;
    let entry = state
        .notifier
        .deliver_claimed(ping, &token)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no webhook channel with id {id}")))?;
    Ok(web::Json(DeliveryResponse::from(&entry)))
}

/// List a webhook channel's deliveries
///
/// Administrators read a channel's delivery log, newest first, optionally filtered by `status`.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The channel's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"), DeliveryParams),
    responses(
        (status = 200, description = "A page of deliveries, newest first", body = DeliveryList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
#[get("/webhook-channels/{id}/deliveries")]
pub async fn list_webhook_deliveries(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<Uuid>,
    ValidQuery(params): ValidQuery<DeliveryParams>,
) -> Result<web::Json<DeliveryList>, ApiError> {
    let page = crate::pagination::PageParams {
        limit: params.limit,
        page_token: params.page_token.clone(),
    }
    .to_request()?;
    let (id, status) = (channel_id(id), params.status.map(DeliveryStatus::as_str));
    let deliveries = state
        .read(move |conn| webhooks::deliveries(conn, id, status, &page))
        .await?;
    Ok(web::Json(DeliveryList::from_page(deliveries, |e| {
        DeliveryResponse::from(&e)
    })))
}

/// Get one delivery with its attempts
///
/// Administrators read one delivery: the exact body sent and every attempt with its status code,
/// latency and error.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("id" = Uuid, Path, description = "The channel's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"),
        ("delivery_id" = Uuid, Path, description = "The delivery's id (its `webhook-id`)", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7eb0"),
    ),
    responses(
        (status = 200, description = "The delivery, its body and every attempt", body = DeliveryDetail),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
#[get("/webhook-channels/{id}/deliveries/{delivery_id}")]
pub async fn get_webhook_delivery(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<DeliveryDetail>, ApiError> {
    let (channel, delivery) = path.into_inner();
    let (channel, delivery) = (ChannelId::from(channel), DeliveryId::from(delivery));
    let (entry, attempts) = state
        .read(move |conn| webhooks::delivery(conn, channel, delivery))
        .await?;
    Ok(web::Json(DeliveryDetail {
        delivery: DeliveryResponse::from(&entry),
        payload: serde_json::from_str(&entry.payload).unwrap_or(serde_json::Value::Null),
        attempt_log: attempts.into_iter().map(DeliveryAttempt::from).collect(),
    }))
}

/// Re-send a delivery
///
/// Queues a delivered, failed or skipped message again, due now, with a fresh retry budget. It
/// keeps its `webhook-id`, so a receiver that already has it can drop it.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("id" = Uuid, Path, description = "The channel's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80"),
        ("delivery_id" = Uuid, Path, description = "The delivery's id", example = "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7eb0"),
    ),
    responses(
        (status = 202, description = "Queued again", body = DeliveryResponse),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/webhook-channels/{id}/deliveries/{delivery_id}/resend")]
pub async fn resend_webhook_delivery(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (channel, delivery) = path.into_inner();
    let (channel, delivery, now) = (
        ChannelId::from(channel),
        DeliveryId::from(delivery),
        state.now(),
    );
    let entry = state
        .write(move |conn| webhooks::resend(conn, channel, delivery, now))
        .await?;
    Ok(HttpResponse::Accepted().json(DeliveryResponse::from(&entry)))
}
