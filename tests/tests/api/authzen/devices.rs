//! Admin rights on a device through AuthZEN: a requestable denial for a managed device assigned to
//! the subject, a task that completes when the approved session starts, and an approval that stops
//! permitting when the session ends.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::both_backends;

fn admin_question(subject: &str, device: &Value) -> Value {
    json!({
        "subject": { "type": "user", "id": subject },
        "resource": { "type": "device", "id": device["id"] },
        "action": { "name": "admin" }
    })
}

async fn device(app: &TestApp, name: &str, body: Value) -> Value {
    let mut body = body;
    body["name"] = json!(name);
    body["os"] = json!("macos");
    expect_status(
        app.post("/v1/devices", &app.admin_token, &body).await,
        StatusCode::CREATED,
    )
    .await
}

both_backends! {
    async fn admin_rights_on_a_managed_device_are_requested_and_permit_while_the_session_runs(app: TestApp) {
        let s = setup(&app).await;
        let flow = json!({
            "kind": "device_admin", "name": "Laptop admin", "display": { "logo": "apple" },
            "visibility_group_ids": [s.w.visible], "session_durations_seconds": [900, 3600],
            "approval_type": "manual", "approvers": [{ "type": "administrator" }]
        });
        let flow = expect_status(app.post("/v1/approval-flows", &app.admin_token, &flow).await, StatusCode::CREATED).await;
        let managed = device(&app, "riley-mac", json!({ "assigned_user_ids": [s.w.requester], "certificate_fingerprint": DEVICE_CERTIFICATE })).await;
        let unmanaged = device(&app, "riley-old-mac", json!({ "assigned_user_ids": [s.w.requester] })).await;
        let elsewhere = device(&app, "kim-mac", json!({ "certificate_fingerprint": DEVICE_CERTIFICATE })).await;

        // Seed 003: admin rights are requestable only on a managed device assigned to the person.
        for plain in [&unmanaged, &elsewhere] {
            let denied = evaluate(&app, &s.pep, &admin_question(s.email, plain)).await;
            assert_eq!(denied["decision"], false, "{denied}");
            assert!(denied["context"]["access_request"].is_null(), "{denied}");
        }
        let denied = evaluate(&app, &s.pep, &admin_question(s.email, &managed)).await;
        assert_eq!(denied["decision"], false, "{denied}");
        let access = &denied["context"]["access_request"];
        assert_eq!(access["template"], flow["id"], "{denied}");

        let mut body = submission(s.email, "unused", &denied);
        body["resource"] = json!({ "type": "device", "id": managed["id"] });
        body["action"] = json!({ "name": "admin" });
        let created = expect_status(submit(&app, &s.pep, &body, None).await, StatusCode::ACCEPTED).await;
        let endpoint = path_of(&app, &created["task"]["status_endpoint"]);
        let token = app.token_for(&s.w.requester);
        let mine = expect_status(app.get("/v1/me/access-requests", &token).await, StatusCode::OK).await;
        let request = mine["items"][0].clone();
        assert_eq!((request["kind"].as_str(), request["device_id"].as_str()), (Some("device_admin"), managed["id"].as_str()), "{request}");
        assert_eq!(request["duration_seconds"], 3600, "the shortest session that covers the 50 minutes asked");

        // Approved, but no admin rights until the person starts the session: the task waits.
        let id = request["id"].as_str().unwrap();
        expect_status(app.post(&format!("/v1/access-requests/{id}/approve"), &app.admin_token, &json!({})).await, StatusCode::OK).await;
        let waiting = expect_status(app.get(&endpoint, &s.pep).await, StatusCode::OK).await;
        assert_eq!(waiting["task"]["status"], "pending", "{waiting}");
        assert!(waiting.get("result").is_none(), "{waiting}");
        assert_eq!(evaluate(&app, &s.pep, &admin_question(s.email, &managed)).await["decision"], false);

        let session = expect_status(app.post(&format!("/v1/access-requests/{id}/start-session"), &token, &json!({})).await, StatusCode::CREATED).await;
        let done = expect_status(app.get(&endpoint, &s.pep).await, StatusCode::OK).await;
        assert_eq!(done["task"]["status"], "approved", "{done}");
        let approval = done["result"]["approval"].clone();
        let until = chrono::DateTime::parse_from_rfc3339(approval["approved_until"].as_str().unwrap()).unwrap();
        let ends = chrono::DateTime::parse_from_rfc3339(session["ends_at"].as_str().unwrap()).unwrap();
        assert_eq!(until.timestamp(), ends.timestamp());
        let mut reevaluation = admin_question(s.email, &managed);
        reevaluation["context"] = json!({ "approval": approval });
        let permitted = evaluate(&app, &s.pep, &reevaluation).await;
        assert_eq!(permitted["decision"], true, "{permitted}");
        assert_eq!(evaluate(&app, &s.pep, &admin_question(s.email, &managed)).await["decision"], true);
        // The approval is for this device only.
        let mut other = admin_question(s.email, &unmanaged);
        other["context"] = json!({ "approval": approval });
        assert_eq!(evaluate(&app, &s.pep, &other).await["context"]["reason"], "out_of_scope");

        // Ended early: no longer permitted, and a fresh request is offered.
        let end = format!("/v1/device-admin-sessions/{}/end", session["id"].as_str().unwrap());
        expect_status(app.post(&end, &app.admin_token, &json!({})).await, StatusCode::OK).await;
        let ended = evaluate(&app, &s.pep, &reevaluation).await;
        assert_eq!(ended["decision"], false, "{ended}");
        assert_eq!((ended["context"]["reason"].as_str(), ended["context"]["next_action"].as_str()), (Some("approval_expired"), Some("request")));
        assert!(ended["context"]["access_request"].is_object(), "{ended}");
        assert_eq!(evaluate(&app, &s.pep, &admin_question(s.email, &managed)).await["decision"], false);
    }
}
