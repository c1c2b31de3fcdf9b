//! Issue 27, break-glass flows: access at once with a long reason, flagged everywhere; a review task
//! in the administrators' Action Required that confirms or revokes; the per-person rate limit holds
//! (also against concurrent submissions). The alerts (email, webhook, Slack) are in `notifications`.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;
use crate::requests::{act, events_of, grant_memberships, join};

mod notifications;

/// A reason long enough for a break-glass request (40 characters at least).
const EMERGENCY: &str = "Production database is down: restoring it from last night's backup";

/// The people and flow of a break-glass scenario: Riley (a person) may use the flow; the
/// administrators are the app's admin and Olga.
pub(crate) struct Glass {
    pub flow: String,
    pub target: String,
    pub visible: String,
    pub requester: String,
    pub olga: String,
}

pub(crate) fn flow_body(target: &str, visible: &str, name: &str) -> Value {
    json!({
        "kind": "resource_request", "name": name, "display": { "color": "#cc0000" },
        "target_group_id": target, "visibility_group_ids": [visible],
        "timed_access": { "mode": "fixed", "durations_seconds": [3600] },
        "approval_type": "automatic", "break_glass": true
    })
}

pub(crate) async fn new_flow(app: &TestApp, g: &Glass, name: &str) -> String {
    let response = app
        .post(
            "/v1/approval-flows",
            &app.admin_token,
            &flow_body(&g.target, &g.visible, name),
        )
        .await;
    expect_status(response, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) async fn glass(app: &TestApp) -> Glass {
    let target = app.create_group("Production DB admins").await;
    let visible = app.create_group("On-call").await;
    let requester = app.create_user("riley@example.org", "Riley").await;
    let olga = app
        .create_user_with(
            json!({ "email": "olga@example.org", "display_name": "Olga Ops", "is_admin": true }),
        )
        .await;
    join(app, &visible, &requester).await;
    let mut g = Glass {
        flow: String::new(),
        target,
        visible,
        requester,
        olga,
    };
    g.flow = new_flow(app, &g, "Production DB break-glass").await;
    g
}

pub(crate) async fn break_glass(app: &TestApp, flow: &str, who: &str) -> reqwest::Response {
    let body = json!({ "flow_id": flow, "reason": EMERGENCY });
    app.post("/v1/access-requests", &app.token_for(who), &body)
        .await
}

async fn review(app: &TestApp, id: &Value, who: &str, body: Value) -> reqwest::Response {
    act(app, id, "review", who, body).await
}

async fn detail(app: &TestApp, id: &Value) -> Value {
    let path = format!("/v1/access-requests/{}", id.as_str().unwrap());
    expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await
}

/// The `review` items of `who`'s Action Required.
async fn reviews_of(app: &TestApp, who: &str) -> Vec<Value> {
    let tasks = expect_status(
        app.get("/v1/me/tasks?action=review", &app.token_for(who))
            .await,
        StatusCode::OK,
    )
    .await;
    tasks["items"].as_array().unwrap().clone()
}

both_backends! {
    async fn a_break_glass_request_is_granted_at_once_flagged_and_waits_for_review(app: TestApp) {
        let g = glass(&app).await;
        let created = expect_status(break_glass(&app, &g.flow, &g.requester).await, StatusCode::CREATED).await;
        let id = &created["id"];
        assert_eq!((created["status"].as_str(), created["break_glass"].as_bool()), (Some("approved"), Some(true)));
        assert_eq!((created["review"]["type"].as_str(), created["review"]["state"].as_str()), (Some("review"), Some("open")));
        let reviewers: Vec<&str> = created["review"]["assignee_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert!(reviewers.contains(&app.admin_id.as_str()) && reviewers.contains(&g.olga.as_str()) && reviewers.len() == 2);
        assert!(created["fulfilment"].is_null(), "a review is no fulfilment");

        // Access at once: a timed grant and its membership.
        let seen = detail(&app, id).await;
        assert_eq!((seen["grant"]["status"].as_str(), seen["grant"]["request_id"].as_str()), (Some("active"), id.as_str()));
        let memberships = grant_memberships(&app, &g.target, &g.requester).await;
        assert_eq!((memberships.len(), memberships[0]["source"].as_str()), (1, Some("grant")));
        assert!(memberships[0]["expires_at"].is_string(), "short, timed access");

        // Flagged: every event of the request, and the alert among them.
        let history = seen["history"].as_array().unwrap();
        assert!(history.len() >= 4, "{history:?}");
        assert!(history.iter().all(|e| e["data"]["break_glass"] == true), "{history:?}");
        let alert = events_of(&app, id, "access_management_access_request_break_glass").await;
        assert_eq!((alert.len(), alert[0]["data"]["reason"].as_str()), (1, Some(EMERGENCY)));
        // ... in the export too (CSV and JSON).
        let csv = app.get("/v1/access-requests/export?format=csv&status=all&approval_type=all", &app.admin_token).await.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        let column = headers.iter().position(|h| h == "break_glass").unwrap();
        let row = reader.records().map(Result::unwrap).find(|r| r[0] == *id.as_str().unwrap()).unwrap();
        assert_eq!(&row[column], "true");
        let json = app.get("/v1/access-requests/export?format=json&status=all&approval_type=all", &app.admin_token).await;
        let rows: Value = serde_json::from_str(&json.text().await.unwrap()).unwrap();
        assert_eq!(rows[0]["break_glass"], "true");

        // The review waits in each administrator's Action Required, not in the requester's; her
        // ticket itself is closed.
        for admin in [&app.admin_id, &g.olga] {
            let items = reviews_of(&app, admin).await;
            assert_eq!((items.len(), items[0]["action"].as_str()), (1, Some("review")));
            assert_eq!(&items[0]["access_request"]["id"], id);
        }
        assert!(reviews_of(&app, &g.requester).await.is_empty());
        let all = expect_status(app.get("/v1/me/tasks", &app.token_for(&g.olga)).await, StatusCode::OK).await;
        assert_eq!(all["items"].as_array().unwrap().len(), 1, "listed unfiltered too");
        let managed = expect_status(app.get("/v1/manage/requests?view=action_required", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(&managed["items"][0]["id"], id);
        let closed = expect_status(app.get("/v1/me/access-requests?state=closed", &app.token_for(&g.requester)).await, StatusCode::OK).await;
        assert_eq!(&closed["items"][0]["id"], id);
        let catalog = expect_status(app.get("/v1/catalog", &app.token_for(&g.requester)).await, StatusCode::OK).await;
        assert_eq!((catalog["items"][0]["break_glass"].as_bool(), catalog["items"][0]["reason_min_chars"].as_i64()), (Some(true), Some(40)));
    }

    async fn a_short_reason_is_a_422_naming_reason_and_nothing_is_granted(app: TestApp) {
        let g = glass(&app).await;
        let short = json!({ "flow_id": g.flow, "reason": "Database down, need access now pls" });
        let problem = expect_problem(app.post("/v1/access-requests", &app.token_for(&g.requester), &short).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["reason"]);
        assert!(problem["detail"].as_str().unwrap().contains("40"), "{problem}");
        assert!(grant_memberships(&app, &g.target, &g.requester).await.is_empty());
        let mine = expect_status(app.get("/v1/me/access-requests?state=closed", &app.token_for(&g.requester)).await, StatusCode::OK).await;
        assert!(mine["items"].as_array().unwrap().is_empty(), "nothing half-written");
    }

    async fn a_break_glass_flow_must_be_automatic_short_and_immediate(app: TestApp) {
        let g = glass(&app).await;
        let refused = |change: Value| {
            let mut body = flow_body(&g.target, &g.visible, "Another break-glass");
            body.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
            body
        };
        for (change, field) in [
            (json!({ "approval_type": "manual", "approvers": [{ "type": "administrator" }] }), "approval_type"),
            (json!({ "timed_access": null }), "timed_access"),
            (json!({ "timed_access": { "mode": "choices", "durations_seconds": [3600, 28800] } }), "timed_access.durations_seconds[1]"),
            (json!({ "fulfilment": { "provisioning": "manual" } }), "fulfilment.provisioning"),
            (json!({ "extensions": { "approval": "automatic" } }), "extensions"),
            (json!({ "scheduling": { "max_lead_seconds": 86400 } }), "scheduling"),
            (json!({ "activation": { "window_seconds": 3600 } }), "activation"),
        ] {
            let response = app.post("/v1/approval-flows", &app.admin_token, &refused(change.clone())).await;
            let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(error_fields(&problem), [field], "{change}");
        }
        let device = json!({
            "kind": "device_admin", "name": "Laptop break-glass", "display": { "logo": "apple" },
            "visibility_group_ids": [g.visible], "session_durations_seconds": [900],
            "approval_type": "automatic", "break_glass": true
        });
        let problem = expect_problem(app.post("/v1/approval-flows", &app.admin_token, &device).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["break_glass"]);
        // Turning it on for an existing flow checks the same rules; turning it off is always fine.
        let path = format!("/v1/approval-flows/{}", g.flow);
        let problem = expect_problem(app.patch(&path, &app.admin_token, &json!({ "timed_access": { "mode": "fixed", "durations_seconds": [86400] } })).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["timed_access.durations_seconds[0]"]);
        let off = expect_status(app.patch(&path, &app.admin_token, &json!({ "break_glass": false })).await, StatusCode::OK).await;
        assert_eq!((off["break_glass"].as_bool(), off["version"].as_i64()), (Some(false), Some(2)));
        let on = expect_status(app.patch(&path, &app.admin_token, &json!({ "break_glass": true })).await, StatusCode::OK).await;
        assert_eq!(on["break_glass"], true);
    }

    async fn revoking_from_the_review_ends_the_grant_and_its_membership(app: TestApp) {
        let g = glass(&app).await;
        let created = expect_status(break_glass(&app, &g.flow, &g.requester).await, StatusCode::CREATED).await;
        let id = &created["id"];
        let body = json!({ "outcome": "revoke", "note": "No incident was open at the time" });
        let reviewed = expect_status(review(&app, id, &g.olga, body).await, StatusCode::OK).await;
        assert_eq!((reviewed["review"]["state"].as_str(), reviewed["review"]["outcome"].as_str()), (Some("done"), Some("revoke")));
        assert_eq!((reviewed["review"]["completed_by"].as_str(), reviewed["review"]["note"].as_str()), (Some(g.olga.as_str()), Some("No incident was open at the time")));
        assert_eq!(reviewed["status"], "approved", "the decision stays; the access ends");

        assert!(grant_memberships(&app, &g.target, &g.requester).await.is_empty(), "the membership is gone");
        let seen = detail(&app, id).await;
        assert_eq!(seen["grant"]["status"], "revoked");
        assert!(seen["grant"]["ended_at"].is_string());
        let recorded = events_of(&app, id, "access_management_access_request_break_glass_review").await;
        assert_eq!((recorded.len(), recorded[0]["data"]["outcome"].as_str()), (1, Some("revoke")));
        assert_eq!(recorded[0]["data"]["revoked_grant_id"], seen["grant"]["id"]);
        let removed = events_of(&app, id, "access_management_association_change").await;
        assert!(removed.iter().any(|e| e["data"]["change"] == "removed" && e["actor_id"] == g.olga.as_str()));

        // Done for everyone: out of both administrators' Action Required, and a second review is a 409.
        assert!(reviews_of(&app, &g.olga).await.is_empty());
        assert!(reviews_of(&app, &app.admin_id).await.is_empty());
        expect_problem(review(&app, id, &app.admin_id, json!({ "outcome": "confirm" })).await, StatusCode::CONFLICT).await;
    }

    async fn confirming_keeps_the_access_and_only_another_administrator_reviews(app: TestApp) {
        let g = glass(&app).await;
        let created = expect_status(break_glass(&app, &g.flow, &g.requester).await, StatusCode::CREATED).await;
        let id = &created["id"];
        let confirm = json!({ "outcome": "confirm" });
        let bystander = app.create_user("bea@example.org", "Bea").await;
        for who in [&g.requester, &bystander] {
            expect_problem(review(&app, id, who, confirm.clone()).await, StatusCode::FORBIDDEN).await;
            // Who may review is answered before what is wrong with the body.
            expect_problem(review(&app, id, who, json!({ "outcome": "maybe" })).await, StatusCode::FORBIDDEN).await;
        }
        let bad = review(&app, id, &g.olga, json!({ "outcome": "maybe" })).await;
        assert!(bad.status().is_client_error() && bad.status() != StatusCode::FORBIDDEN);

        let reviewed = expect_status(review(&app, id, &app.admin_id, confirm.clone()).await, StatusCode::OK).await;
        assert_eq!(reviewed["review"]["outcome"], "confirm");
        assert_eq!(grant_memberships(&app, &g.target, &g.requester).await.len(), 1, "the access stays");
        assert_eq!(detail(&app, id).await["grant"]["status"], "active");
        expect_problem(review(&app, id, &g.olga, json!({ "outcome": "revoke" })).await, StatusCode::CONFLICT).await;
        assert_eq!(grant_memberships(&app, &g.target, &g.requester).await.len(), 1);

        // An administrator's own break-glass request is reviewed by another one.
        join(&app, &g.visible, &g.olga).await;
        let own = expect_status(break_glass(&app, &g.flow, &g.olga).await, StatusCode::CREATED).await;
        assert_eq!(own["review"]["assignee_ids"], json!([app.admin_id]));
        expect_problem(review(&app, &own["id"], &g.olga, confirm.clone()).await, StatusCode::FORBIDDEN).await;
        expect_status(review(&app, &own["id"], &app.admin_id, confirm.clone()).await, StatusCode::OK).await;

        // Only a break-glass request has a review; its access is never extended.
        let grant = detail(&app, id).await["grant"]["id"].as_str().unwrap().to_owned();
        let extend = json!({ "duration_seconds": 3600, "reason": "The restore takes longer than planned" });
        let path = format!("/v1/grants/{grant}/extend");
        expect_problem(app.post(&path, &app.token_for(&g.requester), &extend).await, StatusCode::CONFLICT).await;
        let mut ordinary = flow_body(&g.target, &g.visible, "Read replica");
        ordinary["break_glass"] = json!(false);
        let ordinary = expect_status(app.post("/v1/approval-flows", &app.admin_token, &ordinary).await, StatusCode::CREATED).await;
        let body = json!({ "flow_id": ordinary["id"], "reason": "Reporting for the quarter" });
        let approved = expect_status(app.post("/v1/access-requests", &app.token_for(&g.requester), &body).await, StatusCode::CREATED).await;
        assert_eq!((approved["break_glass"].as_bool(), &approved["review"]), (Some(false), &Value::Null));
        expect_problem(review(&app, &approved["id"], &app.admin_id, confirm).await, StatusCode::CONFLICT).await;
    }

    async fn the_review_outlives_the_access_and_a_late_revocation_ends_nothing_more(app: TestApp) {
        let g = glass(&app).await;
        let created = expect_status(break_glass(&app, &g.flow, &g.requester).await, StatusCode::CREATED).await;
        let id = &created["id"];
        app.clock.advance(Duration::minutes(61));
        eventually("the access ends at its time", || async {
            detail(&app, id).await["grant"]["status"] == "expired"
        }).await;
        assert!(grant_memberships(&app, &g.target, &g.requester).await.is_empty());
        let waiting = reviews_of(&app, &g.olga).await;
        assert_eq!((waiting.len(), waiting[0]["access_request"]["review"]["state"].as_str()), (1, Some("open")), "still to review");

        let body = json!({ "outcome": "revoke", "note": "Should have used the read replica" });
        let reviewed = expect_status(review(&app, id, &g.olga, body).await, StatusCode::OK).await;
        assert_eq!(reviewed["review"]["outcome"], "revoke");
        assert_eq!(detail(&app, id).await["grant"]["status"], "expired", "nothing more to end");
        let recorded = events_of(&app, id, "access_management_access_request_break_glass_review").await;
        assert!(recorded[0]["data"]["revoked_grant_id"].is_null());
        assert!(reviews_of(&app, &g.olga).await.is_empty());
    }

    async fn the_rate_limit_holds_per_person_across_flows_for_24_hours(app: TestApp) {
        let g = glass(&app).await;
        let second = new_flow(&app, &g, "Payments break-glass").await;
        expect_status(break_glass(&app, &g.flow, &g.requester).await, StatusCode::CREATED).await;
        app.clock.advance(Duration::hours(1));
        expect_status(break_glass(&app, &second, &g.requester).await, StatusCode::CREATED).await;
        app.clock.advance(Duration::hours(1));

        let response = break_glass(&app, &g.flow, &g.requester).await;
        let retry_after: i64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        let problem = expect_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
        assert_eq!(problem["type"], "urn:portcullis:problem:rate-limited");
        assert!(problem["detail"].as_str().unwrap().contains("break-glass"), "{problem}");
        // Until the first is 24 hours old: 22 hours from now (a few seconds of the test aside).
        assert!((22 * 3600 - 60..=22 * 3600).contains(&retry_after), "{retry_after}");
        let mine = expect_status(app.get("/v1/me/access-requests?state=closed", &app.token_for(&g.requester)).await, StatusCode::OK).await;
        assert_eq!(mine["items"].as_array().unwrap().len(), 2, "the refused one is not stored");

        // Per person: someone else still may; a short reason is still told first.
        let other = app.create_user("sam@example.org", "Sam").await;
        join(&app, &g.visible, &other).await;
        expect_status(break_glass(&app, &second, &other).await, StatusCode::CREATED).await;
        let short = json!({ "flow_id": g.flow, "reason": "Need it now for the incident" });
        expect_problem(app.post("/v1/access-requests", &app.token_for(&g.requester), &short).await, StatusCode::UNPROCESSABLE_ENTITY).await;

        app.clock.advance(Duration::seconds(retry_after - 5));
        expect_problem(break_glass(&app, &g.flow, &g.requester).await, StatusCode::TOO_MANY_REQUESTS).await;
        app.clock.advance(Duration::seconds(6));
        let again = expect_status(break_glass(&app, &g.flow, &g.requester).await, StatusCode::CREATED).await;
        assert_eq!(again["status"], "approved", "allowed again once the first is 24 hours old");
    }

    async fn concurrent_break_glass_requests_do_not_slip_past_the_limit(app: TestApp) {
        let g = glass(&app).await;
        let mut flows = vec![g.flow.clone()];
        for n in 0..5 {
            flows.push(new_flow(&app, &g, &format!("Break-glass {n}")).await);
        }
        expect_status(break_glass(&app, &flows[0], &g.requester).await, StatusCode::CREATED).await;
        // Five at once, each through its own flow (so the one-open-request rule plays no part).
        let answers = futures_util::future::join_all(flows[1..].iter().map(|flow| break_glass(&app, flow, &g.requester))).await;
        let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
        let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
        let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        assert_eq!((created, limited), (1, 4), "{statuses:?}");
        let mine = expect_status(app.get("/v1/me/access-requests?state=closed", &app.token_for(&g.requester)).await, StatusCode::OK).await;
        assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    }
}
