//! Webhook channels and their delivery log: the handlers (the documents are in `webhooks/dto.rs`).

use actix_web::{HttpResponse, delete, get, patch, post, web};
use portcullis_domain::{ChannelId, DeliveryId};
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::auth::Admin;
use crate::error::ApiError;
use crate::etag::{IfMatch, etag};
use crate::extractors::{ValidJson, ValidQuery};
use crate::openapi::*;
use crate::services::webhooks::{self, ChannelFields};
use crate::state::AppState;

mod dto;

pub use dto::{
    CreateWebhookChannelRequest, CreatedWebhookChannel, DeliveryAttempt, DeliveryDetail,
    DeliveryList, DeliveryParams, DeliveryResponse, DeliveryStatus, EventType,
    UpdateWebhookChannelRequest, WebhookChannelList, WebhookChannelResponse,
};

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

/// A page of the outbox entries of one `kind`, newest first (the Slack and callback logs).
pub async fn deliveries_of_kind(
    state: &AppState,
    kind: &'static str,
    params: &DeliveryParams,
) -> Result<web::Json<DeliveryList>, ApiError> {
    let page = crate::pagination::PageParams {
        limit: params.limit,
        page_token: params.page_token.clone(),
    }
    .to_request()?;
    let status = params.status.map(DeliveryStatus::as_str);
    let deliveries = state
        .read(move |conn| {
            Ok(portcullis_persistence::repo::outbox::list_for_kind(
                conn, kind, status, &page,
            )?)
        })
        .await?;
    Ok(web::Json(DeliveryList::from_page(deliveries, |e| {
        DeliveryResponse::from(&e)
    })))
}
