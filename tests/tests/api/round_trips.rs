//! Read-modify-write: every object a `GET` returns can be changed in one field and sent back whole
//! with `PUT`/`PATCH`. Its read-only fields are accepted (`version` is a precondition, as `If-Match`
//! is); unknown fields are still refused.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::flows::{create_flow, device_flow, fixture, resource_flow};
use crate::helpers::*;

/// Reads `path`, sets `field` to `value` and writes the whole object back with `method`; then checks
/// that a stale `version` in the body, or one that disagrees with `If-Match`, is a 412 and that an
/// unknown field is still a 422.
async fn round_trip(app: &TestApp, method: Method, path: &str, field: &str, value: Value) {
    let admin = app.admin_token.as_str();
    let read = expect_status(app.get(path, admin).await, StatusCode::OK).await;
    assert_ne!(read[field], value, "the test must change {field}");
    let mut changed = read.clone();
    changed[field] = value.clone();

    let response = app
        .request(method.clone(), path, Some(admin))
        .json(&changed)
        .send()
        .await
        .unwrap();
    let written = expect_status(response, StatusCode::OK).await;
    assert_eq!(written[field], value, "{path}: the change is in the answer");
    assert_eq!(
        written["version"].as_i64(),
        read["version"].as_i64().map(|v| v + 1)
    );
    let reread = expect_status(app.get(path, admin).await, StatusCode::OK).await;
    assert_eq!(reread, written, "{path}: the change holds");

    // The object read first carries a version that is no longer current.
    let response = app
        .request(method.clone(), path, Some(admin))
        .json(&changed)
        .send()
        .await
        .unwrap();
    expect_problem(response, StatusCode::PRECONDITION_FAILED).await;
    // A current If-Match does not excuse a stale version in the body: both must hold.
    let current = format!("\"{}\"", reread["version"]);
    let response = app
        .request(method.clone(), path, Some(admin))
        .header("If-Match", &current)
        .json(&changed)
        .send()
        .await
        .unwrap();
    expect_problem(response, StatusCode::PRECONDITION_FAILED).await;
    let mut unknown = reread.clone();
    unknown["no_such_field"] = json!(true);
    let response = app
        .request(method, path, Some(admin))
        .json(&unknown)
        .send()
        .await
        .unwrap();
    let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["no_such_field"]);
    let unchanged = expect_status(app.get(path, admin).await, StatusCode::OK).await;
    assert_eq!(unchanged, reread, "{path}: refused writes change nothing");
}

both_backends! {
    async fn settings_read_and_sent_back_are_replaced(app: TestApp) {
        round_trip(&app, Method::PUT, "/v1/settings", "expiry_days", json!(21)).await;
    }

    async fn a_user_read_and_sent_back_is_updated(app: TestApp) {
        let manager = app.create_user("max@example.org", "Max").await;
        let id = app.create_user_with(json!({ "email": "ada@example.org", "display_name": "Ada", "manager_id": manager, "external_id": "ada-1" })).await;
        round_trip(&app, Method::PATCH, &format!("/v1/users/{id}"), "display_name", json!("Ada King")).await;
    }

    async fn a_group_read_and_sent_back_is_updated(app: TestApp) {
        let id = app.create_group("Engineering").await;
        round_trip(&app, Method::PATCH, &format!("/v1/groups/{id}"), "description", json!("Builds the product")).await;
    }

    async fn a_device_read_and_sent_back_is_updated(app: TestApp) {
        let user = app.create_user("dev@example.org", "Dev").await;
        let body = json!({ "name": "laptop-1", "os": "linux", "assigned_user_ids": [user] });
        let id = expect_status(app.post("/v1/devices", &app.admin_token, &body).await, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();
        round_trip(&app, Method::PATCH, &format!("/v1/devices/{id}"), "name", json!("laptop-2")).await;
    }

    async fn an_approval_flow_read_and_sent_back_is_updated(app: TestApp) {
        let f = fixture(&app).await;
        let id = create_flow(&app, &resource_flow(&f)).await["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/approval-flows/{id}");
        round_trip(&app, Method::PATCH, &path, "description", json!("Owners of the organisation")).await;
        // The kind is read-only: sent back as read it is accepted, changed it is refused.
        let mut flow = expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await;
        flow["kind"] = json!("device_admin");
        let problem = expect_problem(app.patch(&path, &app.admin_token, &flow).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["kind"]);
    }

    async fn a_device_admin_flow_with_its_null_fields_read_and_sent_back_is_updated(app: TestApp) {
        let f = fixture(&app).await;
        let id = create_flow(&app, &device_flow(&f)).await["id"].as_str().unwrap().to_owned();
        round_trip(&app, Method::PATCH, &format!("/v1/approval-flows/{id}"), "name", json!("Workstation admin")).await;
    }

    async fn a_webhook_channel_read_and_sent_back_is_updated(app: TestApp) {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let body = json!({ "name": "Audit feed", "url": format!("http://127.0.0.1:{port}/hook"), "events": ["access_management_access_request"] });
        let id = expect_status(app.post("/v1/webhook-channels", &app.admin_token, &body).await, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();
        round_trip(&app, Method::PATCH, &format!("/v1/webhook-channels/{id}"), "enabled", json!(false)).await;
    }
}
