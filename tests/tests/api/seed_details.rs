//! Details the seeds ask for: managed devices (seed 003), administrators approving manual
//! device-admin flows by default (seed 003), a denial's reason (seed 001), and the application a
//! grant shows in the requester's portal (seeds 000/001).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;
use crate::requests::{act, submit, world};

/// A manual device-admin flow visible to `visible`, with no approvers given.
fn device_flow_without_approvers(visible: &str) -> Value {
    json!({
        "kind": "device_admin", "name": "Laptop admin", "display": { "logo": "apple" },
        "visibility_group_ids": [visible], "session_durations_seconds": [900],
        "approval_type": "manual"
    })
}

both_backends! {
    async fn device_admin_requests_need_a_managed_device(app: TestApp) {
        let w = world(&app, "any").await;
        let flow = expect_status(app.post("/v1/approval-flows", &app.admin_token, &device_flow_without_approvers(&w.visible)).await, StatusCode::CREATED).await;
        let body = json!({ "name": "riley-mac", "os": "macos", "assigned_user_ids": [w.requester] });
        let device = expect_status(app.post("/v1/devices", &app.admin_token, &body).await, StatusCode::CREATED).await;
        assert_eq!((device["managed"].as_bool(), device["certificate_fingerprint"].is_null()), (Some(false), true));
        let token = app.token_for(&w.requester);
        let ask = json!({ "flow_id": flow["id"], "reason": "Install the signing toolchain", "device_id": device["id"] });

        let refused = expect_problem(app.post("/v1/access-requests", &token, &ask).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&refused), ["device_id"]);
        assert!(refused.to_string().contains("not managed"), "{refused}");

        let path = format!("/v1/devices/{}", device["id"].as_str().unwrap());
        let bad = app.patch(&path, &app.admin_token, &json!({ "certificate_fingerprint": "not-a-fingerprint" })).await;
        assert_eq!(error_fields(&expect_problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await), ["certificate_fingerprint"]);
        let managed = expect_status(app.patch(&path, &app.admin_token, &json!({ "certificate_fingerprint": DEVICE_CERTIFICATE.to_uppercase() })).await, StatusCode::OK).await;
        assert_eq!((managed["managed"].as_bool(), managed["certificate_fingerprint"].as_str()), (Some(true), Some(DEVICE_CERTIFICATE)));
        let requested = expect_status(app.post("/v1/access-requests", &token, &ask).await, StatusCode::CREATED).await;
        assert_eq!(requested["device_id"], device["id"]);

        // Marked unmanaged again: no new request names it.
        let unmanaged = expect_status(app.patch(&path, &app.admin_token, &json!({ "certificate_fingerprint": null })).await, StatusCode::OK).await;
        assert_eq!((unmanaged["managed"].as_bool(), unmanaged["certificate_fingerprint"].is_null()), (Some(false), true));
        let cancel = format!("/v1/access-requests/{}/cancel", requested["id"].as_str().unwrap());
        expect_status(app.post(&cancel, &token, &json!({})).await, StatusCode::OK).await;
        expect_problem(app.post("/v1/access-requests", &token, &ask).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    }

    async fn a_manual_device_admin_flow_without_approvers_is_decided_by_administrators(app: TestApp) {
        let w = world(&app, "any").await;
        let flow = expect_status(app.post("/v1/approval-flows", &app.admin_token, &device_flow_without_approvers(&w.visible)).await, StatusCode::CREATED).await;
        assert_eq!(flow["approvers"], json!([{ "type": "administrator" }]));
        assert_eq!(flow["approver_requirement"], "any");
        let device = json!({ "name": "riley-mac", "os": "macos", "assigned_user_ids": [w.requester], "certificate_fingerprint": DEVICE_CERTIFICATE });
        let device = expect_status(app.post("/v1/devices", &app.admin_token, &device).await, StatusCode::CREATED).await;
        let ask = json!({ "flow_id": flow["id"], "reason": "Install the signing toolchain", "device_id": device["id"] });
        let request = expect_status(app.post("/v1/access-requests", &app.token_for(&w.requester), &ask).await, StatusCode::CREATED).await;
        assert_eq!(request["steps"][0]["type"], "administrator");
        let tasks = expect_status(app.get("/v1/me/tasks", &app.admin_token).await, StatusCode::OK).await;
        assert!(tasks["items"].as_array().unwrap().iter().any(|t| t.to_string().contains(request["id"].as_str().unwrap())), "{tasks}");
        let approved = expect_status(act(&app, &request["id"], "approve", &app.admin_id, json!({})).await, StatusCode::OK).await;
        assert_eq!(approved["status"], "approved");
    }

    async fn a_denial_needs_a_reason_and_next_steps_stay_optional(app: TestApp) {
        let w = world(&app, "any").await;
        let request = submit(&app, &w).await;
        let id = &request["id"];
        for (body, what) in [
            (json!({}), "no reason"),
            (json!({ "reason": "   " }), "a blank reason"),
            (json!({ "next_steps": "Ask your lead" }), "next steps only"),
            (json!({ "reason": null }), "a null reason"),
        ] {
            let problem = expect_problem(act(&app, id, "deny", &w.manager, body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(error_fields(&problem), ["reason"], "{what}");
        }
        let overriding = act(&app, id, "deny", &app.admin_id, json!({ "override": true })).await;
        assert_eq!(error_fields(&expect_problem(overriding, StatusCode::UNPROCESSABLE_ENTITY).await), ["reason"], "an override too");
        let still = expect_status(app.get(&format!("/v1/access-requests/{}", id.as_str().unwrap()), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(still["status"], "pending", "nothing was written");

        let denied = expect_status(act(&app, id, "deny", &w.manager, json!({ "reason": " Releases are frozen " })).await, StatusCode::OK).await;
        assert_eq!(denied["status"], "denied");
        assert_eq!((denied["decision"]["reason"].as_str(), denied["decision"]["next_steps"].as_str()), (Some("Releases are frozen"), None));
    }

    async fn my_grants_name_the_flow_and_its_display(app: TestApp) {
        let w = world(&app, "any").await;
        let request = submit(&app, &w).await;
        expect_status(act(&app, &request["id"], "approve", &w.manager, json!({})).await, StatusCode::OK).await;
        let token = app.token_for(&w.requester);
        let grants = expect_status(app.get("/v1/me/grants", &token).await, StatusCode::OK).await;
        assert_eq!(grants["items"][0]["flow"], json!({ "id": w.flow, "name": "GitHub Admin", "display": { "color": "#24292f" } }));

        // Renamed: the application shows the flow as it is now; deleted: as it was requested, without a display.
        let flow_path = format!("/v1/approval-flows/{}", w.flow);
        expect_status(app.patch(&flow_path, &app.admin_token, &json!({ "name": "GitHub Owner", "display": { "logo": "github" } })).await, StatusCode::OK).await;
        let grants = expect_status(app.get("/v1/me/grants", &token).await, StatusCode::OK).await;
        assert_eq!(grants["items"][0]["flow"], json!({ "id": w.flow, "name": "GitHub Owner", "display": { "logo": "github" } }));
        let detail = expect_status(app.get(&format!("/v1/access-requests/{}", request["id"].as_str().unwrap()), &token).await, StatusCode::OK).await;
        assert_eq!(detail["grant"]["flow"]["name"], "GitHub Owner");
        let deleted = app.request(Method::DELETE, &flow_path, Some(&app.admin_token)).send().await.unwrap();
        expect_status(deleted, StatusCode::NO_CONTENT).await;
        let grants = expect_status(app.get("/v1/grants", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(grants["items"][0]["flow"], json!({ "id": w.flow, "name": "GitHub Admin", "display": null }));
    }
}
