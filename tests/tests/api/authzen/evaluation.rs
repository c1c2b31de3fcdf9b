//! Discovery and evaluation: permits from current memberships, plain and requestable denials, the
//! boxcar's semantics, and the HTTP rules (400, 401 with WWW-Authenticate, X-Request-ID).

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::*;
use crate::both_backends;

both_backends! {
    async fn discovery_names_this_server_and_its_endpoints(app: TestApp) {
        let response = app.request(Method::GET, "/.well-known/authzen-configuration", None).send().await.unwrap();
        let config = expect_status(response, StatusCode::OK).await;
        assert_eq!(config["policy_decision_point"], app.address.as_str());
        assert_eq!(config["access_evaluation_endpoint"], app.url("/access/v1/evaluation"));
        assert_eq!(config["access_evaluations_endpoint"], app.url("/access/v1/evaluations"));
        assert_eq!(config["access_request_endpoint"], app.url("/access/v1/requests"));
        assert_eq!(config["capabilities"], json!(["urn:openid:authzen:capability:access-request"]));
        let jwks = app.request(Method::GET, &path_of(&app, &config["jwks_uri"]), None).send().await.unwrap();
        let jwks = expect_status(jwks, StatusCode::OK).await;
        assert_eq!((jwks["keys"][0]["kty"].as_str(), jwks["keys"][0]["alg"].as_str()), (Some("OKP"), Some("EdDSA")));
    }

    async fn members_and_grant_holders_are_permitted_until_the_grant_ends(app: TestApp) {
        let s = setup(&app).await;
        // A direct member of the visibility group.
        assert_eq!(evaluate(&app, &s.pep, &question(s.email, &s.w.visible)).await["decision"], true);
        // The same subject by id; unknown members are ignored.
        let mut by_id = question(&s.w.requester, &s.w.visible);
        by_id["subject"]["properties"] = json!({ "department": "Sales" });
        by_id["unknown"] = json!(1);
        assert_eq!(evaluate(&app, &s.pep, &by_id).await["decision"], true);
        // A grant holder, until the grant expires (no job needed: the membership's end counts).
        let request = crate::requests::submit(&app, &s.w).await;
        expect_status(crate::requests::act(&app, &request["id"], "approve", &s.w.manager, json!({})).await, StatusCode::OK).await;
        assert_eq!(evaluate(&app, &s.pep, &question(s.email, &s.w.target)).await["decision"], true);
        app.clock.advance(chrono::Duration::seconds(3601));
        let after = evaluate(&app, &s.pep, &question(s.email, &s.w.target)).await;
        assert_eq!(after["decision"], false, "{after}");
    }

    async fn a_revoked_grant_stops_permitting_at_once(app: TestApp) {
        let s = setup(&app).await;
        let request = crate::requests::submit(&app, &s.w).await;
        expect_status(crate::requests::act(&app, &request["id"], "approve", &s.w.manager, json!({})).await, StatusCode::OK).await;
        assert_eq!(evaluate(&app, &s.pep, &question(s.email, &s.w.target)).await["decision"], true);
        let grants = expect_status(app.get("/v1/grants", &app.admin_token).await, StatusCode::OK).await;
        let grant = grants["items"][0]["id"].as_str().unwrap().to_owned();
        expect_status(app.delete(&format!("/v1/grants/{grant}"), &app.admin_token).await, StatusCode::NO_CONTENT).await;
        assert_eq!(evaluate(&app, &s.pep, &question(s.email, &s.w.target)).await["decision"], false);
    }

    async fn a_person_who_cannot_request_gets_a_plain_denial(app: TestApp) {
        let s = setup(&app).await;
        app.create_user("olly@example.org", "Olly Outsider").await;
        let denied = evaluate(&app, &s.pep, &question("olly@example.org", &s.w.target)).await;
        assert_eq!(denied, json!({ "decision": false }));
        // Unknown subjects, resources and actions are plain denials too.
        for body in [
            question("nobody@example.org", &s.w.target),
            json!({"subject": {"type": "user", "id": s.email}, "resource": {"type": "document", "id": "q4"}, "action": {"name": "can_read"}}),
            json!({"subject": {"type": "robot", "id": s.email}, "resource": {"type": "group", "id": s.w.target}, "action": {"name": "member"}}),
        ] {
            assert_eq!(evaluate(&app, &s.pep, &body).await, json!({ "decision": false }));
        }
    }

    async fn a_requestable_denial_carries_its_binding_and_the_flow(app: TestApp) {
        let s = setup(&app).await;
        let denied = requestable(&app, &s).await;
        let context = &denied["context"];
        assert_eq!(context["reason"], "approval_required");
        assert!(context["evaluation_id"].is_string());
        let access = &context["access_request"];
        assert_eq!(access["endpoint"], app.url("/access/v1/requests"));
        assert_eq!(access["template"], s.w.flow.as_str());
        assert_eq!(access["binding_token"].as_str().unwrap().split('.').count(), 3);
        assert!(access["display"]["description"].as_str().unwrap().contains("GitHub Admin"));
        let expires = chrono::DateTime::parse_from_rfc3339(access["expires_at"].as_str().unwrap()).unwrap();
        assert!(expires > chrono::Utc::now() + chrono::Duration::minutes(9));
        // With requests turned off, the same denial is plain.
        let settings = expect_status(app.get("/v1/settings", &app.admin_token).await, StatusCode::OK).await;
        let mut off = settings.clone();
        off["resource_requests_enabled"] = json!(false);
        for key in ["version", "updated_at"] { off.as_object_mut().unwrap().remove(key); }
        let response = app.request(Method::PUT, "/v1/settings", Some(&app.admin_token)).json(&off).send().await.unwrap();
        expect_status(response, StatusCode::OK).await;
        assert_eq!(evaluate(&app, &s.pep, &question(s.email, &s.w.target)).await, json!({ "decision": false }));
    }

    async fn callers_authenticate_and_people_ask_only_about_themselves(app: TestApp) {
        let s = setup(&app).await;
        let body = question(s.email, &s.w.visible);
        let anonymous = app.request(Method::POST, "/access/v1/evaluation", None)
            .header("X-Request-ID", "pep-1234").json(&body).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
        assert_eq!(anonymous.headers()["x-request-id"], "pep-1234");
        // The subject about themselves.
        let own = app.request(Method::POST, "/access/v1/evaluation", Some(&app.token_for(&s.w.requester)))
            .header("X-Request-ID", "pep-5678").json(&body).send().await.unwrap();
        assert_eq!(own.headers()["x-request-id"], "pep-5678");
        assert_eq!(expect_status(own, StatusCode::OK).await["decision"], true);
        // A person about someone else: 403, whether that person exists or not.
        for subject in ["max@example.org", "nobody@example.org"] {
            let response = app.post("/access/v1/evaluation", &app.token_for(&s.w.requester), &question(subject, &s.w.visible)).await;
            expect_status(response, StatusCode::FORBIDDEN).await;
        }
        // A missing member is a 400 naming it.
        let response = app.post("/access/v1/evaluation", &s.pep, &json!({"subject": {"type": "user", "id": s.email}, "action": {"name": "member"}})).await;
        let problem = expect_status(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["errors"][0]["field"], "resource");
        // A `null` context is no context; another non-object context is a 400 naming it.
        let mut asked = question(s.email, &s.w.visible);
        asked["context"] = serde_json::Value::Null;
        assert_eq!(evaluate(&app, &s.pep, &asked).await["decision"], true);
        asked["action"]["properties"] = serde_json::Value::Null;
        assert_eq!(evaluate(&app, &s.pep, &asked).await["decision"], true);
        asked["context"] = json!([]);
        let problem = expect_status(app.post("/access/v1/evaluation", &s.pep, &asked).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["errors"][0]["field"], "context");
    }

    async fn the_boxcar_honours_its_three_semantics(app: TestApp) {
        let s = setup(&app).await;
        let body = |semantic: &str| json!({
            "subject": { "type": "user", "id": s.email },
            "action": { "name": "member" },
            "options": { "evaluations_semantic": semantic },
            "evaluations": [
                { "resource": { "type": "group", "id": s.w.visible } },
                { "resource": { "type": "group", "id": s.w.target } },
                { "resource": { "type": "group", "id": s.w.visible } },
            ]
        });
        let decisions = |v: &serde_json::Value| v["evaluations"].as_array().unwrap().iter().map(|e| e["decision"].as_bool().unwrap()).collect::<Vec<_>>();
        let all = expect_status(app.post("/access/v1/evaluations", &s.pep, &body("execute_all")).await, StatusCode::OK).await;
        assert_eq!(decisions(&all), [true, false, true]);
        let deny = expect_status(app.post("/access/v1/evaluations", &s.pep, &body("deny_on_first_deny")).await, StatusCode::OK).await;
        assert_eq!(decisions(&deny), [true, false]);
        let permit = expect_status(app.post("/access/v1/evaluations", &s.pep, &body("permit_on_first_permit")).await, StatusCode::OK).await;
        assert_eq!(decisions(&permit), [true]);
        let bad = app.post("/access/v1/evaluations", &s.pep, &body("sometimes")).await;
        expect_status(bad, StatusCode::BAD_REQUEST).await;
        // `options` is an object (or absent, or null).
        let mut odd = body("execute_all");
        odd["options"] = json!([null, null]);
        let problem = expect_status(app.post("/access/v1/evaluations", &s.pep, &odd).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["errors"][0]["field"], "options");
        odd["options"] = serde_json::Value::Null;
        // Defaults are checked whether or not an evaluation takes them.
        odd["resource"] = json!({ "type": "group", "id": s.w.visible, "properties": [null] });
        let problem = expect_status(app.post("/access/v1/evaluations", &s.pep, &odd).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["errors"][0]["field"], "resource.properties");
        odd["resource"] = json!({ "type": "group" });
        let problem = expect_status(app.post("/access/v1/evaluations", &s.pep, &odd).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["errors"][0]["field"], "resource.id");
        odd["resource"] = serde_json::Value::Null;
        assert_eq!(decisions(&expect_status(app.post("/access/v1/evaluations", &s.pep, &odd).await, StatusCode::OK).await), [true, false, true]);
        // Without `evaluations`: one evaluation.
        let single = expect_status(app.post("/access/v1/evaluations", &s.pep, &question(s.email, &s.w.visible)).await, StatusCode::OK).await;
        assert_eq!(single["decision"], true);
    }
}
