use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn an_admin_creates_a_user_and_reads_it_back(app: TestApp) {
        let response = app
            .post("/v1/users", &app.admin_token, &json!({ "email": " Grace@Example.com ", "display_name": " Grace Hopper " }))
            .await;
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(response.headers()["etag"], "\"1\"");
        let created = expect_status(response, StatusCode::CREATED).await;
        assert_eq!(created["email"], "grace@example.com");
        assert_eq!(created["display_name"], "Grace Hopper");
        assert_eq!((created["kind"].as_str(), created["is_admin"].as_bool(), created["active"].as_bool()), (Some("person"), Some(false), Some(true)));
        assert_eq!(location, format!("/v1/users/{}", created["id"].as_str().unwrap()));

        let fetched = expect_status(app.get(&location, &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(fetched, created);
    }

    async fn an_email_can_be_used_only_once_whatever_its_case(app: TestApp) {
        let first = app.create_user("ada@example.org", "Ada").await;
        let response = app.post("/v1/users", &app.admin_token, &json!({ "email": "ADA@example.org", "display_name": "Other" })).await;
        let problem = expect_problem(response, StatusCode::CONFLICT).await;
        assert_eq!(problem["existing_id"], first);
    }

    async fn a_manager_must_exist(app: TestApp) {
        let missing = uuid::Uuid::now_v7();
        let response = app
            .post("/v1/users", &app.admin_token, &json!({ "email": "x@example.org", "display_name": "X", "manager_id": missing }))
            .await;
        let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["manager_id"]);
    }

    async fn a_management_chain_may_not_loop(app: TestApp) {
        let top = app.create_user("top@example.org", "Top").await;
        let middle = app.create_user_with(json!({ "email": "mid@example.org", "display_name": "Mid", "manager_id": top })).await;
        let bottom = app.create_user_with(json!({ "email": "low@example.org", "display_name": "Low", "manager_id": middle })).await;

        let response = app.patch(&format!("/v1/users/{top}"), &app.admin_token, &json!({ "manager_id": bottom })).await;
        let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["manager_id"]);
        assert!(problem["detail"].as_str().unwrap().contains("cycle"));

        let response = app.patch(&format!("/v1/users/{top}"), &app.admin_token, &json!({ "manager_id": top })).await;
        expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;

        let unchanged = expect_status(app.get(&format!("/v1/users/{top}"), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(unchanged["manager_id"], serde_json::Value::Null);
        assert_eq!(unchanged["version"], 1);
    }

    async fn an_integration_user_can_neither_manage_nor_administer(app: TestApp) {
        let bot = app.create_user_with(json!({ "email": "bot@example.org", "display_name": "Bot", "kind": "integration" })).await;
        let response = app
            .post("/v1/users", &app.admin_token, &json!({ "email": "p@example.org", "display_name": "P", "manager_id": bot }))
            .await;
        expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        let response = app.patch(&format!("/v1/users/{bot}"), &app.admin_token, &json!({ "is_admin": true })).await;
        let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["is_admin"]);
    }

    async fn people_who_are_not_admins_cannot_change_the_directory(app: TestApp) {
        let person = app.create_user("person@example.org", "Person").await;
        let token = app.token_for(&person);
        let response = app.post("/v1/users", &token, &json!({ "email": "new@example.org", "display_name": "New" })).await;
        expect_problem(response, StatusCode::FORBIDDEN).await;
        let response = app.patch(&format!("/v1/users/{person}"), &token, &json!({ "is_admin": true })).await;
        expect_problem(response, StatusCode::FORBIDDEN).await;
        expect_problem(app.delete(&format!("/v1/users/{}", app.admin_id), &token).await, StatusCode::FORBIDDEN).await;
        // Nor read it: full records are for administrators, even one's own (`/v1/me` has it).
        expect_problem(app.get("/v1/users", &token).await, StatusCode::FORBIDDEN).await;
        expect_problem(app.get(&format!("/v1/users/{person}"), &token).await, StatusCode::FORBIDDEN).await;
    }

    async fn a_user_someone_refers_to_is_deactivated_instead_of_deleted(app: TestApp) {
        let manager = app.create_user("boss@example.org", "Boss").await;
        app.create_user_with(json!({ "email": "report@example.org", "display_name": "Report", "manager_id": manager })).await;
        let manager_token = app.token_for(&manager);
        expect_status(app.get("/v1/me", &manager_token).await, StatusCode::OK).await;

        expect_status(app.delete(&format!("/v1/users/{manager}"), &app.admin_token).await, StatusCode::NO_CONTENT).await;

        let kept = expect_status(app.get(&format!("/v1/users/{manager}"), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(kept["active"], false);
        assert_eq!(kept["version"], 2);
        expect_problem(app.get("/v1/me", &manager_token).await, StatusCode::UNAUTHORIZED).await;
    }

    async fn a_user_nothing_refers_to_is_deleted(app: TestApp) {
        let user = app.create_user("gone@example.org", "Gone").await;
        expect_status(app.delete(&format!("/v1/users/{user}"), &app.admin_token).await, StatusCode::NO_CONTENT).await;
        expect_problem(app.get(&format!("/v1/users/{user}"), &app.admin_token).await, StatusCode::NOT_FOUND).await;
        expect_problem(app.delete(&format!("/v1/users/{user}"), &app.admin_token).await, StatusCode::NOT_FOUND).await;
    }

    async fn a_stale_if_match_is_refused_and_a_current_one_accepted(app: TestApp) {
        let user = app.create_user("v@example.org", "Version").await;
        let path = format!("/v1/users/{user}");
        let response = app
            .request(Method::PATCH, &path, Some(&app.admin_token))
            .header("If-Match", "\"1\"")
            .json(&json!({ "display_name": "Version Two" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["etag"], "\"2\"");
        assert_eq!(expect_status(response, StatusCode::OK).await["version"], 2);

        let response = app
            .request(Method::PATCH, &path, Some(&app.admin_token))
            .header("If-Match", "\"1\"")
            .json(&json!({ "display_name": "Lost Update" }))
            .send()
            .await
            .unwrap();
        expect_problem(response, StatusCode::PRECONDITION_FAILED).await;
        let current = expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(current["display_name"], "Version Two");
    }

    async fn the_last_active_admin_cannot_be_demoted_or_removed(app: TestApp) {
        let path = format!("/v1/users/{}", app.admin_id);
        expect_problem(app.patch(&path, &app.admin_token, &json!({ "is_admin": false })).await, StatusCode::CONFLICT).await;
        expect_problem(app.patch(&path, &app.admin_token, &json!({ "active": false })).await, StatusCode::CONFLICT).await;
        expect_problem(app.delete(&path, &app.admin_token).await, StatusCode::CONFLICT).await;

        let second = app.create_user_with(json!({ "email": "admin2@example.org", "display_name": "Second", "is_admin": true })).await;
        expect_status(app.patch(&path, &app.admin_token, &json!({ "is_admin": false })).await, StatusCode::OK).await;
        let demoted = expect_status(app.get("/v1/me", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(demoted["is_admin"], false);
        expect_problem(
            app.post("/v1/users", &app.admin_token, &json!({ "email": "z@example.org", "display_name": "Z" })).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        let second_token = app.token_for(&second);
        expect_status(app.get(&format!("/v1/users/{second}"), &second_token).await, StatusCode::OK).await;
    }

    async fn pages_cover_every_user_once_newest_first(app: TestApp) {
        let mut created = vec![app.admin_id.clone()];
        for n in 0..7 {
            created.push(app.create_user(&format!("u{n}@example.org"), &format!("User {n}")).await);
        }
        let items = app.collect_pages("/v1/users", &app.admin_token, 3).await;
        let ids: Vec<String> = items.iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect();
        created.reverse();
        assert_eq!(ids, created, "every user once, newest first");
    }

    async fn users_can_be_searched_and_filtered(app: TestApp) {
        app.create_user("linus@example.org", "Linus Torvalds").await;
        app.create_user("ken@example.org", "Ken Thompson").await;
        app.create_user_with(json!({ "email": "ci@example.org", "display_name": "CI bot", "kind": "integration" })).await;

        let found = expect_status(app.get("/v1/users?q=TORV", &app.admin_token).await, StatusCode::OK).await;
        let emails: Vec<&str> = found["items"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
        assert_eq!(emails, ["linus@example.org"]);

        let bots = expect_status(app.get("/v1/users?kind=integration", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(bots["items"].as_array().unwrap().len(), 1);
        let admins = expect_status(app.get("/v1/users?is_admin=true", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(admins["items"][0]["id"], app.admin_id.as_str());

        // A LIKE wildcard in the search is a literal character.
        let none = expect_status(app.get("/v1/users?q=%25", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(none["items"].as_array().unwrap().len(), 0);
    }

    async fn the_people_search_follows_changes_to_the_directory(app: TestApp) {
        // SQLite answers texts of three characters or more from its trigram index (kept by
        // triggers); PostgreSQL from pg_trgm indexes. Both must follow every change at once.
        let ann = app.create_user("ann@example.org", "Ann Lee").await;
        let joann = app.create_user("joann@example.org", "Joann Park").await;
        let rock = app.create_user("dwayne@example.org", "Dwayne \"The Rock\" Johnson").await;
        let search = |q: &'static str| {
            let app = &app;
            async move {
                let page = expect_status(app.get(&format!("/v1/users?q={q}"), &app.admin_token).await, StatusCode::OK).await;
                let mut ids: Vec<String> = page["items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect();
                ids.sort();
                ids
            }
        };
        let sorted = |mut ids: Vec<&String>| {
            ids.sort();
            ids.into_iter().cloned().collect::<Vec<String>>()
        };
        assert_eq!(search("ANN@").await, sorted(vec![&ann, &joann]));
        assert_eq!(search("EE").await, [ann.as_str()], "two characters: shorter than a trigram");
        assert_eq!(search("%22the%20rock%22").await, [rock.as_str()], "quotes are part of the text");

        // A new email for Ann, whose old one is part of Joann's: only Ann's entry changes.
        let path = format!("/v1/users/{ann}");
        expect_status(app.patch(&path, &app.admin_token, &json!({ "email": "lee@example.org" })).await, StatusCode::OK).await;
        assert_eq!(search("ann@example.org").await, [joann.as_str()]);
        assert_eq!(search("lee@exa").await, [ann.as_str()]);
        expect_status(app.patch(&path, &app.admin_token, &json!({ "display_name": "Annabel Lee" })).await, StatusCode::OK).await;
        assert_eq!(search("annabel").await, [ann.as_str()]);
        assert!(search("ann%20lee").await.is_empty(), "the old name is gone");
        // A change of something else leaves the search as it was.
        expect_status(app.patch(&path, &app.admin_token, &json!({ "is_admin": true })).await, StatusCode::OK).await;
        assert_eq!(search("annabel").await, [ann.as_str()]);

        expect_status(app.delete(&format!("/v1/users/{joann}"), &app.admin_token).await, StatusCode::NO_CONTENT).await;
        assert!(search("joann").await.is_empty());
        assert_eq!(search("ann").await, [ann.as_str()]);
    }

    async fn me_is_the_caller(app: TestApp) {
        let person = app.create_user_with(json!({ "email": "me@example.org", "display_name": "Me", "external_id": "idp|42" })).await;
        // `sub` may be the id, the email or the external id.
        for subject in [person.as_str(), "me@example.org", "idp|42"] {
            let me = expect_status(app.get("/v1/me", &app.token_for(subject)).await, StatusCode::OK).await;
            assert_eq!(me["id"], person.as_str(), "subject {subject}");
        }
    }
}
