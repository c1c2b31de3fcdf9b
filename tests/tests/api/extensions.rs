//! Issue 27, extensions: the holder of an active timed grant asks for more time through the grant's
//! flow; the approval moves `expires_at` on the same membership; the flow's limits are 422s; an
//! ended grant is a 409.

use chrono::{DateTime, Duration, FixedOffset};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;
use crate::requests::*;

fn at(value: &Value) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap()
}

/// The requester's grant from an approved request of `w`'s flow.
async fn granted(app: &TestApp, w: &World) -> Value {
    let request = submit(app, w).await;
    expect_status(
        act(app, &request["id"], "approve", &w.manager, json!({})).await,
        StatusCode::OK,
    )
    .await;
    let grants = expect_status(
        app.get("/v1/me/grants?active=true", &app.token_for(&w.requester))
            .await,
        StatusCode::OK,
    )
    .await;
    grants["items"][0].clone()
}

async fn extend(app: &TestApp, grant: &Value, user: &str, seconds: i64) -> reqwest::Response {
    let path = format!("/v1/grants/{}/extend", grant["id"].as_str().unwrap());
    app.post(
        &path,
        &app.token_for(user),
        &json!({ "duration_seconds": seconds, "reason": "The release slipped by an hour" }),
    )
    .await
}

