//! A flow's Slack approvals (seed 003): whether its approvers are asked in Slack, and, when the
//! approver is the administrator, whether the flow posts to channels or messages each admin directly.
//! Every other approver type is always messaged directly.

use serde::{Deserialize, Serialize};

use super::{ApprovalFlow, ApproverSpec};
use crate::text_enum;
use crate::validation::ValidationErrors;

/// The most channels a flow posts to.
pub const MAX_CHANNELS: usize = 20;

text_enum!(
    /// How administrators are asked: `direct` (a direct message to each) or `channels` (one post in each
    /// of the flow's channels).
    AdministratorDelivery { Direct => "direct", Channels => "channels" }
);

/// `"slack": { "enabled": true, "administrator_delivery": "channels", "channel_ids": ["C0123ABCD"] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "enabled": true, "administrator_delivery": "channels", "channel_ids": ["C0123ABCD"]
})))]
#[serde(deny_unknown_fields)]
pub struct SlackApprovals {
    /// Approvers are asked in Slack and decide there.
    pub enabled: bool,
    /// Administrator approvers only (default `direct`); any other approver is always messaged directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub administrator_delivery: Option<AdministratorDelivery>,
    /// `channels` only: Slack channel ids (like `C0123ABCD`); empty: the connection's default channels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(max_items = 20))]
    pub channel_ids: Vec<SlackChannelId>,
}

/// A Slack conversation id: a public (`C…`) or private (`G…`) channel, 9 to 20 upper-case letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SlackChannelId(String);

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for SlackChannelId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[CG][A-Z0-9]{8,19}$"))
            .description(Some(
                "A Slack channel id: C or G, then upper-case letters and digits.",
            ))
            .examples([serde_json::json!("C0123ABCD")])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for SlackChannelId {}

impl SlackChannelId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid = (9..=20).contains(&raw.len())
            && raw.starts_with(['C', 'G'])
            && raw
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must be a Slack channel id like C0123ABCD (C or G, then upper-case letters and digits)".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl SlackApprovals {
    /// Whether administrators are asked in channels rather than directly.
    pub fn posts_to_channels(&self) -> bool {
        self.enabled && self.administrator_delivery == Some(AdministratorDelivery::Channels)
    }

    /// The seed's rules: channels only when the approver is the administrator; channel ids only with
    /// channel delivery, valid, each once.
    pub(super) fn check(&self, approvers: &[ApproverSpec], errors: &mut ValidationErrors) {
        let administrator = matches!(approvers, [ApproverSpec::Administrator { .. }]);
        let channels = self.administrator_delivery == Some(AdministratorDelivery::Channels);
        if channels && !administrator {
            errors.push(
                "slack.administrator_delivery",
                "channels are only for flows whose approver is the administrator; other approvers get direct messages",
            );
        }
        if !channels && !self.channel_ids.is_empty() {
            errors.push(
                "slack.channel_ids",
                "channel ids are only for administrator_delivery: channels",
            );
        }
        if self.channel_ids.len() > MAX_CHANNELS {
            errors.push(
                "slack.channel_ids",
                format!("at most {MAX_CHANNELS} channels"),
            );
        }
        for (index, channel) in self.channel_ids.iter().enumerate() {
            let field = format!("slack.channel_ids[{index}]");
            if let Err(message) = SlackChannelId::parse(channel.as_str()) {
                errors.push(field, message);
            } else if self.channel_ids[..index].contains(channel) {
                errors.push(field, "is listed twice");
            }
        }
    }
}

impl ApprovalFlow {
    /// The flow's Slack approvals, when they are on.
    pub fn slack_approvals(&self) -> Option<&SlackApprovals> {
        self.slack.as_ref().filter(|s| s.enabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::GroupId;

    fn slack(delivery: Option<AdministratorDelivery>, channels: &[&str]) -> SlackApprovals {
        SlackApprovals {
            enabled: true,
            administrator_delivery: delivery,
            channel_ids: channels
                .iter()
                .map(|c| SlackChannelId((*c).to_owned()))
                .collect(),
        }
    }

    fn fields(slack: &SlackApprovals, approvers: &[ApproverSpec]) -> Vec<String> {
        let mut errors = ValidationErrors::new();
        slack.check(approvers, &mut errors);
        errors.errors().iter().map(|e| e.field.clone()).collect()
    }

    #[test]
    fn administrators_may_be_asked_in_channels() {
        let admins = [ApproverSpec::Administrator { admin_ids: vec![] }];
        let channels = Some(AdministratorDelivery::Channels);
        assert!(fields(&slack(channels, &["C0123ABCD"]), &admins).is_empty());
        assert!(fields(&slack(channels, &[]), &admins).is_empty());
    }

    #[test]
    fn other_approvers_are_only_messaged_directly() {
        let group = [ApproverSpec::UserGroup {
            group_id: GroupId::new_v7(),
            require_all: true,
        }];
        let channels = slack(Some(AdministratorDelivery::Channels), &["C0123ABCD"]);
        assert_eq!(fields(&channels, &group), ["slack.administrator_delivery"]);
        assert!(fields(&slack(None, &[]), &group).is_empty());
    }

    #[test]
    fn channel_ids_must_be_slack_ids_listed_once_with_channel_delivery() {
        let admins = [ApproverSpec::Administrator { admin_ids: vec![] }];
        let channels = Some(AdministratorDelivery::Channels);
        let bad = slack(channels, &["general", "C0123ABCD", "C0123ABCD"]);
        assert_eq!(
            fields(&bad, &admins),
            ["slack.channel_ids[0]", "slack.channel_ids[2]"]
        );
        let direct = slack(Some(AdministratorDelivery::Direct), &["C0123ABCD"]);
        assert_eq!(fields(&direct, &admins), ["slack.channel_ids"]);
    }
}
