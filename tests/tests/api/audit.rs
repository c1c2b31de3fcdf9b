use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::flows::{create_flow, fixture, resource_flow};
use crate::helpers::*;

both_backends! {
    async fn every_flow_and_settings_change_is_an_event_with_actor_subject_and_versions(app: TestApp) {
        let f = fixture(&app).await;
        let flow = create_flow(&app, &resource_flow(&f)).await;
        let id = flow["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/approval-flows/{id}");
        expect_status(app.patch(&path, &app.admin_token, &json!({ "name": "GitHub Owner" })).await, StatusCode::OK).await;
        expect_status(app.delete(&path, &app.admin_token).await, StatusCode::NO_CONTENT).await;
        let mut settings = expect_status(app.get("/v1/settings", &app.admin_token).await, StatusCode::OK).await;
        settings.as_object_mut().unwrap().retain(|k, _| k != "version" && k != "updated_at");
        settings["expiry_days"] = json!(7);
        let response = app.request(Method::PUT, "/v1/settings", Some(&app.admin_token)).json(&settings).send().await.unwrap();
        expect_status(response, StatusCode::OK).await;

        let events = expect_status(app.get(&format!("/v1/events?subject_id={id}"), &app.admin_token).await, StatusCode::OK).await;
        let events = events["items"].as_array().unwrap();
        let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(types, [
            "access_management_approval_flow_delete",
            "access_management_approval_flow_update",
            "access_management_approval_flow_create",
        ], "newest first");
        for event in events {
            assert_eq!(event["actor_id"], app.admin_id.as_str());
            assert_eq!((event["subject_type"].as_str(), event["subject_id"].as_str()), (Some("approval_flow"), Some(id.as_str())));
        }
        assert_eq!(events[2]["data"]["version_after"], 1);
        assert_eq!((events[1]["data"]["version_before"].as_i64(), events[1]["data"]["version_after"].as_i64()), (Some(1), Some(2)));
        assert_eq!(events[1]["data"]["after"]["name"], "GitHub Owner");
        assert_eq!(events[0]["data"]["version_before"], 2);

        let settings_events = expect_status(
            app.get("/v1/events?type=access_management_access_request_settings_update", &app.admin_token).await,
            StatusCode::OK,
        )
        .await;
        let event = &settings_events["items"][0];
        assert_eq!((event["data"]["version_before"].as_i64(), event["data"]["version_after"].as_i64()), (Some(1), Some(2)));
        assert_eq!((event["data"]["before"]["expiry_days"].as_i64(), event["data"]["after"]["expiry_days"].as_i64()), (Some(30), Some(7)));
        assert_eq!(event["actor_id"], app.admin_id.as_str());
    }

    async fn events_page_and_filter_by_time(app: TestApp) {
        let f = fixture(&app).await;
        let before = chrono::Utc::now() - chrono::Duration::seconds(1);
        for n in 0..3 {
            let mut body = resource_flow(&f);
            body["name"] = json!(format!("Flow {n}"));
            create_flow(&app, &body).await;
        }
        let creates = app.collect_pages("/v1/events?type=access_management_approval_flow_create", &app.admin_token, 2).await;
        assert_eq!(creates.len(), 3);
        let names: Vec<&str> = creates.iter().map(|e| e["data"]["flow"]["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Flow 2", "Flow 1", "Flow 0"]);

        let since = before.to_rfc3339_opts(chrono::SecondsFormat::Micros, true).replace('+', "%2B");
        let recent = expect_status(app.get(&format!("/v1/events?since={since}&type=access_management_approval_flow_create"), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(recent["items"].as_array().unwrap().len(), 3);
        let until = expect_status(app.get(&format!("/v1/events?until={since}&type=access_management_approval_flow_create"), &app.admin_token).await, StatusCode::OK).await;
        assert!(until["items"].as_array().unwrap().is_empty());
        let problem = expect_problem(app.get("/v1/events?since=yesterday", &app.admin_token).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(error_fields(&problem), ["since"]);
    }

    async fn only_admins_read_the_audit_log(app: TestApp) {
        let person = app.token_for(&app.create_user("p@example.org", "P").await);
        expect_problem(app.get("/v1/events", &person).await, StatusCode::FORBIDDEN).await;
        expect_problem(app.request(Method::GET, "/v1/events", None).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    }
}
