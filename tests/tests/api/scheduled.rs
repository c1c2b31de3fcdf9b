//! Issue 27, scheduled start and activation: a request may ask its access to start later (within
//! its flow's horizon); approved before then, the grant is `scheduled` and the jobs add its
//! membership at `starts_at`. A flow may instead require activation: the holder starts the access
//! within a window, or the grant ends `expired`, never having had a membership.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use portcullis_domain::Clock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;
use crate::requests::*;

mod replicas;

const SCHEDULE: &str = "access_management_grant_schedule";
const START: &str = "access_management_grant_start";
const CANCEL: &str = "access_management_grant_cancel";
const ASSOCIATION: &str = "access_management_association_change";

pub(crate) fn at(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

pub(crate) fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Sets the flow's time controls (`scheduling`, `activation`).
pub(crate) async fn set_flow(app: &TestApp, w: &World, change: Value) {
    let path = format!("/v1/approval-flows/{}", w.flow);
    expect_status(
        app.patch(&path, &app.admin_token, &change).await,
        StatusCode::OK,
    )
    .await;
}

/// A request of `w`'s flow for an hour, starting at `starts_at` when given.
pub(crate) async fn ask(
    app: &TestApp,
    w: &World,
    requester: &str,
    starts_at: Option<DateTime<Utc>>,
) -> reqwest::Response {
    let mut body = request_body(w);
    if let Some(starts_at) = starts_at {
        body["starts_at"] = json!(stamp(starts_at));
    }
    app.post("/v1/access-requests", &app.token_for(requester), &body)
        .await
}

async fn approved(app: &TestApp, w: &World, starts_at: Option<DateTime<Utc>>) -> Value {
    let request = expect_status(
        ask(app, w, &w.requester, starts_at).await,
        StatusCode::CREATED,
    )
    .await;
    expect_status(
        act(app, &request["id"], "approve", &w.manager, json!({})).await,
        StatusCode::OK,
    )
    .await;
    request
}

/// The requester's grant from `request`, as `GET /v1/me/grants` shows it.
async fn grant_of(app: &TestApp, w: &World, request: &Value) -> Value {
    let grants = expect_status(
        app.get("/v1/me/grants", &app.token_for(&w.requester)).await,
        StatusCode::OK,
    )
    .await;
    grants["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["request_id"] == request["id"])
        .cloned()
        .unwrap_or(Value::Null)
}

async fn activate(app: &TestApp, grant: &Value, who: &str) -> reqwest::Response {
    let path = format!("/v1/grants/{}/activate", grant["id"].as_str().unwrap());
    app.request(reqwest::Method::POST, &path, Some(&app.token_for(who)))
        .send()
        .await
        .unwrap()
}

async fn active_ids(app: &TestApp, w: &World) -> Vec<Value> {
    let page = expect_status(
        app.get("/v1/me/grants?active=true", &app.token_for(&w.requester))
            .await,
        StatusCode::OK,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].clone())
        .collect()
}

both_backends! {
    async fn a_scheduled_grant_starts_at_starts_at_with_its_clock_from_then(app: TestApp) {
        let w = world(&app, "any").await;
        set_flow(&app, &w, json!({ "scheduling": { "max_lead_seconds": 604800 } })).await;
        let starts_at = app.clock.now() + Duration::days(1);
        let request = approved(&app, &w, Some(starts_at)).await;
        assert_eq!(at(&request["starts_at"]), starts_at);

        let grant = grant_of(&app, &w, &request).await;
        assert_eq!(grant["status"], "scheduled");
        assert_eq!((at(&grant["starts_at"]), at(&grant["expires_at"])), (starts_at, starts_at + Duration::hours(1)));
        assert_eq!((&grant["activate_by"], grant["duration_seconds"].as_i64()), (&Value::Null, Some(3600)));
        assert!(grant_memberships(&app, &w.target, &w.requester).await.is_empty(), "no membership before the start");
        assert!(active_ids(&app, &w).await.is_empty(), "active=true means active now");
        let scheduled = events_of(&app, &request["id"], SCHEDULE).await;
        assert_eq!(scheduled.len(), 1);
        assert_eq!((scheduled[0]["data"]["grant_status"].as_str(), &scheduled[0]["data"]["grant_id"]), (Some("scheduled"), &grant["id"]));
        assert!(events_of(&app, &request["id"], ASSOCIATION).await.is_empty());
        let detail = expect_status(app.get(&format!("/v1/access-requests/{}", request["id"].as_str().unwrap()), &app.token_for(&w.requester)).await, StatusCode::OK).await;
        assert_eq!((detail["grant"]["status"].as_str(), at(&detail["starts_at"])), (Some("scheduled"), starts_at));

        app.clock.advance(Duration::hours(23));
        tokio::time::sleep(std::time::Duration::from_millis(900)).await; // the jobs run meanwhile
        assert_eq!(grant_of(&app, &w, &request).await["status"], "scheduled", "not before its time");
        app.clock.advance(Duration::hours(1) + Duration::seconds(1));
        eventually("the jobs start the grant", || async {
            grant_of(&app, &w, &request).await["status"] == "active"
        }).await;
        let started = grant_of(&app, &w, &request).await;
        assert_eq!(at(&started["expires_at"]), starts_at + Duration::hours(1), "the clock ran from starts_at");
        assert_eq!(at(&started["starts_at"]), starts_at);
        let members = grant_memberships(&app, &w.target, &w.requester).await;
        assert_eq!(members.len(), 1);
        assert_eq!((members[0]["source"].as_str(), at(&members[0]["expires_at"])), (Some("grant"), starts_at + Duration::hours(1)));
        assert_eq!(active_ids(&app, &w).await, vec![started["id"].clone()]);
        let recorded = events_of(&app, &request["id"], START).await;
        assert_eq!(recorded.len(), 1);
        assert_eq!((recorded[0]["data"]["via"].as_str(), recorded[0]["data"]["change"].as_str()), (Some("schedule"), Some("added")));
        assert_eq!(recorded[0]["actor_id"], Value::Null, "the server started it");

        app.clock.advance(Duration::hours(1));
        eventually("the started grant ends at its time", || async {
            grant_of(&app, &w, &request).await["status"] == "expired"
        }).await;
        assert!(grant_memberships(&app, &w.target, &w.requester).await.is_empty());
    }

    async fn approved_at_or_after_starts_at_the_access_starts_at_once(app: TestApp) {
        let w = world(&app, "any").await;
        set_flow(&app, &w, json!({ "scheduling": { "max_lead_seconds": 86400 } })).await;
        let starts_at = app.clock.now() + Duration::hours(1);
        let request = expect_status(ask(&app, &w, &w.requester, Some(starts_at)).await, StatusCode::CREATED).await;
        app.clock.advance(Duration::hours(2));
        let approval = expect_status(act(&app, &request["id"], "approve", &w.manager, json!({})).await, StatusCode::OK).await;

        let grant = grant_of(&app, &w, &request).await;
        assert_eq!((grant["status"].as_str(), &grant["starts_at"]), (Some("active"), &Value::Null));
        assert_eq!(at(&grant["expires_at"]), at(&approval["decided_at"]) + Duration::hours(1), "the clock runs from the approval");
        assert_eq!(grant_memberships(&app, &w.target, &w.requester).await.len(), 1);
        assert_eq!(events_of(&app, &request["id"], ASSOCIATION).await.len(), 1);
        assert!(events_of(&app, &request["id"], SCHEDULE).await.is_empty());
    }

    async fn a_scheduled_grant_revoked_before_its_start_never_starts(app: TestApp) {
        let w = world(&app, "any").await;
        set_flow(&app, &w, json!({ "scheduling": { "max_lead_seconds": 86400 } })).await;
        let request = approved(&app, &w, Some(app.clock.now() + Duration::hours(2))).await;
        let grant = grant_of(&app, &w, &request).await;
        let path = format!("/v1/grants/{}", grant["id"].as_str().unwrap());
        let extend = json!({ "duration_seconds": 3600, "reason": "The release slipped by an hour" });
        let early = app.post(&format!("{path}/extend"), &app.token_for(&w.requester), &extend).await;
        expect_problem(early, StatusCode::CONFLICT).await;

        expect_status(app.delete(&path, &app.admin_token).await, StatusCode::NO_CONTENT).await;
        let revoked = grant_of(&app, &w, &request).await;
        assert_eq!(revoked["status"], "revoked");
        let canceled = events_of(&app, &request["id"], CANCEL).await;
        assert_eq!(canceled.len(), 1);
        assert_eq!(canceled[0]["data"]["grant_status"], "revoked");
        assert!(events_of(&app, &request["id"], ASSOCIATION).await.is_empty(), "no membership was ever removed");

        app.clock.advance(Duration::hours(3));
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await; // several passes of the jobs
        assert_eq!(grant_of(&app, &w, &request).await["status"], "revoked");
        assert!(grant_memberships(&app, &w.target, &w.requester).await.is_empty());
        assert!(events_of(&app, &request["id"], START).await.is_empty());
        expect_problem(app.delete(&path, &app.admin_token).await, StatusCode::CONFLICT).await;
    }

    async fn activation_inside_the_window_makes_the_holder_a_member_from_then(app: TestApp) {
        let w = world(&app, "any").await;
        set_flow(&app, &w, json!({ "activation": { "window_seconds": 86400 } })).await;
        let request = approved(&app, &w, None).await;
        let grant = grant_of(&app, &w, &request).await;
        assert_eq!((grant["status"].as_str(), &grant["expires_at"], &grant["starts_at"]), (Some("awaiting_activation"), &Value::Null, &Value::Null));
        assert_eq!(at(&grant["activate_by"]), at(&grant["granted_at"]) + Duration::days(1));
        assert!(grant_memberships(&app, &w.target, &w.requester).await.is_empty());
        expect_problem(activate(&app, &grant, &app.admin_id).await, StatusCode::FORBIDDEN).await;
        expect_problem(activate(&app, &grant, &w.manager).await, StatusCode::NOT_FOUND).await;

        app.clock.advance(Duration::hours(5));
        let now = app.clock.now();
        let active = expect_status(activate(&app, &grant, &w.requester).await, StatusCode::OK).await;
        assert_eq!((active["status"].as_str(), &active["id"]), (Some("active"), &grant["id"]));
        let started_at = at(&active["starts_at"]);
        assert!(started_at >= now && started_at < now + Duration::seconds(5));
        assert_eq!(at(&active["expires_at"]), started_at + Duration::hours(1), "the clock runs from the activation");
        assert_eq!(active["flow"]["id"], w.flow.as_str());
        let members = grant_memberships(&app, &w.target, &w.requester).await;
        assert_eq!(members.len(), 1);
        assert_eq!(at(&members[0]["expires_at"]), at(&active["expires_at"]));
        let recorded = events_of(&app, &request["id"], START).await;
        assert_eq!(recorded.len(), 1);
        assert_eq!((recorded[0]["data"]["via"].as_str(), recorded[0]["actor_id"].as_str()), (Some("activation"), Some(w.requester.as_str())));
        let again = expect_problem(activate(&app, &grant, &w.requester).await, StatusCode::CONFLICT).await;
        assert!(again["detail"].as_str().unwrap().contains("already active"), "{again}");
    }

    async fn activation_outside_the_window_is_refused_and_the_grant_expires_unstarted(app: TestApp) {
        let w = world(&app, "any").await;
        let rules = json!({ "scheduling": { "max_lead_seconds": 86400 }, "activation": { "window_seconds": 3600 } });
        set_flow(&app, &w, rules).await;
        let starts_at = app.clock.now() + Duration::hours(6);
        let request = approved(&app, &w, Some(starts_at)).await;
        let grant = grant_of(&app, &w, &request).await;
        assert_eq!(grant["status"], "awaiting_activation");
        assert_eq!((at(&grant["starts_at"]), at(&grant["activate_by"])), (starts_at, starts_at + Duration::hours(1)));

        let early = expect_problem(activate(&app, &grant, &w.requester).await, StatusCode::CONFLICT).await;
        assert!(early["detail"].as_str().unwrap().contains("activated from"), "{early}");
        app.clock.advance(Duration::hours(7));
        expect_problem(activate(&app, &grant, &w.requester).await, StatusCode::CONFLICT).await;
        eventually("the jobs end the grant never activated", || async {
            grant_of(&app, &w, &request).await["status"] == "expired"
        }).await;
        assert!(grant_memberships(&app, &w.target, &w.requester).await.is_empty());
        let canceled = events_of(&app, &request["id"], CANCEL).await;
        assert_eq!(canceled.len(), 1);
        assert_eq!((canceled[0]["data"]["grant_status"].as_str(), &canceled[0]["actor_id"]), (Some("expired"), &Value::Null));
        assert!(events_of(&app, &request["id"], START).await.is_empty());
    }

    async fn a_start_is_refused_without_scheduling_in_the_past_and_beyond_the_horizon(app: TestApp) {
        let w = world(&app, "any").await;
        let now = app.clock.now();
        let refused = expect_problem(ask(&app, &w, &w.requester, Some(now + Duration::hours(1))).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&refused), ["starts_at"], "the flow has no scheduling");
        set_flow(&app, &w, json!({ "scheduling": { "max_lead_seconds": 86400 } })).await;
        for starts_at in [now - Duration::hours(1), now + Duration::days(1) + Duration::minutes(5)] {
            let refused = expect_problem(ask(&app, &w, &w.requester, Some(starts_at)).await, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(error_fields(&refused), ["starts_at"], "{refused}");
        }
        // Now (as the server's clock has it, give or take a minute) is fine: the access starts on approval.
        let request = expect_status(ask(&app, &w, &w.requester, Some(now - Duration::seconds(30))).await, StatusCode::CREATED).await;
        assert_eq!(at(&request["starts_at"]), now - Duration::seconds(30));
    }

    async fn a_flow_takes_scheduling_and_activation_only_where_the_server_adds_the_membership(app: TestApp) {
        let w = world(&app, "any").await;
        let path = format!("/v1/approval-flows/{}", w.flow);
        for (change, field) in [
            (json!({ "scheduling": { "max_lead_seconds": 59 } }), "scheduling.max_lead_seconds"),
            (json!({ "scheduling": { "max_lead_seconds": 31536001 } }), "scheduling.max_lead_seconds"),
            (json!({ "activation": { "window_seconds": 0 } }), "activation.window_seconds"),
            (json!({ "activation": { "window_seconds": 3600 }, "fulfilment": { "provisioning": "manual" } }), "activation"),
        ] {
            let refused = expect_problem(app.patch(&path, &app.admin_token, &change).await, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(error_fields(&refused), [field], "{change}");
        }
        let device = json!({
            "kind": "device_admin", "name": "Laptop admin", "display": { "color": "#24292f" },
            "visibility_group_ids": [w.visible], "session_durations_seconds": [900],
            "approval_type": "automatic", "scheduling": { "max_lead_seconds": 3600 }
        });
        let refused = expect_problem(app.post("/v1/approval-flows", &app.admin_token, &device).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&refused), ["scheduling"]);
        let rules = json!({ "scheduling": { "max_lead_seconds": 3600 }, "activation": { "window_seconds": 600 } });
        let saved = expect_status(app.patch(&path, &app.admin_token, &rules).await, StatusCode::OK).await;
        assert_eq!((&saved["scheduling"], &saved["activation"]), (&rules["scheduling"], &rules["activation"]));
        let off = expect_status(app.patch(&path, &app.admin_token, &json!({ "scheduling": null })).await, StatusCode::OK).await;
        assert_eq!((&off["scheduling"], &off["activation"]), (&Value::Null, &rules["activation"]));
    }

    async fn a_condition_sees_the_asked_start_and_an_automatic_approval_schedules_the_grant(app: TestApp) {
        let w = world(&app, "any").await;
        let rules = json!({
            "scheduling": { "max_lead_seconds": 86400 },
            "auto_approve_if": "request.starts_at > now"
        });
        set_flow(&app, &w, rules).await;
        let later = expect_status(ask(&app, &w, &w.requester, Some(app.clock.now() + Duration::hours(2))).await, StatusCode::CREATED).await;
        assert_eq!(later["status"], "approved", "approved by its condition");
        assert_eq!(grant_of(&app, &w, &later).await["status"], "scheduled");
        let other = app.create_user_with(json!({ "email": "ola@example.org", "display_name": "Ola", "manager_id": w.manager })).await;
        join(&app, &w.visible, &other).await;
        let soon = expect_status(ask(&app, &w, &other, None).await, StatusCode::CREATED).await;
        assert_eq!(soon["status"], "pending", "without a start, request.starts_at is now");
    }

    async fn the_export_and_the_request_carry_the_asked_start(app: TestApp) {
        let w = world(&app, "any").await;
        set_flow(&app, &w, json!({ "scheduling": { "max_lead_seconds": 86400 } })).await;
        let starts_at = app.clock.now() + Duration::hours(3);
        let request = expect_status(ask(&app, &w, &w.requester, Some(starts_at)).await, StatusCode::CREATED).await;
        let mine = expect_status(app.get("/v1/me/access-requests", &app.token_for(&w.requester)).await, StatusCode::OK).await;
        assert_eq!(at(&mine["items"][0]["starts_at"]), starts_at);
        let export = expect_status(app.get("/v1/access-requests/export?format=json", &app.admin_token).await, StatusCode::OK).await;
        let row = export.as_array().unwrap().iter().find(|r| r["id"] == request["id"]).unwrap().clone();
        assert_eq!(at(&row["starts_at"]), starts_at);
    }
}
