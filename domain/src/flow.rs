//! Approval flows: the admin-defined policy of who may ask, who must approve, in which order and for
//! how long. An `ApprovalFlow` exists only through validation of a `FlowDraft`, so every flow the
//! domain holds is one the request engine can execute.

use chrono::{DateTime, Utc};

use crate::ids::{FlowId, GroupId, UserId};
use crate::text_enum;
use crate::validation::ValidationErrors;

mod break_glass;
mod condition;
mod draft;
mod escalation;
mod extensions;
mod form;
mod resolution;
mod scheduling;
mod slack;

pub use break_glass::{
    BREAK_GLASS_PER_WINDOW, BREAK_GLASS_REASON_MIN_CHARS, BREAK_GLASS_WINDOW_HOURS,
    MAX_BREAK_GLASS_SECONDS,
};
pub use condition::{
    Condition, ConditionContext, ConditionOutcome, MAX_COMPREHENSION_NESTING, MAX_COMPREHENSIONS,
    MAX_CONTEXT_LIST, MAX_EXPRESSION_CHARS, RequesterFacts,
};
pub use draft::{
    ApproverDraft, Display, DisplayDraft, FlowDraft, FlowLimits, Fulfilment, TimedAccess,
};
pub use escalation::{Escalation, EscalationDraft, MAX_ESCALATION_HOURS};
pub use extensions::{ExtensionApproval, Extensions};
pub use form::{Form, FormAnswers, FormField, FormFieldType};
pub use resolution::{Candidate, Directory, ResolvedStep, resolve_approvers, resolve_spec};
pub use scheduling::{
    Activation, MAX_ACTIVATION_WINDOW_SECONDS, MAX_LEAD_SECONDS, START_TOLERANCE_SECONDS,
    Scheduling,
};
pub use slack::{
    AdministratorDelivery, MAX_CHANNELS as MAX_SLACK_CHANNELS, SlackApprovals, SlackChannelId,
};

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
    /// Who provisions access after approval: the server (`automatic`, the target group's
    /// membership), the administrators by hand (`manual`), or nobody (`none`).
    Provisioning { Automatic => "automatic", Manual => "manual", None => "none" }
);
text_enum!(
    /// `choices`: the requester picks one of the durations; `fixed`: the one duration applies.
    TimedAccessMode { Choices => "choices", Fixed => "fixed" }
);

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
            required_if: None,
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
    slack: Option<SlackApprovals>,
    fulfilment: Option<Fulfilment>,
    /// The request form's fields.
    form: Form,
    /// Manual flows: approves a request at submission when true.
    auto_approve_if: Option<Condition>,
    /// Manual flows: each approver spec's `required_if` (by position); a step whose condition is
    /// false is left out of the request.
    step_conditions: Vec<Option<Condition>>,
    /// How the flow's grants may be extended (see [`Extensions`]).
    extensions: Option<Extensions>,
    /// Manual flows: fallback approvers added to a request left undecided too long.
    escalation: Option<Escalation>,
    /// Emergency access: approved at once, alerted, reviewed after (see [`FlowDraft::break_glass`]).
    break_glass: bool,
    /// How far ahead a request may ask its access to start (see [`Scheduling`]).
    scheduling: Option<Scheduling>,
    /// Whether approved access waits for its holder to start it (see [`Activation`]).
    activation: Option<Activation>,
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
        Self::build(id, draft, limits, 1, now, now, true)
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
        Self::build(id, draft, limits, version, created_at, updated_at, false)
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
            true,
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
            approvers: self
                .approvers
                .iter()
                .enumerate()
                // Not a zip: a device-admin flow's default administrator spec has no condition slot.
                .map(|(position, spec)| ApproverDraft {
                    required_if: self.step_condition(position).map(|c| c.source().to_owned()),
                    ..spec.to_draft()
                })
                .collect(),
            approver_requirement: self.approver_requirement,
            slack: self.slack.clone(),
            fulfilment: self.fulfilment,
            form: self.form.fields().cloned().collect(),
            auto_approve_if: self.auto_approve_if.as_ref().map(|c| c.source().to_owned()),
            extensions: self.extensions,
            escalation: self.escalation.as_ref().map(Escalation::to_draft),
            break_glass: self.break_glass,
            scheduling: self.scheduling,
            activation: self.activation,
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
    /// The tasks that follow an approval (`None`: the membership is added at once, as `automatic`).
    pub fn fulfilment(&self) -> Option<Fulfilment> {
        self.fulfilment
    }
    /// The flow's App Admins (seed 004's term): its owners.
    pub fn app_admin_ids(&self) -> &[UserId] {
        &self.owner_ids
    }
    /// Whether `user` is one of the flow's App Admins, who see and manage its requests (seed 004's
    /// Manage Requests) beside those the request itself names.
    pub fn is_app_admin(&self, user: UserId) -> bool {
        self.owner_ids.contains(&user)
    }
    pub fn version(&self) -> i64 {
        self.version
    }
    pub fn form(&self) -> &Form {
        &self.form
    }
    /// How the flow's grants may be extended; `None`: through the flow's approvals, unlimited.
    pub fn extensions(&self) -> Option<Extensions> {
        self.extensions
    }

    /// Who is added to a request's undecided steps, and when.
    pub fn escalation(&self) -> Option<&Escalation> {
        self.escalation.as_ref()
    }
    /// Whether requests through the flow are break-glass: approved at once, alerted, reviewed after.
    pub fn break_glass(&self) -> bool {
        self.break_glass
    }
    /// How far ahead a request may ask its access to start; `None`: it starts on approval.
    pub fn scheduling(&self) -> Option<Scheduling> {
        self.scheduling
    }
    /// Whether (and within how long) the holder must start approved access themselves.
    pub fn activation(&self) -> Option<Activation> {
        self.activation
    }
    pub fn auto_approve_if(&self) -> Option<&Condition> {
        self.auto_approve_if.as_ref()
    }
    /// The `required_if` of the approver spec at `position`, if any.
    pub fn step_condition(&self, position: usize) -> Option<&Condition> {
        self.step_conditions.get(position).and_then(Option::as_ref)
    }
    /// Whether any condition must be evaluated for a request (and so the requester's groups read).
    pub fn has_conditions(&self) -> bool {
        self.auto_approve_if.is_some() || self.step_conditions.iter().any(Option::is_some)
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

#[cfg(test)]
#[path = "flow_tests.rs"]
mod tests;
