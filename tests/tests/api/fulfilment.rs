//! Fulfilment (seed 004): after approval, the IT Admins (administrators) provision the account and
//! the App Admins (the flow's owners) assign it, each as a task; only then is the ticket closed.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;
use crate::requests::{act, join};

/// A directory with an App Admin (`owner`) of the flow, an App Admin of another app (`other_owner`),
/// the requester and their manager (the approver), and a second administrator.
pub struct Shop {
    pub flow: String,
    pub target: String,
    pub manager: String,
    pub requester: String,
    pub owner: String,
    pub other_owner: String,
    pub second_admin: String,
    pub stranger: String,
    /// The flow grants access without a time limit.
    pub timeless: bool,
}

pub async fn shop(app: &TestApp, fulfilment: Value) -> Shop {
    let target = app.create_group("Figma Editors").await;
    let visible = app.create_group("Designers").await;
    let manager = app.create_user("mia@example.org", "Mia Manager").await;
    let requester = app
        .create_user_with(
            json!({ "email": "rae@example.org", "display_name": "Rae", "manager_id": manager }),
        )
        .await;
    let owner = app.create_user("olive@example.org", "Olive Owner").await;
    let other_owner = app.create_user("otto@example.org", "Otto Owner").await;
    let stranger = app.create_user("sid@example.org", "Sid").await;
    let second_admin = app
        .create_user_with(
            json!({ "email": "ivy@example.org", "display_name": "Ivy IT", "is_admin": true }),
        )
        .await;
    join(app, &visible, &requester).await;
    let mut flow = json!({
        "kind": "resource_request", "name": "Figma", "display": { "logo": "figma" },
        "target_group_id": target, "visibility_group_ids": [visible], "owner_ids": [owner],
        "timed_access": { "mode": "fixed", "durations_seconds": [3600] },
        "approval_type": "manual", "approvers": [{ "type": "requester_manager" }],
        "fulfilment": fulfilment
    });
    let timeless = flow["fulfilment"]["provisioning"] == "none";
    if timeless {
        flow["target_group_id"] = Value::Null;
        flow["timed_access"] = Value::Null;
    }
    let flow = expect_status(
        app.post("/v1/approval-flows", &app.admin_token, &flow)
            .await,
        StatusCode::CREATED,
    )
    .await;
    let other_flow = json!({
        "kind": "resource_request", "name": "Miro", "display": { "logo": "miro" },
        "target_group_id": target, "visibility_group_ids": [visible], "owner_ids": [other_owner],
        "approval_type": "automatic", "fulfilment": { "provisioning": "automatic", "assignment": true }
    });
    expect_status(
        app.post("/v1/approval-flows", &app.admin_token, &other_flow)
            .await,
        StatusCode::CREATED,
    )
    .await;
    Shop {
        flow: flow["id"].as_str().unwrap().to_owned(),
        target,
        manager,
        requester,
        owner,
        other_owner,
        second_admin,
        stranger,
        timeless,
    }
}

pub async fn submit_to(app: &TestApp, shop: &Shop) -> Value {
    let mut body = json!({ "flow_id": shop.flow, "reason": "Design reviews for the onboarding", "duration_seconds": 3600 });
    if shop.timeless {
        body["duration_seconds"] = Value::Null;
    }
    expect_status(
        app.post(
            "/v1/access-requests",
            &app.token_for(&shop.requester),
            &body,
        )
        .await,
        StatusCode::CREATED,
    )
    .await
}

/// A submitted request, approved by the requester's manager.
pub async fn approved(app: &TestApp, shop: &Shop) -> Value {
    let request = submit_to(app, shop).await;
    expect_status(
        act(app, &request["id"], "approve", &shop.manager, json!({})).await,
        StatusCode::OK,
    )
    .await
}

pub async fn complete(
    app: &TestApp,
    request: &Value,
    task: &str,
    token: &str,
    body: Value,
) -> reqwest::Response {
    let path = format!(
        "/v1/access-requests/{}/fulfilment/{task}/complete",
        request["id"].as_str().unwrap()
    );
    app.post(&path, token, &body).await
}

pub fn task<'a>(request: &'a Value, task_type: &str) -> &'a Value {
    request["fulfilment"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == task_type)
        .unwrap_or_else(|| panic!("no {task_type} task in {request}"))
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

async fn detail(app: &TestApp, request: &Value) -> Value {
    let path = format!("/v1/access-requests/{}", request["id"].as_str().unwrap());
    expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await
}

