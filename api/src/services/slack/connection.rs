//! The Slack connection an administrator sets: the bot token and the signing secret (write-only),
//! the default channels and whether requesters are told of decisions in Slack.

use chrono::{DateTime, Utc};
use portcullis_domain::UserId;
use portcullis_domain::events::SLACK_CONNECTION_UPDATE;
use portcullis_domain::flow::SlackChannelId;
use portcullis_domain::validation::ValidationErrors;
use portcullis_persistence::DbConnection;
use portcullis_persistence::repo::slack::{self, SlackConnection};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::error::ApiError;
use crate::services::audit;
use crate::slack::SlackError;
use crate::tx::Tx;

/// The longest token or secret accepted.
const MAX_SECRET_CHARS: usize = 255;

/// A replacement of the connection, as sent. Absent secrets keep the stored ones.
pub struct NewConnection {
    pub bot_token: Option<SecretString>,
    pub signing_secret: Option<SecretString>,
    pub default_channel_ids: Vec<String>,
    pub notify_requester: bool,
}

/// What `auth.test` said about the token.
pub struct Verification {
    pub team_name: Option<String>,
    pub error: Option<String>,
}

pub fn get(conn: &mut DbConnection) -> Result<Option<SlackConnection>, ApiError> {
    Ok(slack::connection(conn)?)
}

fn secret_rule(value: &str) -> Result<(), String> {
    let visible = value.chars().all(|c| c.is_ascii_graphic());
    if value.is_empty() || value.chars().count() > MAX_SECRET_CHARS || !visible {
        return Err(format!(
            "must be 1 to {MAX_SECRET_CHARS} visible ASCII characters, without spaces"
        ));
    }
    Ok(())
}

/// Checks the fields, knowing whether secrets are already stored.
pub fn validate(new: &NewConnection, stored: bool) -> Result<(), ApiError> {
    let mut errors = ValidationErrors::new();
    for (field, value) in [
        ("bot_token", &new.bot_token),
        ("signing_secret", &new.signing_secret),
    ] {
        match value {
            Some(value) => {
                if let Err(message) = secret_rule(value.expose_secret()) {
                    errors.push(field, message);
                }
            }
            None if !stored => errors.push(field, "required: Slack is not connected yet"),
            None => {}
        }
    }
    if let Some(token) = &new.bot_token
        && token
            .expose_secret()
            .strip_prefix("xoxb-")
            .is_none_or(str::is_empty)
    {
        errors.push("bot_token", "must be a bot token (xoxb-…)");
    }
    if new.default_channel_ids.len() > portcullis_domain::flow::MAX_SLACK_CHANNELS {
        errors.push("default_channel_ids", "at most 20 channels");
    }
    for (index, channel) in new.default_channel_ids.iter().enumerate() {
        let field = format!("default_channel_ids[{index}]");
        if let Err(message) = SlackChannelId::parse(channel) {
            errors.push(field, message);
        } else if new.default_channel_ids[..index].contains(channel) {
            errors.push(field, "is listed twice");
        }
    }
    errors.into_result().map_err(ApiError::Validation)
}

/// What to do with the answer of `auth.test`: a token Slack refuses is a field error; Slack being
/// unreachable leaves the connection saved but unverified.
pub fn verification(answer: Result<Option<String>, SlackError>) -> Result<Verification, ApiError> {
    match answer {
        Ok(team_name) => Ok(Verification {
            team_name,
            error: None,
        }),
        Err(SlackError::Refused(error)) => Err(ApiError::invalid_field(
            "bot_token",
            format!("Slack refused this token ({error})"),
        )),
        Err(other) => Ok(Verification {
            team_name: None,
            error: Some(other.to_string()),
        }),
    }
}

/// Saves the connection (if nobody changed it since `expected` was read) and audits the change,
/// naming which secrets changed but never their values.
pub fn replace(
    conn: &mut Tx,
    actor: UserId,
    new: NewConnection,
    verification: Verification,
    expected: Option<i64>,
    now: DateTime<Utc>,
) -> Result<SlackConnection, ApiError> {
    let before = slack::connection(conn)?;
    if before.as_ref().map(|b| b.version) != expected {
        return Err(ApiError::PreconditionFailed(
            "the Slack connection changed at the same time; read it again".to_owned(),
        ));
    }
    let keep = |new: Option<SecretString>, old: Option<&SecretString>| {
        new.or_else(|| old.cloned())
            .ok_or_else(|| ApiError::internal("a secret is missing"))
    };
    let token_changed = new.bot_token.is_some();
    let secret_changed = new.signing_secret.is_some();
    let after = SlackConnection {
        bot_token: keep(new.bot_token, before.as_ref().map(|b| &b.bot_token))?,
        signing_secret: keep(
            new.signing_secret,
            before.as_ref().map(|b| &b.signing_secret),
        )?,
        default_channel_ids: new.default_channel_ids,
        notify_requester: new.notify_requester,
        verified_at: verification.error.is_none().then_some(now),
        team_name: verification.team_name,
        verification_error: verification.error,
        version: expected.unwrap_or(0) + 1,
        updated_at: now,
    };
    if !slack::save_connection(conn, &after, expected)? {
        return Err(ApiError::PreconditionFailed(
            "the Slack connection changed at the same time; read it again".to_owned(),
        ));
    }
    audit(
        conn,
        SLACK_CONNECTION_UPDATE,
        Some(actor),
        ("slack_connection", "slack".to_owned()),
        json!({
            "bot_token_changed": token_changed,
            "signing_secret_changed": secret_changed,
            "default_channel_ids": after.default_channel_ids,
            "notify_requester": after.notify_requester,
            "team_name": after.team_name,
            "verified": after.verified_at.is_some(),
        }),
        now,
    )?;
    Ok(after)
}
