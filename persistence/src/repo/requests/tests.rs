use chrono::SubsecRound;
use portcullis_domain::GroupId;
use portcullis_domain::flow::{ApproverSpec, ResolvedStep};
use portcullis_domain::request::{Actor, DecisionCommand, Role, Submission, Verdict, Write};

use chrono::Utc;
use diesel::prelude::*;
use portcullis_domain::flow::{ApprovalType, ApproverRequirement, FlowKind};
use portcullis_domain::request::AccessRequest;
use portcullis_domain::{FlowId, RequestId, UserId};

use super::rows::*;
use super::*;
use crate::DbConnection;
use crate::schema::request_approvers;

fn approval(comment: Option<String>) -> DecisionCommand {
    DecisionCommand {
        verdict: Verdict::Approve,
        comment,
        reason: None,
        next_steps: None,
        is_override: false,
        internal_note: None,
        via: portcullis_domain::request::Via::Api,
        duration_seconds: None,
    }
}

fn person(id: UserId) -> Actor {
    Actor {
        id,
        role: Role::Person,
    }
}

/// A two-step request with a decision on its first step and a comment on it.
fn decided_request() -> AccessRequest {
    let now = Utc::now().trunc_subsecs(6);
    let (requester, manager) = (UserId::new_v7(), UserId::new_v7());
    let reviewers = [UserId::new_v7(), UserId::new_v7()];
    let steps = vec![
        ResolvedStep {
            position: 0,
            spec: ApproverSpec::RequesterManager,
            approver_ids: vec![manager],
            require_all: false,
        },
        ResolvedStep {
            position: 1,
            spec: ApproverSpec::UserGroup {
                group_id: GroupId::new_v7(),
                require_all: true,
            },
            approver_ids: reviewers.to_vec(),
            require_all: true,
        },
    ];
    let submission = Submission {
        flow_id: FlowId::new_v7(),
        flow_name: "GitHub \"Admin\" — ünïcode".into(),
        flow_version: 3,
        kind: FlowKind::ResourceRequest,
        approval_type: ApprovalType::Manual,
        approver_requirement: Some(ApproverRequirement::AllInOrder),
        requester_id: requester,
        reason: "Review pull requests\nfor the release".into(),
        duration_seconds: Some(86_400),
        device_id: None,
        resubmitted_from: None,
        conditions: Vec::new(),
        extends_grant: None,
        break_glass: None,
        starts_at: None,
        form: Default::default(),
    };
    let request = AccessRequest::submit(RequestId::new_v7(), submission, steps, 30, requester, now)
        .unwrap()
        .request;
    let comment = Some("Looks \"fine\" to me\n".to_owned());
    request
        .decide(&approval(comment), &person(manager), now)
        .unwrap()
        .request
}

#[test]
fn request_updates_are_prepared_statements_that_check_the_version() {
    use std::sync::{Arc, Mutex};

    use diesel::connection::InstrumentationEvent;
    use diesel::sqlite::SqliteConnection;
    use diesel_migrations::MigrationHarness;

    let mut sqlite = SqliteConnection::establish(":memory:").unwrap();
    sqlite
        .run_pending_migrations(crate::database::SQLITE_MIGRATIONS)
        .unwrap();
    // The statement is under test, not the directory: no users behind the request's ids.
    diesel::connection::SimpleConnection::batch_execute(&mut sqlite, "PRAGMA foreign_keys = OFF")
        .unwrap();
    let prepared = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&prepared);
    sqlite.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::CacheQuery { sql, .. } = event
            && sql.starts_with("UPDATE")
        {
            sink.lock().unwrap().push(sql.to_owned());
        }
    });
    // Through the backend-generic connection, as the services run it.
    let mut conn = DbConnection::Sqlite(sqlite);
    let mut request = decided_request();
    insert_many(&mut conn, std::slice::from_ref(&request)).unwrap();
    // The second step's reviewers both approve: each stops awaiting as they decide.
    let reviewers = request.steps()[1].approver_ids.clone();
    let mut earlier = Vec::new();
    for reviewer in reviewers {
        let change = request
            .decide(
                &approval(None),
                &person(reviewer),
                Utc::now().trunc_subsecs(6),
            )
            .unwrap();
        assert_eq!(
            change.write,
            Write::Update {
                expected_version: request.version()
            }
        );
        assert!(save(&mut conn, &change).unwrap());
        earlier.push(request);
        request = change.request;
    }
    let awaiting: i64 = request_approvers::table
        .filter(request_approvers::request_id.eq(request.id().to_string()))
        .filter(request_approvers::awaiting.eq(true))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(awaiting, 0);
    let rows: i64 = request_approvers::table
        .filter(request_approvers::request_id.eq(request.id().to_string()))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(rows, 0, "a decided request leaves the approver index");
    // A change made from a stale version writes nothing.
    let stale = earlier[0].fail("the manager changed", None).unwrap();
    assert!(!save(&mut conn, &stale).unwrap());

    let stored = find(&mut conn, request.id()).unwrap().unwrap();
    assert_eq!(stored, request);
    let prepared = prepared.lock().unwrap();
    let request_updates = prepared
        .iter()
        .filter(|sql| sql.contains("access_requests"))
        .count();
    assert_eq!(
        request_updates, 1,
        "prepared once, then reused: {prepared:?}"
    );
    assert!(
        prepared.iter().any(|sql| sql.contains("request_approvers")),
        "the approver rows' updates are kept prepared too: {prepared:?}"
    );
}

#[test]
fn listed_steps_are_the_steps_as_the_api_writes_them() {
    let request = decided_request();
    let listed = into_listed(RequestRow::from(&request)).unwrap();
    assert_eq!(
        listed.steps.get(),
        serde_json::to_string(request.steps()).unwrap()
    );
    let without_steps = request.clone().with_steps(Vec::new());
    assert_eq!(listed.request, without_steps);
    assert_eq!(convert(RequestRow::from(&request)).unwrap(), request);
}

#[test]
fn a_request_without_form_answers_is_stored_without_them_and_reads_back() {
    let request = decided_request();
    assert!(request.form().is_empty());
    let row = RequestRow::from(&request);
    assert!(!row.detail.contains("\"form\""), "{}", row.detail);
    assert_eq!(convert(row).unwrap(), request);
}