async fn my_request_ids(app: &TestApp, who: &str, state: &str) -> Vec<String> {
    let path = format!("/v1/me/access-requests?state={state}");
    let page = expect_status(app.get(&path, &app.token_for(who)).await, StatusCode::OK).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

both_backends! {
    async fn manual_provisioning_then_assignment_closes_the_ticket_and_starts_the_clock_at_provisioning(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "manual", "assignment": true })).await;
        let request = approved(&app, &shop).await;
        let id = request["id"].as_str().unwrap().to_owned();
        assert_eq!(request["status"], "approved", "the decision stays");
        assert_eq!(request["fulfilment"]["state"], "in_progress");
        let provisioning = task(&request, "provisioning");
        assert_eq!(provisioning["state"], "open");
        let mut it_admins: Vec<&str> = provisioning["assignee_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        it_admins.sort_unstable();
        let mut expected = vec![app.admin_id.as_str(), shop.second_admin.as_str()];
        expected.sort_unstable();
        assert_eq!(it_admins, expected, "the IT Admins are the active administrators");
        assert_eq!(task(&request, "assignment")["state"], "waiting");
        assert_eq!(task(&request, "assignment")["assignee_ids"], json!([shop.owner]), "the App Admins are the flow's owners");
        assert!(detail(&app, &request).await["grant"].is_null(), "nothing granted before provisioning");
        assert_eq!(my_request_ids(&app, &shop.requester, "open").await, [id.as_str()], "the ticket is open");

        app.clock.advance(chrono::Duration::minutes(90));
        let provisioned = expect_status(
            complete(&app, &request, "provisioning", &app.token_for(&shop.second_admin), json!({ "note": "Account created" })).await,
            StatusCode::OK,
        ).await;
        let done = task(&provisioned, "provisioning");
        assert_eq!(done["state"], "done");
        assert_eq!(done["completed_by"], shop.second_admin.as_str());
        assert_eq!(done["note"], "Account created");
        assert_eq!(task(&provisioned, "assignment")["state"], "open");
        assert_eq!(provisioned["fulfilment"]["state"], "in_progress");
        let grant = detail(&app, &request).await["grant"].clone();
        assert_eq!(grant["status"], "active");
        let granted_at = at(&grant["granted_at"]);
        assert_eq!(granted_at, at(&done["completed_at"]), "access is given when provisioned");
        assert!(granted_at >= at(&request["decided_at"]) + chrono::Duration::minutes(90), "not at approval");
        assert_eq!(at(&grant["expires_at"]) - granted_at, chrono::Duration::seconds(3600), "the clock starts at provisioning");
        assert_eq!(my_request_ids(&app, &shop.requester, "closed").await, Vec::<String>::new(), "still open while assignment waits");

        let assigned = expect_status(
            complete(&app, &request, "assignment", &app.token_for(&shop.owner), json!({})).await,
            StatusCode::OK,
        ).await;
        assert_eq!(assigned["fulfilment"]["state"], "done");
        assert_eq!(assigned["status"], "approved");
        assert_eq!(my_request_ids(&app, &shop.requester, "closed").await, [id.as_str()], "closed once fulfilment is done");
        assert!(my_request_ids(&app, &shop.requester, "open").await.is_empty());
    }

    async fn automatic_provisioning_grants_at_approval_and_then_waits_for_the_app_admin(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "automatic", "assignment": true })).await;
        let request = approved(&app, &shop).await;
        let tasks = request["fulfilment"]["tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), 1, "no provisioning task: the server provisions");
        assert_eq!(task(&request, "assignment")["state"], "open");
        let grant = detail(&app, &request).await["grant"].clone();
        assert_eq!(grant["status"], "active", "the membership is added at approval");
        assert_eq!(at(&grant["granted_at"]), at(&request["decided_at"]));
        assert!(my_request_ids(&app, &shop.requester, "closed").await.is_empty(), "open until assigned");

        let assigned = expect_status(
            complete(&app, &request, "assignment", &app.token_for(&shop.owner), json!({ "note": "Editor seat" })).await,
            StatusCode::OK,
        ).await;
        assert_eq!(assigned["fulfilment"]["state"], "done");
        assert_eq!(my_request_ids(&app, &shop.requester, "closed").await, [request["id"].as_str().unwrap()]);
    }

    async fn a_task_completed_twice_is_a_conflict(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "manual", "assignment": false })).await;
        let request = approved(&app, &shop).await;
        let done = expect_status(complete(&app, &request, "provisioning", &app.admin_token, json!({})).await, StatusCode::OK).await;
        assert_eq!(done["fulfilment"]["state"], "done", "without assignment, provisioning finishes it");
        let again = expect_problem(complete(&app, &request, "provisioning", &app.admin_token, json!({})).await, StatusCode::CONFLICT).await;
        assert!(again["detail"].as_str().unwrap().contains("not open"), "{again}");
        let none = expect_problem(complete(&app, &request, "assignment", &app.admin_token, json!({})).await, StatusCode::CONFLICT).await;
        assert!(none["detail"].as_str().unwrap().contains("no assignment task"), "{none}");
    }

    async fn only_the_assignees_or_an_administrator_complete_a_task(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "manual", "assignment": true })).await;
        let request = approved(&app, &shop).await;
        for who in [&shop.requester, &shop.manager, &shop.owner, &shop.other_owner, &shop.stranger] {
            let problem = expect_problem(
                complete(&app, &request, "provisioning", &app.token_for(who), json!({})).await,
                StatusCode::FORBIDDEN,
            ).await;
            assert!(problem["detail"].as_str().unwrap().contains("assignees"), "{problem}");
        }
        expect_status(complete(&app, &request, "provisioning", &app.admin_token, json!({})).await, StatusCode::OK).await;
        let problem = expect_problem(
            complete(&app, &request, "assignment", &app.token_for(&shop.other_owner), json!({})).await,
            StatusCode::FORBIDDEN,
        ).await;
        assert!(problem["detail"].as_str().unwrap().contains("assignees"), "an App Admin of another app: {problem}");
        let bad = expect_problem(
            complete(&app, &request, "assignment", &app.token_for(&shop.other_owner), json!({ "note": 7 })).await,
            StatusCode::FORBIDDEN,
        ).await;
        assert!(bad["detail"].as_str().unwrap().contains("assignees"), "authorization before the body: {bad}");
        let unchanged = detail(&app, &request).await;
        assert_eq!(task(&unchanged, "assignment")["state"], "open", "nothing written");
    }

    async fn a_flow_without_provisioning_needs_no_group_and_a_manual_one_may_have_none(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "none", "assignment": true })).await;
        let request = approved(&app, &shop).await;
        assert_eq!(task(&request, "assignment")["state"], "open");
        let visible = app.create_group("Anyone").await;
        let invalid = json!({
            "kind": "resource_request", "name": "Bad", "display": { "logo": "bad" }, "visibility_group_ids": [visible],
            "approval_type": "automatic", "fulfilment": { "provisioning": "automatic", "assignment": true }
        });
        let problem = expect_problem(app.post("/v1/approval-flows", &app.admin_token, &invalid).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["target_group_id", "fulfilment.assignment"]);
        let manual = json!({
            "kind": "resource_request", "name": "Vendor app", "display": { "logo": "vendor" }, "visibility_group_ids": [visible],
            "owner_ids": [shop.owner], "approval_type": "automatic", "fulfilment": { "provisioning": "manual", "assignment": true }
        });
        let created = expect_status(app.post("/v1/approval-flows", &app.admin_token, &manual).await, StatusCode::CREATED).await;
        assert_eq!(created["fulfilment"], json!({ "provisioning": "manual", "assignment": true }));
        assert!(created["target_group_id"].is_null());
    }

    async fn revoking_a_manually_provisioned_grant_opens_a_deprovisioning_task(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "manual", "assignment": false })).await;
        let request = approved(&app, &shop).await;
        expect_status(complete(&app, &request, "provisioning", &app.admin_token, json!({})).await, StatusCode::OK).await;
        let grant = detail(&app, &request).await["grant"]["id"].as_str().unwrap().to_owned();
        let revoked = app.delete(&format!("/v1/grants/{grant}"), &app.admin_token).await;
        assert!(revoked.status().is_success(), "{}", revoked.status());
        let after = detail(&app, &request).await;
        assert_eq!(task(&after, "deprovisioning")["state"], "open");
        assert_eq!(after["fulfilment"]["state"], "in_progress", "the ticket reopens for the IT Admins");
        expect_status(complete(&app, &after, "deprovisioning", &app.token_for(&shop.second_admin), json!({})).await, StatusCode::OK).await;
        assert_eq!(detail(&app, &request).await["fulfilment"]["state"], "done");
    }

    async fn the_requester_can_withdraw_a_fulfilment_in_progress(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "manual", "assignment": true })).await;
        let request = approved(&app, &shop).await;
        let canceled = expect_status(act(&app, &request["id"], "cancel", &shop.requester, json!({})).await, StatusCode::OK).await;
        assert_eq!(canceled["status"], "approved", "the decision stays");
        assert_eq!(canceled["fulfilment"]["state"], "canceled");
        assert_eq!(task(&canceled, "provisioning")["state"], "canceled");
        assert_eq!(task(&canceled, "assignment")["state"], "canceled");
        expect_problem(complete(&app, &request, "provisioning", &app.admin_token, json!({})).await, StatusCode::CONFLICT).await;
        assert_eq!(my_request_ids(&app, &shop.requester, "closed").await, [request["id"].as_str().unwrap()]);
    }
}
