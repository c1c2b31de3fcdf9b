//! The documents of the Slack endpoints: the connection as read and as written.

use chrono::{DateTime, Utc};
use portcullis_persistence::repo::slack::SlackConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

/// The Slack connection. The bot token and the signing secret are never returned.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "configured": true, "team_name": "Example Inc", "verified_at": "2026-12-02T09:30:00Z",
    "verification_error": null, "default_channel_ids": ["C0123ABCD"], "notify_requester": true,
    "version": 1, "updated_at": "2026-12-02T09:30:00Z"
}))]
pub struct SlackConnectionResponse {
    /// A bot token and a signing secret are stored.
    pub configured: bool,
    /// The workspace `auth.test` named.
    pub team_name: Option<String>,
    /// When `auth.test` last accepted the token; `null` if it never did.
    pub verified_at: Option<DateTime<Utc>>,
    /// Why the last `auth.test` could not be made (Slack unreachable); `null` after a success.
    pub verification_error: Option<String>,
    /// Where administrator flows in channel mode that name no channel post.
    pub default_channel_ids: Vec<String>,
    /// Requesters get a direct message with the decision when Slack knows them.
    pub notify_requester: bool,
    /// Increments on every change; 0 while not configured.
    #[schema(read_only)]
    pub version: i64,
    #[schema(read_only)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<Option<SlackConnection>> for SlackConnectionResponse {
    fn from(stored: Option<SlackConnection>) -> Self {
        match stored {
            Some(c) => Self {
                configured: true,
                team_name: c.team_name,
                verified_at: c.verified_at,
                verification_error: c.verification_error,
                default_channel_ids: c.default_channel_ids,
                notify_requester: c.notify_requester,
                version: c.version,
                updated_at: Some(c.updated_at),
            },
            None => Self {
                configured: false,
                team_name: None,
                verified_at: None,
                verification_error: None,
                default_channel_ids: Vec::new(),
                notify_requester: true,
                version: 0,
                updated_at: None,
            },
        }
    }
}

/// The connection to set. `bot_token` and `signing_secret` are write-only: required the first time,
/// omitted afterwards to keep the stored ones. Every other field replaces what is stored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "bot_token": "xoxb-1234-5678-abcdefghijkl", "signing_secret": "8f742231b10e8888abcd99yyyzzz85a5",
    "default_channel_ids": ["C0123ABCD"], "notify_requester": true
}))]
pub struct UpdateSlackConnectionRequest {
    /// The app's bot token (`xoxb-…`), checked with `auth.test` before it is saved. Never returned.
    #[schema(
        write_only,
        min_length = 6,
        max_length = 255,
        pattern = "^xoxb-[\\x21-\\x7E]+$"
    )]
    pub bot_token: Option<String>,
    /// The app's signing secret, which checks that interactions come from Slack. Never returned.
    #[schema(
        write_only,
        min_length = 1,
        max_length = 255,
        pattern = "^[\\x21-\\x7E]+$"
    )]
    pub signing_secret: Option<String>,
    /// Channel ids (`C…`/`G…`) for administrator flows in channel mode that name none (default none).
    #[serde(default)]
    #[schema(max_items = 20, value_type = Vec<portcullis_domain::flow::SlackChannelId>)]
    pub default_channel_ids: Vec<String>,
    /// Tell requesters the decision by direct message (default `true`).
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub notify_requester: bool,
    /// Read-only: when given, the version this change applies to (412 if another change came first).
    #[schema(read_only)]
    pub version: Option<i64>,
    /// Read-only, ignored.
    #[schema(read_only)]
    pub configured: Option<bool>,
    /// Read-only, ignored.
    #[schema(read_only)]
    pub team_name: Option<String>,
    /// Read-only, ignored.
    #[schema(read_only)]
    pub verified_at: Option<DateTime<Utc>>,
    /// Read-only, ignored.
    #[schema(read_only)]
    pub verification_error: Option<String>,
    /// Read-only, ignored.
    #[schema(read_only)]
    pub updated_at: Option<DateTime<Utc>>,
}

fn yes() -> bool {
    true
}

impl Validate for UpdateSlackConnectionRequest {
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        Ok(())
    }
}

/// The form Slack posts: `payload`, the interaction as JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "payload": "{\"type\":\"block_actions\",\"user\":{\"id\":\"U0123ABCD\"},\"trigger_id\":\"123.456.abc\",\"actions\":[{\"action_id\":\"approve\",\"value\":\"0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80\",\"action_ts\":\"1733130000.123456\"}]}" }))]
pub struct SlackInteractionForm {
    /// A `block_actions` (the Approve or Deny button) or `view_submission` (the denial modal) payload.
    pub payload: String,
}
