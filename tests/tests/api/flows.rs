use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

/// The ids a flow refers to: a target group, a visibility group, an approver group, an owner.
pub struct Fixture {
    pub target: String,
    pub visible: String,
    pub approvers: String,
    pub owner: String,
}

pub async fn fixture(app: &TestApp) -> Fixture {
    Fixture {
        target: app.create_group("GitHub Admins").await,
        visible: app.create_group("Engineering").await,
        approvers: app.create_group("Security").await,
        owner: app.create_user("owner@example.org", "Olive Owner").await,
    }
}

/// A valid manual, two-step, time-limited resource-request flow.
pub fn resource_flow(f: &Fixture) -> Value {
    json!({
        "kind": "resource_request", "name": "GitHub Admin", "description": "Admin rights on GitHub",
        "display": { "color": "#24292f" }, "target_group_id": f.target, "owner_ids": [f.owner],
        "visibility_group_ids": [f.visible],
        "timed_access": { "mode": "choices", "durations_seconds": [3600, 86400] },
        "approval_type": "manual",
        "approvers": [{ "type": "requester_manager" }, { "type": "user_group", "group_id": f.approvers, "require_all": true }],
        "approver_requirement": "all_in_order"
    })
}

pub fn device_flow(f: &Fixture) -> Value {
    json!({
        "kind": "device_admin", "name": "Laptop admin", "display": { "logo": "apple" },
        "visibility_group_ids": [f.visible], "session_durations_seconds": [900, 3600],
        "approval_type": "manual", "approvers": [{ "type": "administrator" }]
    })
}

pub async fn create_flow(app: &TestApp, body: &Value) -> Value {
    expect_status(
        app.post("/v1/approval-flows", &app.admin_token, body).await,
        StatusCode::CREATED,
    )
    .await
}

fn with(mut flow: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = if parent.is_empty() {
        &mut flow
    } else {
        flow.pointer_mut(parent).unwrap()
    };
    match target {
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
        other => {
            other[key] = value;
        }
    }
    flow
}

fn without(mut flow: Value, key: &str) -> Value {
    flow.as_object_mut().unwrap().remove(key);
    flow
}

