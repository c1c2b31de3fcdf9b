//! Request forms and conditions as code (CEL): answers validated, stored, shown and exported;
//! conditions checked when a flow is saved, and at submission approving a request or leaving a
//! step out, recorded in the request's events.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;
use crate::requests::*;

/// The world's flow with `changes` applied (200 expected).
async fn change_flow(app: &TestApp, w: &World, changes: Value) -> Value {
    let path = format!("/v1/approval-flows/{}", w.flow);
    expect_status(
        app.patch(&path, &app.admin_token, &changes).await,
        StatusCode::OK,
    )
    .await
}

fn form() -> Value {
    json!([
        { "key": "ticket", "label": "Change ticket", "type": "ticket", "required": true },
        { "key": "environment", "label": "Environment", "type": "choice", "required": true,
          "choices": ["staging", "prod"] },
        { "key": "note", "label": "Anything else", "type": "text", "required": false, "pattern": "^[^<>]*$" }
    ])
}

async fn request_with(
    app: &TestApp,
    w: &World,
    who: &str,
    duration: i64,
    form: Value,
) -> reqwest::Response {
    let body = json!({ "flow_id": w.flow, "reason": "Fix the failing release pipeline", "duration_seconds": duration, "form": form });
    app.post("/v1/access-requests", &app.token_for(who), &body)
        .await
}

/// A second requester who sees the world's flow.
async fn colleague(app: &TestApp, w: &World) -> String {
    let other = app
        .create_user_with(
            json!({ "email": "cleo@example.org", "display_name": "Cleo", "manager_id": w.manager }),
        )
        .await;
    join(app, &w.visible, &other).await;
    other
}

fn created_conditions(events: &[Value]) -> Value {
    events[0]["data"]["conditions"].clone()
}

