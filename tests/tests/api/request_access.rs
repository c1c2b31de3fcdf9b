//! What approved requests give, over time: grants (automatic, shortened, given up, expired),
//! device-admin sessions, reassignment and comments, and concurrent approvals.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;
use crate::requests::*;

both_backends! {
    async fn automatic_flows_grant_at_once(app: TestApp) {
        let w = world(&app, "any").await;
        let response = app.patch(&format!("/v1/approval-flows/{}", w.flow), &app.admin_token,
            &json!({ "approval_type": "automatic", "approvers": [], "approver_requirement": null, "timed_access": null })).await;
        expect_status(response, StatusCode::OK).await;
        let mut body = request_body(&w);
        body.as_object_mut().unwrap().remove("duration_seconds");
        let request = expect_status(app.post("/v1/access-requests", &app.token_for(&w.requester), &body).await, StatusCode::CREATED).await;
        assert_eq!(request["status"], "approved");
        let memberships = grant_memberships(&app, &w.target, &w.requester).await;
        assert_eq!(memberships.len(), 1);
        assert!(memberships[0]["expires_at"].is_null(), "untimed access");
    }

    async fn reassign_and_comments(app: TestApp) {
        let w = world(&app, "all_in_order").await;
        let request = submit(&app, &w).await;
        let id = &request["id"];
        let deputy = app.create_user("dee@example.org", "Deputy").await;
        let reassigned = expect_status(act(&app, id, "reassign", &w.manager, json!({ "to_user_id": deputy })).await, StatusCode::OK).await;
        assert_eq!(reassigned["steps"][0]["approver_ids"], json!([deputy]));
        // The approver index was rewritten: the task moved from the manager to the deputy.
        let server = &app;
        let tasks = |user: String| {
            let token = server.token_for(&user);
            async move {
                let page = expect_status(server.get("/v1/me/tasks", &token).await, StatusCode::OK).await;
                page["items"].as_array().unwrap().iter().map(|r| r["access_request"]["id"].clone()).collect::<Vec<_>>()
            }
        };
        assert_eq!(tasks(deputy.clone()).await, std::slice::from_ref(id));
        assert!(tasks(w.manager.clone()).await.is_empty(), "the manager no longer has the task");
        expect_problem(act(&app, id, "approve", &w.manager, json!({})).await, StatusCode::NOT_FOUND).await;

        let comment = expect_status(act(&app, id, "comments", &w.requester, json!({ "body": "Thanks for looking" })).await, StatusCode::CREATED).await;
        assert_eq!(comment["author_id"], w.requester.as_str());
        expect_status(act(&app, id, "comments", &deputy, json!({ "body": "Which repositories?" })).await, StatusCode::CREATED).await;
        let outsider = app.create_user("out@example.org", "Outsider").await;
        expect_problem(act(&app, id, "comments", &outsider, json!({ "body": "hello" })).await, StatusCode::NOT_FOUND).await;
        let path = format!("/v1/access-requests/{}/comments", id.as_str().unwrap());
        let comments = expect_status(app.get(&path, &app.token_for(&w.requester)).await, StatusCode::OK).await;
        let bodies: Vec<&str> = comments.as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
        assert_eq!(bodies, ["Thanks for looking", "Which repositories?"]);
        let unchanged = expect_status(app.get(&format!("/v1/access-requests/{}", id.as_str().unwrap()), &app.token_for(&w.requester)).await, StatusCode::OK).await;
        assert_eq!(unchanged["status"], "pending", "comments never change the status");
    }

    async fn twenty_concurrent_approvals_grant_exactly_once(app: TestApp) {
        let w = world(&app, "any").await;
        let crowd = app.create_group("Crowd").await;
        let mut approvers = Vec::new();
        for n in 0..20 {
            let user = app.create_user(&format!("a{n}@example.org"), &format!("Approver {n}")).await;
            join(&app, &crowd, &user).await;
            approvers.push(user);
        }
        let response = app.patch(&format!("/v1/approval-flows/{}", w.flow), &app.admin_token,
            &json!({ "approvers": [{ "type": "user_group", "group_id": crowd }], "approver_requirement": "any" })).await;
        expect_status(response, StatusCode::OK).await;
        let request = submit(&app, &w).await;
        let id = request["id"].as_str().unwrap().to_owned();
        let calls = approvers.iter().map(|user| {
            let (client, url, token) = (app.client.clone(), app.url(&format!("/v1/access-requests/{id}/approve")), app.token_for(user));
            tokio::spawn(async move { client.post(url).bearer_auth(token).json(&json!({})).send().await.unwrap().status() })
        });
        let statuses: Vec<StatusCode> = futures_util::future::join_all(calls).await.into_iter().map(Result::unwrap).collect();
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT), "{statuses:?}");
        let id = json!(id);
        assert_eq!(events_of(&app, &id, "access_management_access_request_approval").await.len(), 1);
        assert_eq!(grant_memberships(&app, &w.target, &w.requester).await.len(), 1);
        let grants = expect_status(app.get(&format!("/v1/grants?user_id={}", w.requester), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(grants["items"].as_array().unwrap().len(), 1);
    }

    async fn with_a_moved_clock_requests_expire_and_grants_end_but_direct_membership_stays(app: TestApp) {
        let w = world(&app, "any").await;
        let pending = submit(&app, &w).await;
        // A second requester gets a timed grant and also holds a direct membership of the target group.
        let holder = app.create_user_with(json!({ "email": "hal@example.org", "display_name": "Hal", "manager_id": w.manager })).await;
        join(&app, &w.visible, &holder).await;
        join(&app, &w.target, &holder).await;
        let request = expect_status(app.post("/v1/access-requests", &app.token_for(&holder), &request_body(&w)).await, StatusCode::CREATED).await;
        expect_status(app.post(&format!("/v1/access-requests/{}/approve", request["id"].as_str().unwrap()), &app.admin_token, &json!({ "override": true })).await, StatusCode::OK).await;
        assert_eq!(grant_memberships(&app, &w.target, &holder).await.len(), 2);

        app.clock.advance(chrono::Duration::hours(2));
        eventually("the timed grant ends", || async {
            let grants = expect_status(app.get(&format!("/v1/grants?user_id={holder}"), &app.admin_token).await, StatusCode::OK).await;
            grants["items"][0]["status"] == "expired"
        }).await;
        let left = grant_memberships(&app, &w.target, &holder).await;
        assert_eq!((left.len(), left[0]["source"].as_str()), (1, Some("direct")), "the direct membership survives");
        let still = expect_status(app.get(&format!("/v1/access-requests/{}", pending["id"].as_str().unwrap()), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(still["status"], "pending");

        app.clock.advance(chrono::Duration::days(30));
        eventually("the pending request expires", || async {
            let r = expect_status(app.get(&format!("/v1/access-requests/{}", pending["id"].as_str().unwrap()), &app.admin_token).await, StatusCode::OK).await;
            r["status"] == "expired"
        }).await;
        assert_eq!(events_of(&app, &pending["id"], "access_management_access_request_expire").await.len(), 1);
    }

    async fn device_admin_sessions_start_once_and_end(app: TestApp) {
        let w = world(&app, "any").await;
        let device = expect_status(app.post("/v1/devices", &app.admin_token, &json!({ "name": "riley-mac", "os": "macos", "assigned_user_ids": [w.requester], "certificate_fingerprint": DEVICE_CERTIFICATE })).await, StatusCode::CREATED).await;
        let flow = json!({
            "kind": "device_admin", "name": "Laptop admin", "display": { "logo": "apple" },
            "visibility_group_ids": [w.visible], "session_durations_seconds": [900],
            "approval_type": "manual", "approvers": [{ "type": "administrator" }]
        });
        let flow = expect_status(app.post("/v1/approval-flows", &app.admin_token, &flow).await, StatusCode::CREATED).await;
        let token = app.token_for(&w.requester);
        let other = expect_status(app.post("/v1/devices", &app.admin_token, &json!({ "name": "other", "os": "linux" })).await, StatusCode::CREATED).await;
        let body = |device: &Value| json!({ "flow_id": flow["id"], "reason": "Install the signing toolchain", "device_id": device["id"] });
        let response = app.post("/v1/access-requests", &token, &body(&other)).await;
        assert_eq!(error_fields(&expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await), ["device_id"]);
        let request = expect_status(app.post("/v1/access-requests", &token, &body(&device)).await, StatusCode::CREATED).await;
        assert_eq!(request["duration_seconds"], 900, "a single session length applies without asking");
        let id = request["id"].as_str().unwrap();
        expect_problem(app.post(&format!("/v1/access-requests/{id}/start-session"), &token, &json!({})).await, StatusCode::CONFLICT).await;
        expect_status(app.post(&format!("/v1/access-requests/{id}/approve"), &app.admin_token, &json!({})).await, StatusCode::OK).await;

        let session = expect_status(app.post(&format!("/v1/access-requests/{id}/start-session"), &token, &json!({})).await, StatusCode::CREATED).await;
        expect_problem(app.post(&format!("/v1/access-requests/{id}/start-session"), &token, &json!({})).await, StatusCode::CONFLICT).await;
        let active = expect_status(app.get("/v1/device-admin-sessions?active=true", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(active["items"][0]["id"], session["id"]);

        app.clock.advance(chrono::Duration::minutes(16));
        eventually("the session ends", || async {
            let active = expect_status(app.get("/v1/device-admin-sessions?active=false", &app.admin_token).await, StatusCode::OK).await;
            active["items"].as_array().unwrap().len() == 1 && active["items"][0]["ended_at"].is_string()
        }).await;
        let path = format!("/v1/device-admin-sessions/{}/end", session["id"].as_str().unwrap());
        expect_problem(app.post(&path, &app.admin_token, &json!({})).await, StatusCode::CONFLICT).await;
    }

    async fn the_completing_approval_may_shorten_the_duration_but_never_lengthen_it(app: TestApp) {
        let w = world(&app, "all_in_order").await;
        let request = submit(&app, &w).await;
        let id = &request["id"];
        let response = act(&app, id, "approve", &w.manager, json!({ "duration_seconds": 1800 })).await;
        expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        expect_status(act(&app, id, "approve", &w.manager, json!({})).await, StatusCode::OK).await;
        expect_status(act(&app, id, "approve", &w.reviewers[0], json!({})).await, StatusCode::OK).await;
        let response = act(&app, id, "approve", &w.reviewers[1], json!({ "duration_seconds": 7200 })).await;
        expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        let approved = expect_status(act(&app, id, "approve", &w.reviewers[1], json!({ "duration_seconds": 1800 })).await, StatusCode::OK).await;
        assert_eq!((approved["status"].as_str(), approved["duration_seconds"].as_i64()), (Some("approved"), Some(1800)));
        let grants = expect_status(app.get("/v1/me/grants", &app.token_for(&w.requester)).await, StatusCode::OK).await;
        let grant = &grants["items"][0];
        let granted = chrono::DateTime::parse_from_rfc3339(grant["granted_at"].as_str().unwrap()).unwrap();
        let expires = chrono::DateTime::parse_from_rfc3339(grant["expires_at"].as_str().unwrap()).unwrap();
        assert_eq!((expires - granted).num_seconds(), 1800);
    }

    async fn the_holder_gives_up_a_grant_early(app: TestApp) {
        let w = world(&app, "any").await;
        let request = submit(&app, &w).await;
        expect_status(act(&app, &request["id"], "approve", &w.manager, json!({})).await, StatusCode::OK).await;
        let token = app.token_for(&w.requester);
        let grants = expect_status(app.get("/v1/me/grants", &token).await, StatusCode::OK).await;
        let grant = grants["items"][0]["id"].as_str().unwrap().to_owned();
        expect_problem(app.delete(&format!("/v1/grants/{grant}"), &app.token_for(&w.manager)).await, StatusCode::NOT_FOUND).await;
        expect_status(app.delete(&format!("/v1/grants/{grant}"), &token).await, StatusCode::NO_CONTENT).await;
        assert!(grant_memberships(&app, &w.target, &w.requester).await.is_empty());
        expect_problem(app.delete(&format!("/v1/grants/{grant}"), &app.admin_token).await, StatusCode::CONFLICT).await;
    }
}