both_backends! {
    async fn every_flow_rule_is_a_422_naming_the_field(app: TestApp) {
        let f = fixture(&app).await;
        let non_admin = app.create_user("pat@example.org", "Pat").await;
        let missing = uuid::Uuid::now_v7().to_string();
        let r = || resource_flow(&f);
        let d = || device_flow(&f);
        let cases: Vec<(&str, Value, Vec<&str>)> = vec![
            ("both logo and colour", with(r(), "/display/logo", json!("github")), vec!["display"]),
            ("neither logo nor colour", with(r(), "/display", json!({})), vec!["display"]),
            ("a colour that is not #rrggbb", with(r(), "/display/color", json!("red")), vec!["display.color"]),
            ("a malformed logo", with(d(), "/display/logo", json!("Apple Inc!")), vec!["display.logo"]),
            ("administrator beside another spec",
                with(r(), "/approvers", json!([{ "type": "requester_manager" }, { "type": "administrator" }])),
                vec!["approvers[0].type", "approvers"]),
            ("require_all on a manager spec", with(r(), "/approvers/0/require_all", json!(true)), vec!["approvers[0].require_all"]),
            ("a user_group spec without its group", with(r(), "/approvers/1", json!({ "type": "user_group" })), vec!["approvers[1].group_id"]),
            ("resource_owner without owners",
                with(with(r(), "/owner_ids", json!([])), "/approvers", json!([{ "type": "resource_owner" }])),
                vec!["owner_ids"]),
            ("manual without approvers", with(r(), "/approvers", json!([])), vec!["approvers"]),
            ("automatic with approvers", with(r(), "/approval_type", json!("automatic")), vec!["approvers", "approver_requirement"]),
            ("timed access without durations", with(r(), "/timed_access/durations_seconds", json!([])), vec!["timed_access.durations_seconds"]),
            ("a duration of zero", with(r(), "/timed_access/durations_seconds/0", json!(0)), vec!["timed_access.durations_seconds[0]"]),
            ("a duration over the configured maximum", with(r(), "/timed_access/durations_seconds/1", json!(2_592_001)), vec!["timed_access.durations_seconds[1]"]),
            ("a fixed duration that is two", with(r(), "/timed_access/mode", json!("fixed")), vec!["timed_access.durations_seconds"]),
            ("an unknown requirement", with(r(), "/approver_requirement", json!("most")), vec!["approver_requirement"]),
            ("a resource flow without a target group", without(r(), "target_group_id"), vec!["target_group_id"]),
            ("a flow nobody can see", with(r(), "/visibility_group_ids", json!([])), vec!["visibility_group_ids"]),
            ("a device flow without sessions", with(d(), "/session_durations_seconds", json!([])), vec!["session_durations_seconds"]),
            ("a device flow with a target group", with(d(), "/target_group_id", json!(f.target)), vec!["target_group_id"]),
            ("a device flow with owners", with(d(), "/owner_ids", json!([f.owner])), vec!["owner_ids"]),
            ("a device flow approved by a manager", with(d(), "/approvers/0", json!({ "type": "requester_manager" })), vec!["approvers[0].type"]),
            ("an unknown approver group", with(r(), "/approvers/1/group_id", json!(missing)), vec!["approvers[1].group_id"]),
            ("an unknown visibility group", with(r(), "/visibility_group_ids/0", json!(missing)), vec!["visibility_group_ids[0]"]),
            ("an unknown target group", with(r(), "/target_group_id", json!(missing)), vec!["target_group_id"]),
            ("an unknown owner", with(r(), "/owner_ids/0", json!(missing)), vec!["owner_ids[0]"]),
            ("a named admin who is not one",
                with(d(), "/approvers/0/admin_ids", json!([app.admin_id, non_admin])),
                vec!["approvers[0].admin_ids[1]"]),
        ];
        for (rule, body, fields) in cases {
            let response = app.post("/v1/approval-flows", &app.admin_token, &body).await;
            let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(error_fields(&problem), fields, "{rule}: {problem}");
        }
        let listed = expect_status(app.get("/v1/approval-flows", &app.admin_token).await, StatusCode::OK).await;
        assert!(listed["items"].as_array().unwrap().is_empty(), "no rejected flow was stored");
        // Both base flows are valid, so each failure above is due to its one change.
        create_flow(&app, &resource_flow(&f)).await;
        create_flow(&app, &device_flow(&f)).await;
    }

    async fn a_flow_is_created_read_listed_and_deleted(app: TestApp) {
        let f = fixture(&app).await;
        let created = create_flow(&app, &resource_flow(&f)).await;
        assert_eq!((created["version"].as_i64(), created["approver_requirement"].as_str()), (Some(1), Some("all_in_order")));
        assert_eq!(created["approvers"][1], json!({ "type": "user_group", "group_id": f.approvers, "require_all": true }));
        let path = format!("/v1/approval-flows/{}", created["id"].as_str().unwrap());
        assert_eq!(expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await, created);

        let device = create_flow(&app, &device_flow(&f)).await;
        let devices = expect_status(app.get("/v1/approval-flows?kind=device_admin", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(devices["items"].as_array().unwrap().len(), 1);
        assert_eq!(devices["items"][0]["id"], device["id"]);
        let found = expect_status(app.get("/v1/approval-flows?q=github", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(found["items"][0]["id"], created["id"]);
        let all = app.collect_pages("/v1/approval-flows", &app.admin_token, 1).await;
        assert_eq!(all.iter().map(|f| f["id"].clone()).collect::<Vec<_>>(), vec![device["id"].clone(), created["id"].clone()]);

        expect_status(app.delete(&path, &app.admin_token).await, StatusCode::NO_CONTENT).await;
        expect_problem(app.get(&path, &app.admin_token).await, StatusCode::NOT_FOUND).await;
    }

    async fn updates_are_versioned_and_a_stale_if_match_is_412(app: TestApp) {
        let f = fixture(&app).await;
        let created = create_flow(&app, &resource_flow(&f)).await;
        let path = format!("/v1/approval-flows/{}", created["id"].as_str().unwrap());

        // Without If-Match the last write wins.
        let disabled = expect_status(app.patch(&path, &app.admin_token, &json!({ "enabled": false })).await, StatusCode::OK).await;
        assert_eq!((disabled["enabled"].as_bool(), disabled["version"].as_i64()), (Some(false), Some(2)));
        // A change that changes nothing keeps the version.
        let same = expect_status(app.patch(&path, &app.admin_token, &json!({ "enabled": false })).await, StatusCode::OK).await;
        assert_eq!(same["version"], 2);

        let stale = app.request(Method::PATCH, &path, Some(&app.admin_token))
            .header("If-Match", "\"1\"")
            .json(&json!({ "name": "Lost update" }))
            .send()
            .await
            .unwrap();
        expect_problem(stale, StatusCode::PRECONDITION_FAILED).await;
        let current = app.request(Method::PATCH, &path, Some(&app.admin_token))
            .header("If-Match", "\"2\"")
            .json(&json!({ "approver_requirement": "all", "timed_access": null }))
            .send()
            .await
            .unwrap();
        assert_eq!(current.headers()["etag"], "\"3\"");
        let updated = expect_status(current, StatusCode::OK).await;
        assert_eq!((updated["approver_requirement"].as_str(), updated["timed_access"].is_null()), (Some("all"), true));

        // An update is validated as a whole flow.
        let response = app.patch(&path, &app.admin_token, &json!({ "approvers": [] })).await;
        assert_eq!(error_fields(&expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await), ["approvers"]);
        let response = app.patch(&path, &app.admin_token, &json!({ "kind": "device_admin" })).await;
        assert_eq!(error_fields(&expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await), ["kind"]);
        assert_eq!(expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await["version"], 3);
    }

    async fn groups_and_users_a_flow_uses_are_protected(app: TestApp) {
        let f = fixture(&app).await;
        create_flow(&app, &resource_flow(&f)).await;
        for group in [&f.target, &f.visible, &f.approvers] {
            expect_problem(app.delete(&format!("/v1/groups/{group}"), &app.admin_token).await, StatusCode::CONFLICT).await;
        }
        expect_status(app.delete(&format!("/v1/users/{}", f.owner), &app.admin_token).await, StatusCode::NO_CONTENT).await;
        let owner = expect_status(app.get(&format!("/v1/users/{}", f.owner), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(owner["active"], false, "an owner is deactivated, not deleted");
    }

    async fn flows_are_for_admins_only(app: TestApp) {
        let f = fixture(&app).await;
        let person = app.token_for(&f.owner);
        expect_problem(app.get("/v1/approval-flows", &person).await, StatusCode::FORBIDDEN).await;
        expect_problem(app.post("/v1/approval-flows", &person, &resource_flow(&f)).await, StatusCode::FORBIDDEN).await;
        let flow = create_flow(&app, &resource_flow(&f)).await;
        let path = format!("/v1/approval-flows/{}", flow["id"].as_str().unwrap());
        expect_problem(app.get(&path, &person).await, StatusCode::FORBIDDEN).await;
        expect_problem(app.patch(&path, &person, &json!({ "enabled": false })).await, StatusCode::FORBIDDEN).await;
        expect_problem(app.delete(&path, &person).await, StatusCode::FORBIDDEN).await;
        expect_problem(app.get(&format!("{path}/preview"), &person).await, StatusCode::FORBIDDEN).await;
    }

    async fn the_preview_resolves_each_approver_for_the_requester(app: TestApp) {
        let f = fixture(&app).await;
        let manager = app.create_user("max@example.org", "Max Manager").await;
        let requester = app.create_user_with(json!({ "email": "riley@example.org", "display_name": "Riley", "manager_id": manager })).await;
        let reviewer = app.create_user("sam@example.org", "Sam Security").await;
        for member in [&requester, &reviewer] {
            expect_status(app.post(&format!("/v1/groups/{}/members", f.approvers), &app.admin_token, &json!({ "user_id": member })).await, StatusCode::CREATED).await;
        }
        let flow = create_flow(&app, &resource_flow(&f)).await;
        let path = format!("/v1/approval-flows/{}/preview?requester_id={requester}", flow["id"].as_str().unwrap());
        let preview = expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await;
        let ids = |step: &Value| step["approvers"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        assert_eq!(preview["steps"][0]["type"], "requester_manager");
        assert_eq!(ids(&preview["steps"][0]), [manager.as_str()]);
        assert_eq!(ids(&preview["steps"][1]), [reviewer.as_str()], "the requester never approves their own request");
        assert_eq!(preview["steps"][1]["require_all"], true);

        // Someone without a manager gets a step nobody can approve, flagged.
        let preview = expect_status(app.get(&format!("/v1/approval-flows/{}/preview?requester_id={reviewer}", flow["id"].as_str().unwrap()), &app.admin_token).await, StatusCode::OK).await;
        assert!(preview["steps"][0]["approvers"].as_array().unwrap().is_empty());
        assert!(preview["steps"][0]["problem"].is_string());

        let unknown = format!("/v1/approval-flows/{}/preview?requester_id={}", flow["id"].as_str().unwrap(), uuid::Uuid::now_v7());
        assert_eq!(error_fields(&expect_problem(app.get(&unknown, &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY).await), ["requester_id"]);
    }
}
