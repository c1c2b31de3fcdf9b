use chrono::TimeZone;

use super::*;
use crate::flow::{ApprovalType, DisplayDraft, FlowDraft, FlowKind, FlowLimits};
use crate::ids::GroupId;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap()
}

fn flow(enabled: bool) -> ApprovalFlow {
    let draft = FlowDraft {
        kind: FlowKind::ResourceRequest,
        name: "Figma".into(),
        description: String::new(),
        enabled,
        display: DisplayDraft {
            logo: Some("figma".into()),
            color: None,
        },
        target_group_id: Some(GroupId::new_v7()),
        owner_ids: vec![],
        visibility_group_ids: vec![GroupId::new_v7()],
        timed_access: None,
        session_durations_seconds: vec![],
        approval_type: ApprovalType::Automatic,
        approvers: vec![],
        approver_requirement: None,
        slack: None,
        fulfilment: None,
        form: Vec::new(),
        auto_approve_if: None,
        extensions: None,
        scheduling: None,
        activation: None,
        escalation: None,
        break_glass: false,
    };
    let limits = FlowLimits {
        max_duration_seconds: 86_400,
    };
    ApprovalFlow::new(FlowId::new_v7(), draft, limits, now()).unwrap()
}

fn person(id: UserId) -> Actor {
    Actor {
        id,
        role: Role::Person,
    }
}

struct Cast {
    asker: UserId,
    app_admin: UserId,
    it_admin: UserId,
    stranger: UserId,
}

fn cast() -> Cast {
    Cast {
        asker: UserId::new_v7(),
        app_admin: UserId::new_v7(),
        it_admin: UserId::new_v7(),
        stranger: UserId::new_v7(),
    }
}

fn ask<'a>(
    flow: &'a ApprovalFlow,
    app_admins: &'a [UserId],
    it_admins: &'a [UserId],
) -> HelpAsk<'a> {
    HelpAsk {
        flow_id: flow.id(),
        flow: Some(flow),
        visible: true,
        message: " Which licence do I need? ",
        app_admins,
        it_admins,
    }
}

fn opened(c: &Cast) -> HelpRequest {
    let flow = flow(true);
    let (app, it) = ([c.app_admin], [c.it_admin]);
    HelpRequest::open(
        HelpRequestId::new_v7(),
        ask(&flow, &app, &it),
        &person(c.asker),
        now(),
    )
    .unwrap()
    .after
}

#[test]
fn the_app_admins_are_asked_and_the_it_admins_only_when_there_are_none() {
    let c = cast();
    let help = opened(&c);
    assert_eq!(help.answerer_ids, [c.app_admin]);
    assert_eq!(
        (help.state, help.message.as_str()),
        (HelpState::Open, "Which licence do I need?")
    );
    assert!(help.waits_on(c.app_admin) && !help.waits_on(c.it_admin) && !help.waits_on(c.asker));

    let flow = flow(true);
    let it = [c.it_admin, c.asker];
    let change = HelpRequest::open(
        HelpRequestId::new_v7(),
        ask(&flow, &[], &it),
        &person(c.asker),
        now(),
    );
    assert_eq!(
        change.unwrap().after.answerer_ids,
        [c.it_admin],
        "never the asker"
    );
    let change = HelpRequest::open(
        HelpRequestId::new_v7(),
        ask(&flow, &[c.asker], &[c.asker]),
        &person(c.asker),
        now(),
    );
    assert_eq!(
        change.unwrap_err().field(),
        Some("flow_id"),
        "nobody else to ask"
    );
}

#[test]
fn a_hidden_or_disabled_flow_is_unavailable_and_integrations_never_ask() {
    let c = cast();
    let disabled = flow(false);
    let refused = HelpRequest::open(
        HelpRequestId::new_v7(),
        ask(&disabled, &[c.app_admin], &[]),
        &person(c.asker),
        now(),
    );
    assert_eq!(refused.unwrap_err().refusal(), Refusal::NotFound);
    let enabled = flow(true);
    let app_admins = [c.app_admin];
    let hidden = HelpAsk {
        visible: false,
        ..ask(&enabled, &app_admins, &[])
    };
    assert_eq!(
        HelpRequest::open(HelpRequestId::new_v7(), hidden, &person(c.asker), now())
            .unwrap_err()
            .refusal(),
        Refusal::NotFound
    );
    let bot = Actor {
        id: c.asker,
        role: Role::Integration,
    };
    let refused = HelpRequest::open(
        HelpRequestId::new_v7(),
        ask(&enabled, &[c.app_admin], &[]),
        &bot,
        now(),
    );
    assert_eq!(refused.unwrap_err().refusal(), Refusal::Forbidden);
    let blank = HelpAsk {
        message: "  ",
        ..ask(&enabled, &app_admins, &[])
    };
    assert_eq!(
        HelpRequest::open(HelpRequestId::new_v7(), blank, &person(c.asker), now())
            .unwrap_err()
            .field(),
        Some("message")
    );
}

#[test]
fn comments_go_both_ways_while_open_and_strangers_see_nothing() {
    let c = cast();
    let help = opened(&c);
    for author in [c.asker, c.app_admin] {
        let change = help
            .comment(CommentId::new_v7(), "More detail", &person(author), now())
            .unwrap();
        assert_eq!(change.after.version, help.version + 1);
        assert!(
            matches!(change.event, HelpEvent::Commented(ref comment) if comment.author_id == author)
        );
    }
    let admin = Actor {
        id: c.it_admin,
        role: Role::Admin,
    };
    assert!(
        help.comment(CommentId::new_v7(), "Ask Ola", &admin, now())
            .is_ok()
    );
    let refused = help.comment(CommentId::new_v7(), "Hi", &person(c.stranger), now());
    assert_eq!(refused.unwrap_err(), HelpError::NotFound(help.id));
    let resolved = help.resolve(&person(c.asker), now()).unwrap().after;
    let late = resolved.comment(
        CommentId::new_v7(),
        "One more thing",
        &person(c.asker),
        now(),
    );
    assert_eq!(late.unwrap_err(), HelpError::Resolved);
}

#[test]
fn the_asker_an_answerer_or_an_administrator_resolves_it_once() {
    let c = cast();
    let help = opened(&c);
    let admin = Actor {
        id: c.it_admin,
        role: Role::Admin,
    };
    for resolver in [person(c.asker), person(c.app_admin), admin] {
        let resolved = help.resolve(&resolver, now()).unwrap().after;
        assert_eq!(
            (resolved.state, resolved.resolved_by),
            (HelpState::Resolved, Some(resolver.id))
        );
        assert!(!resolved.waits_on(c.app_admin), "it leaves Action Required");
        assert_eq!(
            resolved.resolve(&resolver, now()).unwrap_err(),
            HelpError::Resolved
        );
    }
    assert_eq!(
        help.resolve(&person(c.stranger), now())
            .unwrap_err()
            .refusal(),
        Refusal::NotFound
    );
}
