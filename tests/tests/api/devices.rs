use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn a_device_is_created_with_its_users_and_updated(app: TestApp) {
        let riley = app.create_user("riley@example.org", "Riley").await;
        let sam = app.create_user("sam@example.org", "Sam").await;
        let created = expect_status(
            app.post("/v1/devices", &app.admin_token, &json!({ "name": "riley-mac", "os": "macos", "assigned_user_ids": [riley] })).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(created["assigned_user_ids"], json!([riley]));
        let path = format!("/v1/devices/{}", created["id"].as_str().unwrap());

        let updated = expect_status(app.patch(&path, &app.admin_token, &json!({ "assigned_user_ids": [sam, riley], "os": "linux" })).await, StatusCode::OK).await;
        assert_eq!((updated["os"].as_str(), updated["version"].as_i64()), (Some("linux"), Some(2)));
        let fetched = expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await;
        let mut assigned: Vec<&str> = fetched["assigned_user_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assigned.sort();
        let mut expected = vec![sam.as_str(), riley.as_str()];
        expected.sort();
        assert_eq!(assigned, expected);

        expect_status(app.delete(&path, &app.admin_token).await, StatusCode::NO_CONTENT).await;
        expect_problem(app.get(&path, &app.admin_token).await, StatusCode::NOT_FOUND).await;
    }

    async fn every_assignee_must_be_an_active_person_listed_once(app: TestApp) {
        let riley = app.create_user("riley@example.org", "Riley").await;
        let bot = app.create_user_with(json!({ "email": "bot@example.org", "display_name": "Bot", "kind": "integration" })).await;
        let missing = uuid::Uuid::now_v7().to_string();

        let body = json!({ "name": "box", "os": "windows", "assigned_user_ids": [riley, missing, bot] });
        let problem = expect_problem(app.post("/v1/devices", &app.admin_token, &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["assigned_user_ids[1]", "assigned_user_ids[2]"]);

        let body = json!({ "name": "box", "os": "windows", "assigned_user_ids": [riley, riley] });
        let problem = expect_problem(app.post("/v1/devices", &app.admin_token, &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["assigned_user_ids[1]"]);

        // Nothing was half-written.
        let listed = expect_status(app.get("/v1/devices", &app.admin_token).await, StatusCode::OK).await;
        assert!(listed["items"].as_array().unwrap().is_empty());
    }

    async fn people_see_only_the_devices_assigned_to_them(app: TestApp) {
        let riley = app.create_user("riley@example.org", "Riley").await;
        let sam = app.create_user("sam@example.org", "Sam").await;
        let mine = expect_status(
            app.post("/v1/devices", &app.admin_token, &json!({ "name": "riley-mac", "os": "macos", "assigned_user_ids": [riley] })).await,
            StatusCode::CREATED,
        )
        .await["id"].as_str().unwrap().to_owned();
        let theirs = expect_status(
            app.post("/v1/devices", &app.admin_token, &json!({ "name": "sam-pc", "os": "windows", "assigned_user_ids": [sam] })).await,
            StatusCode::CREATED,
        )
        .await["id"].as_str().unwrap().to_owned();

        let token = app.token_for(&riley);
        let listed = expect_status(app.get("/v1/devices", &token).await, StatusCode::OK).await;
        let ids: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [mine.as_str()]);
        expect_status(app.get(&format!("/v1/devices/{mine}"), &token).await, StatusCode::OK).await;
        expect_problem(app.get(&format!("/v1/devices/{theirs}"), &token).await, StatusCode::NOT_FOUND).await;
        expect_problem(app.post("/v1/devices", &token, &json!({ "name": "x", "os": "linux" })).await, StatusCode::FORBIDDEN).await;

        let all = expect_status(app.get("/v1/devices", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(all["items"].as_array().unwrap().len(), 2);
    }
}
