//! Approval flows: the admin-defined policy of who may ask, who must approve, in which order and for
//! how long. An `ApprovalFlow` exists only through validation of a `FlowDraft`, so every flow the
//! domain holds is one the request engine can execute.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::directory::{Description, DisplayName, UserKind};
use crate::ids::{FlowId, GroupId, UserId};
use crate::text_enum;
use crate::validation::ValidationErrors;

text_enum!(
    /// `resource_request`: access to an application through a group; `device_admin`: temporary admin
    /// rights on one of the requester's devices.
    FlowKind { ResourceRequest => "resource_request", DeviceAdmin => "device_admin" }
);
text_enum!(
    /// `automatic` approves on submission; `manual` needs the approvers.
    ApprovalType { Automatic => "automatic", Manual => "manual" }
);
text_enum!(
    /// `any`: one satisfied approver spec approves; `all`: every spec, any order; `all_in_order`:
    /// every spec, strictly in the listed order.
    ApproverRequirement { Any => "any", All => "all", AllInOrder => "all_in_order" }
);
text_enum!(
    /// The kinds of approver a flow can name.
    ApproverType {
        Administrator => "administrator",
        RequesterManager => "requester_manager",
        ResourceOwner => "resource_owner",
        UserGroup => "user_group",
    }
);
text_enum!(
    /// `choices`: the requester picks one of the durations; `fixed`: the one duration applies.
    TimedAccessMode { Choices => "choices", Fixed => "fixed" }
);

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
}

/// A validated approver spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApproverSpec {
    /// Any active admin, or only the listed ones.
    Administrator {
        admin_ids: Vec<UserId>,
    },
    RequesterManager,
    /// Any one of the flow's owners.
    ResourceOwner,
    UserGroup {
        group_id: GroupId,
        require_all: bool,
    },
}

impl ApproverSpec {
    pub fn approver_type(&self) -> ApproverType {
        match self {
            Self::Administrator { .. } => ApproverType::Administrator,
            Self::RequesterManager => ApproverType::RequesterManager,
            Self::ResourceOwner => ApproverType::ResourceOwner,
            Self::UserGroup { .. } => ApproverType::UserGroup,
        }
    }

    pub fn to_draft(&self) -> ApproverDraft {
        let mut draft = ApproverDraft {
            approver_type: self.approver_type(),
            group_id: None,
            require_all: None,
            admin_ids: None,
        };
        match self {
            Self::Administrator { admin_ids } if !admin_ids.is_empty() => {
                draft.admin_ids = Some(admin_ids.clone())
            }
            Self::UserGroup {
                group_id,
                require_all,
            } => {
                draft.group_id = Some(*group_id);
                draft.require_all = Some(*require_all);
            }
            _ => {}
        }
        draft
    }
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
    /// `manual` only.
    #[serde(default)]
    pub approvers: Vec<ApproverDraft>,
    /// `manual` only (default `any`).
    #[serde(default)]
    pub approver_requirement: Option<ApproverRequirement>,
}

fn enabled_by_default() -> bool {
    true
}

/// The limits flows are validated against (from the settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowLimits {
    pub max_duration_seconds: i64,
}