async fn grant_now(app: &TestApp, w: &World, id: &Value) -> Value {
    let grants = expect_status(
        app.get("/v1/me/grants", &app.token_for(&w.requester)).await,
        StatusCode::OK,
    )
    .await;
    grants["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == *id)
        .unwrap()
        .clone()
}

async fn limit_extensions(app: &TestApp, w: &World, extensions: Value) {
    let response = app
        .patch(
            &format!("/v1/approval-flows/{}", w.flow),
            &app.admin_token,
            &json!({ "extensions": extensions }),
        )
        .await;
    expect_status(response, StatusCode::OK).await;
}

both_backends! {
    async fn an_approved_extension_moves_expires_at_and_keeps_one_membership(app: TestApp) {
        let w = world(&app, "any").await;
        let grant = granted(&app, &w).await;
        let before = grant_memberships(&app, &w.target, &w.requester).await;
        assert_eq!(before.len(), 1);
        app.clock.advance(Duration::minutes(30));

        let extension = expect_status(extend(&app, &grant, &w.requester, 3600).await, StatusCode::CREATED).await;
        assert_eq!((extension["status"].as_str(), &extension["extends_grant_id"]), (Some("pending"), &grant["id"]));
        assert_eq!(extension["flow_id"], w.flow.as_str());
        let untouched = grant_now(&app, &w, &grant["id"]).await;
        assert_eq!(untouched["expires_at"], grant["expires_at"], "nothing moves before the approval");
        // A denied extension asked again is an extension of the same grant.
        let deny = json!({ "reason": "Ask again with the ticket number" });
        expect_status(act(&app, &extension["id"], "deny", &w.manager, deny).await, StatusCode::OK).await;
        let again = json!({ "reason": "The release slipped by an hour, see OPS-7" });
        let extension = expect_status(act(&app, &extension["id"], "resubmit", &w.requester, again).await, StatusCode::CREATED).await;
        assert_eq!(extension["extends_grant_id"], grant["id"]);
        let approved = expect_status(act(&app, &extension["id"], "approve", &w.manager, json!({})).await, StatusCode::OK).await;
        assert_eq!(approved["status"], "approved");

        let extended = grant_now(&app, &w, &grant["id"]).await;
        assert_eq!(at(&extended["expires_at"]) - at(&grant["expires_at"]), Duration::hours(1));
        assert_eq!((extended["extension_count"].as_i64(), extended["extended_seconds"].as_i64()), (Some(1), Some(3600)));
        assert_eq!((extended["status"].as_str(), extended["granted_at"].as_str()), (Some("active"), grant["granted_at"].as_str()));
        let after = grant_memberships(&app, &w.target, &w.requester).await;
        assert_eq!(after.len(), 1, "one membership, continued");
        assert_eq!((&after[0]["id"], &after[0]["created_at"]), (&before[0]["id"], &before[0]["created_at"]));
        assert_eq!(at(&after[0]["expires_at"]), at(&extended["expires_at"]));
        let recorded = events_of(&app, &extension["id"], "access_management_association_change").await;
        assert_eq!(recorded.len(), 1);
        assert_eq!((recorded[0]["data"]["change"].as_str(), &recorded[0]["data"]["grant_id"]), (Some("extended"), &grant["id"]));

        // Past the original end the access holds; it ends at the moved one.
        app.clock.advance(Duration::minutes(45));
        let held = grant_now(&app, &w, &grant["id"]).await;
        assert_eq!(held["status"], "active");
        app.clock.advance(Duration::hours(1));
        eventually("the extended grant ends at its new time", || async {
            grant_now(&app, &w, &grant["id"]).await["status"] == "expired"
        }).await;
        assert!(grant_memberships(&app, &w.target, &w.requester).await.is_empty());
    }

    async fn the_flows_limits_refuse_with_422_and_automatic_extensions_apply_at_once(app: TestApp) {
        let w = world(&app, "any").await;
        limit_extensions(&app, &w, json!({ "approval": "automatic", "max_count": 2, "max_total_seconds": 7200 })).await;
        let grant = granted(&app, &w).await;

        let too_long = expect_problem(extend(&app, &grant, &w.requester, 86400).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&too_long), ["duration_seconds"]);
        let not_offered = expect_problem(extend(&app, &grant, &w.requester, 1800).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&not_offered), ["duration_seconds"], "one of the flow's durations");
        for n in 1..=2 {
            let extension = expect_status(extend(&app, &grant, &w.requester, 3600).await, StatusCode::CREATED).await;
            assert_eq!(extension["status"], "approved", "automatic extensions need no approver");
            assert_eq!(grant_now(&app, &w, &grant["id"]).await["extension_count"], n);
        }
        let extended = grant_now(&app, &w, &grant["id"]).await;
        assert_eq!(at(&extended["expires_at"]) - at(&grant["expires_at"]), Duration::hours(2));
        let third = expect_problem(extend(&app, &grant, &w.requester, 3600).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&third), ["body"]);
        assert_eq!(grant_now(&app, &w, &grant["id"]).await["expires_at"], extended["expires_at"], "a refusal changes nothing");

        limit_extensions(&app, &w, json!({ "approval": "none" })).await;
        expect_problem(extend(&app, &grant, &w.requester, 3600).await, StatusCode::CONFLICT).await;
        let bad = app.patch(&format!("/v1/approval-flows/{}", w.flow), &app.admin_token, &json!({ "extensions": { "approval": "same", "max_count": 0 } })).await;
        let problem = expect_problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["extensions.max_count"]);
    }

    async fn extending_an_ended_grant_is_409_and_only_its_holder_may_ask(app: TestApp) {
        let w = world(&app, "any").await;
        let grant = granted(&app, &w).await;
        let path = format!("/v1/grants/{}/extend", grant["id"].as_str().unwrap());
        // Whose grant it is comes before what was sent.
        expect_problem(app.post(&path, &app.token_for(&w.manager), &json!({ "duration_seconds": 3600, "reason": "x" })).await, StatusCode::NOT_FOUND).await;
        expect_problem(extend(&app, &grant, &app.admin_id, 3600).await, StatusCode::FORBIDDEN).await;
        let bad = expect_problem(app.post(&path, &app.token_for(&w.requester), &json!({ "duration_seconds": 3600, "reason": "x" })).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&bad), ["reason"]);

        // An extension whose grant is given up before its approval goes to `error`, the grant untouched.
        let pending = expect_status(extend(&app, &grant, &w.requester, 3600).await, StatusCode::CREATED).await;
        expect_problem(extend(&app, &grant, &w.requester, 3600).await, StatusCode::CONFLICT).await;
        expect_status(app.delete(&format!("/v1/grants/{}", grant["id"].as_str().unwrap()), &app.token_for(&w.requester)).await, StatusCode::NO_CONTENT).await;
        let failed = expect_status(act(&app, &pending["id"], "approve", &w.manager, json!({})).await, StatusCode::OK).await;
        assert_eq!(failed["status"], "error");
        let revoked = grant_now(&app, &w, &grant["id"]).await;
        assert_eq!((revoked["status"].as_str(), &revoked["expires_at"]), (Some("revoked"), &grant["expires_at"]));
        expect_status(act(&app, &pending["id"], "cancel", &app.admin_id, json!({})).await, StatusCode::OK).await;
        expect_problem(extend(&app, &grant, &w.requester, 3600).await, StatusCode::CONFLICT).await;

        let timed_out = granted(&app, &w).await;
        app.clock.advance(Duration::hours(1));
        expect_problem(extend(&app, &timed_out, &w.requester, 3600).await, StatusCode::CONFLICT).await;
    }
}
