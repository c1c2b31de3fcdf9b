//! Writes in two halves (`AppState::read_then_write`): on SQLite the first half reads and decides
//! on the reader pool, the second re-checks and writes on the writer thread. Driven here half by
//! half on a connection of the server's own database, with a change made through the API in between:
//! a plan whose inputs changed writes nothing, and prepared again it follows the change.

use chrono::{SubsecRound, Utc};
use diesel::Connection;
use portcullis_api::error::ApiError;
use portcullis_api::services::requests::{self, CreatePlan, DecisionInput, NewRequest};
use portcullis_api::services::{Prepared, Recheck, Written};
use portcullis_api::tx::Tx;
use portcullis_domain::request::{AccessRequest, Verdict};
use portcullis_domain::{FlowId, RequestId, UserId};
use portcullis_persistence::repo::{settings, users};
use portcullis_persistence::{Database, DatabaseTarget, DbConnection};
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;
use crate::requests::{World, act, submit, world};

fn connect(app: &TestApp) -> Database {
    Database::connect(&DatabaseTarget::parse(app.database_url()).unwrap(), 2).unwrap()
}

fn user(conn: &mut DbConnection, id: &str) -> portcullis_domain::directory::User {
    users::find(conn, UserId::from(id.parse::<uuid::Uuid>().unwrap()))
        .unwrap()
        .unwrap()
}

fn new_request(w: &World) -> NewRequest {
    NewRequest {
        flow_id: FlowId::from(w.flow.parse::<uuid::Uuid>().unwrap()),
        reason: "Review pull requests for the 3.2 release".to_owned(),
        duration_seconds: Some(3600),
        device_id: None,
        requester_id: None,
        resubmitted_from: None,
        form: Default::default(),
        extends_grant: None,
        starts_at: None,
    }
}

fn instant() -> chrono::DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The reading half of the creation of `w`'s request, as the server runs it.
fn prepare(conn: &mut DbConnection, w: &World) -> CreatePlan {
    let requester = user(conn, &w.requester);
    let settings = settings::get(conn).unwrap().settings;
    let ask = new_request(w);
    match requests::prepare_create(
        conn,
        &requester,
        &ask,
        &None,
        &settings,
        Recheck::Yes,
        instant(),
    ) {
        Ok(Prepared::Write(plan)) => plan,
        _ => panic!("the creation was not prepared"),
    }
}

/// The writing half, in a transaction of its own.
fn commit(
    conn: &mut DbConnection,
    plan: CreatePlan,
) -> Result<Written<(AccessRequest, bool)>, ApiError> {
    conn.transaction(|conn| {
        requests::commit_create(&mut Tx::new(conn, false), plan, Recheck::Yes, instant())
    })
}

async fn open_requests_of(app: &TestApp, requester: &str) -> Vec<serde_json::Value> {
    let list = expect_status(
        app.get("/v1/access-requests?status=pending", &app.admin_token)
            .await,
        StatusCode::OK,
    )
    .await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["requester_id"] == requester)
        .cloned()
        .collect()
}

both_backends! {
    async fn a_creation_prepared_before_an_approver_is_deactivated_is_prepared_again(app: TestApp) {
        let w = world(&app, "any").await;
        let db = connect(&app);
        let mut conn = db.writer().unwrap();
        let plan = prepare(&mut conn, &w);

        // Meanwhile an administrator deactivates a reviewer the plan resolved as an approver.
        let reviewer = &w.reviewers[0];
        expect_status(app.patch(&format!("/v1/users/{reviewer}"), &app.admin_token, &json!({ "active": false })).await, StatusCode::OK).await;

        assert!(matches!(commit(&mut conn, plan), Ok(Written::Stale)), "a stale plan must not be written");
        assert!(open_requests_of(&app, &w.requester).await.is_empty(), "nothing was stored");

        // Prepared again, the request leaves the deactivated reviewer out.
        let plan = prepare(&mut conn, &w);
        let Ok(Written::Done((created, false))) = commit(&mut conn, plan) else {
            panic!("the fresh plan was not written");
        };
        let reviewer_id = UserId::from(reviewer.parse::<uuid::Uuid>().unwrap());
        assert!(!created.involves(reviewer_id));
        let stored = open_requests_of(&app, &w.requester).await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0]["id"], created.id().to_string());
    }

    async fn a_creation_prepared_before_its_flow_changed_writes_nothing(app: TestApp) {
        let w = world(&app, "any").await;
        let db = connect(&app);
        let mut conn = db.writer().unwrap();
        let plan = prepare(&mut conn, &w);
        let flow = format!("/v1/approval-flows/{}", w.flow);
        expect_status(app.patch(&flow, &app.admin_token, &json!({ "approver_requirement": "all" })).await, StatusCode::OK).await;
        assert!(matches!(commit(&mut conn, plan), Ok(Written::Stale)));
        assert!(open_requests_of(&app, &w.requester).await.is_empty());
    }

    async fn a_decision_prepared_before_another_one_landed_is_prepared_again(app: TestApp) {
        let w = world(&app, "any").await;
        let created = submit(&app, &w).await;
        let id = RequestId::from(created["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap());
        let db = connect(&app);
        let mut conn = db.writer().unwrap();
        let reviewer = user(&mut conn, &w.reviewers[0]);
        let input = DecisionInput {
            verdict: Verdict::Approve,
            comment: None,
            reason: None,
            next_steps: None,
            is_override: false,
            internal_note: None,
            duration_seconds: None,
            via: portcullis_domain::request::Via::Api,
        };
        let now = instant();
        let Ok(Prepared::Write(plan)) = requests::prepare_decision(&mut conn, &reviewer, id, &input, now) else {
            panic!("the reviewer's approval was not prepared");
        };

        // The manager approves first, which satisfies the flow ("any"): the request is approved.
        let approved = expect_status(act(&app, &created["id"], "approve", &w.manager, json!({})).await, StatusCode::OK).await;
        assert_eq!(approved["status"], "approved");

        let written = conn.transaction(|conn| requests::commit_decision(&mut Tx::new(conn, false), plan, now));
        assert!(matches!(written, Ok(Written::Stale)), "the approval read a request that has changed");
        // Prepared again, the reviewer's approval meets a decided request and is refused.
        let again = requests::prepare_decision(&mut conn, &reviewer, id, &input, now);
        assert!(matches!(again, Err(ApiError::Conflict { .. })));
        let stored = expect_status(app.get(&format!("/v1/access-requests/{}", created["id"].as_str().unwrap()), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(stored["status"], "approved");
    }
}
