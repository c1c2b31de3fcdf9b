//! Scheduled start and activation (issue 27): a flow may let requesters ask for access that starts
//! later (`scheduling`: how far ahead `starts_at` may be), and may require the approved holder to
//! start the access themselves when they need it (`activation`: within how long of the approval, or
//! of `starts_at` when both are set). Either way the membership is added by the server when the
//! access starts, so both need the server to provision (no manual or `none` provisioning).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{FlowKind, Fulfilment, Provisioning};
use crate::validation::ValidationErrors;

/// The furthest ahead a flow may let a start be scheduled: 365 days.
pub const MAX_LEAD_SECONDS: i64 = 365 * 86_400;
/// The longest activation window a flow may set: 90 days.
pub const MAX_ACTIVATION_WINDOW_SECONDS: i64 = 90 * 86_400;
/// The shortest lead or window: one minute.
pub const MIN_SCHEDULE_SECONDS: i64 = 60;
/// How far in the past a requested `starts_at` may be and still mean "now" (clocks differ).
pub const START_TOLERANCE_SECONDS: i64 = 60;

/// A flow's scheduling rule: requests may ask for a `starts_at` at most `max_lead_seconds` ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({ "max_lead_seconds": 1209600 })))]
#[serde(deny_unknown_fields)]
pub struct Scheduling {
    /// How far ahead of the submission a request's `starts_at` may be (60 to 31536000: a year).
    #[cfg_attr(feature = "openapi", schema(minimum = 60, maximum = 31536000))]
    pub max_lead_seconds: i64,
}

/// A flow's activation rule: an approved grant waits for its holder to start it, at most
/// `window_seconds` after the approval (or after `starts_at`, when the request asked for one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({ "window_seconds": 604800 })))]
#[serde(deny_unknown_fields)]
pub struct Activation {
    /// How long the holder has to start the access (60 to 7776000: 90 days); the grant's clock runs
    /// from the activation.
    #[cfg_attr(feature = "openapi", schema(minimum = 60, maximum = 7776000))]
    pub window_seconds: i64,
}

/// Checks a flow's `scheduling` and `activation` (errors under their names).
pub(super) fn check(
    kind: FlowKind,
    fulfilment: Option<Fulfilment>,
    scheduling: Option<Scheduling>,
    activation: Option<Activation>,
    errors: &mut ValidationErrors,
) {
    let provisioning = fulfilment.map_or(Provisioning::Automatic, |f| f.provisioning);
    let mut rule = |field: &str, seconds: i64, max: i64, member: &str| {
        if kind != FlowKind::ResourceRequest {
            errors.push(
                field,
                "only resource_request flows grant access that starts later",
            );
        } else if provisioning != Provisioning::Automatic {
            errors.push(
                field,
                "access that starts later is added by the server: it needs automatic provisioning (no fulfilment, or fulfilment.provisioning automatic)",
            );
        }
        if !(MIN_SCHEDULE_SECONDS..=max).contains(&seconds) {
            errors.push(
                format!("{field}.{member}"),
                format!("must be between {MIN_SCHEDULE_SECONDS} and {max} seconds"),
            );
        }
    };
    if let Some(s) = scheduling {
        rule(
            "scheduling",
            s.max_lead_seconds,
            MAX_LEAD_SECONDS,
            "max_lead_seconds",
        );
    }
    if let Some(a) = activation {
        rule(
            "activation",
            a.window_seconds,
            MAX_ACTIVATION_WINDOW_SECONDS,
            "window_seconds",
        );
    }
}

impl Scheduling {
    /// The start a request asks for, checked against this rule at `now`: not in the past (beyond
    /// [`START_TOLERANCE_SECONDS`]), at most `max_lead_seconds` ahead.
    pub fn check_start(&self, starts_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
        if starts_at < now - Duration::seconds(START_TOLERANCE_SECONDS) {
            return Err("must not be in the past".to_owned());
        }
        if starts_at > now + Duration::seconds(self.max_lead_seconds) {
            return Err(format!(
                "must be at most {} seconds ahead (the flow's scheduling.max_lead_seconds)",
                self.max_lead_seconds
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap()
    }

    #[test]
    fn a_start_is_taken_from_just_now_to_the_horizon() {
        let rule = Scheduling {
            max_lead_seconds: 86_400,
        };
        assert!(rule.check_start(now(), now()).is_ok());
        assert!(
            rule.check_start(now() - Duration::seconds(60), now())
                .is_ok()
        );
        assert!(
            rule.check_start(now() - Duration::seconds(61), now())
                .is_err()
        );
        assert!(rule.check_start(now() + Duration::days(1), now()).is_ok());
        let beyond = rule.check_start(now() + Duration::seconds(86_401), now());
        assert!(beyond.unwrap_err().contains("86400"));
    }

    #[test]
    fn rules_are_for_resource_flows_the_server_provisions() {
        let fields = |kind, fulfilment, scheduling, activation| {
            let mut errors = ValidationErrors::new();
            check(kind, fulfilment, scheduling, activation, &mut errors);
            errors
                .into_errors()
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        let lead = Some(Scheduling {
            max_lead_seconds: 3600,
        });
        let window = Some(Activation {
            window_seconds: 3600,
        });
        assert!(fields(FlowKind::ResourceRequest, None, lead, window).is_empty());
        assert_eq!(
            fields(FlowKind::DeviceAdmin, None, lead, None),
            ["scheduling"]
        );
        let manual = Some(Fulfilment {
            provisioning: Provisioning::Manual,
            assignment: false,
        });
        assert_eq!(
            fields(FlowKind::ResourceRequest, manual, None, window),
            ["activation"]
        );
        let automatic = Some(Fulfilment {
            provisioning: Provisioning::Automatic,
            assignment: true,
        });
        assert!(fields(FlowKind::ResourceRequest, automatic, lead, None).is_empty());
        let out_of_range = fields(
            FlowKind::ResourceRequest,
            None,
            Some(Scheduling {
                max_lead_seconds: 59,
            }),
            Some(Activation {
                window_seconds: MAX_ACTIVATION_WINDOW_SECONDS + 1,
            }),
        );
        assert_eq!(
            out_of_range,
            ["scheduling.max_lead_seconds", "activation.window_seconds"]
        );
    }
}
