//! A flow as an admin writes it (`FlowDraft`, in the API's shape) and its validation into an
//! [`ApprovalFlow`]: every SPEC rule on names, display, durations, references and approvers.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::*;
use crate::directory::{Description, DisplayName};
use crate::flow::condition::{Condition, ConditionContext, RequesterFacts};
use crate::flow::form::{Form, FormField, FormFieldType};
use crate::validation::ValidationErrors;

/// The longest a flow name may be.
const MAX_NAME_CHARS: usize = 200;
const MAX_LOGO_CHARS: usize = 64;
/// Upper bound on list sizes in a flow, to keep flows (and their evaluation) small.
const MAX_LIST_ITEMS: usize = 50;

/// What the flow's display shows: a logo identifier or a colour (`#rrggbb`). Exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Display {
    Logo(String),
    Color(String),
}

/// The display as sent: `{ "logo": "github" }` or `{ "color": "#24292f" }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
// The OpenAPI schema is written by hand in `flow_schema.rs` (a tagged union).
#[serde(deny_unknown_fields)]
pub struct DisplayDraft {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// Time-limited access: the requester picks one of `durations_seconds` (`choices`) or gets the only
/// one (`fixed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TimedAccess {
    pub mode: TimedAccessMode,
    pub durations_seconds: Vec<i64>,
}

/// What follows an approval of a resource request (seed 004): who provisions the account and
/// whether the flow's owners (its App Admins) then assign it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({ "provisioning": "manual", "assignment": true })))]
#[serde(deny_unknown_fields)]
pub struct Fulfilment {
    /// `automatic`: approval adds the membership of the target group (as without fulfilment);
    /// `manual`: the administrators (IT Admins) get a task to create the account (the target group,
    /// if any, is joined when they complete it); `none`: nothing to provision.
    pub provisioning: Provisioning,
    /// After provisioning, the flow's owners (App Admins) get a task to assign the licence or role.
    #[serde(default)]
    pub assignment: bool,
}

/// One approver spec as sent: `type` plus the fields that type takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// The OpenAPI schema is written by hand in `flow_schema.rs` (a tagged union).
#[serde(deny_unknown_fields)]
pub struct ApproverDraft {
    #[serde(rename = "type")]
    pub approver_type: ApproverType,
    /// `user_group` only: the group whose members approve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<GroupId>,
    /// `user_group` only: every member must approve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_all: Option<bool>,
    /// `administrator` only: these admins (default: any admin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_ids: Option<Vec<UserId>>,
    /// Manual flows: a CEL condition; when it is false for a request, this step is left out of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_if: Option<String>,
}