both_backends! {
    async fn form_answers_are_validated_field_by_field_stored_shown_and_exported(app: TestApp) {
        let w = world(&app, "any").await;
        let flow = change_flow(&app, &w, json!({ "form": form() })).await;
        assert_eq!(flow["form"][1]["choices"], json!(["staging", "prod"]));
        // Requesters find the fields in their catalog.
        let catalog = expect_status(app.get("/v1/catalog", &app.token_for(&w.requester)).await, StatusCode::OK).await;
        assert_eq!(catalog["items"][0]["form"], form());

        let missing = expect_problem(request_with(&app, &w, &w.requester, 3600, json!({})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&missing), ["form.ticket", "form.environment"]);
        let wrong = json!({ "ticket": "not a ticket", "environment": "dev", "note": "<script>", "colour": "red" });
        let problem = expect_problem(request_with(&app, &w, &w.requester, 3600, wrong).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["form.colour", "form.ticket", "form.environment", "form.note"]);
        let page = expect_status(app.get("/v1/access-requests?status=all", &app.admin_token).await, StatusCode::OK).await;
        assert!(page["items"].as_array().unwrap().is_empty(), "nothing was written");

        let answers = json!({ "ticket": " OPS-1234 ", "environment": "prod" });
        let created = expect_status(request_with(&app, &w, &w.requester, 3600, answers).await, StatusCode::CREATED).await;
        let stored = json!({ "ticket": "OPS-1234", "environment": "prod" });
        assert_eq!(created["form"], stored, "trimmed, unanswered optional fields left out");
        // The approvers see the answers.
        let path = format!("/v1/access-requests/{}", created["id"].as_str().unwrap());
        let seen = expect_status(app.get(&path, &app.token_for(&w.manager)).await, StatusCode::OK).await;
        assert_eq!(seen["form"], stored);
        let tasks = expect_status(app.get("/v1/me/tasks", &app.token_for(&w.manager)).await, StatusCode::OK).await;
        assert_eq!(tasks["items"][0]["access_request"]["form"], stored);

        let csv = app.get("/v1/access-requests/export?format=csv&status=all", &app.admin_token).await.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        let column = headers.iter().position(|h| h == "form").unwrap();
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(serde_json::from_str::<Value>(&row[column]).unwrap(), stored);
    }

    async fn an_invalid_form_definition_is_refused_field_by_field(app: TestApp) {
        let w = world(&app, "any").await;
        let bad = json!([
            { "key": "Ticket", "label": "Ticket", "type": "ticket" },
            { "key": "zone", "label": "Zone", "type": "choice" },
            { "key": "note", "label": "Note", "type": "text", "pattern": "(((a{100}){100}){100})" }
        ]);
        let path = format!("/v1/approval-flows/{}", w.flow);
        let problem = expect_problem(app.patch(&path, &app.admin_token, &json!({ "form": bad })).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["form[0].key", "form[1].choices", "form[2].pattern"]);
        let flow = expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await;
        assert_eq!((flow["version"].as_i64(), flow["form"].clone()), (Some(1), json!([])));
    }

    async fn a_condition_auto_approves_the_matching_request_and_not_the_other(app: TestApp) {
        let w = world(&app, "any").await;
        let oncall = app.create_group("oncall").await;
        join(&app, &oncall, &w.requester).await;
        let other = colleague(&app, &w).await;
        change_flow(&app, &w, json!({
            "auto_approve_if": "request.duration_seconds <= 3600 && \"oncall\" in requester.groups"
        })).await;

        let approved = expect_status(request_with(&app, &w, &w.requester, 3600, json!({})).await, StatusCode::CREATED).await;
        assert_eq!(approved["status"], "approved");
        assert!(approved["steps"].as_array().unwrap().is_empty());
        assert!(approved["decision"]["comment"].as_str().unwrap().starts_with("auto-approved by condition auto_approve_if"));
        assert_eq!(grant_memberships(&app, &w.target, &w.requester).await.len(), 1, "the grant is applied");
        let created = events_of(&app, &approved["id"], "access_management_access_request").await;
        assert_eq!(created_conditions(&created), json!([{
            "member": "auto_approve_if", "expression": "request.duration_seconds <= 3600 && \"oncall\" in requester.groups",
            "effect": "auto_approved", "result": true
        }]));

        let pending = expect_status(request_with(&app, &w, &other, 3600, json!({})).await, StatusCode::CREATED).await;
        assert_eq!(pending["status"], "pending");
        assert_eq!(pending["steps"].as_array().unwrap().len(), 2);
        let created = events_of(&app, &pending["id"], "access_management_access_request").await;
        assert_eq!(created_conditions(&created)[0]["effect"], "not_auto_approved");
        assert!(grant_memberships(&app, &w.target, &other).await.is_empty());
    }

    async fn a_required_if_leaves_a_step_out_and_the_preview_shows_it(app: TestApp) {
        let w = world(&app, "all").await;
        let other = colleague(&app, &w).await;
        let flow = expect_status(app.get(&format!("/v1/approval-flows/{}", w.flow), &app.admin_token).await, StatusCode::OK).await;
        let mut approvers = flow["approvers"].clone();
        approvers[1]["required_if"] = json!("request.form.environment == \"prod\"");
        let saved = change_flow(&app, &w, json!({ "form": form(), "approvers": approvers })).await;
        assert_eq!(saved["approvers"][1]["required_if"], "request.form.environment == \"prod\"");

        let staging = expect_status(request_with(&app, &w, &w.requester, 3600, json!({ "ticket": "OPS-1", "environment": "staging" })).await, StatusCode::CREATED).await;
        let positions: Vec<i64> = staging["steps"].as_array().unwrap().iter().map(|s| s["position"].as_i64().unwrap()).collect();
        assert_eq!(positions, [0], "the security step is left out for staging");
        let created = events_of(&app, &staging["id"], "access_management_access_request").await;
        assert_eq!(created_conditions(&created)[0]["effect"], "step_left_out");
        let approved = expect_status(act(&app, &staging["id"], "approve", &w.manager, json!({})).await, StatusCode::OK).await;
        assert_eq!(approved["status"], "approved", "the manager alone approves under `all`");

        let prod = expect_status(request_with(&app, &w, &other, 3600, json!({ "ticket": "OPS-2", "environment": "prod" })).await, StatusCode::CREATED).await;
        assert_eq!(prod["steps"].as_array().unwrap().len(), 2);

        let preview = expect_status(app.get(&format!("/v1/approval-flows/{}/preview?requester_id={}", w.flow, w.requester), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!((preview["steps"][0]["included"].as_bool(), preview["steps"][1]["included"].as_bool()), (Some(true), Some(false)));
        assert_eq!(preview["conditions"][0]["member"], "approvers[1].required_if");
        assert_eq!(preview["auto_approved"], false);
    }

    async fn broken_and_costly_conditions_are_refused_when_the_flow_is_saved(app: TestApp) {
        let w = world(&app, "any").await;
        let path = format!("/v1/approval-flows/{}", w.flow);
        let refused = |source: String| {
            let app = &app;
            let path = path.clone();
            async move {
                let response = app.patch(&path, &app.admin_token, &json!({ "auto_approve_if": source })).await;
                let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
                assert_eq!(error_fields(&problem), ["auto_approve_if"]);
                problem["errors"][0]["message"].as_str().unwrap().to_owned()
            }
        };
        assert!(refused("request.duration_seconds <=".into()).await.contains("line 1, column"));
        assert!(refused("requestor.is_admin".into()).await.contains("unknown variable 'requestor' at character 1"));
        assert!(refused("request.form.enviroment == \"prod\"".into()).await.contains("type-check"));
        assert!(refused("request.duration_seconds".into()).await.contains("true or false"));
        let nested = "requester.groups.all(a, requester.groups.exists(b, a == b))";
        assert!(refused(nested.into()).await.contains("inside another"));
        let growing = "size(requester.groups.map(g, requester.groups)) > 0";
        assert!(refused(growing.into()).await.contains("map"));
        assert!(refused(format!("{}true{}", "(".repeat(200), ")".repeat(200))).await.contains("nests too deeply"));
        assert!(refused(format!("{}true", "true && ".repeat(130))).await.contains("at most 1000"));
        // A step's condition is named by its place.
        let flow = expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await;
        let mut approvers = flow["approvers"].clone();
        approvers[1]["required_if"] = json!("request.form.environment ==");
        let problem = expect_problem(app.patch(&path, &app.admin_token, &json!({ "approvers": approvers })).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["approvers[1].required_if"]);
        let unchanged = expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await;
        assert_eq!((unchanged["version"].as_i64(), unchanged["auto_approve_if"].clone()), (Some(1), Value::Null));
    }

    async fn a_condition_that_cannot_be_evaluated_is_recorded_and_does_not_approve(app: TestApp) {
        let w = world(&app, "any").await;
        // Valid when saved (the sample requester has one group); the requester has fewer.
        change_flow(&app, &w, json!({ "auto_approve_if": "requester.groups[3] == \"oncall\"" })).await;
        let pending = expect_status(request_with(&app, &w, &w.requester, 3600, json!({})).await, StatusCode::CREATED).await;
        assert_eq!(pending["status"], "pending");
        let created = events_of(&app, &pending["id"], "access_management_access_request").await;
        let outcome = &created_conditions(&created)[0];
        assert_eq!((outcome["effect"].as_str(), outcome["result"].clone()), (Some("not_auto_approved"), Value::Null));
        assert!(outcome["error"].as_str().unwrap().contains("out of bounds"), "{outcome}");
    }
}
