//! The Access Request and Approval Profile: submission of a requestable denial, the task, the
//! approval echo on re-evaluation, cancellation, idempotency, and the binding's refusals.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::*;
use crate::both_backends;

async fn task(app: &TestApp, token: &str, endpoint: &Value) -> Value {
    expect_status(
        app.get(&path_of(app, endpoint), token).await,
        StatusCode::OK,
    )
    .await
}

both_backends! {
    async fn a_requestable_denial_is_submitted_approved_and_then_permits(app: TestApp) {
        let s = setup(&app).await;
        let denied = requestable(&app, &s).await;
        let created = submit(&app, &s.pep, &submission(s.email, &s.w.target, &denied), None).await;
        assert_eq!(created.status(), StatusCode::ACCEPTED);
        let location = created.headers()["location"].to_str().unwrap().to_owned();
        let created = expect_status(created, StatusCode::ACCEPTED).await;
        let handle = &created["task"];
        assert_eq!(handle["status"], "pending");
        assert_eq!(handle["status_endpoint"], location.as_str());
        assert!(handle["id"].as_str().unwrap().len() >= 40);
        assert!(handle["links"]["cancel"].is_string());
        assert!(created.get("result").is_none());
        // The Portcullis request, made for the subject through the denial's flow.
        let mine = expect_status(app.get("/v1/me/access-requests", &app.token_for(&s.w.requester)).await, StatusCode::OK).await;
        let request = mine["items"][0].clone();
        assert_eq!((request["flow_id"].as_str(), request["status"].as_str()), (Some(s.w.flow.as_str()), Some("pending")));
        assert_eq!(request["duration_seconds"], 3600);
        // A pending task, and a re-evaluation that is still a denial (the request is open).
        assert_eq!(task(&app, &s.pep, &handle["status_endpoint"]).await["task"]["status"], "pending");
        let again = evaluate(&app, &s.pep, &question(s.email, &s.w.target)).await;
        assert_eq!((again["decision"].as_bool(), again["context"]["reason"].as_str()), (Some(false), Some("request_pending")));

        expect_status(crate::requests::act(&app, &request["id"], "approve", &s.w.manager, json!({})).await, StatusCode::OK).await;
        let done = task(&app, &s.pep, &handle["status_endpoint"]).await;
        assert_eq!(done["task"]["status"], "approved");
        assert_eq!(done["result"]["mode"], "reevaluate");
        let approval = done["result"]["approval"].clone();
        let grants = expect_status(app.get("/v1/me/grants", &app.token_for(&s.w.requester)).await, StatusCode::OK).await;
        let end = chrono::DateTime::parse_from_rfc3339(grants["items"][0]["expires_at"].as_str().unwrap()).unwrap();
        let until = chrono::DateTime::parse_from_rfc3339(approval["approved_until"].as_str().unwrap()).unwrap();
        assert_eq!(until.timestamp(), end.timestamp());

        let mut reevaluation = question(s.email, &s.w.target);
        reevaluation["context"] = json!({ "approval": approval });
        let permitted = evaluate(&app, &s.pep, &reevaluation).await;
        assert_eq!(permitted["decision"], true, "{permitted}");
        assert_eq!(permitted["context"]["approval"]["id"], approval["id"]);

        // Another person's or another resource's use of the approval is refused.
        let bob = app.create_user("bob@example.org", "Bob").await;
        join(&app, &s.w.visible, &bob).await;
        let mut swapped = question("bob@example.org", &s.w.target);
        swapped["context"] = json!({ "approval": approval });
        let refused = evaluate(&app, &s.pep, &swapped).await;
        assert_eq!((refused["decision"].as_bool(), refused["context"]["reason"].as_str()), (Some(false), Some("approval_unverifiable")));
        let mut elsewhere = question(s.email, &s.w.visible);
        elsewhere["context"] = json!({ "approval": approval });
        let refused = evaluate(&app, &s.pep, &elsewhere).await;
        assert_eq!((refused["decision"].as_bool(), refused["context"]["reason"].as_str()), (Some(false), Some("out_of_scope")));
        let mut forged = reevaluation.clone();
        forged["context"]["approval"]["id"] = json!("apr_forged");
        assert_eq!(evaluate(&app, &s.pep, &forged).await["context"]["reason"], "approval_unverifiable");

        // After expiry the approval no longer permits, and a fresh request is offered.
        app.clock.advance(chrono::Duration::seconds(3601));
        let expired = evaluate(&app, &s.pep, &reevaluation).await;
        assert_eq!(expired["decision"], false, "{expired}");
        assert_eq!((expired["context"]["reason"].as_str(), expired["context"]["next_action"].as_str()), (Some("approval_expired"), Some("request")));
    }

    async fn a_revoked_approval_no_longer_permits(app: TestApp) {
        let s = setup(&app).await;
        let denied = requestable(&app, &s).await;
        let created = expect_status(submit(&app, &s.pep, &submission(s.email, &s.w.target, &denied), None).await, StatusCode::ACCEPTED).await;
        let mine = expect_status(app.get("/v1/me/access-requests", &app.token_for(&s.w.requester)).await, StatusCode::OK).await;
        expect_status(crate::requests::act(&app, &mine["items"][0]["id"], "approve", &s.w.manager, json!({})).await, StatusCode::OK).await;
        let approval = task(&app, &s.pep, &created["task"]["status_endpoint"]).await["result"]["approval"].clone();
        let grants = expect_status(app.get("/v1/grants", &app.admin_token).await, StatusCode::OK).await;
        let grant = grants["items"][0]["id"].as_str().unwrap().to_owned();
        expect_status(app.delete(&format!("/v1/grants/{grant}"), &app.admin_token).await, StatusCode::NO_CONTENT).await;
        let mut reevaluation = question(s.email, &s.w.target);
        reevaluation["context"] = json!({ "approval": approval });
        let denied = evaluate(&app, &s.pep, &reevaluation).await;
        assert_eq!((denied["decision"].as_bool(), denied["context"]["reason"].as_str()), (Some(false), Some("approval_expired")));
    }

    async fn the_subject_submits_for_themselves_and_an_automatic_flow_answers_at_once(app: TestApp) {
        let s = setup(&app).await;
        let response = app.patch(&format!("/v1/approval-flows/{}", s.w.flow), &app.admin_token,
            &json!({ "approval_type": "automatic", "approvers": [], "approver_requirement": null })).await;
        expect_status(response, StatusCode::OK).await;
        let own = app.token_for(&s.w.requester);
        let denied = evaluate(&app, &own, &question(s.email, &s.w.target)).await;
        let created = submit(&app, &own, &submission(s.email, &s.w.target, &denied), None).await;
        let created = expect_status(created, StatusCode::CREATED).await;
        assert_eq!(created["task"]["status"], "approved");
        assert_eq!(created["result"]["mode"], "reevaluate");
        let mut reevaluation = question(s.email, &s.w.target);
        reevaluation["context"] = json!({ "approval": created["result"]["approval"] });
        assert_eq!(evaluate(&app, &own, &reevaluation).await["decision"], true);
    }

    async fn the_pep_cancels_a_pending_task_once(app: TestApp) {
        let s = setup(&app).await;
        let denied = requestable(&app, &s).await;
        let created = expect_status(submit(&app, &s.pep, &submission(s.email, &s.w.target, &denied), None).await, StatusCode::ACCEPTED).await;
        let cancel = path_of(&app, &created["task"]["links"]["cancel"]);
        let cancelled = expect_status(app.post(&cancel, &s.pep, &json!({ "reason": "user_abandoned" })).await, StatusCode::OK).await;
        assert_eq!(cancelled["task"]["status"], "cancelled");
        assert!(cancelled["task"]["links"].get("cancel").is_none());
        let mine = expect_status(app.get("/v1/me/access-requests?state=closed", &app.token_for(&s.w.requester)).await, StatusCode::OK).await;
        assert_eq!(mine["items"][0]["status"], "canceled");
        expect_arap(app.post(&cancel, &s.pep, &json!({})).await, StatusCode::CONFLICT, "invalid_task_state").await;
    }

    async fn an_idempotent_replay_returns_the_same_task_and_another_body_conflicts(app: TestApp) {
        let s = setup(&app).await;
        let denied = requestable(&app, &s).await;
        let body = submission(s.email, &s.w.target, &denied);
        let first = expect_status(submit(&app, &s.pep, &body, Some("k-1")).await, StatusCode::ACCEPTED).await;
        let replay = expect_status(submit(&app, &s.pep, &body, Some("k-1")).await, StatusCode::ACCEPTED).await;
        assert_eq!(first["task"]["id"], replay["task"]["id"]);
        let mut other = body.clone();
        other["context"]["business_justification"] = json!("A different justification entirely");
        expect_arap(submit(&app, &s.pep, &other, Some("k-1")).await, StatusCode::CONFLICT, "duplicate_request").await;
        // Without the key, the spent denial cannot make a second request.
        expect_arap(submit(&app, &s.pep, &body, None).await, StatusCode::BAD_REQUEST, "invalid_denial_binding").await;
    }

    async fn a_binding_moved_to_another_subject_or_resource_or_forged_is_refused(app: TestApp) {
        let s = setup(&app).await;
        let denied = requestable(&app, &s).await;
        let bob = app.create_user("bob@example.org", "Bob").await;
        join(&app, &s.w.visible, &bob).await;
        let other_subject = submission("bob@example.org", &s.w.target, &denied);
        expect_arap(submit(&app, &s.pep, &other_subject, None).await, StatusCode::BAD_REQUEST, "invalid_denial_binding").await;
        let other_group = app.create_group("Payroll").await;
        let other_resource = submission(s.email, &other_group, &denied);
        expect_arap(submit(&app, &s.pep, &other_resource, None).await, StatusCode::BAD_REQUEST, "invalid_denial_binding").await;
        let mut forged = submission(s.email, &s.w.target, &denied);
        forged["denial"]["evaluation_id"] = json!("0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80");
        expect_arap(submit(&app, &s.pep, &forged, None).await, StatusCode::BAD_REQUEST, "invalid_denial_binding").await;
        let mut by_reference = submission(s.email, &s.w.target, &denied);
        by_reference["denial"].as_object_mut().unwrap().remove("binding_token");
        expect_arap(submit(&app, &s.pep, &by_reference, None).await, StatusCode::BAD_REQUEST, "invalid_denial_binding").await;
        let mut tampered = submission(s.email, &s.w.target, &denied);
        let token = tampered["denial"]["binding_token"].as_str().unwrap().to_owned();
        tampered["denial"]["binding_token"] = json!(format!("{}x", token));
        expect_arap(submit(&app, &s.pep, &tampered, None).await, StatusCode::BAD_REQUEST, "invalid_denial_binding").await;
        // The genuine one still works.
        expect_status(submit(&app, &s.pep, &submission(s.email, &s.w.target, &denied), None).await, StatusCode::ACCEPTED).await;
    }

    async fn an_expired_denial_is_gone(app: TestApp) {
        let s = setup(&app).await;
        let denied = requestable(&app, &s).await;
        app.clock.advance(chrono::Duration::minutes(11));
        expect_arap(submit(&app, &s.pep, &submission(s.email, &s.w.target, &denied), None).await, StatusCode::GONE, "expired_denial").await;
    }

    async fn a_malformed_submission_gets_the_profiles_problem_document(app: TestApp) {
        let s = setup(&app).await;
        let denied = requestable(&app, &s).await;
        let mut no_denial = submission(s.email, &s.w.target, &denied);
        no_denial.as_object_mut().unwrap().remove("denial");
        let problem = expect_arap(submit(&app, &s.pep, &no_denial, None).await, StatusCode::BAD_REQUEST, "invalid_request").await;
        assert_eq!(problem["errors"][0]["field"], "denial");
        let mut no_reason = submission(s.email, &s.w.target, &denied);
        no_reason["context"] = json!({ "business_justification": "short" });
        let problem = expect_arap(submit(&app, &s.pep, &no_reason, None).await, StatusCode::BAD_REQUEST, "invalid_request").await;
        assert_eq!(problem["errors"][0]["field"], "context.business_justification");
        let unreadable = app.request(Method::POST, "/access/v1/requests", Some(&s.pep))
            .header("content-type", "application/json").body("{\"subject\":").send().await.unwrap();
        expect_arap(unreadable, StatusCode::BAD_REQUEST, "invalid_request").await;
        // A callback to a loopback address that is not allow-listed is refused clearly.
        let mut with_callback = submission(s.email, &s.w.target, &denied);
        with_callback["callback"] = json!({ "endpoint": "http://127.0.0.1:9/callbacks" });
        let problem = expect_arap(submit(&app, &s.pep, &with_callback, None).await, StatusCode::BAD_REQUEST, "invalid_request").await;
        assert_eq!(problem["errors"][0]["field"], "callback.endpoint");
    }

    async fn a_task_handle_alone_reveals_nothing(app: TestApp) {
        let s = setup(&app).await;
        let denied = requestable(&app, &s).await;
        let created = expect_status(submit(&app, &s.pep, &submission(s.email, &s.w.target, &denied), None).await, StatusCode::ACCEPTED).await;
        let endpoint = path_of(&app, &created["task"]["status_endpoint"]);
        let anonymous = app.request(Method::GET, &endpoint, None).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let stranger = app.create_user("eve@example.org", "Eve").await;
        expect_arap(app.get(&endpoint, &app.token_for(&stranger)).await, StatusCode::NOT_FOUND, "unknown_task").await;
        expect_arap(app.post(&format!("{endpoint}/cancel"), &app.token_for(&stranger), &json!({})).await, StatusCode::NOT_FOUND, "unknown_task").await;
        expect_arap(app.get("/access/v1/requests/arq_guess", &s.pep).await, StatusCode::NOT_FOUND, "unknown_task").await;
        // The subject and admins see it.
        assert_eq!(task(&app, &app.token_for(&s.w.requester), &created["task"]["status_endpoint"]).await["task"]["id"], created["task"]["id"]);
        assert_eq!(task(&app, &app.admin_token, &created["task"]["status_endpoint"]).await["task"]["id"], created["task"]["id"]);
    }
}
