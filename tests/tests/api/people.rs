//! The directory as people who are not administrators see it: a people search that returns only
//! what a picker needs, and their own record with their manager at `/v1/me`.

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn a_person_finds_active_colleagues_by_part_of_a_name_or_email_and_sees_only_picker_fields(app: TestApp) {
        let ada = app.create_user("ada.lovelace@example.org", "Ada Lovelace").await;
        let adam = app.create_user("adam@example.org", "Adam Smith").await;
        app.create_user_with(json!({ "email": "adabot@example.org", "display_name": "Ada Bot", "kind": "integration" })).await;
        let gone = app.create_user("adair@example.org", "Adair Gone").await;
        app.patch(&format!("/v1/users/{gone}"), &app.admin_token, &json!({ "active": false })).await;
        app.create_user("grace@example.org", "Grace Hopper").await;
        let me = app.create_user("me@example.org", "Me").await;

        let found = expect_status(app.get("/v1/people?q=ADA", &app.token_for(&me)).await, StatusCode::OK).await;
        let mut ids: Vec<&str> = found["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
        ids.sort();
        // The test server's administrator is "Ada Admin".
        let mut expected = vec![app.admin_id.as_str(), ada.as_str(), adam.as_str()];
        expected.sort();
        assert_eq!(ids, expected, "active people only: no integration account, no deactivated person");
        for person in found["items"].as_array().unwrap() {
            let mut keys: Vec<&str> = person.as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort();
            assert_eq!(keys, ["display_name", "email", "id"]);
        }
        let by_email = expect_status(app.get("/v1/people?q=lovelace%40", &app.token_for(&me)).await, StatusCode::OK).await;
        assert_eq!(by_email["items"][0]["display_name"], "Ada Lovelace");
        assert_eq!(by_email["items"].as_array().unwrap().len(), 1);
    }

    async fn the_people_search_pages_like_every_list(app: TestApp) {
        for n in 0..5 {
            app.create_user(&format!("tester{n}@example.org"), &format!("Tester {n}")).await;
        }
        let me = app.create_user("me@example.org", "Me").await;
        let all = app.collect_pages("/v1/people?q=tester", &app.token_for(&me), 2).await;
        assert_eq!(all.len(), 5);
    }

    async fn a_search_of_fewer_than_two_characters_is_refused(app: TestApp) {
        let me = app.create_user("me@example.org", "Me").await;
        let token = app.token_for(&me);
        for query in ["", "?q=", "?q=a", "?q=%20a%20", "?q=%20%20%20"] {
            let problem = expect_problem(app.get(&format!("/v1/people{query}"), &token).await, StatusCode::BAD_REQUEST).await;
            assert_eq!(error_fields(&problem), ["q"], "{query}");
        }
    }

    async fn a_person_reads_their_own_record_and_their_managers_picker_view_at_me(app: TestApp) {
        let manager = app.create_user("max@example.org", "Max Manager").await;
        let me = app.create_user_with(json!({ "email": "riley@example.org", "display_name": "Riley", "manager_id": manager })).await;
        let record = expect_status(app.get("/v1/me", &app.token_for(&me)).await, StatusCode::OK).await;
        assert_eq!((record["id"].as_str(), record["manager_id"].as_str()), (Some(me.as_str()), Some(manager.as_str())));
        assert_eq!(record["manager"], json!({ "id": manager, "display_name": "Max Manager", "email": "max@example.org" }));
        let boss = expect_status(app.get("/v1/me", &app.token_for(&manager)).await, StatusCode::OK).await;
        assert!(boss["manager"].is_null());
        // Their full records stay with the administrators.
        expect_problem(app.get(&format!("/v1/users/{manager}"), &app.token_for(&me)).await, StatusCode::FORBIDDEN).await;
    }
}
