//! Notifications end to end: webhooks to a real HTTP receiver (signatures checked with the
//! Standard Webhooks reference library), retries, the delivery log, emails to a real SMTP server,
//! reminders, a SIGKILLed server, and two replicas sharing one outbox.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::receivers::{SmtpServer, WebhookReceiver, free_port};
use crate::requests::{World, act, join, request_body, submit, world};
use crate::{both_backends, per_backend};

const CREATED: &str = "access_management_access_request";
const APPROVED: &str = "access_management_access_request_approval";
const DENIED: &str = "access_management_access_request_deny";

/// Creates a channel; returns its id and its secret.
async fn channel(app: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    let body = json!({ "name": "Receiver", "url": url, "events": events });
    let created = expect_status(
        app.post("/v1/webhook-channels", &app.admin_token, &body)
            .await,
        StatusCode::CREATED,
    )
    .await;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

async fn deliveries(app: &TestApp, channel: &str) -> Vec<Value> {
    let page = expect_status(
        app.get(
            &format!("/v1/webhook-channels/{channel}/deliveries?limit=200"),
            &app.admin_token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

async fn settle() {
    // Several dispatcher polls (200 ms) and job passes (300 ms): time for a duplicate to show.
    tokio::time::sleep(Duration::from_millis(1500)).await;
}

fn fast_retries() -> Options {
    Options {
        backoff: Duration::from_secs(1),
        ..Options::default()
    }
}

both_backends! {
    async fn webhooks_carry_subscribed_events_signed(app: TestApp) {
        let receiver = WebhookReceiver::start().await;
        let (channel_id, secret) = channel(&app, &receiver.url(), &[CREATED, APPROVED]).await;
        // Neither a disabled channel nor one subscribed to other events gets anything.
        let other = WebhookReceiver::start().await;
        let disabled = json!({ "name": "Off", "url": other.url(), "enabled": false, "events": [CREATED, APPROVED] });
        expect_status(app.post("/v1/webhook-channels", &app.admin_token, &disabled).await, StatusCode::CREATED).await;
        channel(&app, &other.url(), &[DENIED]).await;

        let w = world(&app, "any").await;
        let request = submit(&app, &w).await;
        expect_status(act(&app, &request["id"], "approve", &w.manager, json!({})).await, StatusCode::OK).await;
        eventually("both events reach the receiver", || async { receiver.received().len() >= 2 }).await;
        settle().await;

        let calls = receiver.received();
        assert_eq!(calls.len(), 2, "only the subscribed events, once each");
        assert!(other.received().is_empty(), "disabled and unsubscribed channels get nothing");
        let mut types = HashSet::new();
        for call in &calls {
            call.verify(&secret).expect("the signature verifies with the reference library");
            let mut tampered = call.clone();
            tampered.body.push(b' ');
            assert!(tampered.verify(&secret).is_err(), "a changed body does not verify");
            assert!(call.verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err(), "another key does not verify");
            assert_eq!(call.headers["content-type"], "application/json");
            let payload = call.json();
            assert_eq!(payload["subject"], json!({ "type": "access_request", "id": request["id"] }));
            assert_eq!(payload["category"], "di_events");
            assert_eq!(payload["data"]["request_id"], request["id"]);
            let events = expect_status(
                app.get(&format!("/v1/events?type={}&subject_id={}", payload["type"].as_str().unwrap(), request["id"].as_str().unwrap()), &app.admin_token).await,
                StatusCode::OK,
            ).await;
            assert_eq!(payload["id"], events["items"][0]["id"], "the payload carries the audit event");
            types.insert(payload["type"].as_str().unwrap().to_owned());
        }
        assert_eq!(types, HashSet::from([CREATED.to_owned(), APPROVED.to_owned()]));
        let created = calls.iter().find(|c| c.json()["type"] == CREATED).unwrap().json();
        assert_eq!(created["actor"]["id"], w.requester.as_str());
        assert_eq!(created["actor"]["email"], "riley@example.org");

        // The delivery log: one delivery per message, its id being the webhook-id the receiver saw.
        let log = deliveries(&app, &channel_id).await;
        assert_eq!(log.len(), 2);
        let ids: HashSet<String> = calls.iter().map(|c| c.webhook_id()).collect();
        for delivery in &log {
            assert!(ids.contains(delivery["id"].as_str().unwrap()));
            assert_eq!(delivery["status"], "delivered");
            assert_eq!(delivery["attempts"], 1);
            assert_eq!(delivery["last_status_code"], 200);
            assert!(delivery["next_attempt_at"].is_null());
            assert!(delivery["last_latency_ms"].as_i64().unwrap() >= 0);
        }

        let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains(r#"portcullis_deliveries_total{kind="webhook",outcome="delivered"} 2"#), "{metrics}");
        assert!(metrics.contains("portcullis_outbox_pending "), "{metrics}");
    }

    async fn channels_are_admin_only_validated_and_never_show_their_secret_again(app: TestApp) {
        let receiver = WebhookReceiver::start().await;
        let person = app.create_user("pat@example.org", "Pat").await;
        let body = json!({ "name": "SIEM", "url": receiver.url(), "events": [CREATED] });
        expect_problem(app.post("/v1/webhook-channels", &app.token_for(&person), &body).await, StatusCode::FORBIDDEN).await;
        expect_problem(app.get("/v1/webhook-channels", &app.token_for(&person)).await, StatusCode::FORBIDDEN).await;

        for (bad, field) in [
            (json!({ "name": "x", "url": receiver.url(), "events": ["access_management_nope"] }), "events[0]"),
            (json!({ "name": "x", "url": receiver.url(), "events": [] }), "events"),
            (json!({ "name": "x", "url": "ftp://example.com/hook", "events": [CREATED] }), "url"),
            (json!({ "name": "x", "url": "https://user:pw@example.com/hook", "events": [CREATED] }), "url"),
            (json!({ "name": " ", "url": receiver.url(), "events": [CREATED] }), "name"),
        ] {
            let problem = expect_problem(app.post("/v1/webhook-channels", &app.admin_token, &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(error_fields(&problem), [field], "{bad}");
        }
        let list = expect_status(app.get("/v1/webhook-channels", &app.admin_token).await, StatusCode::OK).await;
        assert!(list["items"].as_array().unwrap().is_empty(), "nothing half-written");

        let (id, secret) = channel(&app, &receiver.url(), &[CREATED]).await;
        assert!(secret.starts_with("whsec_"));
        let path = format!("/v1/webhook-channels/{id}");
        let fetched = expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await;
        assert!(fetched.get("secret").is_none());
        let listed = expect_status(app.get("/v1/webhook-channels", &app.admin_token).await, StatusCode::OK).await;
        assert!(!listed.to_string().contains(&secret));
        let events = expect_status(app.get(&format!("/v1/events?subject_id={id}"), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(events["items"][0]["type"], "webhook_channel_create");
        assert!(!events.to_string().contains(&secret), "the audit log never holds the secret");

        let updated = expect_status(app.patch(&path, &app.admin_token, &json!({ "events": [CREATED, DENIED, CREATED] })).await, StatusCode::OK).await;
        assert_eq!(updated["events"], json!([CREATED, DENIED]));
        assert_eq!(updated["version"], 2);
        let stale = app.request(reqwest::Method::PATCH, &path, Some(&app.admin_token))
            .header("If-Match", "\"1\"").json(&json!({ "enabled": false })).send().await.unwrap();
        expect_problem(stale, StatusCode::PRECONDITION_FAILED).await;

        // A test ping goes out at once, signed; one to a dead port fails with the reason.
        let ping = expect_status(app.post(&format!("{path}/test"), &app.admin_token, &json!({})).await, StatusCode::OK).await;
        assert_eq!(ping["status"], "delivered");
        assert_eq!(ping["event_type"], "webhook_channel_ping");
        let received = receiver.received();
        assert_eq!(received.len(), 1);
        received[0].verify(&secret).unwrap();
        let dead = format!("http://127.0.0.1:{}/hook", free_port());
        let (dead_id, _) = channel(&app, &dead, &[CREATED]).await;
        let failed = expect_status(app.post(&format!("/v1/webhook-channels/{dead_id}/test"), &app.admin_token, &json!({})).await, StatusCode::OK).await;
        assert_eq!(failed["status"], "failed");
        assert_eq!(failed["last_error"], "could not connect");
        assert!(failed["last_status_code"].is_null());

        expect_status(app.delete(&path, &app.admin_token).await, StatusCode::NO_CONTENT).await;
        expect_problem(app.get(&path, &app.admin_token).await, StatusCode::NOT_FOUND).await;
        expect_problem(app.get(&format!("{path}/deliveries"), &app.admin_token).await, StatusCode::NOT_FOUND).await;
    }
}

async fn a_receiver_that_is_down_gets_its_message_when_back(backend: Backend) {
    let Some(app) = TestApp::spawn_for(backend, fast_retries()).await else {
        return;
    };
    let port = free_port();
    let (channel_id, secret) = channel(
        &app,
        &format!("http://127.0.0.1:{port}/hooks/portcullis"),
        &[CREATED],
    )
    .await;
    let w = world(&app, "any").await;
    submit(&app, &w).await;
    eventually("a failed first attempt is logged", || async {
        let log = deliveries(&app, &channel_id).await;
        log.len() == 1 && log[0]["attempts"].as_i64().unwrap() >= 1
    })
    .await;
    let log = deliveries(&app, &channel_id).await;
    let delivery = &log[0];
    assert_eq!(delivery["status"], "pending");
    assert_eq!(delivery["last_error"], "could not connect");
    assert!(
        delivery["next_attempt_at"].is_string(),
        "a retry is scheduled"
    );
    let id = delivery["id"].as_str().unwrap();
    let resend = format!("/v1/webhook-channels/{channel_id}/deliveries/{id}/resend");
    expect_problem(
        app.post(&resend, &app.admin_token, &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;

    let receiver = WebhookReceiver::start_on(port).await;
    eventually("the message arrives once the receiver is back", || async {
        !receiver.received().is_empty()
    })
    .await;
    settle().await;
    let calls = receiver.received();
    assert_eq!(calls.len(), 1, "delivered once");
    calls[0].verify(&secret).unwrap();
    assert_eq!(calls[0].webhook_id(), id);
    let detail = expect_status(
        app.get(
            &format!("/v1/webhook-channels/{channel_id}/deliveries/{id}"),
            &app.admin_token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(detail["status"], "delivered");
    let attempts = detail["attempt_log"].as_array().unwrap();
    assert!(attempts.len() >= 2, "{detail}");
    assert_eq!(attempts[0]["error"], "could not connect");
    assert_eq!(attempts.last().unwrap()["status_code"], 200);
    assert_eq!(detail["payload"]["type"], CREATED);
    // Retries back off: each wait is at least half the doubled delay (1 s, 2 s, …).
    let times: Vec<chrono::DateTime<chrono::Utc>> = attempts
        .iter()
        .map(|a| a["attempted_at"].as_str().unwrap().parse().unwrap())
        .collect();
    for (n, pair) in times.windows(2).enumerate() {
        let least = chrono::Duration::milliseconds(500 << n);
        assert!(
            pair[1] - pair[0] >= least,
            "attempt {} came too soon: {times:?}",
            n + 2
        );
    }
}

async fn after_the_retry_limit_a_delivery_fails_and_can_be_resent(backend: Backend) {
    let options = Options {
        max_attempts: 2,
        ..fast_retries()
    };
    let Some(app) = TestApp::spawn_for(backend, options).await else {
        return;
    };
    let receiver = WebhookReceiver::start().await;
    receiver.answer(503);
    let (channel_id, secret) = channel(&app, &receiver.url(), &[CREATED]).await;
    let w = world(&app, "any").await;
    submit(&app, &w).await;
    eventually("the delivery fails for good", || async {
        let log = deliveries(&app, &channel_id).await;
        log.len() == 1 && log[0]["status"] == "failed"
    })
    .await;
    let log = deliveries(&app, &channel_id).await;
    assert_eq!(log[0]["attempts"], 2);
    assert_eq!(log[0]["last_status_code"], 503);
    assert_eq!(log[0]["last_error"], "HTTP 503: receiver says hi");
    assert!(log[0]["next_attempt_at"].is_null());
    settle().await;
    assert_eq!(receiver.received().len(), 2, "no attempt after the limit");
    let failed = expect_status(
        app.get(
            &format!("/v1/webhook-channels/{channel_id}/deliveries?status=failed"),
            &app.admin_token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(failed["items"].as_array().unwrap().len(), 1);

    receiver.answer(200);
    let id = log[0]["id"].as_str().unwrap();
    let resent = expect_status(
        app.post(
            &format!("/v1/webhook-channels/{channel_id}/deliveries/{id}/resend"),
            &app.admin_token,
            &json!({}),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(resent["status"], "pending");
    eventually("the re-sent delivery arrives", || async {
        deliveries(&app, &channel_id).await[0]["status"] == "delivered"
    })
    .await;
    let calls = receiver.received();
    assert_eq!(calls.len(), 3);
    assert!(
        calls.iter().all(|c| c.webhook_id() == id),
        "one message id across attempts"
    );
    calls[2].verify(&secret).unwrap();
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"portcullis_deliveries_total{kind="webhook",outcome="retried"} 1"#,
        r#"portcullis_deliveries_total{kind="webhook",outcome="failed"} 1"#,
        r#"portcullis_deliveries_total{kind="webhook",outcome="delivered"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

async fn put_settings(app: &TestApp, change: impl FnOnce(&mut Value)) {
    let mut settings = expect_status(
        app.get("/v1/settings", &app.admin_token).await,
        StatusCode::OK,
    )
    .await;
    change(&mut settings);
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
}

async fn emails_follow_the_request_and_the_settings(backend: Backend) {
    let smtp = SmtpServer::start();
    let options = Options {
        smtp_url: Some(smtp.url()),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_for(backend, options).await else {
        return;
    };
    let w = world(&app, "all_in_order").await;
    // The notice before timed access ends has its own test.
    put_settings(&app, |s| s["grant_ending_notice_hours"] = json!(0)).await;
    let (riley, max, sam, kim) = (
        "riley@example.org",
        "max@example.org",
        "sam@example.org",
        "kim@example.org",
    );
    let request = submit(&app, &w).await;
    let id = request["id"].as_str().unwrap();
    eventually(
        "the confirmation and the first approver's email",
        || async { smtp.mails_to(riley).len() == 1 && smtp.mails_to(max).len() == 1 },
    )
    .await;
    let confirmation = &smtp.mails_to(riley)[0];
    assert_eq!(
        confirmation.subject,
        "We received your request for GitHub Admin"
    );
    assert_eq!(confirmation.from, MAIL_FROM);
    assert_eq!(confirmation.to, "Riley <riley@example.org>");
    assert!(
        confirmation
            .text
            .contains("Review pull requests for the 3.2 release")
    );
    assert!(
        confirmation
            .text
            .contains(&format!("{PORTAL_URL}/requests/{id}"))
    );
    assert!(
        confirmation.text.contains("Who approves:"),
        "approval progress is shown"
    );
    // minijinja escapes `/` in HTML as `&#x2f;`, which browsers read as `/`.
    let html = confirmation.html.replace("&#x2f;", "/");
    assert!(
        html.contains(&format!("href=\"{PORTAL_URL}/requests/{id}\"")),
        "{html}"
    );
    let to_max = &smtp.mails_to(max)[0];
    assert_eq!(
        to_max.subject,
        "Riley requests GitHub Admin: your approval is needed"
    );
    assert!(
        to_max
            .text
            .contains(&format!("{PORTAL_URL}/approvals/{id}"))
    );
    assert!(
        smtp.mails_to(sam).is_empty(),
        "the second step is not active yet"
    );

    expect_status(
        act(&app, &request["id"], "approve", &w.manager, json!({})).await,
        StatusCode::OK,
    )
    .await;
    eventually("the second step's approvers are told", || async {
        smtp.mails_to(sam).len() == 1 && smtp.mails_to(kim).len() == 1
    })
    .await;
    for reviewer in &w.reviewers {
        expect_status(
            act(
                &app,
                &request["id"],
                "approve",
                reviewer,
                json!({ "comment": "Enjoy" }),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }
    eventually("the decision", || async { smtp.mails_to(riley).len() == 2 }).await;
    let approved = &smtp.mails_to(riley)[1];
    assert_eq!(approved.subject, "Approved: your request for GitHub Admin");
    let grant = expect_status(
        app.get("/v1/me/grants", &app.token_for(&w.requester)).await,
        StatusCode::OK,
    )
    .await;
    let ends: chrono::DateTime<chrono::Utc> = grant["items"][0]["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        approved.text.contains(&format!(
            "Your access ends on {}",
            ends.format("%Y-%m-%d %H:%M UTC")
        )),
        "{}",
        approved.text
    );
    assert!(approved.text.contains("Comment: Enjoy"));

    // A denial says why and what next.
    let second = submit(&app, &w).await;
    eventually("the second confirmation", || async {
        smtp.mails_to(riley).len() == 3
    })
    .await;
    let denial = json!({ "reason": "Releases are frozen", "next_steps": "Ask again on Monday", "comment": "Sorry" });
    expect_status(
        act(&app, &second["id"], "deny", &w.manager, denial).await,
        StatusCode::OK,
    )
    .await;
    eventually("the denial", || async { smtp.mails_to(riley).len() == 4 }).await;
    let denied = &smtp.mails_to(riley)[3];
    assert_eq!(denied.subject, "Denied: your request for GitHub Admin");
    for text in [
        "by Max Manager",
        "Reason: Releases are frozen",
        "Next steps: Ask again on Monday",
        "Comment: Sorry",
    ] {
        assert!(denied.text.contains(text), "{text} in {}", denied.text);
        assert!(denied.html.contains(text), "{text} in {}", denied.html);
    }

    // Toggles off: the requester hears nothing more; approvers still get their tasks.
    put_settings(&app, |s| {
        s["email_request_received"] = json!(false);
        s["email_decision"] = json!(false);
    })
    .await;
    let max_before = smtp.mails_to(max).len();
    let third = submit(&app, &w).await;
    eventually("the approver is still told", || async {
        smtp.mails_to(max).len() == max_before + 1
    })
    .await;
    expect_status(
        act(&app, &third["id"], "deny", &w.manager, json!({})).await,
        StatusCode::OK,
    )
    .await;
    settle().await;
    assert_eq!(
        smtp.mails_to(riley).len(),
        4,
        "no confirmation and no decision email"
    );
    // Riley 4, Max 3 (one per request), Sam and Kim 1 each (the second step of the first request).
    assert_eq!(smtp.mails().len(), 9, "{:#?}", smtp.mails());
}

async fn admins_hear_of_requests_that_need_them_and_reminders_come_once(backend: Backend) {
    let smtp = SmtpServer::start();
    let options = Options {
        smtp_url: Some(smtp.url()),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_for(backend, options).await else {
        return;
    };
    let w: World = world(&app, "any").await;
    let admin_flow = json!({
        "kind": "resource_request", "name": "Billing", "display": { "logo": "stripe" }, "target_group_id": w.target,
        "visibility_group_ids": [w.visible], "approval_type": "manual",
        "approvers": [{ "type": "administrator" }]
    });
    let flow = expect_status(
        app.post("/v1/approval-flows", &app.admin_token, &admin_flow)
            .await,
        StatusCode::CREATED,
    )
    .await;
    let body = json!({ "flow_id": flow["id"], "reason": "Month-end close" });
    let request = expect_status(
        app.post("/v1/access-requests", &app.token_for(&w.requester), &body)
            .await,
        StatusCode::CREATED,
    )
    .await;
    eventually("the administrators' email", || async {
        smtp.mails_to(ADMIN_EMAIL).len() == 1
    })
    .await;
    assert_eq!(
        smtp.mails_to(ADMIN_EMAIL)[0].subject,
        "New access request: Riley requests Billing"
    );

    // Pending longer than the reminder delay: one reminder, however many job passes run.
    put_settings(&app, |s| s["approver_reminder_days"] = json!(2)).await;
    app.clock.advance(chrono::Duration::days(3));
    eventually("the reminder", || async {
        smtp.mails_to(ADMIN_EMAIL).len() == 2
    })
    .await;
    settle().await;
    let to_admin = smtp.mails_to(ADMIN_EMAIL);
    assert_eq!(to_admin.len(), 2, "one reminder only");
    assert_eq!(
        to_admin[1].subject,
        "Reminder: Riley is waiting for your decision on Billing"
    );
    assert!(to_admin[1].text.contains(&format!(
        "{PORTAL_URL}/approvals/{}",
        request["id"].as_str().unwrap()
    )));

    // Timed access: the holder is told before it ends, once.
    put_settings(&app, |s| s["grant_ending_notice_hours"] = json!(2)).await;
    let timed = submit(&app, &w).await;
    expect_status(
        act(&app, &timed["id"], "approve", &w.manager, json!({})).await,
        StatusCode::OK,
    )
    .await;
    eventually("the notice before the end", || async {
        smtp.mails_to("riley@example.org")
            .iter()
            .any(|m| m.subject.starts_with("Your access to GitHub Admin ends on"))
    })
    .await;
    settle().await;
    let notices = smtp
        .mails_to("riley@example.org")
        .into_iter()
        .filter(|m| m.subject.starts_with("Your access to"))
        .count();
    assert_eq!(notices, 1);

    // Off means off.
    put_settings(&app, |s| s["email_admin_new_request"] = json!(false)).await;
    let admin_mails = smtp.mails_to(ADMIN_EMAIL).len();
    let other = app
        .create_user_with(
            json!({ "email": "ola@example.org", "display_name": "Ola", "manager_id": w.manager }),
        )
        .await;
    join(&app, &w.visible, &other).await;
    expect_status(
        app.post("/v1/access-requests", &app.token_for(&other), &body)
            .await,
        StatusCode::CREATED,
    )
    .await;
    eventually("Ola's confirmation", || async {
        smtp.mails_to("ola@example.org").len() == 1
    })
    .await;
    settle().await;
    assert_eq!(smtp.mails_to(ADMIN_EMAIL).len(), admin_mails);
}

per_backend! {
    a_receiver_that_is_down_gets_its_message_when_back => super::a_receiver_that_is_down_gets_its_message_when_back,
    after_the_retry_limit_a_delivery_fails_and_can_be_resent => super::after_the_retry_limit_a_delivery_fails_and_can_be_resent,
    emails_follow_the_request_and_the_settings => super::emails_follow_the_request_and_the_settings,
    admins_hear_of_requests_that_need_them_and_reminders_come_once => super::admins_hear_of_requests_that_need_them_and_reminders_come_once,
    a_server_killed_after_a_commit_still_delivers_after_restart => super::a_server_killed_after_a_commit_still_delivers_after_restart,
}

/// A `portcullis serve` process on the test's database.
fn serve(app: &TestApp, port: u16, smtp_port: u16) -> std::process::Child {
    std::process::Command::new(server_binary())
        .arg("serve")
        .env("DATABASE_URL", app.database_url())
        .env("PORTCULLIS_JWT_SECRET", SECRET)
        .env("PORTCULLIS_JWT_ISSUER", ISSUER)
        .env("PORTCULLIS_JWT_AUDIENCE", AUDIENCE)
        .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
        .env(
            "PORTCULLIS_SMTP_URL",
            format!("smtp://127.0.0.1:{smtp_port}"),
        )
        .env("PORTCULLIS_MAIL_FROM", MAIL_FROM)
        .env("PORTCULLIS_DELIVERY_BACKOFF_SECONDS", "1")
        .env("PORTCULLIS_DELIVERY_TIMEOUT_SECONDS", "2")
        .env("PORTCULLIS_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_until_ready(client: &reqwest::Client, port: u16) {
    for _ in 0..200 {
        let ready = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK);
        if ready {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server on port {port} did not get ready");
}

/// SIGKILL right after a request's 201, while the receiver and the mail server are unreachable:
/// the webhook and the email were committed with the request, so a restarted server sends both.
async fn a_server_killed_after_a_commit_still_delivers_after_restart(backend: Backend) {
    let Some(app) = TestApp::spawn_for(backend, Options::default()).await else {
        return;
    };
    let (hook_port, smtp_port, port) = (free_port(), free_port(), free_port());
    let (_, secret) = channel(
        &app,
        &format!("http://127.0.0.1:{hook_port}/hooks/portcullis"),
        &[CREATED],
    )
    .await;
    let w = world(&app, "any").await;
    app.stop_server().await;

    let mut first = serve(&app, port, smtp_port);
    wait_until_ready(&app.client, port).await;
    let created = app
        .client
        .post(format!("http://127.0.0.1:{port}/v1/access-requests"))
        .bearer_auth(app.token_for(&w.requester))
        .json(&request_body(&w))
        .send()
        .await
        .unwrap();
    first.kill().unwrap(); // SIGKILL: no shutdown, no flush
    first.wait().unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let request: Value = created.json().await.unwrap();

    let receiver = WebhookReceiver::start_on(hook_port).await;
    let smtp = SmtpServer::start_on(smtp_port);
    let mut second = serve(&app, port, smtp_port);
    wait_until_ready(&app.client, port).await;
    for _ in 0..300 {
        if !receiver.received().is_empty() && !smtp.mails_to("riley@example.org").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();
    let calls = receiver.received();
    assert_eq!(calls.len(), 1, "the webhook arrived after the restart");
    calls[0].verify(&secret).unwrap();
    assert_eq!(calls[0].json()["subject"]["id"], request["id"]);
    let mails = smtp.mails_to("riley@example.org");
    assert_eq!(mails.len(), 1, "the confirmation arrived after the restart");
    assert_eq!(
        mails[0].subject,
        "We received your request for GitHub Admin"
    );
}

/// Two replicas on one PostgreSQL share the outbox: every entry is delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    postgres_tests_skipped,
    ignore = "set TEST_DATABASE_URL to run the PostgreSQL tests"
)]
async fn two_replicas_deliver_every_outbox_entry_exactly_once() {
    let Some(app) = TestApp::spawn_postgres().await else {
        return;
    };
    let receiver = WebhookReceiver::start().await;
    let smtp = SmtpServer::start();
    let (_, secret) = channel(&app, &receiver.url(), &[CREATED]).await;
    let w = world(&app, "any").await;
    let mut requesters = Vec::new();
    for n in 0..12 {
        let body = json!({ "email": format!("r{n}@example.org"), "display_name": format!("R{n}"), "manager_id": w.manager });
        let user = app.create_user_with(body).await;
        join(&app, &w.visible, &user).await;
        requesters.push(user);
    }
    app.stop_server().await;
    let ports = [free_port(), free_port()];
    let mut replicas = ports.map(|port| serve(&app, port, smtp.port));
    for port in ports {
        wait_until_ready(&app.client, port).await;
    }
    for (n, requester) in requesters.iter().enumerate() {
        let response = app
            .client
            .post(format!(
                "http://127.0.0.1:{}/v1/access-requests",
                ports[n % 2]
            ))
            .bearer_auth(app.token_for(requester))
            .json(&request_body(&w))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    // Each request: its webhook, the requester's confirmation, and the task email of each approver
    // of its two parallel steps (the manager; Sam, Kim and Riley of the reviewer group).
    let expected_mails = 5 * requesters.len();
    for _ in 0..300 {
        if receiver.received().len() >= requesters.len() && smtp.mails().len() >= expected_mails {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await; // both replicas poll again meanwhile
    for replica in &mut replicas {
        replica.kill().unwrap();
        replica.wait().unwrap();
    }
    let calls = receiver.received();
    let ids: HashSet<String> = calls.iter().map(|c| c.webhook_id()).collect();
    assert_eq!(calls.len(), requesters.len(), "one call per event");
    assert_eq!(ids.len(), requesters.len(), "no message twice");
    for call in &calls {
        call.verify(&secret).unwrap();
    }
    let mails = smtp.mails();
    assert_eq!(
        mails.len(),
        expected_mails,
        "one email per recipient and event"
    );
    for n in 0..requesters.len() {
        assert_eq!(smtp.mails_to(&format!("r{n}@example.org")).len(), 1);
    }
    for approver in ["max", "sam", "kim", "riley"] {
        assert_eq!(
            smtp.mails_to(&format!("{approver}@example.org")).len(),
            requesters.len(),
            "{approver}"
        );
    }
}
