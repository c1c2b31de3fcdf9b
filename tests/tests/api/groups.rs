use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn groups_are_created_renamed_and_deleted(app: TestApp) {
        let created = expect_status(
            app.post("/v1/groups", &app.admin_token, &json!({ "name": "GitHub Admins", "description": "Org owners" })).await,
            StatusCode::CREATED,
        )
        .await;
        let path = format!("/v1/groups/{}", created["id"].as_str().unwrap());
        assert_eq!(created["version"], 1);

        let renamed = expect_status(app.patch(&path, &app.admin_token, &json!({ "name": "GitHub Owners" })).await, StatusCode::OK).await;
        assert_eq!((renamed["name"].as_str(), renamed["description"].as_str(), renamed["version"].as_i64()), (Some("GitHub Owners"), Some("Org owners"), Some(2)));

        expect_status(app.delete(&path, &app.admin_token).await, StatusCode::NO_CONTENT).await;
        expect_problem(app.get(&path, &app.admin_token).await, StatusCode::NOT_FOUND).await;
    }

    async fn a_group_name_is_unique(app: TestApp) {
        app.create_group("Engineering").await;
        let response = app.post("/v1/groups", &app.admin_token, &json!({ "name": "Engineering" })).await;
        expect_problem(response, StatusCode::CONFLICT).await;
        let other = app.create_group("Design").await;
        let response = app.patch(&format!("/v1/groups/{other}"), &app.admin_token, &json!({ "name": "Engineering" })).await;
        expect_problem(response, StatusCode::CONFLICT).await;
    }

    async fn an_admin_adds_and_removes_a_direct_member(app: TestApp) {
        let group = app.create_group("Engineering").await;
        let user = app.create_user("dev@example.org", "Dev").await;
        let members = format!("/v1/groups/{group}/members");

        let membership = expect_status(app.post(&members, &app.admin_token, &json!({ "user_id": user })).await, StatusCode::CREATED).await;
        assert_eq!((membership["user_id"].as_str(), membership["source"].as_str()), (Some(user.as_str()), Some("direct")));
        assert_eq!(membership["expires_at"], serde_json::Value::Null);
        expect_problem(app.post(&members, &app.admin_token, &json!({ "user_id": user })).await, StatusCode::CONFLICT).await;

        let listed = expect_status(app.get(&members, &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
        // Who holds a group is for administrators, members included.
        expect_problem(app.get(&members, &app.token_for(&user)).await, StatusCode::FORBIDDEN).await;
        assert_eq!(listed["items"][0]["user_id"], user.as_str());

        expect_status(app.delete(&format!("{members}/{user}"), &app.admin_token).await, StatusCode::NO_CONTENT).await;
        expect_problem(app.delete(&format!("{members}/{user}"), &app.admin_token).await, StatusCode::NOT_FOUND).await;
        let listed = expect_status(app.get(&members, &app.admin_token).await, StatusCode::OK).await;
        assert!(listed["items"].as_array().unwrap().is_empty());
    }

    async fn only_active_people_can_be_members(app: TestApp) {
        let group = app.create_group("Engineering").await;
        let members = format!("/v1/groups/{group}/members");
        let bot = app.create_user_with(json!({ "email": "bot@example.org", "display_name": "Bot", "kind": "integration" })).await;
        let problem = expect_problem(app.post(&members, &app.admin_token, &json!({ "user_id": bot })).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["user_id"]);

        let missing = uuid::Uuid::now_v7();
        let problem = expect_problem(app.post(&members, &app.admin_token, &json!({ "user_id": missing })).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["user_id"]);

        let unknown_group = format!("/v1/groups/{}/members", uuid::Uuid::now_v7());
        let person = app.create_user("p@example.org", "P").await;
        expect_problem(app.post(&unknown_group, &app.admin_token, &json!({ "user_id": person })).await, StatusCode::NOT_FOUND).await;
    }

    async fn a_member_is_kept_as_a_deactivated_user_and_the_group_delete_removes_memberships(app: TestApp) {
        let group = app.create_group("Engineering").await;
        let user = app.create_user("dev@example.org", "Dev").await;
        expect_status(app.post(&format!("/v1/groups/{group}/members"), &app.admin_token, &json!({ "user_id": user })).await, StatusCode::CREATED).await;

        // The membership refers to the user, so deleting the user deactivates them.
        expect_status(app.delete(&format!("/v1/users/{user}"), &app.admin_token).await, StatusCode::NO_CONTENT).await;
        let kept = expect_status(app.get(&format!("/v1/users/{user}"), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(kept["active"], false);

        expect_status(app.delete(&format!("/v1/groups/{group}"), &app.admin_token).await, StatusCode::NO_CONTENT).await;
        // With the membership gone nothing refers to the user any more: now they are deleted.
        expect_status(app.delete(&format!("/v1/users/{user}"), &app.admin_token).await, StatusCode::NO_CONTENT).await;
        expect_problem(app.get(&format!("/v1/users/{user}"), &app.admin_token).await, StatusCode::NOT_FOUND).await;
    }

    async fn groups_page_and_search(app: TestApp) {
        for name in ["Alpha", "Beta", "Gamma", "Delta", "Epsilon"] {
            app.create_group(name).await;
        }
        let all = app.collect_pages("/v1/groups", &app.admin_token, 2).await;
        let names: Vec<&str> = all.iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Epsilon", "Delta", "Gamma", "Beta", "Alpha"]);
        let found = expect_status(app.get("/v1/groups?q=ETA", &app.admin_token).await, StatusCode::OK).await;
        let names: Vec<&str> = found["items"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Beta"]);
    }
}
