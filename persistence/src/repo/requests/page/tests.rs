use chrono::{SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use portcullis_domain::flow::{
    ApprovalType, ApproverRequirement, ApproverSpec, FlowDraft, FlowKind, FlowLimits, ResolvedStep,
};
use portcullis_domain::request::{Actor, DecisionCommand, Role, Submission, Verdict, Via};
use portcullis_domain::{FlowId, GroupId, UserId};

use super::*;
use crate::repo::flows;
use crate::repo::requests::{find, save};
use crate::test_support::{record_statements, scratch_postgres};

/// The people of the page: a requester and their manager (whom no step names), the approver of the
/// first step, two reviewers in the second, an administrator who overrides it, and the manager's
/// manager, whom the page does not name.
struct People {
    requester: UserId,
    manager: UserId,
    approver: UserId,
    reviewers: [UserId; 2],
    admin: UserId,
}

fn people(conn: &mut DbConnection) -> People {
    let [requester, manager, approver, first, second, admin, boss] =
        std::array::from_fn(|_| UserId::new_v7());
    let mut sql = String::new();
    for (id, name) in [
        (requester, "Ada"),
        (manager, "Grace \"the boss\""),
        (approver, "Alan"),
        (first, "Ünïcode"),
        (second, "Linus"),
        (admin, "Root"),
        (boss, "Barbara"),
    ] {
        sql += &format!(
            "INSERT INTO users (id, email, display_name, is_admin, active, kind, version, created_at, \
             updated_at) VALUES ('{id}', '{id}@example.com', '{name}', false, true, 'person', 1, \
             now(), now());"
        );
    }
    sql += &format!("UPDATE users SET manager_id = '{manager}' WHERE id = '{requester}';");
    sql += &format!("UPDATE users SET manager_id = '{boss}' WHERE id = '{manager}';");
    conn.batch_execute(&sql).unwrap();
    People {
        requester,
        manager,
        approver,
        reviewers: [first, second],
        admin,
    }
}

/// A flow named "Wiki" (so the page's flow is read with the request).
fn flow(conn: &mut DbConnection, target: GroupId) -> ApprovalFlow {
    let draft: FlowDraft = serde_json::from_value(serde_json::json!({
        "kind": "resource_request",
        "name": "Wiki",
        "display": {"color": "#336699"},
        "target_group_id": target,
        "owner_ids": [],
        "visibility_group_ids": [target],
        "approval_type": "manual",
        "approvers": [{"type": "requester_manager"}],
    }))
    .unwrap();
    let limits = FlowLimits {
        max_duration_seconds: 30 * 24 * 3600,
    };
    let flow = ApprovalFlow::new(FlowId::new_v7(), draft, limits, Utc::now()).unwrap();
    flows::insert(conn, &flow).unwrap();
    flow
}

/// A request through `flow`, stored; its first step approved (handing it to the reviewers) and
/// stored; then approved by an administrator's override and stored.
fn decided(conn: &mut DbConnection, flow: &ApprovalFlow, who: &People) -> AccessRequest {
    let now = Utc::now().trunc_subsecs(6);
    let steps = vec![
        ResolvedStep {
            position: 0,
            spec: ApproverSpec::RequesterManager,
            approver_ids: vec![who.approver],
            require_all: false,
        },
        ResolvedStep {
            position: 1,
            spec: ApproverSpec::UserGroup {
                group_id: GroupId::new_v7(),
                require_all: true,
            },
            approver_ids: who.reviewers.to_vec(),
            require_all: true,
        },
    ];
    let submission = Submission {
        flow_id: flow.id(),
        flow_name: "Wiki".into(),
        flow_version: flow.version(),
        kind: FlowKind::ResourceRequest,
        approval_type: ApprovalType::Manual,
        approver_requirement: Some(ApproverRequirement::AllInOrder),
        requester_id: who.requester,
        reason: "Edit the \"runbooks\"\nplease".into(),
        duration_seconds: Some(86_400),
        device_id: None,
        resubmitted_from: None,
        conditions: Vec::new(),
        extends_grant: None,
        break_glass: None,
        starts_at: None,
        form: Default::default(),
    };
    let created = AccessRequest::submit(
        RequestId::new_v7(),
        submission,
        steps,
        30,
        who.requester,
        now,
    )
    .unwrap();
    assert!(save(conn, &created).unwrap());
    let decision = DecisionCommand {
        verdict: Verdict::Approve,
        comment: Some("fine by me".into()),
        reason: None,
        next_steps: None,
        is_override: false,
        internal_note: None,
        via: Via::Api,
        duration_seconds: None,
    };
    let approver = Actor {
        id: who.approver,
        role: Role::Person,
    };
    let handed = created.request.decide(&decision, &approver, now).unwrap();
    assert!(save(conn, &handed).unwrap());
    let admin = Actor {
        id: who.admin,
        role: Role::Admin,
    };
    let overriding = DecisionCommand {
        is_override: true,
        ..decision
    };
    let approved = handed.request.decide(&overriding, &admin, now).unwrap();
    assert!(save(conn, &approved).unwrap());
    approved.request
}

/// Everything the page of `id` gave, in one comparable form (the people in id order).
fn comparable(page: Option<RequestPage>) -> String {
    let Some(mut page) = page else {
        return "none".to_owned();
    };
    page.people.sort_by_key(|u| u.id);
    format!("{page:#?}")
}

/// On PostgreSQL a request's page is one statement and gives what the reads one by one give: the
/// request and its flow, the setting, the requester, their manager and everyone the steps name
/// (approvers and deciders, not the manager's manager), the history and the comments in order, the
/// grant and the session.
#[test]
fn postgres_reads_a_requests_page_in_one_statement_as_the_reads_one_by_one() {
    let Some((mut pg, _drop)) = scratch_postgres() else {
        return;
    };
    let statements = record_statements(&mut pg);
    let mut conn = DbConnection::Postgres(pg);
    let who = people(&mut conn);
    let target = GroupId::new_v7();
    conn.batch_execute(&format!(
        "INSERT INTO user_groups (id, name, description, version, created_at, updated_at) \
         VALUES ('{target}', 'wiki', '', 1, now(), now());"
    ))
    .unwrap();
    let flow = flow(&mut conn, target);
    let request = decided(&mut conn, &flow, &who);
    let id = request.id();
    let (requester, reviewer) = (who.requester, who.reviewers[0]);
    // Two comments and two events, stored out of order; a grant and a device-admin session (the
    // page shows whatever it finds; a real request has one or the other).
    conn.batch_execute(&format!(
        "INSERT INTO request_comments (id, request_id, author_id, body, created_at) VALUES \
         ('c2', '{id}', '{reviewer}', 'second', now()), \
         ('c1', '{id}', '{requester}', 'first \"quoted\"', now() - interval '1 hour'); \
         INSERT INTO events (id, event_type, occurred_at, actor_id, subject_type, subject_id, data) VALUES \
         ('e2', 'request.approved', now(), '{reviewer}', 'access_request', '{id}', '{{\"n\": 2}}'), \
         ('e1', 'request.submitted', now() - interval '1 hour', '{requester}', 'access_request', '{id}', '{{}}'), \
         ('e0', 'request.submitted', now(), NULL, 'access_request', 'another', '{{}}'); \
         INSERT INTO grants (id, request_id, user_id, group_id, membership_id, status, granted_at, \
         expires_at, version, extension_count, extended_seconds) VALUES ('{grant}', '{id}', \
         '{requester}', '{target}', '{membership}', 'active', now(), now() + interval '1 day', 1, 0, 0); \
         INSERT INTO device_admin_sessions (id, request_id, device_id, user_id, started_at, ends_at) \
         VALUES ('{session}', '{id}', '{device}', '{requester}', now(), now() + interval '1 hour');",
        grant = uuid::Uuid::now_v7(),
        membership = uuid::Uuid::now_v7(),
        session = uuid::Uuid::now_v7(),
        device = uuid::Uuid::now_v7(),
    ))
    .unwrap();

    // Stored steps may name a decider the step no longer lists (`named_in_steps` counts both): the
    // first step's approver, who decided, is taken off its list.
    conn.batch_execute(&format!(
        "UPDATE access_requests SET detail = \
         jsonb_set(detail::jsonb, '{{steps,0,approver_ids}}', '[]')::text WHERE id = '{id}'"
    ))
    .unwrap();
    let request = find(&mut conn, id).unwrap().unwrap();
    assert!(!request.steps()[0].approver_ids.contains(&who.approver));

    statements.lock().unwrap().clear();
    let read = page(&mut conn, id).unwrap();
    assert_eq!(
        statements.lock().unwrap().len(),
        1,
        "the page is one statement"
    );
    let read = read.expect("the request's page");
    let mut named: Vec<UserId> = read.people.iter().map(|u| u.id).collect();
    named.sort();
    // The administrator decided through the outcome, not a step: the page does not name them.
    let mut expected = vec![
        who.requester,
        who.manager,
        who.approver,
        who.reviewers[0],
        who.reviewers[1],
    ];
    expected.sort();
    assert_eq!(
        named, expected,
        "the requester, their manager and everyone the steps name, once each"
    );
    assert_eq!(read.request, request);
    assert_eq!(read.flow.as_ref().map(ApprovalFlow::id), Some(flow.id()));
    let history: Vec<&str> = read.history.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(history, ["e1", "e2"]);
    let comments: Vec<&str> = read.comments.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(comments, ["c1", "c2"]);
    assert!(read.grant.is_some() && read.session.is_some());

    assert_eq!(
        comparable(Some(read)),
        comparable(page_one_by_one(&mut conn, id).unwrap())
    );
    let missing = RequestId::new_v7();
    assert_eq!(comparable(page(&mut conn, missing).unwrap()), "none");
    assert_eq!(
        comparable(page_one_by_one(&mut conn, missing).unwrap()),
        "none"
    );
}
