use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

/// A directory and a manual flow: the requester's manager, then every reviewer (require_all), in order.
pub struct World {
    pub flow: String,
    pub target: String,
    pub visible: String,
    pub manager: String,
    pub requester: String,
    pub reviewers: [String; 2],
}

pub async fn join(app: &TestApp, group: &str, user: &str) {
    let response = app
        .post(
            &format!("/v1/groups/{group}/members"),
            &app.admin_token,
            &json!({ "user_id": user }),
        )
        .await;
    expect_status(response, StatusCode::CREATED).await;
}

pub async fn world(app: &TestApp, requirement: &str) -> World {
    let target = app.create_group("GitHub Admins").await;
    let visible = app.create_group("Engineering").await;
    let reviewer_group = app.create_group("Security").await;
    let manager = app.create_user("max@example.org", "Max Manager").await;
    let requester = app
        .create_user_with(
            json!({ "email": "riley@example.org", "display_name": "Riley", "manager_id": manager }),
        )
        .await;
    let reviewers = [
        app.create_user("sam@example.org", "Sam").await,
        app.create_user("kim@example.org", "Kim").await,
    ];
    join(app, &visible, &requester).await;
    for reviewer in &reviewers {
        join(app, &reviewer_group, reviewer).await;
    }
    // The requester is in the reviewer group too: they must still never approve their own request.
    join(app, &reviewer_group, &requester).await;
    let flow = json!({
        "kind": "resource_request", "name": "GitHub Admin", "display": { "color": "#24292f" },
        "target_group_id": target, "visibility_group_ids": [visible],
        "timed_access": { "mode": "choices", "durations_seconds": [3600, 86400] },
        "approval_type": "manual",
        "approvers": [{ "type": "requester_manager" }, { "type": "user_group", "group_id": reviewer_group, "require_all": true }],
        "approver_requirement": requirement
    });
    let flow = expect_status(
        app.post("/v1/approval-flows", &app.admin_token, &flow)
            .await,
        StatusCode::CREATED,
    )
    .await;
    World {
        flow: flow["id"].as_str().unwrap().to_owned(),
        target,
        visible,
        manager,
        requester,
        reviewers,
    }
}

pub fn request_body(w: &World) -> Value {
    json!({ "flow_id": w.flow, "reason": "Review pull requests for the 3.2 release", "duration_seconds": 3600 })
}

pub async fn submit(app: &TestApp, w: &World) -> Value {
    expect_status(
        app.post(
            "/v1/access-requests",
            &app.token_for(&w.requester),
            &request_body(w),
        )
        .await,
        StatusCode::CREATED,
    )
    .await
}

pub async fn act(
    app: &TestApp,
    id: &Value,
    action: &str,
    who: &str,
    body: Value,
) -> reqwest::Response {
    app.post(
        &format!("/v1/access-requests/{}/{action}", id.as_str().unwrap()),
        &app.token_for(who),
        &body,
    )
    .await
}

