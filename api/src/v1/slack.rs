//! Slack approvals: the connection (admin), its delivery log (admin), and the interactions endpoint
//! Slack calls (signed by Slack, no bearer token).

mod dto;

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use secrecy::SecretString;
use serde_json::json;

use crate::auth::Admin;
use crate::error::ApiError;
use crate::extractors::{ValidJson, ValidQuery};
use crate::openapi::*;
use crate::services::slack::{connection, interactions};
use crate::slack::interaction::{self, Interaction};
use crate::slack::signature;
use crate::state::AppState;
use crate::v1::webhooks::{DeliveryList, DeliveryParams, deliveries_of_kind};

pub use self::dto::*;

/// Get the Slack connection
///
/// Whether Slack approvals are connected, to which workspace, and when the bot token was last
/// verified with Slack's `auth.test`. The token and the signing secret are never returned.
#[utoipa::path(
    tag = "slack",
    responses(
        (status = 200, description = "The connection", body = SlackConnectionResponse),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
#[get("/settings/slack")]
pub async fn get_slack_connection(
    state: web::Data<AppState>,
    _admin: Admin,
) -> Result<web::Json<SlackConnectionResponse>, ApiError> {
    let stored = state.read(connection::get).await?;
    Ok(web::Json(SlackConnectionResponse::from(stored)))
}

/// Connect Slack
///
/// Sets the bot token and signing secret of the Slack app (write-only), the default channels and
/// whether requesters are told of decisions in Slack. The token is checked with `auth.test` first: a
/// token Slack refuses is a 422 and nothing is saved; when Slack cannot be reached the connection is
/// saved unverified (`verification_error`).
#[utoipa::path(
    tag = "slack",
    request_body = UpdateSlackConnectionRequest,
    responses(
        (status = 200, description = "The new connection", body = SlackConnectionResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
    )
)]
#[put("/settings/slack")]
pub async fn connect_slack(
    state: web::Data<AppState>,
    Admin(principal): Admin,
    ValidJson(body): ValidJson<UpdateSlackConnectionRequest>,
) -> Result<web::Json<SlackConnectionResponse>, ApiError> {
    let stored = state.read(connection::get).await?;
    let new = connection::NewConnection {
        bot_token: body.bot_token.map(SecretString::from),
        signing_secret: body.signing_secret.map(SecretString::from),
        default_channel_ids: body.default_channel_ids,
        notify_requester: body.notify_requester,
    };
    connection::validate(&new, stored.is_some())?;
    let current = stored.as_ref().map(|s| s.version);
    if body.version.is_some_and(|v| Some(v) != current) {
        return Err(ApiError::PreconditionFailed(
            "the Slack connection changed since it was read; read it again".to_owned(),
        ));
    }
    let token = match (&new.bot_token, &stored) {
        (Some(token), _) => token.clone(),
        (None, Some(stored)) => stored.bot_token.clone(),
        (None, None) => return Err(ApiError::invalid_field("bot_token", "required")),
    };
    let answer = state
        .notifier
        .slack()
        .auth_test(secrecy::ExposeSecret::expose_secret(&token))
        .await
        .map(|identity| identity.team);
    let verification = connection::verification(answer)?;
    let (actor, now) = (principal.user().id, state.now());
    let saved = state
        .write(move |conn| connection::replace(conn, actor, new, verification, current, now))
        .await?;
    Ok(web::Json(SlackConnectionResponse::from(Some(saved))))
}

/// List Slack deliveries
///
/// Administrators read the log of Slack's work, newest first: messages to approvers
/// (`ask_approver`, `post_to_channel`), their updates (`close_messages`), requesters' notes
/// (`tell_requester`) and interactions acted on (`interaction`), each with its attempts' outcome.
#[utoipa::path(
    tag = "slack",
    params(DeliveryParams),
    responses(
        (status = 200, description = "A page of deliveries, newest first", body = DeliveryList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
#[get("/settings/slack/deliveries")]
pub async fn list_slack_deliveries(
    state: web::Data<AppState>,
    _admin: Admin,
    ValidQuery(params): ValidQuery<DeliveryParams>,
) -> Result<web::Json<DeliveryList>, ApiError> {
    deliveries_of_kind(&state, portcullis_persistence::repo::outbox::SLACK, &params).await
}

const NOT_FROM_SLACK: &str = "This endpoint takes requests signed by Slack only.";

/// Receive a Slack interaction
///
/// Slack's interactivity request URL. The `X-Slack-Signature` (`v0=` HMAC-SHA256 of
/// `v0:{timestamp}:{body}` with the app's signing secret) and a `X-Slack-Request-Timestamp` at most five
/// minutes old are checked before anything else is read: anything else is a 401. The interaction is
/// recorded by its id and acted on right after the answer (Slack waits 3 seconds at most); a retry of
/// the same interaction does nothing again. Who clicked is the Portcullis user with the email Slack
/// has for them; they decide exactly as through the API. Answers `200` with no body, or with
/// `response_action: errors` when the denial modal's texts break the text rules.
#[utoipa::path(
    tag = "slack",
    security(()),
    params(
        ("X-Slack-Signature" = String, Header, description = "`v0=` and the hex HMAC-SHA256 of `v0:{timestamp}:{body}`"),
        ("X-Slack-Request-Timestamp" = String, Header, description = "Unix seconds; at most five minutes old"),
    ),
    request_body(content = SlackInteractionForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Received (or a retry of one received)"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
    )
)]
#[post("/integrations/slack/interactions")]
pub async fn receive_slack_interaction(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let header = |name: &str| {
        http.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let stored = state.read(connection::get).await?;
    let Some(stored) = stored else {
        return Err(ApiError::Unauthorized(NOT_FROM_SLACK));
    };
    // Slack's clock against the wall clock (as webhook signatures are), before anything is parsed.
    let verified = signature::verify(
        secrecy::ExposeSecret::expose_secret(&stored.signing_secret),
        header("X-Slack-Request-Timestamp").as_deref(),
        header("X-Slack-Signature").as_deref(),
        &body,
        chrono::Utc::now().timestamp(),
    );
    if let Err(forged) = verified {
        tracing::warn!(reason = %forged, "refused an interaction not signed by Slack");
        return Err(ApiError::Unauthorized(NOT_FROM_SLACK));
    }
    let Some(mut received) = interaction::parse(&body).map_err(ApiError::bad_request)? else {
        return Ok(HttpResponse::Ok().finish());
    };
    if let Interaction::Deny {
        reason, next_steps, ..
    } = &mut received.interaction
    {
        // The modal's texts follow the API's text rules; what breaks them is shown in the modal.
        let mut errors = serde_json::Map::new();
        for (block, text) in [("reason", reason), ("next_steps", next_steps)] {
            match portcullis_domain::request::parse_text(text.as_deref()) {
                Ok(checked) => *text = checked,
                Err(message) => {
                    errors.insert(block.to_owned(), json!(message));
                }
            }
        }
        if !errors.is_empty() {
            return Ok(
                HttpResponse::Ok().json(json!({ "response_action": "errors", "errors": errors }))
            );
        }
    }
    let now = state.now();
    state
        .write(move |conn| interactions::receive(conn, received, now))
        .await?;
    Ok(HttpResponse::Ok().finish())
}
