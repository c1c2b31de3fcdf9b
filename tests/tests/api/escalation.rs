//! Escalation (issue 27): a flow's fallback approvers join a request left undecided for the set
//! hours — recorded, emailed, in the timeline, and able to decide — while reminders still come once.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::receivers::SmtpServer;
use crate::requests::{join, request_body};
use crate::{both_backends, per_backend};

async fn settle() {
    // Several job passes (300 ms) and dispatcher polls (200 ms): time for a duplicate to show.
    tokio::time::sleep(Duration::from_millis(1500)).await;
}

async fn detail(app: &TestApp, id: &Value, token: &str) -> Value {
    let path = format!("/v1/access-requests/{}", id.as_str().unwrap());
    expect_status(app.get(&path, token).await, StatusCode::OK).await
}

async fn escalated_flow_and_request(app: &TestApp) -> (Value, Value, String, String, String) {
    let w = crate::requests::world(app, "any").await;
    let backup_group = app.create_group("On-call leads").await;
    let backup = app.create_user("bo@example.org", "Bo Backup").await;
    join(app, &backup_group, &backup).await;
    let change = json!({
        "approvers": [{ "type": "requester_manager" }],
        "escalation": { "after_hours": 24, "to": { "type": "user_group", "group_id": backup_group } }
    });
    let flow = expect_status(
        app.patch(
            &format!("/v1/approval-flows/{}", w.flow),
            &app.admin_token,
            &change,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let request = expect_status(
        app.post(
            "/v1/access-requests",
            &app.token_for(&w.requester),
            &request_body(&w),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    (flow, request, w.manager, backup, w.requester)
}

async fn fallback_approvers_join_after_the_set_time_decide_and_reminders_come_once(
    backend: Backend,
) {
    let smtp = SmtpServer::start();
    let options = Options {
        smtp_url: Some(smtp.url()),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_for(backend, options).await else {
        return;
    };
    let (flow, request, manager, backup, requester) = escalated_flow_and_request(&app).await;
    assert_eq!(flow["escalation"]["after_hours"], 24);
    let mut settings = expect_status(
        app.get("/v1/settings", &app.admin_token).await,
        StatusCode::OK,
    )
    .await;
    settings["approver_reminder_days"] = json!(2);
    settings["grant_ending_notice_hours"] = json!(0);
    let object = settings.as_object_mut().unwrap();
    object.remove("version");
    object.remove("updated_at");
    expect_status(
        app.request(reqwest::Method::PUT, "/v1/settings", Some(&app.admin_token))
            .json(&settings)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let id = request["id"].clone();

    // Before the set time nothing changes.
    app.clock.advance(chrono::Duration::hours(23));
    settle().await;
    let waiting = detail(&app, &id, &app.admin_token).await;
    assert_eq!(waiting["steps"][0]["approver_ids"], json!([manager]));
    assert!(smtp.mails_to("bo@example.org").is_empty());

    // After it, the fallback joins the undecided step, is told, and the timeline shows it.
    app.clock.advance(chrono::Duration::hours(2));
    eventually("the fallback approver is emailed", || async {
        smtp.mails_to("bo@example.org").len() == 1
    })
    .await;
    assert_eq!(
        smtp.mails_to("bo@example.org")[0].subject,
        "Riley requests GitHub Admin: your approval is needed"
    );
    let escalated = detail(&app, &id, &app.token_for(&backup)).await;
    assert_eq!(escalated["status"], "pending");
    assert_eq!(
        escalated["steps"][0]["approver_ids"],
        json!([manager, backup])
    );
    let history = escalated["history"].as_array().unwrap();
    let event = history
        .iter()
        .find(|e| e["type"] == "access_management_access_request_escalate")
        .expect("the escalation is in the timeline");
    assert_eq!(event["actor_id"], Value::Null, "the server escalated");
    assert_eq!(event["data"]["added_approver_ids"], json!([backup]));
    assert_eq!(event["data"]["step_positions"], json!([0]));
    assert_eq!(event["data"]["after_hours"], 24);

    // Past the reminder delay: one reminder to each approver, however many passes run; no second escalation.
    app.clock.advance(chrono::Duration::days(2));
    eventually("the reminders", || async {
        smtp.mails_to("bo@example.org").len() == 2
    })
    .await;
    settle().await;
    let reminders = |to: &str| {
        smtp.mails_to(to)
            .iter()
            .filter(|m| m.subject.starts_with("Reminder:"))
            .count()
    };
    assert_eq!(reminders("bo@example.org"), 1);
    assert_eq!(reminders("max@example.org"), 1);
    let again = detail(&app, &id, &app.admin_token).await;
    let escalations = again["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "access_management_access_request_escalate")
        .count();
    assert_eq!(escalations, 1, "escalated once");

    // The fallback approver decides.
    let approved = expect_status(
        app.post(
            &format!("/v1/access-requests/{}/approve", id.as_str().unwrap()),
            &app.token_for(&backup),
            &json!({ "comment": "Covering for Max" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(
        approved["steps"][0]["decisions"][0]["approver_id"],
        backup.as_str()
    );
    assert_ne!(backup, requester);
}

per_backend! {
    fallback_approvers_join_after_the_set_time_decide_and_reminders_come_once => super::fallback_approvers_join_after_the_set_time_decide_and_reminders_come_once,
}

both_backends! {
    async fn an_escalation_that_breaks_a_rule_is_refused_field_by_field(app: TestApp) {
        let w = crate::requests::world(&app, "any").await;
        let path = format!("/v1/approval-flows/{}", w.flow);
        let cases = [
            (json!({ "after_hours": 0, "to": { "type": "administrator" } }), "escalation.after_hours"),
            (json!({ "after_hours": 2161, "to": { "type": "administrator" } }), "escalation.after_hours"),
            (json!({ "after_hours": 4, "to": { "type": "user_group", "group_id": w.visible, "require_all": true } }), "escalation.to.require_all"),
            (json!({ "after_hours": 4, "to": { "type": "user_group" } }), "escalation.to.group_id"),
            (json!({ "after_hours": 4, "to": { "type": "resource_owner" } }), "escalation.to.type"),
        ];
        for (escalation, field) in cases {
            let response = app.patch(&path, &app.admin_token, &json!({ "escalation": escalation })).await;
            let problem = expect_status(response, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert!(
                problem["errors"].as_array().unwrap().iter().any(|e| e["field"] == field),
                "{escalation}: {problem}"
            );
        }
        let automatic = json!({ "approval_type": "automatic", "approvers": [], "approver_requirement": null,
            "escalation": { "after_hours": 4, "to": { "type": "administrator" } } });
        let problem = expect_status(app.patch(&path, &app.admin_token, &automatic).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(problem["errors"].as_array().unwrap().iter().any(|e| e["field"] == "escalation"), "{problem}");
        let unchanged = expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(unchanged["escalation"], Value::Null, "nothing half-written");
        assert_eq!(unchanged["version"], 1);
    }
}
