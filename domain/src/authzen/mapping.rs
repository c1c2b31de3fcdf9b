//! What the AuthZEN information model means in Portcullis: a `user` subject, and the two rights
//! Portcullis gives (membership of a group, admin rights on a device).

use serde_json::{Map, Value};

use crate::ids::{DeviceId, GroupId};

/// A right an evaluation asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `{"type": "group", "id": <group id>}` with `{"name": "member"}`: permitted while the user has
    /// an unexpired membership of the group, whatever its source (direct, grant, SCIM).
    GroupMember(GroupId),
    /// `{"type": "device", "id": <device id>}` with `{"name": "admin"}`: permitted while the user has
    /// a running device-admin session on the device.
    DeviceAdmin(DeviceId),
}

impl Target {
    /// The resource's `type` and `id`, as an evaluation names it.
    pub fn resource(self) -> (&'static str, String) {
        match self {
            Self::GroupMember(group) => ("group", group.to_string()),
            Self::DeviceAdmin(device) => ("device", device.to_string()),
        }
    }
}

/// The right a resource and action name, or `None` for anything Portcullis does not decide (other
/// types, other actions, ids that are not ours): such an evaluation is a plain denial.
pub fn parse_target(resource_type: &str, resource_id: &str, action: &str) -> Option<Target> {
    match (resource_type, action) {
        ("group", "member") => resource_id.parse().ok().map(Target::GroupMember),
        ("device", "admin") => resource_id.parse().ok().map(Target::DeviceAdmin),
        _ => None,
    }
}

/// The boxcar's three semantics (`options.evaluations_semantic`; `execute_all` by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantic {
    ExecuteAll,
    DenyOnFirstDeny,
    PermitOnFirstPermit,
}

impl Semantic {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "execute_all" => Some(Self::ExecuteAll),
            "deny_on_first_deny" => Some(Self::DenyOnFirstDeny),
            "permit_on_first_permit" => Some(Self::PermitOnFirstPermit),
            _ => None,
        }
    }

    /// Whether the evaluations stop after one that decided `decision`.
    pub fn stops_after(self, decision: bool) -> bool {
        match self {
            Self::ExecuteAll => false,
            Self::DenyOnFirstDeny => !decision,
            Self::PermitOnFirstPermit => decision,
        }
    }
}

/// One evaluation of a boxcar with the request's top-level `subject`, `action`, `resource` and
/// `context` as defaults: a member the evaluation names wins over the default.
pub fn merge_defaults(defaults: &Map<String, Value>, item: &Value) -> Value {
    let mut merged = Map::new();
    for key in ["subject", "action", "resource", "context"] {
        // A member given as `null` is left out, as the schema's nullable members say.
        let found = item
            .get(key)
            .filter(|v| !v.is_null())
            .or_else(|| defaults.get(key).filter(|v| !v.is_null()));
        if let Some(value) = found {
            merged.insert(key.to_owned(), value.clone());
        }
    }
    Value::Object(merged)
}

/// The submission's justification, which becomes the Portcullis request's reason:
/// `context.business_justification` (ARAP's example), else `context.justification` or
/// `context.reason`.
pub fn justification(context: Option<&Value>) -> Option<&str> {
    let context = context?;
    ["business_justification", "justification", "reason"]
        .iter()
        .find_map(|key| context.get(*key).and_then(Value::as_str))
}

/// The duration to ask a flow for, given its choices and the span the PEP asked for
/// (`requested_access.requested_until` minus now): the shortest choice that covers the span, or the
/// longest when none does; the shortest when the PEP asked for nothing. `None` for a flow without
/// timed access.
pub fn choose_duration(choices: &[i64], requested_seconds: Option<i64>) -> Option<i64> {
    let mut sorted = choices.to_vec();
    sorted.sort_unstable();
    match requested_seconds {
        None => sorted.first().copied(),
        Some(span) => sorted
            .iter()
            .copied()
            .find(|choice| *choice >= span)
            .or_else(|| sorted.last().copied()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn groups_are_joined_and_devices_administered() {
        let group = GroupId::new_v7();
        let device = DeviceId::new_v7();
        assert_eq!(
            parse_target("group", &group.to_string(), "member"),
            Some(Target::GroupMember(group))
        );
        assert_eq!(
            parse_target("device", &device.to_string(), "admin"),
            Some(Target::DeviceAdmin(device))
        );
        assert_eq!(parse_target("group", &group.to_string(), "admin"), None);
        assert_eq!(
            Target::DeviceAdmin(device).resource(),
            ("device", device.to_string())
        );
        assert_eq!(parse_target("document", "q4-plan", "can_read"), None);
        assert_eq!(parse_target("group", "engineering", "member"), None);
    }

    #[test]
    fn each_semantic_stops_where_it_should() {
        assert!(!Semantic::ExecuteAll.stops_after(false));
        assert!(Semantic::DenyOnFirstDeny.stops_after(false));
        assert!(!Semantic::DenyOnFirstDeny.stops_after(true));
        assert!(Semantic::PermitOnFirstPermit.stops_after(true));
        assert_eq!(Semantic::parse("nonsense"), None);
    }

    #[test]
    fn an_evaluation_overrides_the_defaults_it_names() {
        let defaults =
            json!({"subject": {"type": "user", "id": "a"}, "action": {"name": "member"}});
        let item = json!({"action": {"name": "admin"}, "resource": {"type": "device", "id": "d"}});
        let merged = merge_defaults(defaults.as_object().unwrap(), &item);
        assert_eq!(merged["subject"]["id"], "a");
        assert_eq!(merged["action"]["name"], "admin");
        assert_eq!(merged["resource"]["id"], "d");
        assert!(merged.get("context").is_none());
        // `null` is as good as absent: the default stands.
        let item =
            json!({"subject": null, "resource": {"type": "group", "id": "g"}, "context": null});
        let merged = merge_defaults(defaults.as_object().unwrap(), &item);
        assert_eq!(merged["subject"]["id"], "a");
        assert!(merged.get("context").is_none());
    }

    #[test]
    fn the_duration_covers_what_was_asked_when_a_choice_can() {
        assert_eq!(choose_duration(&[86_400, 3600], None), Some(3600));
        assert_eq!(choose_duration(&[3600, 86_400], Some(7200)), Some(86_400));
        assert_eq!(choose_duration(&[3600, 86_400], Some(100)), Some(3600));
        assert_eq!(
            choose_duration(&[3600, 86_400], Some(999_999)),
            Some(86_400)
        );
        assert_eq!(choose_duration(&[], Some(60)), None);
    }

    #[test]
    fn the_justification_is_read_from_the_context() {
        let context = json!({"business_justification": "Renewal review for ACME"});
        assert_eq!(
            justification(Some(&context)),
            Some("Renewal review for ACME")
        );
        assert_eq!(justification(Some(&json!({"reason": "x"}))), Some("x"));
        assert_eq!(justification(None), None);
    }
}
