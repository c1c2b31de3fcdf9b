//! The interaction payloads Slack posts (form-encoded `payload=<JSON>`): a button in a message
//! (`block_actions`) or the submission of the denial modal (`view_submission`), reduced to what
//! Portcullis acts on.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::blocks::{APPROVE, DENY, DENY_CALLBACK, NEXT_STEPS, REASON};

/// What a person did in Slack, as queued for the outbox to act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Interaction {
    /// The Approve button.
    Approve {
        request_id: String,
        slack_user_id: String,
    },
    /// The Deny button: the modal asking for the reason opens.
    OpenDenial {
        request_id: String,
        slack_user_id: String,
        trigger_id: String,
    },
    /// The modal was submitted.
    Deny {
        request_id: String,
        slack_user_id: String,
        reason: Option<String>,
        next_steps: Option<String>,
    },
}

impl Interaction {
    pub fn request_id(&self) -> &str {
        match self {
            Self::Approve { request_id, .. }
            | Self::OpenDenial { request_id, .. }
            | Self::Deny { request_id, .. } => request_id,
        }
    }

    pub fn slack_user_id(&self) -> &str {
        match self {
            Self::Approve { slack_user_id, .. }
            | Self::OpenDenial { slack_user_id, .. }
            | Self::Deny { slack_user_id, .. } => slack_user_id,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Approve { .. } => "approve",
            Self::OpenDenial { .. } => "open_denial",
            Self::Deny { .. } => "deny",
        }
    }
}

/// A payload read: the interaction, and the id Slack's retries of it share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub id: String,
    pub interaction: Interaction,
}

#[derive(Deserialize)]
struct User {
    id: String,
}

#[derive(Deserialize)]
struct Action {
    action_id: String,
    #[serde(default)]
    value: Option<String>,
    action_ts: String,
}

#[derive(Deserialize)]
struct View {
    id: String,
    #[serde(default)]
    callback_id: String,
    #[serde(default)]
    private_metadata: String,
    #[serde(default)]
    state: Value,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Payload {
    BlockActions {
        user: User,
        trigger_id: String,
        actions: Vec<Action>,
    },
    ViewSubmission {
        user: User,
        view: View,
    },
}

/// Reads the form body Slack posts. `Ok(None)`: a kind of interaction Portcullis does not act on
/// (answered 200 and ignored, as Slack expects).
pub fn parse(body: &[u8]) -> Result<Option<Received>, String> {
    let payload = form_urlencoded::parse(body)
        .find(|(name, _)| name == "payload")
        .map(|(_, value)| value.into_owned())
        .ok_or("the body has no `payload` field")?;
    let value: Value =
        serde_json::from_str(&payload).map_err(|e| format!("`payload` is not JSON: {e}"))?;
    let known = matches!(
        value.get("type").and_then(Value::as_str),
        Some("block_actions" | "view_submission")
    );
    if !known {
        return Ok(None);
    }
    let payload: Payload =
        serde_json::from_value(value).map_err(|e| format!("an unexpected payload: {e}"))?;
    Ok(match payload {
        Payload::BlockActions {
            user,
            trigger_id,
            actions,
        } => {
            let Some(action) = actions.into_iter().next() else {
                return Ok(None);
            };
            let request_id = action.value.clone().unwrap_or_default();
            let id = format!("action:{}:{}", user.id, action.action_ts);
            let interaction = match action.action_id.as_str() {
                APPROVE => Interaction::Approve {
                    request_id,
                    slack_user_id: user.id,
                },
                DENY => Interaction::OpenDenial {
                    request_id,
                    slack_user_id: user.id,
                    trigger_id,
                },
                _ => return Ok(None),
            };
            Some(Received { id, interaction })
        }
        Payload::ViewSubmission { user, view } => {
            if view.callback_id != DENY_CALLBACK {
                return Ok(None);
            }
            let input = |block: &str| {
                view.state["values"][block][block]["value"]
                    .as_str()
                    .map(str::to_owned)
            };
            Some(Received {
                id: format!("view:{}", view.id),
                interaction: Interaction::Deny {
                    request_id: view.private_metadata.clone(),
                    slack_user_id: user.id,
                    reason: input(REASON),
                    next_steps: input(NEXT_STEPS),
                },
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(payload: &Value) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish()
            .into_bytes()
    }

    #[test]
    fn reads_a_button_and_a_submitted_modal() {
        let click = json!({ "type": "block_actions", "user": { "id": "U1" }, "trigger_id": "t.1",
            "actions": [{ "action_id": "deny", "value": "r1", "action_ts": "1700000000.1" }] });
        let received = parse(&form(&click)).unwrap().unwrap();
        assert_eq!(received.id, "action:U1:1700000000.1");
        assert_eq!(
            received.interaction,
            Interaction::OpenDenial {
                request_id: "r1".into(),
                slack_user_id: "U1".into(),
                trigger_id: "t.1".into()
            }
        );
        let submitted = json!({ "type": "view_submission", "user": { "id": "U1" },
            "view": { "id": "V1", "callback_id": "deny_request", "private_metadata": "r1",
                "state": { "values": { "reason": { "reason": { "type": "plain_text_input", "value": "No" } } } } } });
        let received = parse(&form(&submitted)).unwrap().unwrap();
        assert_eq!(
            received.interaction,
            Interaction::Deny {
                request_id: "r1".into(),
                slack_user_id: "U1".into(),
                reason: Some("No".into()),
                next_steps: None
            }
        );
    }

    #[test]
    fn ignores_other_interactions_and_refuses_garbage() {
        assert_eq!(parse(&form(&json!({ "type": "shortcut" }))).unwrap(), None);
        assert!(parse(b"payload=not-json").is_err());
        assert!(parse(b"other=1").is_err());
    }
}
