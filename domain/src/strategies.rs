//! Proptest strategies: flow drafts of every kind, approver type and requirement, valid or not.

use proptest::prelude::*;
use uuid::Uuid;

use crate::flow::{
    ApprovalType, ApproverDraft, ApproverRequirement, ApproverType, DisplayDraft, FlowDraft,
    FlowKind, TimedAccess, TimedAccessMode,
};
use crate::ids::{GroupId, UserId};

fn id_from(n: u8) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + u128::from(n))
}

fn group() -> impl Strategy<Value = GroupId> {
    (0u8..6).prop_map(|n| GroupId::from(id_from(n)))
}

fn user() -> impl Strategy<Value = UserId> {
    (10u8..16).prop_map(|n| UserId::from(id_from(n)))
}

fn approver() -> impl Strategy<Value = ApproverDraft> {
    prop_oneof![
        proptest::option::of(proptest::collection::vec(user(), 0..3)).prop_map(|admin_ids| {
            ApproverDraft {
                approver_type: ApproverType::Administrator,
                group_id: None,
                require_all: None,
                admin_ids,
                required_if: None,
            }
        }),
        Just(ApproverDraft {
            approver_type: ApproverType::RequesterManager,
            group_id: None,
            require_all: None,
            admin_ids: None,
            required_if: None,
        }),
        Just(ApproverDraft {
            approver_type: ApproverType::ResourceOwner,
            group_id: None,
            require_all: None,
            admin_ids: None,
            required_if: None,
        }),
        (group(), proptest::option::of(any::<bool>())).prop_map(|(group_id, require_all)| {
            ApproverDraft {
                approver_type: ApproverType::UserGroup,
                group_id: Some(group_id),
                require_all,
                admin_ids: None,
                required_if: None,
            }
        }),
    ]
}

fn durations() -> impl Strategy<Value = Vec<i64>> {
    proptest::collection::vec(
        prop_oneof![Just(3600i64), Just(86_400), 60i64..2_592_000],
        1..4,
    )
}

fn display() -> impl Strategy<Value = DisplayDraft> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,15}".prop_map(|logo| DisplayDraft {
            logo: Some(logo),
            color: None
        }),
        "#[0-9a-f]{6}".prop_map(|color| DisplayDraft {
            logo: None,
            color: Some(color)
        }),
    ]
}

/// Drafts shaped like what admins send: most are valid, some break a rule.
pub fn flow_draft() -> impl Strategy<Value = FlowDraft> {
    (
        prop_oneof![Just(FlowKind::ResourceRequest), Just(FlowKind::DeviceAdmin)],
        "[A-Za-z][A-Za-z0-9 ]{0,30}",
        "[A-Za-z0-9 .,]{0,60}",
        any::<bool>(),
        display(),
        proptest::collection::vec(group(), 1..3),
        proptest::collection::vec(user(), 0..3),
        proptest::option::of((
            prop_oneof![Just(TimedAccessMode::Choices), Just(TimedAccessMode::Fixed)],
            durations(),
        )),
        prop_oneof![Just(ApprovalType::Automatic), Just(ApprovalType::Manual)],
        proptest::collection::vec(approver(), 1..4),
        prop_oneof![
            Just(ApproverRequirement::Any),
            Just(ApproverRequirement::All),
            Just(ApproverRequirement::AllInOrder)
        ],
        durations(),
    )
        .prop_map(
            |(
                kind,
                name,
                description,
                enabled,
                display,
                visibility,
                owners,
                timed,
                approval_type,
                approvers,
                requirement,
                sessions,
            )| {
                let device_admin = kind == FlowKind::DeviceAdmin;
                let manual = approval_type == ApprovalType::Manual;
                FlowDraft {
                    kind,
                    name,
                    description,
                    enabled,
                    display,
                    target_group_id: (!device_admin).then(|| GroupId::from(id_from(9))),
                    owner_ids: if device_admin { Vec::new() } else { owners },
                    visibility_group_ids: visibility,
                    timed_access: if device_admin {
                        None
                    } else {
                        timed.map(|(mode, mut durations_seconds)| {
                            if mode == TimedAccessMode::Fixed {
                                durations_seconds.truncate(1);
                            }
                            TimedAccess {
                                mode,
                                durations_seconds,
                            }
                        })
                    },
                    session_durations_seconds: if device_admin { sessions } else { Vec::new() },
                    approval_type,
                    approvers: if manual { approvers } else { Vec::new() },
                    approver_requirement: manual.then_some(requirement),
                    slack: None,
                    fulfilment: None,
                    form: Vec::new(),
                    auto_approve_if: None,
                    extensions: None,
                    scheduling: None,
                    activation: None,
                    escalation: None,
                    break_glass: false,
                }
            },
        )
}