/// Everything an admin configures about a flow, in the shape of the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FlowDraft {
    pub kind: FlowKind,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    pub display: DisplayDraft,
    /// `resource_request` only: the group the requester joins on approval.
    #[serde(default)]
    pub target_group_id: Option<GroupId>,
    /// `resource_request` only: the resource owners (approvers of `resource_owner` specs).
    #[serde(default)]
    pub owner_ids: Vec<UserId>,
    /// Members of these groups see the flow and may request through it.
    pub visibility_group_ids: Vec<GroupId>,
    /// `resource_request` only: time-limited access.
    #[serde(default)]
    pub timed_access: Option<TimedAccess>,
    /// `device_admin` only: the session lengths the requester picks from.
    #[serde(default)]
    pub session_durations_seconds: Vec<i64>,
    pub approval_type: ApprovalType,
    /// `manual` only; a manual `device_admin` flow without approvers is approved by any
    /// administrator (`[{ "type": "administrator" }]`).
    #[serde(default)]
    pub approvers: Vec<ApproverDraft>,
    /// `manual` only (default `any`).
    #[serde(default)]
    pub approver_requirement: Option<ApproverRequirement>,
    /// Slack approvals (seed 003): approvers are asked, and decide, in Slack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackApprovals>,
    /// `resource_request` only: the tasks that follow an approval (none when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilment: Option<Fulfilment>,
    /// Extra fields the requester fills in (at most 20), answered in a request's `form`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 20))]
    pub form: Vec<FormField>,
    /// `manual` only: a condition in CEL (Common Expression Language); a request for which it is
    /// true is approved at submission, like an automatic flow's. Checked when the flow is saved
    /// (422 naming the position). It sees, read-only: `requester` {`id`, `email`, `groups` (names),
    /// `group_ids`, `manager` (id, `""` if none), `is_admin`}, `request` {`duration_seconds` (`null`
    /// without a time limit), `form` (every field's answer, `""` when unanswered), `starts_at` (the
    /// asked start, or now)}, `flow` {`id`, `name`, `kind`, `version`}, `now`. Bounded in cost: at
    /// most 1000 characters, brackets and `?:` nested at most 10 deep, at most 4 `+`, at most 3
    /// comprehensions (`all`, `exists`, `exists_one`, `filter`; not `map`), none inside another, no
    /// `matches` inside one.
    /// An expression that cannot be evaluated for a request does not approve it (recorded).
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 1000,
            example = "request.duration_seconds <= 3600 && \"oncall\" in requester.groups"
        )
    )]
    pub auto_approve_if: Option<String>,
    /// `resource_request` flows with timed access: how the holder of an active grant extends it
    /// (`POST /v1/grants/{id}/extend`). Absent: through the flow's own approvals, without limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Extensions>,
    /// `manual` only: fallback approvers added to the steps still without a decision once a request
    /// has waited `after_hours` (once per request; notified; recorded as
    /// `access_management_access_request_escalate`). Expiry stays the last resort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationDraft>,
    /// Break-glass (emergency) access: a request through the flow is approved at once, with a reason
    /// of at least 40 characters; every administrator is alerted at once (email, the webhook event
    /// `access_management_access_request_break_glass`, Slack when connected) and gets a review task
    /// (`POST /v1/access-requests/{id}/review`: confirm, or revoke the access). At most 2 per person
    /// per rolling 24 hours, across every break-glass flow (429 beyond). Only for an `automatic`
    /// `resource_request` flow with `timed_access` of at most 14400 seconds (4 hours), without
    /// fulfilment tasks, extensions or Slack approvals.
    #[serde(default)]
    pub break_glass: bool,
    /// `resource_request` flows: requests may ask their access to start later (`starts_at`, at most
    /// `max_lead_seconds` ahead); approval before then creates a `scheduled` grant whose membership
    /// is added at `starts_at`. Not with manual provisioning (nor `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling: Option<Scheduling>,
    /// `resource_request` flows: an approved grant waits (`awaiting_activation`) for its holder to
    /// start it with `POST /v1/grants/{id}/activate` within `window_seconds` of the approval (of
    /// `starts_at` when the request asked for one); its clock runs from the activation; never
    /// activated, it ends as `expired`. Not with manual provisioning (nor `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
}

fn enabled_by_default() -> bool {
    true
}

/// The limits flows are validated against (from the settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowLimits {
    pub max_duration_seconds: i64,
}