/// A validated approval flow. Its fields can only be read; changes go through [`ApprovalFlow::revise`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalFlow {
    id: FlowId,
    kind: FlowKind,
    name: String,
    description: String,
    enabled: bool,
    display: Display,
    target_group_id: Option<GroupId>,
    owner_ids: Vec<UserId>,
    visibility_group_ids: Vec<GroupId>,
    timed_access: Option<TimedAccess>,
    session_durations_seconds: Vec<i64>,
    approval_type: ApprovalType,
    approvers: Vec<ApproverSpec>,
    approver_requirement: Option<ApproverRequirement>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ApprovalFlow {
    /// Validates `draft` into a new flow at version 1.
    pub fn new(
        id: FlowId,
        draft: FlowDraft,
        limits: FlowLimits,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationErrors> {
        Self::build(id, draft, limits, 1, now, now)
    }

    /// Rebuilds a stored flow (same rules; the stored limits may have been looser, so durations are
    /// only checked to be positive).
    pub fn restore(
        id: FlowId,
        draft: FlowDraft,
        version: i64,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Result<Self, ValidationErrors> {
        let limits = FlowLimits {
            max_duration_seconds: i64::MAX,
        };
        Self::build(id, draft, limits, version, created_at, updated_at)
    }

    /// The flow with `draft`'s configuration, validated, at the next version. Unchanged
    /// configuration keeps the version.
    pub fn revise(
        &self,
        draft: FlowDraft,
        limits: FlowLimits,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationErrors> {
        let revised = Self::build(
            self.id,
            draft,
            limits,
            self.version,
            self.created_at,
            self.updated_at,
        )?;
        if revised == *self {
            return Ok(revised);
        }
        Ok(Self {
            version: self.version + 1,
            updated_at: now,
            ..revised
        })
    }

    fn build(
        id: FlowId,
        draft: FlowDraft,
        limits: FlowLimits,
        version: i64,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
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
        } else {
            if draft.target_group_id.is_none() {
                errors.push(
                    "target_group_id",
                    "the group the requester joins on approval is required",
                );
            }
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

        let approvers = parse_approvers(&draft, &mut errors);
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
                if draft.approvers.is_empty() {
                    errors.push("approvers", "a manual flow needs at least one approver");
                }
                Some(
                    draft
                        .approver_requirement
                        .unwrap_or(ApproverRequirement::Any),
                )
            }
        };
        if approvers.contains(&ApproverSpec::ResourceOwner) && draft.owner_ids.is_empty() {
            errors.push(
                "owner_ids",
                "a resource_owner approver needs at least one owner",
            );
        }
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
            version,
            created_at,
            updated_at,
        })
    }

    /// The configuration in the API's shape; `new` of it gives this flow back.
    pub fn to_draft(&self) -> FlowDraft {
        FlowDraft {
            kind: self.kind,
            name: self.name.clone(),
            description: self.description.clone(),
            enabled: self.enabled,
            display: match &self.display {
                Display::Logo(logo) => DisplayDraft {
                    logo: Some(logo.clone()),
                    color: None,
                },
                Display::Color(color) => DisplayDraft {
                    logo: None,
                    color: Some(color.clone()),
                },
            },
            target_group_id: self.target_group_id,
            owner_ids: self.owner_ids.clone(),
            visibility_group_ids: self.visibility_group_ids.clone(),
            timed_access: self.timed_access.clone(),
            session_durations_seconds: self.session_durations_seconds.clone(),
            approval_type: self.approval_type,
            approvers: self.approvers.iter().map(ApproverSpec::to_draft).collect(),
            approver_requirement: self.approver_requirement,
        }
    }

    pub fn id(&self) -> FlowId {
        self.id
    }
    pub fn kind(&self) -> FlowKind {
        self.kind
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn description(&self) -> &str {
        &self.description
    }
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    pub fn display(&self) -> &Display {
        &self.display
    }
    pub fn target_group_id(&self) -> Option<GroupId> {
        self.target_group_id
    }
    pub fn owner_ids(&self) -> &[UserId] {
        &self.owner_ids
    }
    pub fn visibility_group_ids(&self) -> &[GroupId] {
        &self.visibility_group_ids
    }
    pub fn timed_access(&self) -> Option<&TimedAccess> {
        self.timed_access.as_ref()
    }
    pub fn session_durations_seconds(&self) -> &[i64] {
        &self.session_durations_seconds
    }
    pub fn approval_type(&self) -> ApprovalType {
        self.approval_type
    }
    pub fn approvers(&self) -> &[ApproverSpec] {
        &self.approvers
    }
    pub fn approver_requirement(&self) -> Option<ApproverRequirement> {
        self.approver_requirement
    }
    pub fn version(&self) -> i64 {
        self.version
    }
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    /// The durations a requester chooses from (empty: access without a time limit).
    pub fn duration_choices(&self) -> &[i64] {
        match self.kind {
            FlowKind::DeviceAdmin => &self.session_durations_seconds,
            FlowKind::ResourceRequest => self
                .timed_access
                .as_ref()
                .map_or(&[], |t| &t.durations_seconds),
        }
    }

    /// Every group the flow refers to, with why (for referential integrity).
    pub fn group_references(&self) -> Vec<(GroupId, &'static str)> {
        let mut refs: Vec<(GroupId, &'static str)> = self
            .visibility_group_ids
            .iter()
            .map(|g| (*g, "visibility"))
            .collect();
        refs.extend(self.target_group_id.map(|g| (g, "target")));
        for spec in &self.approvers {
            if let ApproverSpec::UserGroup { group_id, .. } = spec {
                refs.push((*group_id, "approver"));
            }
        }
        refs.sort();
        refs.dedup();
        refs
    }

    /// Every user the flow names, with why.
    pub fn user_references(&self) -> Vec<(UserId, &'static str)> {
        let mut refs: Vec<(UserId, &'static str)> =
            self.owner_ids.iter().map(|u| (*u, "owner")).collect();
        for spec in &self.approvers {
            if let ApproverSpec::Administrator { admin_ids } = spec {
                refs.extend(admin_ids.iter().map(|u| (*u, "approver")));
            }
        }
        refs.sort();
        refs.dedup();
        refs
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

/// A person as approver resolution needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: UserId,
    pub active: bool,
    pub kind: UserKind,
    pub is_admin: bool,
}

impl Candidate {
    fn may_approve(&self, requester: UserId) -> bool {
        self.active && self.kind == UserKind::Person && self.id != requester
    }
}

/// What approver resolution reads from the directory for one requester and flow.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub manager: Option<Candidate>,
    pub owners: Vec<Candidate>,
    /// Current members of each approver group.
    pub group_members: Vec<(GroupId, Vec<Candidate>)>,
    /// The admins named by an administrator spec, or every admin when it names none.
    pub admins: Vec<Candidate>,
}

/// The approvers of one spec, for one requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedStep {
    pub position: usize,
    pub spec: ApproverSpec,
    pub approver_ids: Vec<UserId>,
    pub require_all: bool,
}

/// Resolves who approves `flow` for `requester` today. The requester is never their own approver
/// (separation of duties); deactivated people and integration accounts never approve. A step may
/// come back empty: callers decide whether that is an error (creating a request) or information
/// (a preview).
pub fn resolve_approvers(
    flow: &ApprovalFlow,
    requester: UserId,
    directory: &Directory,
) -> Vec<ResolvedStep> {
    let eligible = |people: &[Candidate]| -> Vec<UserId> {
        let mut ids: Vec<UserId> = people
            .iter()
            .filter(|c| c.may_approve(requester))
            .map(|c| c.id)
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    flow.approvers
        .iter()
        .enumerate()
        .map(|(position, spec)| {
            let (approver_ids, require_all) = match spec {
                ApproverSpec::Administrator { .. } => {
                    let admins: Vec<Candidate> = directory
                        .admins
                        .iter()
                        .filter(|c| c.is_admin)
                        .cloned()
                        .collect();
                    (eligible(&admins), false)
                }
                ApproverSpec::RequesterManager => (eligible(directory.manager.as_slice()), false),
                ApproverSpec::ResourceOwner => (eligible(&directory.owners), false),
                ApproverSpec::UserGroup {
                    group_id,
                    require_all,
                } => {
                    let members = directory
                        .group_members
                        .iter()
                        .find(|(g, _)| g == group_id)
                        .map(|(_, m)| m.as_slice())
                        .unwrap_or_default();
                    (eligible(members), *require_all)
                }
            };
            ResolvedStep {
                position,
                spec: spec.clone(),
                approver_ids,
                require_all,
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "flow_tests.rs"]
mod tests;
