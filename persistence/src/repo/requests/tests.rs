use chrono::SubsecRound;
use portcullis_domain::GroupId;
use portcullis_domain::flow::{ApproverSpec, ResolvedStep};
use portcullis_domain::request::{
    Actor, Change, DecisionCommand, Role, Submission, Verdict, Write,
};

use chrono::Utc;
use diesel::prelude::*;
use portcullis_domain::flow::{ApprovalType, ApproverRequirement, FlowKind};
use portcullis_domain::request::AccessRequest;
use portcullis_domain::{FlowId, RequestId, UserId};

use super::rows::*;
use super::*;
use crate::DbConnection;
use crate::schema::request_approvers;
use crate::test_support::scratch_postgres;

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

/// The submission of a two-step request by `requester`: their manager, then two reviewers who
/// must all approve.
fn submitted(requester: UserId, manager: UserId) -> Change {
    let now = Utc::now().trunc_subsecs(6);
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
    AccessRequest::submit(RequestId::new_v7(), submission, steps, 30, requester, now).unwrap()
}

/// A two-step request with a decision on its first step and a comment on it.
fn decided_request() -> AccessRequest {
    let now = Utc::now().trunc_subsecs(6);
    let manager = UserId::new_v7();
    let request = submitted(UserId::new_v7(), manager).request;
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

/// On PostgreSQL, the round trips of a request's life: a new request (its row, approver index and
/// people) is one statement, and so is each decision that hands it to the next step or closes it
/// (the request's version-checked `UPDATE` with its index change); the grant of a closing approval
/// is one more, with the change's events; a decision made from a stale version writes nothing, the
/// index included.
#[test]
fn postgres_stores_a_new_request_and_a_hand_over_or_closing_decision_in_one_statement_each() {
    use crate::schema::{request_people, users};

    let Some((mut pg, _drop)) = scratch_postgres() else {
        return;
    };
    let (requester, manager) = (UserId::new_v7(), UserId::new_v7());
    let now = crate::time::to_db(Utc::now().trunc_subsecs(6));
    diesel::insert_into(users::table)
        .values((
            users::id.eq(requester.to_string()),
            users::email.eq("ada@example.com"),
            users::display_name.eq("Ada"),
            users::is_admin.eq(false),
            users::active.eq(true),
            users::kind.eq("person"),
            users::version.eq(1),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(&mut pg)
        .unwrap();
    let statements = crate::test_support::record_statements(&mut pg);
    let mut conn = DbConnection::Postgres(pg);
    let saved = |conn: &mut DbConnection, change: &Change| {
        statements.lock().unwrap().clear();
        let written = save(conn, change).unwrap();
        (written, std::mem::take(&mut *statements.lock().unwrap()))
    };
    let count = |conn: &mut DbConnection, id: RequestId, awaiting: Option<bool>| -> i64 {
        let rows = request_approvers::table
            .filter(request_approvers::request_id.eq(id.to_string()))
            .into_boxed();
        match awaiting {
            Some(awaiting) => rows.filter(request_approvers::awaiting.eq(awaiting)),
            None => rows,
        }
        .count()
        .get_result(conn)
        .unwrap()
    };

    let created = submitted(requester, manager);
    let id = created.request.id();
    let (written, sent) = saved(&mut conn, &created);
    assert!(written);
    assert_eq!(sent.len(), 1, "a new request is one statement: {sent:#?}");
    assert_eq!(
        count(&mut conn, id, None),
        3,
        "the manager and two reviewers"
    );
    assert_eq!(count(&mut conn, id, Some(true)), 1, "the manager awaits");
    let people: i64 = request_people::table
        .filter(request_people::request_id.eq(id.to_string()))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(people, created.request.named().len() as i64);

    // The manager approves: the first step hands over to the reviewers.
    let pending = created.request;
    let handed = pending
        .decide(
            &approval(None),
            &person(manager),
            Utc::now().trunc_subsecs(6),
        )
        .unwrap();
    let (written, sent) = saved(&mut conn, &handed);
    assert!(written);
    assert_eq!(sent.len(), 1, "a hand-over is one statement: {sent:#?}");
    assert_eq!(count(&mut conn, id, Some(true)), 2, "both reviewers await");
    assert_eq!(count(&mut conn, id, None), 3);

    // A decision made from the version before writes nothing: neither the request nor its index.
    let stale = pending
        .cancel(&person(requester), Utc::now().trunc_subsecs(6))
        .unwrap();
    let (written, _) = saved(&mut conn, &stale);
    assert!(!written);
    assert_eq!(
        count(&mut conn, id, Some(true)),
        2,
        "the index is untouched"
    );
    assert_eq!(find(&mut conn, id).unwrap().unwrap(), handed.request);

    // Both reviewers approve; the second closes the request and its index goes with it.
    let reviewers = handed.request.steps()[1].approver_ids.clone();
    let first = handed
        .request
        .decide(
            &approval(None),
            &person(reviewers[0]),
            Utc::now().trunc_subsecs(6),
        )
        .unwrap();
    assert!(saved(&mut conn, &first).0);
    assert_eq!(count(&mut conn, id, Some(true)), 1);
    let mut closing = first
        .request
        .decide(
            &approval(None),
            &person(reviewers[1]),
            Utc::now().trunc_subsecs(6),
        )
        .unwrap();
    // It grants the requester a group (as fulfilment adds to an approval that completes), and
    // records two events about the request: the grant and its events are one more statement.
    let group = GroupId::new_v7();
    diesel::sql_query(
        "INSERT INTO user_groups (id, name, description, version, created_at, updated_at) \
         VALUES ($1, 'Granted', '', 1, now(), now())",
    )
    .bind::<diesel::sql_types::Text, _>(group.to_string())
    .execute(&mut conn)
    .unwrap();
    let grant = portcullis_domain::access::Grant::new(
        id,
        requester,
        group,
        Some(3600),
        Utc::now().trunc_subsecs(6),
    );
    closing.grant = Some(grant.clone());
    let event = |event_type| crate::repo::events::NewEvent {
        event_type,
        occurred_at: Utc::now().trunc_subsecs(6),
        actor_id: Some(reviewers[1]),
        subject_type: "access_request",
        subject_id: id.to_string(),
        data: serde_json::json!({ "request_id": id }),
    };
    let decided = [
        event(portcullis_domain::events::REQUEST_APPROVED),
        event(portcullis_domain::events::ASSOCIATION_CHANGE),
    ];
    statements.lock().unwrap().clear();
    let outcome = save_recording(&mut conn, &closing, &decided).unwrap();
    let sent = std::mem::take(&mut *statements.lock().unwrap());
    assert_eq!(
        sent.len(),
        2,
        "a closing decision is one statement, its grant with its events one more: {sent:#?}"
    );
    let Saved::Written(recorded) = outcome else {
        panic!("the closing decision should be written: {outcome:?}");
    };
    assert_eq!(recorded.len(), 2, "both events are recorded with the grant");
    let stored = crate::repo::events::for_subject(&mut conn, &id.to_string()).unwrap();
    assert_eq!(
        stored.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        recorded
            .iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        crate::repo::grants::find(&mut conn, grant.id).unwrap(),
        Some(grant.clone())
    );
    let member: i64 = crate::schema::memberships::table
        .filter(crate::schema::memberships::id.eq(grant.membership_id.to_string()))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(member, 1, "the grant's membership is written with it");
    assert_eq!(
        count(&mut conn, id, None),
        0,
        "a decided request leaves the index"
    );
    assert_eq!(find(&mut conn, id).unwrap().unwrap(), closing.request);

    // A new request given its first event: still one statement, which stores the event too and
    // answers what recording it found (no webhook channel, Slack or AuthZEN callback here).
    let another = submitted(requester, manager);
    let event = crate::repo::events::NewEvent {
        event_type: portcullis_domain::events::REQUEST_CREATED,
        occurred_at: Utc::now().trunc_subsecs(6),
        actor_id: Some(requester),
        subject_type: "access_request",
        subject_id: another.request.id().to_string(),
        data: serde_json::json!({ "request_id": another.request.id() }),
    };
    statements.lock().unwrap().clear();
    let outcome = save_recording(&mut conn, &another, std::slice::from_ref(&event)).unwrap();
    let sent = std::mem::take(&mut *statements.lock().unwrap());
    assert_eq!(
        sent.len(),
        1,
        "a new request with its event is one statement: {sent:#?}"
    );
    let Saved::Written(recorded) = outcome else {
        panic!("the event should be recorded with the request: {outcome:?}");
    };
    let [recorded] = recorded[..] else {
        panic!("the event should be recorded with the request: {recorded:?}");
    };
    assert_eq!(
        (recorded.webhooks, recorded.slack, recorded.callback),
        (false, false, Some(false))
    );
    let stored = crate::repo::events::for_subject(&mut conn, &event.subject_id).unwrap();
    assert_eq!(stored.len(), 1, "the event is stored once");
    assert_eq!(stored[0].id, recorded.id.to_string());
    assert_eq!(stored[0].event_type, event.event_type);
    assert_eq!(
        find(&mut conn, another.request.id()).unwrap().unwrap(),
        another.request
    );
    // The same request again is refused, and its event is not stored either: all or nothing.
    let twin = crate::repo::events::NewEvent {
        subject_id: "another".into(),
        ..event.clone()
    };
    let refused = save_recording(&mut conn, &another, std::slice::from_ref(&twin));
    assert!(refused.is_err(), "the same request twice: {refused:?}");
    assert!(
        crate::repo::events::for_subject(&mut conn, "another")
            .unwrap()
            .is_empty()
    );
}