impl ApprovalFlow {
    pub(super) fn build(
        id: FlowId,
        draft: FlowDraft,
        limits: FlowLimits,
        version: i64,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
        fresh: bool,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = errors.collect(
            "name",
            DisplayName::parse(&draft.name)
                .map(|n| n.into_inner())
                .map_err(|_| {
                    format!("must be 1 to {MAX_NAME_CHARS} characters, without control characters")
                }),
        );
        let description = errors.collect(
            "description",
            Description::parse(&draft.description).map(Description::into_inner),
        );
        let display = errors
            .collect("display", Ok(()))
            .and_then(|()| parse_display(&draft.display, &mut errors));
        let device_admin = draft.kind == FlowKind::DeviceAdmin;

        if device_admin {
            if draft.target_group_id.is_some() {
                errors.push(
                    "target_group_id",
                    "a device-admin flow grants no group membership",
                );
            }
            if !draft.owner_ids.is_empty() {
                errors.push("owner_ids", "a device-admin flow has no resource owners");
            }
            if draft.timed_access.is_some() {
                errors.push(
                    "timed_access",
                    "a device-admin flow uses session_durations_seconds",
                );
            }
            if draft.session_durations_seconds.is_empty() {
                errors.push(
                    "session_durations_seconds",
                    "a device-admin flow needs at least one session duration",
                );
            }
            check_durations(
                "session_durations_seconds",
                &draft.session_durations_seconds,
                limits,
                &mut errors,
            );
            if draft.fulfilment.is_some() {
                errors.push("fulfilment", "a device-admin flow has no fulfilment tasks");
            }
        } else {
            check_fulfilment(&draft, &mut errors);
            if !draft.session_durations_seconds.is_empty() {
                errors.push(
                    "session_durations_seconds",
                    "only device-admin flows have sessions; use timed_access",
                );
            }
            if let Some(timed) = &draft.timed_access {
                let field = "timed_access.durations_seconds";
                match (timed.mode, timed.durations_seconds.len()) {
                    (_, 0) => errors.push(field, "timed access needs at least one duration"),
                    (TimedAccessMode::Fixed, n) if n > 1 => {
                        errors.push(field, "a fixed duration is exactly one duration")
                    }
                    _ => {}
                }
                check_durations(field, &timed.durations_seconds, limits, &mut errors);
            }
        }
        check_unique_ids("owner_ids", &draft.owner_ids, &mut errors);
        check_unique_ids(
            "visibility_group_ids",
            &draft.visibility_group_ids,
            &mut errors,
        );
        if draft.visibility_group_ids.is_empty() {
            errors.push(
                "visibility_group_ids",
                "at least one group must be able to see the flow",
            );
        }

        let mut approvers = parse_approvers(&draft, &mut errors);
        let defaults_to_administrators = device_admin
            && draft.approval_type == ApprovalType::Manual
            && draft.approvers.is_empty();
        if defaults_to_administrators {
            // Seed 003: "For Manual approvals, Administrator is selected by default."
            approvers = vec![ApproverSpec::Administrator {
                admin_ids: Vec::new(),
            }];
        }
        let approver_requirement = match draft.approval_type {
            ApprovalType::Automatic => {
                if !draft.approvers.is_empty() {
                    errors.push("approvers", "an automatic flow has no approvers");
                }
                if draft.approver_requirement.is_some() {
                    errors.push(
                        "approver_requirement",
                        "an automatic flow has no approver requirement",
                    );
                }
                None
            }
            ApprovalType::Manual => {
                if approvers.is_empty() && draft.approvers.is_empty() {
                    errors.push("approvers", "a manual flow needs at least one approver");
                }
                Some(
                    draft
                        .approver_requirement
                        .unwrap_or(ApproverRequirement::Any),
                )
            }
        };
        let form = Form::parse(&draft.form, &mut errors);
        let (auto_approve_if, mut step_conditions) = parse_conditions(
            &draft,
            || sample_context(id, &draft, &form, limits, created_at),
            fresh,
            &mut errors,
        );
        // One per approver spec, the defaulted administrators' included (they have no condition).
        step_conditions.resize(approvers.len(), None);
        if approvers.contains(&ApproverSpec::ResourceOwner) && draft.owner_ids.is_empty() {
            errors.push(
                "owner_ids",
                "a resource_owner approver needs at least one owner",
            );
        }
        if let Some(slack) = &draft.slack {
            slack.check(&approvers, &mut errors);
        }
        if let Some(extensions) = &draft.extensions {
            let timed = draft.kind == FlowKind::ResourceRequest && draft.timed_access.is_some();
            extensions.check(timed, &mut errors);
        }
        if draft.break_glass {
            super::break_glass::check(&draft, &mut errors);
        }
        let escalation = draft.escalation.as_ref().and_then(|e| {
            Escalation::parse(
                e,
                draft.approval_type,
                !draft.owner_ids.is_empty(),
                &mut errors,
            )
        });
        scheduling::check(
            draft.kind,
            draft.fulfilment,
            draft.scheduling,
            draft.activation,
            &mut errors,
        );
        errors.into_result()?;
        let (Some(name), Some(description), Some(display)) = (name, description, display) else {
            return Err(ValidationErrors::single("body", "invalid flow"));
        };
        Ok(Self {
            id,
            kind: draft.kind,
            name,
            description,
            enabled: draft.enabled,
            display,
            target_group_id: draft.target_group_id,
            owner_ids: draft.owner_ids,
            visibility_group_ids: draft.visibility_group_ids,
            timed_access: draft.timed_access,
            session_durations_seconds: draft.session_durations_seconds,
            approval_type: draft.approval_type,
            approvers,
            approver_requirement,
            slack: draft.slack,
            fulfilment: draft.fulfilment,
            form,
            auto_approve_if,
            step_conditions,
            extensions: draft.extensions,
            escalation,
            break_glass: draft.break_glass,
            scheduling: draft.scheduling,
            activation: draft.activation,
            version,
            created_at,
            updated_at,
        })
    }
}

