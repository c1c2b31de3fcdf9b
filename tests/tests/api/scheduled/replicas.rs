//! Two `portcullis serve` processes on one PostgreSQL, both running the jobs every second, reach the
//! `starts_at` of the same scheduled grants: each grant starts once — one membership, one start
//! event, one webhook call, one email.

use std::collections::HashSet;

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{START, ask, set_flow};
use crate::helpers::*;
use crate::receivers::{SmtpServer, WebhookReceiver, free_port};
use crate::requests::*;

const REQUESTERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    postgres_tests_skipped,
    ignore = "set TEST_DATABASE_URL to run the PostgreSQL tests"
)]
async fn two_replicas_start_each_scheduled_grant_exactly_once() {
    let Some(app) = TestApp::spawn_postgres().await else {
        return;
    };
    let receiver = WebhookReceiver::start().await;
    let smtp = SmtpServer::start();
    let channel = json!({ "name": "Starts", "url": receiver.url(), "events": [START] });
    expect_status(
        app.post("/v1/webhook-channels", &app.admin_token, &channel)
            .await,
        StatusCode::CREATED,
    )
    .await;
    let w = world(&app, "any").await;
    set_flow(
        &app,
        &w,
        json!({ "scheduling": { "max_lead_seconds": 3600 } }),
    )
    .await;
    // The in-process server sends no email: the only emails are the replicas'.
    let starts_at = Utc::now() + Duration::seconds(20);
    let mut requests = Vec::new();
    for n in 0..REQUESTERS {
        let body = json!({ "email": format!("s{n}@example.org"), "display_name": format!("S{n}"), "manager_id": w.manager });
        let requester = app.create_user_with(body).await;
        join(&app, &w.visible, &requester).await;
        let request = expect_status(
            ask(&app, &w, &requester, Some(starts_at)).await,
            StatusCode::CREATED,
        )
        .await;
        let approve = act(&app, &request["id"], "approve", &w.manager, json!({})).await;
        expect_status(approve, StatusCode::OK).await;
        requests.push((requester, request["id"].clone()));
    }
    app.stop_server().await;

    let env = [
        ("PORTCULLIS_SMTP_URL", smtp.url()),
        ("PORTCULLIS_MAIL_FROM", MAIL_FROM.to_owned()),
        ("PORTCULLIS_DELIVERY_BACKOFF_SECONDS", "1".to_owned()),
        ("PORTCULLIS_DELIVERY_TIMEOUT_SECONDS", "2".to_owned()),
    ];
    let ports = [free_port(), free_port()];
    let mut replicas = ports.map(|port| serve_process(&app, port, &env, None));
    for port in ports {
        wait_until_ready(&app.client, port).await;
    }
    assert!(
        Utc::now() < starts_at,
        "both replicas run before the grants are due"
    );
    let grants_url = format!("http://127.0.0.1:{}/v1/grants?limit=200", ports[0]);
    let mut grants = Vec::new();
    for _ in 0..600 {
        let page: Value = app
            .client
            .get(&grants_url)
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        grants = page["items"].as_array().unwrap().clone();
        let all_started = grants.iter().all(|g| g["status"] == "active");
        if all_started
            && receiver.received().len() >= REQUESTERS
            && start_mails(&smtp).len() >= REQUESTERS
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await; // both replicas run the jobs again
    assert_eq!(grants.len(), REQUESTERS);
    assert!(grants.iter().all(|g| g["status"] == "active"), "{grants:?}");
    // What the database says, through the other replica.
    let remote = |path: String| {
        let url = format!("http://127.0.0.1:{}{path}", ports[1]);
        let request = app.client.get(url).bearer_auth(&app.admin_token);
        async move { expect_status(request.send().await.unwrap(), StatusCode::OK).await }
    };
    let members = remote(format!("/v1/groups/{}/members?limit=200", w.target)).await;
    for (requester, request) in &requests {
        let held: Vec<&Value> = members["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["user_id"] == requester.as_str())
            .collect();
        assert_eq!(held.len(), 1, "one membership for {requester}");
        let path = format!(
            "/v1/events?subject_id={}&type={START}",
            request.as_str().unwrap()
        );
        let started = remote(path).await;
        assert_eq!(
            started["items"].as_array().unwrap().len(),
            1,
            "one start event for {request}"
        );
    }
    for replica in &mut replicas {
        replica.kill().unwrap();
        replica.wait().unwrap();
    }
    let calls = receiver.received();
    let ids: HashSet<String> = calls.iter().map(|c| c.webhook_id()).collect();
    assert_eq!(calls.len(), REQUESTERS, "one webhook call per start");
    assert_eq!(ids.len(), REQUESTERS, "no message twice");
    let grant_ids: HashSet<Value> = calls
        .iter()
        .map(|c| c.json()["data"]["grant_id"].clone())
        .collect();
    assert_eq!(grant_ids.len(), REQUESTERS);
    // Each requester hears once that their access started (and, a one-hour grant, once that it
    // ends soon: the organisation's ending notice).
    let mails = start_mails(&smtp);
    assert_eq!(mails.len(), REQUESTERS, "one email per start");
    for n in 0..REQUESTERS {
        let to = format!("s{n}@example.org");
        assert_eq!(
            mails.iter().filter(|m| m.rcpt_tos.contains(&to)).count(),
            1,
            "{to}"
        );
    }
}

fn start_mails(smtp: &SmtpServer) -> Vec<crate::receivers::Mail> {
    smtp.mails()
        .into_iter()
        .filter(|m| m.subject.contains("has started"))
        .collect()
}
