//! Webhook payloads, Standard Webhooks signatures and the HTTP call.
//!
//! Signature (<https://www.standardwebhooks.com/>): `webhook-signature: v1,<base64 HMAC-SHA256>` of
//! `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the base64 key after `whsec_`.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use portcullis_domain::EventId;
use portcullis_persistence::repo::events::NewEvent;
use rand::RngCore;
use serde_json::{Value, json};
use sha2::Sha256;

pub use portcullis_domain::events::{CHANNEL_CREATE, CHANNEL_DELETE, CHANNEL_UPDATE};
/// The type of the test message `POST /v1/webhook-channels/{id}/test` sends.
pub const PING: &str = "webhook_channel_ping";

const SECRET_PREFIX: &str = "whsec_";
/// Bytes of a generated signing key (256 bits, the HMAC-SHA256 block's natural strength).
const SECRET_BYTES: usize = 32;
/// At most this much of a failing receiver's answer is kept as the delivery's error.
const ERROR_BODY_CHARS: usize = 200;

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let mut key = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", BASE64.encode(key))
}

/// The `webhook-signature` header value for one message.
pub fn sign(secret: &str, message_id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let key = BASE64
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(|_| "the channel's secret is not base64".to_owned())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{message_id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Ok(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

/// The body of an event notification: a Directory-Insights-style envelope (seed 002 nests access
/// request events under `di_events`), with the event's own data under `data`.
pub fn payload(id: EventId, event: &NewEvent, actor: Option<Value>) -> Value {
    json!({
        "id": id,
        "type": event.event_type,
        "time": event.occurred_at,
        "category": "di_events",
        "service": "access_management",
        "actor": actor,
        "subject": { "type": event.subject_type, "id": event.subject_id },
        "data": event.data,
    })
}

/// What one call to a receiver gave.
pub struct CallResult {
    pub status_code: Option<u16>,
    pub latency: Duration,
    /// `None` when the receiver answered 2xx.
    pub error: Option<String>,
}

/// Posts a message with the Standard Webhooks headers, its `webhook-signature` made by `signature`
/// from the message id, the timestamp and the body ([`sign`] for a channel's secret). Redirects are
/// not followed (a 3xx is a failure): the URL configured is the only place a signed payload goes.
pub async fn call(
    client: &reqwest::Client,
    url: &str,
    message_id: &str,
    body: &str,
    signature: impl FnOnce(&str, i64, &str) -> Result<String, String>,
) -> CallResult {
    let started = Instant::now();
    // The signing time is the wall clock's, not the domain clock's: receivers compare it with
    // theirs to refuse replays.
    let timestamp = chrono::Utc::now().timestamp();
    let signature = match signature(message_id, timestamp, body) {
        Ok(signature) => signature,
        Err(error) => {
            return CallResult {
                status_code: None,
                latency: started.elapsed(),
                error: Some(error),
            };
        }
    };
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body.to_owned())
        .send()
        .await;
    match sent {
        Ok(response) => {
            let status = response.status();
            let error = if status.is_success() {
                None
            } else {
                let text = response.text().await.unwrap_or_default();
                let excerpt: String = text.chars().take(ERROR_BODY_CHARS).collect();
                Some(format!("HTTP {}: {}", status.as_u16(), excerpt.trim()))
            };
            CallResult {
                status_code: Some(status.as_u16()),
                latency: started.elapsed(),
                error,
            }
        }
        Err(error) => CallResult {
            status_code: None,
            latency: started.elapsed(),
            error: Some(describe(error)),
        },
    }
}

/// A transport error in a few words, without the URL (which may carry credentials).
fn describe(error: reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else if error.is_redirect() {
        "redirected (redirects are not followed)".to_owned()
    } else {
        let error = error.without_url();
        match std::error::Error::source(&error) {
            Some(source) => format!("{error}: {source}"),
            None => error.to_string(),
        }
    }
}

/// The client every delivery uses: bounded time, no redirects, a recognisable user agent.
pub fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Portcullis-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_keys() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        let key = BASE64
            .decode(a.strip_prefix(SECRET_PREFIX).unwrap())
            .unwrap();
        assert_eq!(key.len(), SECRET_BYTES);
    }

    /// The example of the Standard Webhooks specification's reference test suite.
    #[test]
    fn signs_the_specifications_example() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
