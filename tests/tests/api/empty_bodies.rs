//! An action whose body has no required field takes no body at all: approving without a comment is
//! the common case, and an absent or empty body means `{}`. A denial needs its reason.

use reqwest::{Method, StatusCode};

use crate::both_backends;
use crate::helpers::*;
use crate::requests::{submit, world};

both_backends! {
    async fn approve_and_deny_take_no_body(app: TestApp) {
        let w = world(&app, "all_in_order").await;
        let request = submit(&app, &w).await;
        let id = request["id"].as_str().unwrap();
        // No Content-Type, no body: the manager approves their step.
        let approved = app
            .request(Method::POST, &format!("/v1/access-requests/{id}/approve"), Some(&app.token_for(&w.manager)))
            .send()
            .await
            .unwrap();
        let approved = expect_status(approved, StatusCode::OK).await;
        assert_eq!(approved["steps"][0]["state"], "approved", "{approved}");

        // Content-Type: application/json and Content-Length: 0 mean `{}` too.
        let approved = app
            .request(Method::POST, &format!("/v1/access-requests/{id}/approve"), Some(&app.token_for(&w.reviewers[0])))
            .header("Content-Type", "application/json")
            .body("")
            .send()
            .await
            .unwrap();
        let approved = expect_status(approved, StatusCode::OK).await;
        assert_eq!(approved["steps"][1]["decisions"].as_array().unwrap().len(), 1, "{approved}");

        // A denial needs its reason (seed 001): no body at all is a 422 naming it.
        let unexplained = app
            .request(Method::POST, &format!("/v1/access-requests/{id}/deny"), Some(&app.token_for(&w.reviewers[1])))
            .send()
            .await
            .unwrap();
        let problem = expect_problem(unexplained, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["reason"]);
    }

    async fn a_body_that_is_sent_must_still_be_json(app: TestApp) {
        let w = world(&app, "all_in_order").await;
        let request = submit(&app, &w).await;
        let path = format!("/v1/access-requests/{}/approve", request["id"].as_str().unwrap());
        let token = app.token_for(&w.manager);
        let text = app
            .request(Method::POST, &path, Some(&token))
            .header("Content-Type", "text/plain")
            .body("ok")
            .send()
            .await
            .unwrap();
        expect_problem(text, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
        let untyped = app.request(Method::POST, &path, Some(&token)).body("{}").send().await.unwrap();
        expect_problem(untyped, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
        let null = app
            .request(Method::POST, &path, Some(&token))
            .header("Content-Type", "application/json")
            .body("null")
            .send()
            .await
            .unwrap();
        assert!(null.status().is_client_error(), "{}", null.status());
        // An action whose body has a required field (a comment) still needs one.
        let comment = app
            .request(Method::POST, &format!("/v1/access-requests/{}/comments", request["id"].as_str().unwrap()), Some(&token))
            .header("Content-Type", "application/json")
            .send()
            .await
            .unwrap();
        expect_problem(comment, StatusCode::BAD_REQUEST).await;
    }
}
