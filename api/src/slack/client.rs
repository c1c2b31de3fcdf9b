//! The six Slack Web API methods Portcullis calls, with typed bodies over plain `reqwest` (see the
//! README's "Slack approvals" for why not a Slack SDK). Every answer is `{"ok": true, …}` or
//! `{"ok": false, "error": "…"}`; HTTP 429 carries `Retry-After`.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Why a call did not succeed, and so whether to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackError {
    /// Rate-limited (HTTP 429 or `ratelimited`): try again after this long.
    RateLimited(Duration),
    /// Slack is unreachable or failing (transport error, 5xx with its status): try again later.
    Unavailable(Option<u16>, String),
    /// Slack refused the call (`{"ok": false, "error": …}`): trying again gives the same answer.
    Refused(String),
}

impl SlackError {
    /// The HTTP status this error came with, for the delivery log.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Self::RateLimited(_) => Some(429),
            Self::Unavailable(status, _) => *status,
            Self::Refused(_) => Some(200),
        }
    }
}

impl std::fmt::Display for SlackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::RateLimited(wait) => {
                write!(f, "rate-limited by Slack: retry after {}s", wait.as_secs())
            }
            Self::Unavailable(_, why) => write!(f, "Slack unavailable: {why}"),
            Self::Refused(error) => write!(f, "Slack refused the call: {error}"),
        }
    }
}

/// What `auth.test` says about the token.
#[derive(Debug, Clone, Deserialize)]
pub struct Identity {
    pub team: Option<String>,
    pub user_id: Option<String>,
}

/// A posted message: where and which (`ts`).
#[derive(Debug, Clone, Deserialize)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    ok: bool,
    error: Option<String>,
}

/// A client of one Slack workspace's Web API (the base URL is `PORTCULLIS_SLACK_API_URL`).
#[derive(Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    base: String,
}

/// Used when Slack answers 429 without a usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

impl SlackClient {
    pub fn new(base: &str, timeout: Duration) -> reqwest::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Portcullis/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// Calls `method` with a JSON body, authenticated with the bot token.
    async fn call<T: DeserializeOwned>(
        &self,
        token: &str,
        method: &str,
        body: &Value,
    ) -> Result<T, SlackError> {
        self.send(method, self.request(token, method).json(body))
            .await
    }

    /// Calls a method that takes form arguments only (Slack's read methods do not read JSON).
    async fn call_form<T: DeserializeOwned>(
        &self,
        token: &str,
        method: &str,
        form: &[(&str, &str)],
    ) -> Result<T, SlackError> {
        self.send(method, self.request(token, method).form(form))
            .await
    }

    fn request(&self, token: &str, method: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(token)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, SlackError> {
        let response = request
            .send()
            .await
            .map_err(|e| SlackError::Unavailable(None, describe(&e)))?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let wait = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs);
            return Err(SlackError::RateLimited(wait));
        }
        if !status.is_success() {
            let code = status.as_u16();
            return Err(SlackError::Unavailable(Some(code), format!("HTTP {code}")));
        }
        let value: Value = response.json().await.map_err(|_| {
            SlackError::Unavailable(Some(200), "an answer that is not JSON".to_owned())
        })?;
        let envelope: Envelope = serde_json::from_value(value.clone())
            .map_err(|_| SlackError::Unavailable(Some(200), "an answer without `ok`".to_owned()))?;
        if !envelope.ok {
            let error = envelope.error.unwrap_or_else(|| "unknown_error".to_owned());
            return Err(if error == "ratelimited" {
                SlackError::RateLimited(DEFAULT_RETRY_AFTER)
            } else {
                SlackError::Refused(error)
            });
        }
        serde_json::from_value(value).map_err(|e| {
            SlackError::Unavailable(Some(200), format!("an unexpected answer to {method}: {e}"))
        })
    }

    /// `auth.test`: whether the token works, and for which workspace.
    pub async fn auth_test(&self, token: &str) -> Result<Identity, SlackError> {
        self.call_form(token, "auth.test", &[]).await
    }

    /// `users.lookupByEmail`: the Slack user id of an email, `None` when Slack does not know it.
    pub async fn lookup_by_email(
        &self,
        token: &str,
        email: &str,
    ) -> Result<Option<String>, SlackError> {
        #[derive(Deserialize)]
        struct User {
            id: String,
        }
        #[derive(Deserialize)]
        struct Found {
            user: User,
        }
        match self
            .call_form::<Found>(token, "users.lookupByEmail", &[("email", email)])
            .await
        {
            Ok(found) => Ok(Some(found.user.id)),
            Err(SlackError::Refused(error)) if error == "users_not_found" => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// `conversations.open`: the direct-message channel with a user.
    pub async fn open_direct(&self, token: &str, user: &str) -> Result<String, SlackError> {
        #[derive(Deserialize)]
        struct Channel {
            id: String,
        }
        #[derive(Deserialize)]
        struct Opened {
            channel: Channel,
        }
        let opened: Opened = self
            .call(token, "conversations.open", &json!({ "users": user }))
            .await?;
        Ok(opened.channel.id)
    }

    /// `chat.postMessage`.
    pub async fn post_message(
        &self,
        token: &str,
        channel: &str,
        text: &str,
        blocks: &Value,
    ) -> Result<Posted, SlackError> {
        let body =
            json!({ "channel": channel, "text": text, "blocks": blocks, "unfurl_links": false });
        self.call(token, "chat.postMessage", &body).await
    }

    /// `chat.update`.
    pub async fn update_message(
        &self,
        token: &str,
        channel: &str,
        ts: &str,
        text: &str,
        blocks: &Value,
    ) -> Result<Posted, SlackError> {
        let body = json!({ "channel": channel, "ts": ts, "text": text, "blocks": blocks });
        self.call(token, "chat.update", &body).await
    }

    /// `views.open`: a modal, for the interaction whose `trigger_id` is given.
    pub async fn open_view(
        &self,
        token: &str,
        trigger_id: &str,
        view: &Value,
    ) -> Result<(), SlackError> {
        self.call::<Value>(
            token,
            "views.open",
            &json!({ "trigger_id": trigger_id, "view": view }),
        )
        .await
        .map(drop)
    }
}

/// A transport error in a few words, without the URL.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        "the call failed".to_owned()
    }
}