/// Which target group a resource request's provisioning needs, and what a fulfilment needs.
fn check_fulfilment(draft: &FlowDraft, errors: &mut ValidationErrors) {
    let provisioning = draft
        .fulfilment
        .map_or(Provisioning::Automatic, |f| f.provisioning);
    match (provisioning, draft.target_group_id) {
        (Provisioning::Automatic, None) => errors.push(
            "target_group_id",
            "the group the requester joins on approval is required",
        ),
        (Provisioning::None, Some(_)) => errors.push(
            "target_group_id",
            "a flow without provisioning adds no group membership",
        ),
        _ => {}
    }
    // (Automatic provisioning without a group is refused above already.)
    if provisioning != Provisioning::Automatic
        && draft.target_group_id.is_none()
        && draft.timed_access.is_some()
    {
        errors.push(
            "timed_access",
            "timed access ends a group membership: it needs a target_group_id",
        );
    }
    if draft.fulfilment.is_some_and(|f| f.assignment) && draft.owner_ids.is_empty() {
        errors.push(
            "fulfilment.assignment",
            "the flow's owners (its App Admins) assign: add at least one owner",
        );
    }
}

fn parse_display(draft: &DisplayDraft, errors: &mut ValidationErrors) -> Option<Display> {
    match (&draft.logo, &draft.color) {
        (Some(logo), None) => {
            let valid = !logo.is_empty()
                && logo.len() <= MAX_LOGO_CHARS
                && logo
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
                && logo
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric());
            if valid {
                return Some(Display::Logo(logo.clone()));
            }
            errors.push("display.logo", format!("must be a logo identifier like 'github' (a-z, 0-9, '-', '_', '.'; at most {MAX_LOGO_CHARS})"));
            None
        }
        (None, Some(color)) => {
            let valid = color.len() == 7
                && color.starts_with('#')
                && color[1..].chars().all(|c| c.is_ascii_hexdigit());
            if valid {
                return Some(Display::Color(color.to_ascii_lowercase()));
            }
            errors.push("display.color", "must be a colour like #24292f");
            None
        }
        _ => {
            errors.push("display", "give exactly one of logo and color");
            None
        }
    }
}

fn check_durations(
    field: &str,
    durations: &[i64],
    limits: FlowLimits,
    errors: &mut ValidationErrors,
) {
    if durations.len() > MAX_LIST_ITEMS {
        errors.push(field, format!("at most {MAX_LIST_ITEMS} durations"));
    }
    for (index, seconds) in durations.iter().enumerate() {
        let item = format!("{field}[{index}]");
        if *seconds <= 0 {
            errors.push(item, "must be a positive number of seconds");
        } else if *seconds > limits.max_duration_seconds {
            errors.push(
                item,
                format!(
                    "must be at most {} seconds (the configured maximum)",
                    limits.max_duration_seconds
                ),
            );
        } else if durations[..index].contains(seconds) {
            errors.push(item, "is listed twice");
        }
    }
}

fn check_unique_ids<T: PartialEq>(field: &str, ids: &[T], errors: &mut ValidationErrors) {
    if ids.len() > MAX_LIST_ITEMS {
        errors.push(field, format!("at most {MAX_LIST_ITEMS} items"));
    }
    for (index, id) in ids.iter().enumerate() {
        if ids[..index].contains(id) {
            errors.push(format!("{field}[{index}]"), "is listed twice");
        }
    }
}

fn parse_approvers(draft: &FlowDraft, errors: &mut ValidationErrors) -> Vec<ApproverSpec> {
    if draft.approvers.len() > MAX_LIST_ITEMS {
        errors.push(
            "approvers",
            format!("at most {MAX_LIST_ITEMS} approver specs"),
        );
    }
    let has_administrator = draft
        .approvers
        .iter()
        .any(|a| a.approver_type == ApproverType::Administrator);
    let mut specs = Vec::new();
    let mut seen = HashSet::new();
    for (index, approver) in draft.approvers.iter().enumerate() {
        let at = |field: &str| format!("approvers[{index}].{field}");
        let kind = approver.approver_type;
        if has_administrator && kind != ApproverType::Administrator {
            errors.push(
                at("type"),
                "an administrator approver must be the only approver spec",
            );
            continue;
        }
        if draft.kind == FlowKind::DeviceAdmin && kind != ApproverType::Administrator {
            errors.push(
                at("type"),
                "device-admin flows are approved by administrators only",
            );
            continue;
        }
        if approver.require_all.is_some() && kind != ApproverType::UserGroup {
            errors.push(
                at("require_all"),
                "only user_group approvers take require_all",
            );
        }
        if approver.group_id.is_some() && kind != ApproverType::UserGroup {
            errors.push(at("group_id"), "only user_group approvers take a group_id");
        }
        if approver.admin_ids.is_some() && kind != ApproverType::Administrator {
            errors.push(
                at("admin_ids"),
                "only administrator approvers take admin_ids",
            );
        }
        let spec = match kind {
            ApproverType::Administrator => {
                let admin_ids = approver.admin_ids.clone().unwrap_or_default();
                check_unique_ids(&at("admin_ids"), &admin_ids, errors);
                ApproverSpec::Administrator { admin_ids }
            }
            ApproverType::RequesterManager => ApproverSpec::RequesterManager,
            ApproverType::ResourceOwner => ApproverSpec::ResourceOwner,
            ApproverType::UserGroup => match approver.group_id {
                Some(group_id) => ApproverSpec::UserGroup {
                    group_id,
                    require_all: approver.require_all.unwrap_or(false),
                },
                None => {
                    errors.push(at("group_id"), "a user_group approver needs the group");
                    continue;
                }
            },
        };
        let identity = match &spec {
            ApproverSpec::UserGroup { group_id, .. } => format!("group:{group_id}"),
            other => other.approver_type().as_str().to_owned(),
        };
        if !seen.insert(identity) {
            errors.push(
                format!("approvers[{index}]"),
                "this approver spec is listed twice",
            );
            continue;
        }
        specs.push(spec);
    }
    if has_administrator && draft.approvers.len() > 1 {
        errors.push(
            "approvers",
            "an administrator approver must be the only approver spec",
        );
    }
    specs
}

