//! A flow's conditions applied to one submission: the context they see, their outcomes, and what
//! the outcomes do to the request (approved at once, steps left out). Conditions that cannot be
//! evaluated fall to the safe side: no automatic approval, the step required.

use chrono::{DateTime, Utc};

use crate::directory::User;
use crate::flow::{ApprovalFlow, ConditionContext, ConditionOutcome, FormAnswers, RequesterFacts};
use crate::ids::GroupId;

/// What a flow's conditions need that only the store knows, read by the service for a flow with
/// conditions ([`ApprovalFlow::has_conditions`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyInput {
    /// The requester's groups (id, name), from every membership source.
    pub groups: Vec<(GroupId, String)>,
    pub now: DateTime<Utc>,
}

/// The context the conditions of `flow` see for this submission (`request.starts_at`: the asked
/// start, or now).
pub fn condition_context(
    flow: &ApprovalFlow,
    requester: &User,
    duration_seconds: Option<i64>,
    starts_at: Option<DateTime<Utc>>,
    form: &FormAnswers,
    input: &PolicyInput,
) -> ConditionContext {
    let mut groups: Vec<&(GroupId, String)> = input.groups.iter().collect();
    groups.sort_by(|a, b| a.1.cmp(&b.1));
    ConditionContext {
        requester: RequesterFacts {
            id: requester.id.to_string(),
            email: requester.email.to_string(),
            groups: groups.iter().map(|(_, name)| name.clone()).collect(),
            group_ids: groups.iter().map(|(id, _)| id.to_string()).collect(),
            manager: requester
                .manager_id
                .map(|m| m.to_string())
                .unwrap_or_default(),
            is_admin: requester.is_admin,
        },
        duration_seconds,
        form: flow
            .form()
            .fields()
            .map(|f| (f.key.clone(), form.get(&f.key).cloned().unwrap_or_default()))
            .collect(),
        starts_at: starts_at.unwrap_or(input.now),
        flow_id: flow.id().to_string(),
        flow_name: flow.name().to_owned(),
        flow_kind: flow.kind().as_str().to_owned(),
        flow_version: flow.version(),
        now: input.now,
    }
}

/// Every condition of `flow` evaluated on `context`: `auto_approve_if` first, then each step's
/// `required_if` in order.
pub fn evaluate(flow: &ApprovalFlow, context: &ConditionContext) -> Vec<ConditionOutcome> {
    let mut outcomes = Vec::new();
    if let Some(condition) = flow.auto_approve_if() {
        outcomes.push(ConditionOutcome {
            member: "auto_approve_if".to_owned(),
            step: None,
            expression: condition.source().to_owned(),
            result: condition.evaluate(context),
        });
    }
    for position in 0..flow.approvers().len() {
        if let Some(condition) = flow.step_condition(position) {
            outcomes.push(ConditionOutcome {
                member: format!("approvers[{position}].required_if"),
                step: Some(position),
                expression: condition.source().to_owned(),
                result: condition.evaluate(context),
            });
        }
    }
    outcomes
}

/// The condition that approves the request at submission, if one does.
pub(crate) fn approving(outcomes: &[ConditionOutcome]) -> Option<&ConditionOutcome> {
    outcomes
        .iter()
        .find(|o| o.step.is_none() && o.result == Ok(true))
}

/// Whether the step at `position` is left out of the request by its condition.
pub(crate) fn left_out(outcomes: &[ConditionOutcome], position: usize) -> bool {
    outcomes
        .iter()
        .any(|o| o.step == Some(position) && o.result == Ok(false))
}