pub async fn events_of(app: &TestApp, id: &Value, event_type: &str) -> Vec<Value> {
    let path = format!(
        "/v1/events?subject_id={}&type={event_type}",
        id.as_str().unwrap()
    );
    expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

pub async fn grant_memberships(app: &TestApp, group: &str, user: &str) -> Vec<Value> {
    let members = expect_status(
        app.get(&format!("/v1/groups/{group}/members"), &app.admin_token)
            .await,
        StatusCode::OK,
    )
    .await;
    members["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["user_id"] == user)
        .cloned()
        .collect()
}

both_backends! {
    async fn all_in_order_keeps_later_approvers_out_until_the_manager_approves(app: TestApp) {
        let w = world(&app, "all_in_order").await;
        let request = submit(&app, &w).await;
        let id = &request["id"];
        assert_eq!((request["steps"][0]["state"].as_str(), request["steps"][1]["state"].as_str()), (Some("active"), Some("waiting")));
        let approvers: HashSet<&str> = request["steps"][1]["approver_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(approvers, HashSet::from([w.reviewers[0].as_str(), w.reviewers[1].as_str()]), "the requester is left out");

        expect_problem(act(&app, id, "approve", &w.reviewers[0], json!({})).await, StatusCode::FORBIDDEN).await;
        let after_manager = expect_status(act(&app, id, "approve", &w.manager, json!({ "comment": "fine by me" })).await, StatusCode::OK).await;
        assert_eq!((after_manager["status"].as_str(), after_manager["steps"][1]["state"].as_str()), (Some("pending"), Some("active")));
        assert_eq!(after_manager["steps"][0]["decisions"][0]["comment"], "fine by me");

        // require_all: one reviewer is not enough.
        let one = expect_status(act(&app, id, "approve", &w.reviewers[0], json!({})).await, StatusCode::OK).await;
        assert_eq!(one["status"], "pending");
        expect_problem(act(&app, id, "approve", &w.reviewers[0], json!({})).await, StatusCode::CONFLICT).await;
        let done = expect_status(act(&app, id, "approve", &w.reviewers[1], json!({})).await, StatusCode::OK).await;
        assert_eq!(done["status"], "approved");

        let grants = expect_status(app.get("/v1/me/grants", &app.token_for(&w.requester)).await, StatusCode::OK).await;
        assert_eq!(grants["items"].as_array().unwrap().len(), 1);
        assert!(grants["items"][0]["expires_at"].is_string(), "a timed grant");
        let memberships = grant_memberships(&app, &w.target, &w.requester).await;
        assert_eq!((memberships.len(), memberships[0]["source"].as_str()), (1, Some("grant")));
        assert_eq!(events_of(&app, id, "access_management_access_request_approval").await.len(), 1);
        let change = events_of(&app, id, "access_management_association_change").await;
        assert_eq!((change.len(), change[0]["data"]["flow_version"].as_i64()), (1, Some(1)));
    }

    async fn deny_wins_and_the_requester_can_resubmit(app: TestApp) {
        let w = world(&app, "all").await;
        let request = submit(&app, &w).await;
        let id = &request["id"];
        expect_status(act(&app, id, "approve", &w.reviewers[0], json!({})).await, StatusCode::OK).await;
        let body = json!({ "reason": "Not for this role", "next_steps": "Ask for GitHub Write", "comment": "sorry" });
        let denied = expect_status(act(&app, id, "deny", &w.reviewers[1], body).await, StatusCode::OK).await;
        assert_eq!((denied["status"].as_str(), denied["decision"]["next_steps"].as_str()), (Some("denied"), Some("Ask for GitHub Write")));
        expect_problem(act(&app, id, "approve", &w.manager, json!({})).await, StatusCode::CONFLICT).await;
        assert!(grant_memberships(&app, &w.target, &w.requester).await.is_empty());

        let again = expect_status(act(&app, id, "resubmit", &w.requester, json!({ "reason": "I need it to configure the release" })).await, StatusCode::CREATED).await;
        assert_eq!((again["status"].as_str(), again["resubmitted_from"].as_str()), (Some("pending"), id.as_str()));
    }

    async fn nobody_decides_their_own_request_and_only_admins_override(app: TestApp) {
        let w = world(&app, "any").await;
        let request = submit(&app, &w).await;
        let id = &request["id"];
        expect_problem(act(&app, id, "approve", &w.requester, json!({})).await, StatusCode::FORBIDDEN).await;
        expect_problem(act(&app, id, "approve", &w.manager, json!({ "override": true })).await, StatusCode::FORBIDDEN).await;
        let outsider = app.create_user("out@example.org", "Outsider").await;
        expect_problem(act(&app, id, "approve", &outsider, json!({})).await, StatusCode::NOT_FOUND).await;

        let body = json!({ "override": true, "comment": "urgent fix", "internal_note": "approved by phone with the CISO" });
        let response = app.post(&format!("/v1/access-requests/{}/approve", id.as_str().unwrap()), &app.admin_token, &body).await;
        let approved = expect_status(response, StatusCode::OK).await;
        assert_eq!((approved["status"].as_str(), approved["decision"]["override"].as_bool()), (Some("approved"), Some(true)));
        let event = &events_of(&app, id, "access_management_access_request_approval").await[0];
        assert_eq!(event["data"]["internal_note"], "approved by phone with the CISO");
        let seen_by_requester = expect_status(app.get(&format!("/v1/access-requests/{}", id.as_str().unwrap()), &app.token_for(&w.requester)).await, StatusCode::OK).await;
        assert!(!seen_by_requester.to_string().contains("CISO"), "internal notes stay in the audit log");
    }

    async fn only_the_requester_cancels_and_only_once(app: TestApp) {
        let w = world(&app, "any").await;
        let request = submit(&app, &w).await;
        let id = &request["id"];
        expect_problem(act(&app, id, "cancel", &w.manager, json!({})).await, StatusCode::FORBIDDEN).await;
        let canceled = expect_status(act(&app, id, "cancel", &w.requester, json!({})).await, StatusCode::OK).await;
        assert_eq!(canceled["status"], "canceled");
        expect_problem(act(&app, id, "cancel", &w.requester, json!({})).await, StatusCode::CONFLICT).await;
        // A canceled request no longer blocks a new one.
        submit(&app, &w).await;
    }

    async fn one_open_request_per_requester_and_flow(app: TestApp) {
        let w = world(&app, "any").await;
        let first = submit(&app, &w).await;
        let response = app.post("/v1/access-requests", &app.token_for(&w.requester), &request_body(&w)).await;
        assert_eq!(expect_problem(response, StatusCode::CONFLICT).await["existing_id"], first["id"]);
    }

    async fn an_idempotency_key_replays_the_first_result(app: TestApp) {
        let w = world(&app, "any").await;
        let token = app.token_for(&w.requester);
        let send = |body: Value| {
            app.request(Method::POST, "/v1/access-requests", Some(&token)).header("Idempotency-Key", "key-1").json(&body).send()
        };
        let first = expect_status(send(request_body(&w)).await.unwrap(), StatusCode::CREATED).await;
        let replay = expect_status(send(request_body(&w)).await.unwrap(), StatusCode::CREATED).await;
        assert_eq!(replay["id"], first["id"]);
        let mut other = request_body(&w);
        other["duration_seconds"] = json!(86400);
        let problem = expect_problem(send(other).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["Idempotency-Key"]);
    }

    async fn creation_checks_visibility_settings_duration_and_on_behalf_rights(app: TestApp) {
        let w = world(&app, "any").await;
        let outsider = app.create_user("out@example.org", "Outsider").await;
        let response = app.post("/v1/access-requests", &app.token_for(&outsider), &request_body(&w)).await;
        expect_problem(response, StatusCode::NOT_FOUND).await;

        let mut body = request_body(&w);
        body["duration_seconds"] = json!(7200);
        let response = app.post("/v1/access-requests", &app.token_for(&w.requester), &body).await;
        assert_eq!(error_fields(&expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await), ["duration_seconds"]);
        body["duration_seconds"] = json!(3600);
        body["reason"] = json!("too short");
        let response = app.post("/v1/access-requests", &app.token_for(&w.requester), &body).await;
        assert_eq!(error_fields(&expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await), ["reason"]);

        let mut on_behalf = request_body(&w);
        on_behalf["requester_id"] = json!(w.requester);
        let response = app.post("/v1/access-requests", &app.token_for(&w.manager), &on_behalf).await;
        expect_problem(response, StatusCode::FORBIDDEN).await;
        let bot = app.create_user_with(json!({ "email": "hr-bot@example.org", "display_name": "HR bot", "kind": "integration" })).await;
        let created = expect_status(app.post("/v1/access-requests", &app.token_for(&bot), &on_behalf).await, StatusCode::CREATED).await;
        assert_eq!(created["requester_id"], w.requester.as_str());
        expect_problem(act(&app, &created["id"], "approve", &bot, json!({})).await, StatusCode::FORBIDDEN).await;

        let mut settings = expect_status(app.get("/v1/settings", &app.admin_token).await, StatusCode::OK).await;
        settings.as_object_mut().unwrap().retain(|k, _| k != "version" && k != "updated_at");
        settings["resource_requests_enabled"] = json!(false);
        let response = app.request(Method::PUT, "/v1/settings", Some(&app.admin_token)).json(&settings).send().await.unwrap();
        expect_status(response, StatusCode::OK).await;
        let other = app.create_user("new@example.org", "New").await;
        join(&app, &w.visible, &other).await;
        let response = app.post("/v1/access-requests", &app.token_for(&other), &request_body(&w)).await;
        expect_problem(response, StatusCode::FORBIDDEN).await;
    }

    async fn only_a_current_membership_of_a_visibility_group_lets_someone_request(app: TestApp) {
        use diesel::connection::SimpleConnection;
        use portcullis_persistence::{Database, DatabaseTarget};

        let w = world(&app, "any").await;
        let lee = app.create_user_with(json!({ "email": "lee@example.org", "display_name": "Lee", "manager_id": w.manager })).await;
        // A membership of the visibility group that has expired (only grants make such; written
        // here directly).
        let database = Database::connect(&DatabaseTarget::parse(app.database_url()).unwrap(), 1).unwrap();
        let membership = uuid::Uuid::now_v7();
        let write = |sql: String| database.writer().unwrap().batch_execute(&sql).unwrap();
        write(format!(
            "INSERT INTO memberships (id, group_id, user_id, source, expires_at, created_at) \
             VALUES ('{membership}', '{}', '{lee}', 'grant', '2000-01-02 00:00:00', '2000-01-01 00:00:00')",
            w.visible
        ));
        let token = app.token_for(&lee);
        expect_problem(app.post("/v1/access-requests", &token, &request_body(&w)).await, StatusCode::NOT_FOUND).await;

        write(format!("UPDATE memberships SET expires_at = '2999-01-01 00:00:00' WHERE id = '{membership}'"));
        let created = expect_status(app.post("/v1/access-requests", &token, &request_body(&w)).await, StatusCode::CREATED).await;
        let problem = expect_problem(app.post("/v1/access-requests", &token, &request_body(&w)).await, StatusCode::CONFLICT).await;
        assert_eq!(problem["existing_id"], created["id"], "the open request through the flow");
        // Someone else's open request through the flow is not the new requester's.
        expect_status(app.post("/v1/access-requests", &app.token_for(&w.requester), &request_body(&w)).await, StatusCode::CREATED).await;
    }

    async fn a_manager_change_puts_the_request_in_error_and_retry_re_resolves(app: TestApp) {
        let w = world(&app, "any").await;
        let request = submit(&app, &w).await;
        let id = &request["id"];
        let new_manager = app.create_user("nina@example.org", "Nina").await;
        let response = app.patch(&format!("/v1/users/{}", w.requester), &app.admin_token, &json!({ "manager_id": new_manager })).await;
        expect_status(response, StatusCode::OK).await;
        let failed = expect_status(app.get(&format!("/v1/access-requests/{}", id.as_str().unwrap()), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(failed["status"], "error");
        assert!(failed["error"].as_str().unwrap().contains("manager"));
        expect_problem(act(&app, id, "approve", &w.manager, json!({})).await, StatusCode::CONFLICT).await;
        expect_problem(act(&app, id, "retry", &w.requester, json!({})).await, StatusCode::FORBIDDEN).await;

        let retried = expect_status(app.post(&format!("/v1/access-requests/{}/retry", id.as_str().unwrap()), &app.admin_token, &json!({})).await, StatusCode::OK).await;
        assert_eq!((retried["status"].as_str(), retried["steps"][0]["approver_ids"][0].as_str()), (Some("pending"), Some(new_manager.as_str())));
        let approved = expect_status(act(&app, id, "approve", &new_manager, json!({})).await, StatusCode::OK).await;
        assert_eq!(approved["status"], "approved");
    }

    async fn editing_approvers_or_deactivating_one_fails_pending_requests_and_deleting_the_flow_cancels(app: TestApp) {
        let w = world(&app, "any").await;
        let first = submit(&app, &w).await;
        expect_status(app.patch(&format!("/v1/users/{}", w.reviewers[0]), &app.admin_token, &json!({ "active": false })).await, StatusCode::OK).await;
        let failed = expect_status(app.get(&format!("/v1/access-requests/{}", first["id"].as_str().unwrap()), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(failed["status"], "error");
        expect_status(app.post(&format!("/v1/access-requests/{}/cancel", first["id"].as_str().unwrap()), &app.admin_token, &json!({})).await, StatusCode::OK).await;

        let second = submit(&app, &w).await;
        let flow = format!("/v1/approval-flows/{}", w.flow);
        expect_status(app.patch(&flow, &app.admin_token, &json!({ "approver_requirement": "all" })).await, StatusCode::OK).await;
        let failed = expect_status(app.get(&format!("/v1/access-requests/{}", second["id"].as_str().unwrap()), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(failed["status"], "error");

        expect_status(app.delete(&flow, &app.admin_token).await, StatusCode::NO_CONTENT).await;
        let canceled = expect_status(app.get(&format!("/v1/access-requests/{}", second["id"].as_str().unwrap()), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(canceled["status"], "canceled");
    }

    async fn deactivating_an_approver_of_a_later_step_or_one_who_decided_fails_the_request(app: TestApp) {
        let w = world(&app, "all_in_order").await;
        let status = |id: Value| {
            let app = &app;
            async move {
                let path = format!("/v1/access-requests/{}", id.as_str().unwrap());
                expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await["status"].clone()
            }
        };
        let set_active = |user: String, active: bool| {
            let app = &app;
            async move {
                let response = app.patch(&format!("/v1/users/{user}"), &app.admin_token, &json!({ "active": active })).await;
                expect_status(response, StatusCode::OK).await;
            }
        };
        let tasks_of = |user: String| {
            let app = &app;
            async move {
                let page = expect_status(app.get("/v1/me/tasks", &app.token_for(&user)).await, StatusCode::OK).await;
                page["items"].as_array().unwrap().iter().map(|t| t["access_request"]["id"].clone()).collect::<Vec<Value>>()
            }
        };
        // The reviewers' step comes after the manager's: they do not await yet.
        let first = submit(&app, &w).await["id"].clone();
        assert!(tasks_of(w.reviewers[1].clone()).await.is_empty(), "not the reviewers' turn yet");
        set_active(w.reviewers[1].clone(), false).await;
        assert_eq!(status(first.clone()).await, "error");
        expect_status(act(&app, &first, "cancel", &app.admin_id, json!({})).await, StatusCode::OK).await;
        set_active(w.reviewers[1].clone(), true).await;

        // A reviewer who has approved no longer awaits, and still counts while the request is pending.
        let second = submit(&app, &w).await["id"].clone();
        expect_status(act(&app, &second, "approve", &w.manager, json!({})).await, StatusCode::OK).await;
        assert_eq!(tasks_of(w.reviewers[0].clone()).await, std::slice::from_ref(&second), "the reviewers' turn");
        expect_status(act(&app, &second, "approve", &w.reviewers[0], json!({})).await, StatusCode::OK).await;
        assert!(tasks_of(w.reviewers[0].clone()).await.is_empty());
        assert_eq!(tasks_of(w.reviewers[1].clone()).await, std::slice::from_ref(&second));
        set_active(w.reviewers[0].clone(), false).await;
        assert_eq!(status(second).await, "error");
    }

}

/// Two server processes on one PostgreSQL run the jobs at once: each expiry happens, and is
/// recorded, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    postgres_tests_skipped,
    ignore = "set TEST_DATABASE_URL to run the PostgreSQL tests"
)]
async fn two_server_processes_expire_each_request_exactly_once() {
    let Some(app) = TestApp::spawn_postgres().await else {
        return;
    };
    // Requests made "31 days ago": already past their expiry for servers on the real clock.
    app.clock.advance(-chrono::Duration::days(31));
    let w = world(&app, "any").await;
    let mut ids = Vec::new();
    for n in 0..6 {
        let body = json!({ "email": format!("r{n}@example.org"), "display_name": format!("R{n}"), "manager_id": w.manager });
        let user = app.create_user_with(body).await;
        join(&app, &w.visible, &user).await;
        let created = expect_status(
            app.post(
                "/v1/access-requests",
                &app.token_for(&user),
                &request_body(&w),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        ids.push(created["id"].clone());
    }
    let start = || {
        std::process::Command::new(server_binary())
            .arg("serve")
            .env("DATABASE_URL", app.database_url())
            .env("PORTCULLIS_JWT_SECRET", SECRET)
            .env("PORTCULLIS_BIND", "127.0.0.1:0")
            .env("PORTCULLIS_JOB_INTERVAL_SECONDS", "1")
            .env("PORTCULLIS_LOG_FORMAT", "json")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut servers = [start(), start()];
    eventually("every request expires", || async {
        let path = "/v1/events?type=access_management_access_request_expire&limit=200";
        let page = expect_status(app.get(path, &app.admin_token).await, StatusCode::OK).await;
        page["items"].as_array().unwrap().len() >= ids.len()
    })
    .await;
    // A few more passes of both processes, so a duplicate would show.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    for server in &mut servers {
        server.kill().unwrap();
        server.wait().unwrap();
    }
    for id in &ids {
        assert_eq!(
            events_of(&app, id, "access_management_access_request_expire")
                .await
                .len(),
            1,
            "request {id}"
        );
        let request = expect_status(
            app.get(
                &format!("/v1/access-requests/{}", id.as_str().unwrap()),
                &app.admin_token,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(request["status"], "expired");
    }
}

/// The display names of a request's `approvers`, as `viewer` gets them.
async fn approver_names(app: &TestApp, request: &Value, viewer: &str) -> Vec<String> {
    let path = format!("/v1/access-requests/{}", request["id"].as_str().unwrap());
    let detail = expect_status(app.get(&path, &app.token_for(viewer)).await, StatusCode::OK).await;
    detail["approvers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|person| {
            assert!(person["email"].as_str().unwrap().contains('@'), "{person}");
            person["display_name"].as_str().unwrap().to_owned()
        })
        .collect()
}

both_backends! {
    async fn a_request_names_its_approvers_unless_progress_is_hidden_from_its_requester(app: TestApp) {
        let w = world(&app, "all_in_order").await;
        let request = submit(&app, &w).await;
        let names = approver_names(&app, &request, &w.requester).await;
        assert_eq!(names[0], "Max Manager", "the first step's approver first: {names:?}");
        assert_eq!(names[1..].iter().collect::<HashSet<_>>(), HashSet::from([&"Sam".to_owned(), &"Kim".to_owned()]));

        let mut settings = expect_status(app.get("/v1/settings", &app.admin_token).await, StatusCode::OK).await;
        for key in ["version", "updated_at"] {
            settings.as_object_mut().unwrap().remove(key);
        }
        settings["show_approval_progress"] = json!(false);
        let put = app.request(Method::PUT, "/v1/settings", Some(&app.admin_token)).json(&settings).send().await.unwrap();
        expect_status(put, StatusCode::OK).await;

        assert!(approver_names(&app, &request, &w.requester).await.is_empty(), "hidden from the requester");
        assert_eq!(approver_names(&app, &request, &w.manager).await.len(), 3, "an approver still sees who approves");
    }
}
