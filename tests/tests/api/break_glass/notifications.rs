//! Break-glass is loud: every administrator but the requester is emailed at once (a real SMTP
//! server), a webhook channel gets the alert and the review (a real HTTP receiver, signatures
//! checked), each administrator Slack knows gets a direct message (the fake Slack Web API), and the
//! requester hears how the review came out.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::per_backend;
use crate::receivers::{SmtpServer, WebhookReceiver};
use crate::slack::fake::{BOT_TOKEN, FakeSlack, SIGNING_SECRET};

const ALERT: &str = "access_management_access_request_break_glass";
const REVIEWED: &str = "access_management_access_request_break_glass_review";

async fn subscribe(app: &TestApp, url: &str, events: &[&str]) -> String {
    let body = json!({ "name": "SIEM", "url": url, "events": events });
    let created = expect_status(
        app.post("/v1/webhook-channels", &app.admin_token, &body)
            .await,
        StatusCode::CREATED,
    )
    .await;
    created["secret"].as_str().unwrap().to_owned()
}

async fn connect_slack(app: &TestApp) {
    let body = json!({ "bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET, "default_channel_ids": ["C0DEFAULT1"] });
    let response = app
        .request(
            reqwest::Method::PUT,
            "/v1/settings/slack",
            Some(&app.admin_token),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_status(response, StatusCode::OK).await;
}

async fn administrators_are_alerted_at_once_and_the_requester_hears_the_review(backend: Backend) {
    let smtp = SmtpServer::start();
    let receiver = WebhookReceiver::start().await;
    let slack = FakeSlack::start().await;
    let options = Options {
        smtp_url: Some(smtp.url()),
        slack_api_url: Some(slack.url()),
        backoff: Duration::from_secs(1),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_for(backend, options).await else {
        return;
    };
    slack.add_user(ADMIN_EMAIL, "UADA0001");
    slack.add_user("olga@example.org", "UOLGA001");
    slack.add_user("riley@example.org", "URILEY01");
    connect_slack(&app).await;
    let secret = subscribe(&app, &receiver.url(), &[ALERT, REVIEWED]).await;
    let g = glass(&app).await;
    let created = expect_status(
        break_glass(&app, &g.flow, &g.requester).await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();

    // Email: both administrators, with the reason; never the requester (she gets her own receipts).
    eventually("both administrators are emailed", || async {
        [ADMIN_EMAIL, "olga@example.org"].iter().all(|to| {
            smtp.mails_to(to)
                .iter()
                .any(|m| m.subject.starts_with("BREAK-GLASS"))
        })
    })
    .await;
    let mail = smtp
        .mails_to("olga@example.org")
        .into_iter()
        .find(|m| m.subject.starts_with("BREAK-GLASS"))
        .unwrap();
    assert_eq!(
        mail.subject,
        "BREAK-GLASS: Riley took emergency access to Production DB break-glass"
    );
    assert!(
        mail.text.contains(EMERGENCY) && mail.text.contains(&id),
        "{}",
        mail.text
    );
    assert!(
        !smtp
            .mails_to("riley@example.org")
            .iter()
            .any(|m| m.subject.starts_with("BREAK-GLASS"))
    );

    // Webhook: the alert, signed, flagged, naming the reviewers.
    eventually("the channel gets the alert", || async {
        !receiver.received().is_empty()
    })
    .await;
    let alert = &receiver.received()[0];
    alert.verify(&secret).unwrap();
    let body = alert.json();
    assert_eq!(body["type"], ALERT);
    assert_eq!(
        (
            body["data"]["break_glass"].as_bool(),
            body["subject"]["id"].as_str()
        ),
        (Some(true), Some(id.as_str())),
        "{body}"
    );
    assert_eq!(body["data"]["reviewer_ids"].as_array().unwrap().len(), 2);

    // Slack: a direct message to each administrator Slack knows, none to the requester.
    eventually("each administrator has a Slack message", || async {
        let posts = slack.succeeded("chat.postMessage");
        ["DUADA0001", "DUOLGA001"]
            .iter()
            .all(|dm| posts.iter().any(|p| p.body["channel"] == *dm))
    })
    .await;
    let posts = slack.succeeded("chat.postMessage");
    assert!(
        posts.iter().all(|p| p.body["channel"] != "DURILEY01"),
        "{posts:?}"
    );
    let alert = posts
        .iter()
        .find(|p| p.body["channel"] == "DUOLGA001")
        .unwrap();
    let text = alert.body.to_string();
    assert!(
        text.contains("Break-glass") && text.contains(&id) && text.contains("Riley"),
        "{text}"
    );
    assert!(
        !text.contains("\"actions\""),
        "no buttons: the access is already given"
    );

    // The review: recorded for the channel, and the requester is told.
    let body = json!({ "outcome": "revoke", "note": "Use the on-call runbook's read replica" });
    expect_status(
        review(&app, &created["id"], &g.olga, body).await,
        StatusCode::OK,
    )
    .await;
    eventually("the requester hears the outcome", || async {
        smtp.mails_to("riley@example.org")
            .iter()
            .any(|m| m.subject.contains("was revoked"))
    })
    .await;
    let told = smtp
        .mails_to("riley@example.org")
        .into_iter()
        .find(|m| m.subject.contains("was revoked"))
        .unwrap();
    assert!(
        told.text.contains("Olga Ops") && told.text.contains("read replica"),
        "{}",
        told.text
    );
    eventually("the channel gets the review", || async {
        receiver.received().len() == 2
    })
    .await;
    let reviewed = receiver.received()[1].json();
    assert_eq!(
        (
            reviewed["type"].as_str(),
            reviewed["data"]["outcome"].as_str()
        ),
        (Some(REVIEWED), Some("revoke"))
    );
}

per_backend! {
    administrators_are_alerted_at_once_and_the_requester_hears_the_review => super::administrators_are_alerted_at_once_and_the_requester_hears_the_review,
}
