//! Slack approvals end to end, against a fake Slack Web API on loopback (`slack/fake.rs`): who is
//! asked and where (`messages`), deciding with Slack's buttons and what is refused (`interactions`),
//! Slack down, rate-limiting and a killed server (`delivery`), and the connection (`connection`).
//! This file holds what they share.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::per_backend;
use crate::requests::{World, act, events_of, join, submit, world};

mod connection;
mod delivery;
pub(crate) mod fake;
mod interactions;
mod messages;

use fake::{BOT_TOKEN, FakeSlack, Mode, SIGNING_SECRET, click, submit_denial};

/// Slack user ids of the world's people (`requests::world`) and the admin.
const MAX: &str = "UMAX0001";
const SAM: &str = "USAM0001";
const KIM: &str = "UKIM0001";
const RILEY: &str = "URILEY01";
const ADA: &str = "UADA0001";
const STRANGER: &str = "USTRANGE";

/// The app with a fake Slack it knows, Slack connected, and the people Slack knows.
async fn spawn(backend: Backend) -> Option<(TestApp, FakeSlack)> {
    let slack = FakeSlack::start().await;
    let options = Options {
        slack_api_url: Some(slack.url()),
        backoff: Duration::from_secs(1),
        ..Options::default()
    };
    let app = TestApp::spawn_for(backend, options).await?;
    for (email, id) in [
        ("max@example.org", MAX),
        ("sam@example.org", SAM),
        ("kim@example.org", KIM),
        ("riley@example.org", RILEY),
        (ADMIN_EMAIL, ADA),
        ("stranger@example.org", STRANGER),
    ] {
        slack.add_user(email, id);
    }
    connect(&app).await;
    Some((app, slack))
}

async fn connect(app: &TestApp) -> Value {
    let body = json!({ "bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET,
        "default_channel_ids": ["C0DEFAULT1"] });
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
    expect_status(response, StatusCode::OK).await
}

/// Turns Slack approvals on for a flow.
async fn enable(app: &TestApp, flow: &str, slack: Value) {
    let response = app
        .patch(
            &format!("/v1/approval-flows/{flow}"),
            &app.admin_token,
            &json!({ "slack": slack }),
        )
        .await;
    expect_status(response, StatusCode::OK).await;
}

/// The world of `requests::world` with Slack approvals on its flow.
async fn slack_world(app: &TestApp, requirement: &str) -> World {
    let w = world(app, requirement).await;
    enable(app, &w.flow, json!({ "enabled": true })).await;
    w
}

/// An administrator flow that posts to two channels.
async fn admin_channel_flow(app: &TestApp, w: &World) -> String {
    let flow = json!({
        "kind": "resource_request", "name": "Production DB", "display": { "color": "#336699" },
        "target_group_id": w.target, "visibility_group_ids": [w.visible],
        "approval_type": "manual", "approvers": [{ "type": "administrator" }],
        "slack": { "enabled": true, "administrator_delivery": "channels", "channel_ids": ["C0SECURITY", "C0ONCALL01"] }
    });
    let created = expect_status(
        app.post("/v1/approval-flows", &app.admin_token, &flow)
            .await,
        StatusCode::CREATED,
    )
    .await;
    created["id"].as_str().unwrap().to_owned()
}

async fn request_through(app: &TestApp, w: &World, flow: &str) -> Value {
    let body = json!({ "flow_id": flow, "reason": "Fix the replication lag tonight" });
    expect_status(
        app.post("/v1/access-requests", &app.token_for(&w.requester), &body)
            .await,
        StatusCode::CREATED,
    )
    .await
}

fn interactions_url(app: &TestApp) -> String {
    app.url("/v1/integrations/slack/interactions")
}

/// The messages posted to a channel (a DM channel is `D` + the user's Slack id).
fn posts_to(slack: &FakeSlack, channel: &str) -> Vec<Value> {
    slack
        .succeeded("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == channel)
        .map(|c| c.body)
        .collect()
}

fn dm(user: &str) -> String {
    format!("D{user}")
}

/// Whether a message's blocks still hold the Approve and Deny buttons.
fn has_buttons(message: &Value) -> bool {
    message["blocks"]
        .as_array()
        .is_some_and(|blocks| blocks.iter().any(|b| b["type"] == "actions"))
}

/// Every message posted to approvers about the request, as it stands now (not the requester's note).
fn messages_about(slack: &FakeSlack, request_id: &str) -> Vec<Value> {
    let requester = format!("{}/", dm(RILEY));
    slack
        .messages()
        .into_iter()
        .filter(|(key, m)| !key.starts_with(&requester) && m.to_string().contains(request_id))
        .map(|(_, m)| m)
        .collect()
}

async fn slack_deliveries(app: &TestApp) -> Vec<Value> {
    expect_status(
        app.get("/v1/settings/slack/deliveries?limit=200", &app.admin_token)
            .await,
        StatusCode::OK,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn status_of(app: &TestApp, id: &Value) -> String {
    let path = format!("/v1/access-requests/{}", id.as_str().unwrap());
    expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn settle() {
    // Several dispatcher polls (200 ms): time for a duplicate or a late message to show.
    tokio::time::sleep(Duration::from_millis(1500)).await;
}
