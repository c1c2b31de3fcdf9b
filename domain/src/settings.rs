//! Organisation-wide settings of access requests (seed 002).

use serde::{Deserialize, Serialize};

use crate::flow::FlowLimits;
use crate::validation::ValidationErrors;

/// Longest timed access or session a flow may offer, whatever the settings say: one year.
pub const MAX_DURATION_CEILING_SECONDS: i64 = 365 * 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Off: requesters see no catalog and cannot create requests.
    pub resource_requests_enabled: bool,
    /// Pending requests with no decision for this many days expire (1–365).
    pub expiry_days: i64,
    /// Requesters see who approves and how far their request got.
    pub show_approval_progress: bool,
    /// Email the requester a confirmation when they submit.
    pub email_request_received: bool,
    /// Email the requester the decision.
    pub email_decision: bool,
    /// Email administrators when a request needs them.
    pub email_admin_new_request: bool,
    /// The longest duration a flow may offer, in seconds (60 to one year).
    pub max_access_duration_seconds: i64,
    /// Approvers of a request pending this many days get one reminder (0: never; at most 365).
    #[serde(default = "default_reminder_days")]
    pub approver_reminder_days: i64,
    /// Holders of timed access are told this many hours before it ends (0: never; at most 720).
    #[serde(default = "default_notice_hours")]
    pub grant_ending_notice_hours: i64,
}

fn default_reminder_days() -> i64 {
    3
}

fn default_notice_hours() -> i64 {
    24
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            resource_requests_enabled: true,
            expiry_days: 30,
            show_approval_progress: true,
            email_request_received: true,
            email_decision: true,
            email_admin_new_request: true,
            max_access_duration_seconds: 30 * 24 * 3600,
            approver_reminder_days: default_reminder_days(),
            grant_ending_notice_hours: default_notice_hours(),
        }
    }
}

impl Settings {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if !(1..=365).contains(&self.expiry_days) {
            errors.push("expiry_days", "must be between 1 and 365");
        }
        if !(60..=MAX_DURATION_CEILING_SECONDS).contains(&self.max_access_duration_seconds) {
            errors.push(
                "max_access_duration_seconds",
                format!("must be between 60 and {MAX_DURATION_CEILING_SECONDS} seconds"),
            );
        }
        if !(0..=365).contains(&self.approver_reminder_days) {
            errors.push("approver_reminder_days", "must be between 0 (off) and 365");
        }
        if !(0..=720).contains(&self.grant_ending_notice_hours) {
            errors.push(
                "grant_ending_notice_hours",
                "must be between 0 (off) and 720",
            );
        }
        errors.into_result()
    }

    pub fn flow_limits(&self) -> FlowLimits {
        FlowLimits {
            max_duration_seconds: self.max_access_duration_seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert!(Settings::default().validate().is_ok());
    }

    #[test]
    fn out_of_range_values_name_their_fields() {
        let settings = Settings {
            expiry_days: 0,
            max_access_duration_seconds: 10,
            ..Settings::default()
        };
        let errors = settings.validate().unwrap_err();
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["expiry_days", "max_access_duration_seconds"]);
    }
}