/// A context of the shape requests will have, to try a condition on when the flow is saved: the
/// flow's first duration, every form field answered (a choice with its first choice).
fn sample_context(
    id: FlowId,
    draft: &FlowDraft,
    form: &Form,
    limits: FlowLimits,
    at: DateTime<Utc>,
) -> ConditionContext {
    let first_duration = match draft.kind {
        FlowKind::DeviceAdmin => draft.session_durations_seconds.first(),
        FlowKind::ResourceRequest => draft
            .timed_access
            .as_ref()
            .and_then(|t| t.durations_seconds.first()),
    };
    let answers = form
        .fields()
        .map(|field| {
            let answer = match field.field_type {
                FormFieldType::Choice => field
                    .choices
                    .as_ref()
                    .and_then(|c| c.first().cloned())
                    .unwrap_or_default(),
                _ => String::new(),
            };
            (field.key.clone(), answer)
        })
        .collect();
    ConditionContext {
        requester: RequesterFacts {
            id: Uuid::nil().to_string(),
            email: "requester@example.com".to_owned(),
            groups: vec!["everyone".to_owned()],
            group_ids: vec![Uuid::nil().to_string()],
            manager: String::new(),
            is_admin: false,
        },
        duration_seconds: Some(
            first_duration
                .copied()
                .unwrap_or(3600)
                .min(limits.max_duration_seconds),
        ),
        form: answers,
        starts_at: at,
        flow_id: id.to_string(),
        flow_name: draft.name.clone(),
        flow_kind: draft.kind.as_str().to_owned(),
        flow_version: 1,
        now: at,
    }
}

/// The flow's conditions, checked (`fresh`: when it is being saved) or only parsed (restored).
fn parse_conditions(
    draft: &FlowDraft,
    sample: impl FnOnce() -> ConditionContext,
    fresh: bool,
    errors: &mut ValidationErrors,
) -> (Option<Condition>, Vec<Option<Condition>>) {
    if draft.auto_approve_if.is_none() && draft.approvers.iter().all(|a| a.required_if.is_none()) {
        return (None, vec![None; draft.approvers.len()]);
    }
    let sample = sample();
    let mut parse = |field: String, source: &Option<String>| -> Option<Condition> {
        let source = source.as_deref()?;
        if draft.approval_type == ApprovalType::Automatic {
            errors.push(
                field,
                "an automatic flow approves every request; conditions are for manual flows",
            );
            return None;
        }
        let parsed = if fresh {
            Condition::parse(source, &sample)
        } else {
            Condition::restore(source)
        };
        parsed.map_err(|message| errors.push(field, message)).ok()
    };
    let auto_approve_if = parse("auto_approve_if".to_owned(), &draft.auto_approve_if);
    let steps: Vec<Option<Condition>> = draft
        .approvers
        .iter()
        .enumerate()
        .map(|(index, a)| parse(format!("approvers[{index}].required_if"), &a.required_if))
        .collect();
    if !draft.approvers.is_empty() && draft.approvers.iter().all(|a| a.required_if.is_some()) {
        errors.push(
            "approvers",
            "at least one approver spec must apply to every request (have no required_if)",
        );
    }
    (auto_approve_if, steps)
}
