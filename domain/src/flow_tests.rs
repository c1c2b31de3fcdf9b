use chrono::{TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::directory::UserKind;
use crate::strategies::flow_draft;

const LIMITS: FlowLimits = FlowLimits {
    max_duration_seconds: 30 * 24 * 3600,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

fn approver(approver_type: ApproverType) -> ApproverDraft {
    ApproverDraft {
        approver_type,
        group_id: None,
        require_all: None,
        admin_ids: None,
        required_if: None,
    }
}

fn group_approver(require_all: bool) -> ApproverDraft {
    ApproverDraft {
        group_id: Some(GroupId::new_v7()),
        require_all: Some(require_all),
        ..approver(ApproverType::UserGroup)
    }
}

/// A valid manual two-step resource-request flow.
fn resource_flow() -> FlowDraft {
    FlowDraft {
        kind: FlowKind::ResourceRequest,
        name: "GitHub Admin".into(),
        description: "Admin rights on the GitHub organisation".into(),
        enabled: true,
        display: DisplayDraft {
            logo: None,
            color: Some("#24292f".into()),
        },
        target_group_id: Some(GroupId::new_v7()),
        owner_ids: vec![UserId::new_v7()],
        visibility_group_ids: vec![GroupId::new_v7()],
        timed_access: Some(TimedAccess {
            mode: TimedAccessMode::Choices,
            durations_seconds: vec![3600, 86_400],
        }),
        session_durations_seconds: vec![],
        approval_type: ApprovalType::Manual,
        approvers: vec![
            approver(ApproverType::RequesterManager),
            group_approver(true),
        ],
        approver_requirement: Some(ApproverRequirement::AllInOrder),
        slack: None,
        fulfilment: None,
        auto_approve_if: None,
        extensions: None,
        scheduling: None,
        activation: None,
        escalation: None,
        break_glass: false,
        form: Default::default(),
    }
}

fn device_flow() -> FlowDraft {
    FlowDraft {
        kind: FlowKind::DeviceAdmin,
        name: "Laptop admin".into(),
        description: String::new(),
        enabled: true,
        display: DisplayDraft {
            logo: Some("apple".into()),
            color: None,
        },
        target_group_id: None,
        owner_ids: vec![],
        visibility_group_ids: vec![GroupId::new_v7()],
        timed_access: None,
        session_durations_seconds: vec![900, 3600],
        approval_type: ApprovalType::Manual,
        approvers: vec![approver(ApproverType::Administrator)],
        approver_requirement: None,
        slack: None,
        fulfilment: None,
        auto_approve_if: None,
        extensions: None,
        scheduling: None,
        activation: None,
        escalation: None,
        break_glass: false,
        form: Default::default(),
    }
}

fn fields_of(draft: FlowDraft) -> Vec<String> {
    ApprovalFlow::new(FlowId::new_v7(), draft, LIMITS, now())
        .unwrap_err()
        .into_errors()
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn the_examples_of_each_kind_are_valid() {
    let flow = ApprovalFlow::new(FlowId::new_v7(), resource_flow(), LIMITS, now()).unwrap();
    assert_eq!(flow.version(), 1);
    assert_eq!(flow.duration_choices(), [3600, 86_400]);
    let device = ApprovalFlow::new(FlowId::new_v7(), device_flow(), LIMITS, now()).unwrap();
    assert_eq!(
        device.approver_requirement(),
        Some(ApproverRequirement::Any)
    );
}

#[test]
fn display_is_exactly_one_of_logo_and_colour() {
    let mut both = resource_flow();
    both.display.logo = Some("github".into());
    assert_eq!(fields_of(both), ["display"]);
    let mut neither = resource_flow();
    neither.display = DisplayDraft::default();
    assert_eq!(fields_of(neither), ["display"]);
    let mut bad_colour = resource_flow();
    bad_colour.display.color = Some("red".into());
    assert_eq!(fields_of(bad_colour), ["display.color"]);
    let mut bad_logo = device_flow();
    bad_logo.display.logo = Some("Git Hub!".into());
    assert_eq!(fields_of(bad_logo), ["display.logo"]);
}

#[test]
fn an_administrator_spec_must_be_alone() {
    let mut draft = resource_flow();
    draft.approvers = vec![
        approver(ApproverType::RequesterManager),
        approver(ApproverType::Administrator),
    ];
    assert_eq!(fields_of(draft), ["approvers[0].type", "approvers"]);
}

#[test]
fn require_all_only_on_user_groups() {
    let mut draft = resource_flow();
    draft.approvers[0].require_all = Some(true);
    assert_eq!(fields_of(draft), ["approvers[0].require_all"]);
}

#[test]
fn a_user_group_spec_needs_its_group_and_others_take_none() {
    let mut draft = resource_flow();
    draft.approvers[1].group_id = None;
    assert_eq!(fields_of(draft), ["approvers[1].group_id"]);
    let mut draft = resource_flow();
    draft.approvers[0].group_id = Some(GroupId::new_v7());
    assert_eq!(fields_of(draft), ["approvers[0].group_id"]);
}

#[test]
fn resource_owner_needs_owners() {
    let mut draft = resource_flow();
    draft.owner_ids.clear();
    draft.approvers = vec![approver(ApproverType::ResourceOwner)];
    assert_eq!(fields_of(draft), ["owner_ids"]);
}

#[test]
fn a_manual_device_admin_flow_without_approvers_is_approved_by_administrators() {
    let mut draft = device_flow();
    draft.approvers.clear();
    let flow = ApprovalFlow::new(FlowId::new_v7(), draft, LIMITS, now()).unwrap();
    assert_eq!(
        flow.approvers(),
        [ApproverSpec::Administrator {
            admin_ids: Vec::new()
        }]
    );
    assert_eq!(
        flow.to_draft().approvers,
        [approver(ApproverType::Administrator)]
    );
}

#[test]
fn manual_needs_approvers_and_automatic_has_none() {
    let mut manual = resource_flow();
    manual.approvers.clear();
    assert_eq!(fields_of(manual), ["approvers"]);
    let mut automatic = resource_flow();
    automatic.approval_type = ApprovalType::Automatic;
    assert_eq!(fields_of(automatic), ["approvers", "approver_requirement"]);
}

#[test]
fn timed_access_durations_are_positive_within_the_maximum_and_fixed_has_one() {
    let mut empty = resource_flow();
    empty.timed_access = Some(TimedAccess {
        mode: TimedAccessMode::Choices,
        durations_seconds: vec![],
    });
    assert_eq!(fields_of(empty), ["timed_access.durations_seconds"]);
    let mut out_of_range = resource_flow();
    out_of_range.timed_access = Some(TimedAccess {
        mode: TimedAccessMode::Choices,
        durations_seconds: vec![0, 3600, LIMITS.max_duration_seconds + 1, 3600],
    });
    assert_eq!(
        fields_of(out_of_range),
        [
            "timed_access.durations_seconds[0]",
            "timed_access.durations_seconds[2]",
            "timed_access.durations_seconds[3]"
        ]
    );
    let mut fixed = resource_flow();
    fixed.timed_access = Some(TimedAccess {
        mode: TimedAccessMode::Fixed,
        durations_seconds: vec![3600, 7200],
    });
    assert_eq!(fields_of(fixed), ["timed_access.durations_seconds"]);
}

#[test]
fn device_admin_flows_have_sessions_no_group_no_owners_and_only_administrators() {
    let mut draft = device_flow();
    draft.session_durations_seconds.clear();
    draft.target_group_id = Some(GroupId::new_v7());
    draft.owner_ids = vec![UserId::new_v7()];
    draft.timed_access = Some(TimedAccess {
        mode: TimedAccessMode::Fixed,
        durations_seconds: vec![60],
    });
    assert_eq!(
        fields_of(draft),
        [
            "target_group_id",
            "owner_ids",
            "timed_access",
            "session_durations_seconds"
        ]
    );
    let mut draft = device_flow();
    draft.approvers = vec![approver(ApproverType::RequesterManager)];
    assert_eq!(fields_of(draft), ["approvers[0].type"]);
}

#[test]
fn fulfilment_decides_which_target_group_a_flow_needs() {
    use crate::flow::{Fulfilment, Provisioning};
    let with = |provisioning, assignment| {
        Some(Fulfilment {
            provisioning,
            assignment,
        })
    };
    // Manual provisioning: an app outside the SSO may have no group, but then no timed access.
    let mut draft = resource_flow();
    draft.fulfilment = with(Provisioning::Manual, true);
    draft.target_group_id = None;
    assert_eq!(fields_of(draft.clone()), ["timed_access"]);
    draft.timed_access = None;
    let flow = ApprovalFlow::new(FlowId::new_v7(), draft, LIMITS, now()).unwrap();
    assert_eq!(flow.fulfilment(), with(Provisioning::Manual, true));
    assert_eq!(
        flow.to_draft().fulfilment,
        flow.fulfilment(),
        "kept in the definition"
    );
    // No provisioning: no group to join.
    let mut draft = resource_flow();
    draft.fulfilment = with(Provisioning::None, false);
    draft.timed_access = None;
    assert_eq!(fields_of(draft), ["target_group_id"]);
    // Automatic provisioning needs its group, as without a fulfilment; an assignment needs owners.
    let mut draft = resource_flow();
    draft.fulfilment = with(Provisioning::Automatic, true);
    draft.target_group_id = None;
    draft.owner_ids = Vec::new();
    draft.approvers = vec![approver(ApproverType::RequesterManager)];
    assert_eq!(
        fields_of(draft),
        ["target_group_id", "fulfilment.assignment"]
    );
    let mut draft = device_flow();
    draft.fulfilment = with(Provisioning::Manual, false);
    assert_eq!(fields_of(draft), ["fulfilment"]);
}

#[test]
fn resource_flows_need_a_target_group_and_no_sessions() {
    let mut draft = resource_flow();
    draft.target_group_id = None;
    draft.session_durations_seconds = vec![60];
    assert_eq!(
        fields_of(draft),
        ["target_group_id", "session_durations_seconds"]
    );
}

#[test]
fn duplicates_and_missing_visibility_are_rejected() {
    let mut draft = resource_flow();
    draft.visibility_group_ids.clear();
    draft
        .approvers
        .push(approver(ApproverType::RequesterManager));
    assert_eq!(fields_of(draft), ["visibility_group_ids", "approvers[2]"]);
}

#[test]
fn a_revision_bumps_the_version_only_when_something_changed() {
    let flow = ApprovalFlow::new(FlowId::new_v7(), resource_flow(), LIMITS, now()).unwrap();
    let later = now() + chrono::Duration::hours(1);
    assert_eq!(flow.revise(flow.to_draft(), LIMITS, later).unwrap(), flow);
    let mut renamed = flow.to_draft();
    renamed.name = "GitHub Owner".into();
    let revised = flow.revise(renamed, LIMITS, later).unwrap();
    assert_eq!(
        (
            revised.version(),
            revised.updated_at(),
            revised.created_at()
        ),
        (2, later, now())
    );
}

fn candidate(is_admin: bool) -> Candidate {
    Candidate {
        id: UserId::new_v7(),
        active: true,
        kind: UserKind::Person,
        is_admin,
    }
}

#[test]
fn resolution_leaves_out_the_requester_and_anyone_who_cannot_approve() {
    let requester = candidate(false);
    let manager = candidate(false);
    let mut inactive = candidate(false);
    inactive.active = false;
    let mut bot = candidate(false);
    bot.kind = UserKind::Integration;
    let flow = ApprovalFlow::new(FlowId::new_v7(), resource_flow(), LIMITS, now()).unwrap();
    let ApproverSpec::UserGroup { group_id, .. } = flow.approvers()[1] else {
        panic!()
    };
    let directory = Directory {
        manager: Some(manager.clone()),
        group_members: vec![(
            group_id,
            vec![requester.clone(), inactive, bot, manager.clone()],
        )],
        ..Directory::default()
    };
    let steps = resolve_approvers(&flow, requester.id, &directory);
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].approver_ids, [manager.id]);
    assert_eq!(
        (steps[1].approver_ids.as_slice(), steps[1].require_all),
        ([manager.id].as_slice(), true)
    );
}

#[test]
fn an_empty_step_is_reported_not_hidden() {
    let flow = ApprovalFlow::new(FlowId::new_v7(), resource_flow(), LIMITS, now()).unwrap();
    let steps = resolve_approvers(&flow, UserId::new_v7(), &Directory::default());
    assert!(steps.iter().all(|s| s.approver_ids.is_empty()));
}

proptest! {
    #[test]
    fn accepted_flows_round_trip_through_their_json_form(draft in flow_draft()) {
        if let Ok(flow) = ApprovalFlow::new(FlowId::new_v7(), draft, LIMITS, now()) {
            let json = serde_json::to_string(&flow.to_draft()).unwrap();
            let parsed: FlowDraft = serde_json::from_str(&json).unwrap();
            let again = ApprovalFlow::restore(flow.id(), parsed, flow.version(), flow.created_at(), flow.updated_at()).unwrap();
            prop_assert_eq!(again, flow);
        }
    }

    #[test]
    fn accepted_flows_are_executable(draft in flow_draft()) {
        if let Ok(flow) = ApprovalFlow::new(FlowId::new_v7(), draft, LIMITS, now()) {
            prop_assert_eq!(flow.approval_type() == ApprovalType::Manual, !flow.approvers().is_empty());
            prop_assert_eq!(flow.approval_type() == ApprovalType::Manual, flow.approver_requirement().is_some());
            prop_assert_eq!(flow.kind() == FlowKind::ResourceRequest, flow.target_group_id().is_some());
            if flow.kind() == FlowKind::DeviceAdmin {
                prop_assert!(!flow.duration_choices().is_empty());
                prop_assert!(flow.approvers().iter().all(|a| a.approver_type() == ApproverType::Administrator));
            }
            let admins = flow.approvers().iter().filter(|a| a.approver_type() == ApproverType::Administrator).count();
            prop_assert!(admins == 0 || flow.approvers().len() == 1);
            prop_assert!(flow.duration_choices().iter().all(|d| *d > 0 && *d <= LIMITS.max_duration_seconds));
        }
    }
}

/// The properties above only mean something if the strategy yields accepted flows (and rejected ones).
#[test]
fn the_draft_strategy_yields_both_accepted_and_rejected_flows() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = flow_draft();
    let accepted = (0..400)
        .filter(|_| {
            let draft = strategy.new_tree(&mut runner).unwrap().current();
            ApprovalFlow::new(FlowId::new_v7(), draft, LIMITS, now()).is_ok()
        })
        .count();
    assert!(
        (100..=380).contains(&accepted),
        "{accepted} of 400 accepted"
    );
}
