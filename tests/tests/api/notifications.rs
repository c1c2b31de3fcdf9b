//! Notifications end to end: webhooks to a real HTTP receiver (signatures checked with the
//! Standard Webhooks reference library), retries, the delivery log (`webhooks`), emails to a real
//! SMTP server and reminders (`emails`), a SIGKILLed server, and two replicas sharing one outbox
//! (`restarts`). This file holds what they share.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::receivers::{SmtpServer, WebhookReceiver, free_port};
use crate::requests::{World, act, join, request_body, submit, world};
use crate::{both_backends, per_backend};

mod emails;
mod fulfilment;
mod restarts;
mod webhooks;

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
