//! Nothing lost, nothing doubled: Slack down (503), Slack rate-limiting (429 with `Retry-After`, which
//! is honoured), and a server killed right after the commit.

use super::*;
use crate::receivers::free_port;

async fn messages_wait_out_slack_being_down_and_rate_limited_then_arrive_once(backend: Backend) {
    let Some((app, slack)) = spawn(backend).await else {
        return;
    };
    let w = slack_world(&app, "any").await;
    slack.set_mode(Mode::Down);
    submit(&app, &w).await;
    let asks = |deliveries: Vec<Value>| -> Vec<Value> {
        deliveries
            .into_iter()
            .filter(|d| d["event_type"] == "ask_approver")
            .collect()
    };
    eventually("every message met the outage", || async {
        let asks = asks(slack_deliveries(&app).await);
        asks.len() == 3
            && asks
                .iter()
                .all(|d| d["status"] == "pending" && d["last_status_code"] == 503)
    })
    .await;

    assert!(slack.calls().iter().any(|c| c.status == 503));
    slack.set_mode(Mode::RateLimited(3600));
    eventually(
        "every message is held back as Slack's Retry-After says",
        || async {
            let asks = asks(slack_deliveries(&app).await);
            asks.iter().all(|d| {
                let next: chrono::DateTime<chrono::Utc> =
                    d["next_attempt_at"].as_str().unwrap().parse().unwrap();
                d["last_status_code"] == 429
                    && next > chrono::Utc::now() + chrono::Duration::minutes(50)
            })
        },
    )
    .await;
    settle().await;
    assert!(slack.calls().iter().any(|c| c.status == 429));
    assert!(
        slack.succeeded("chat.postMessage").is_empty(),
        "nothing is sent before Retry-After"
    );

    slack.set_mode(Mode::Up);
    app.clock.advance(chrono::Duration::hours(2));
    eventually("every approver is asked", || async {
        [MAX, SAM, KIM]
            .iter()
            .all(|u| posts_to(&slack, &dm(u)).len() == 1)
    })
    .await;
    settle().await;
    assert_eq!(
        slack.succeeded("chat.postMessage").len(),
        3,
        "none lost, none doubled"
    );
    let asks = asks(slack_deliveries(&app).await);
    assert!(asks.iter().all(|d| d["status"] == "delivered"), "{asks:?}");
}

/// SIGKILL right after the request's 201 while Slack is down: the messages were committed with the
/// request, so a restarted server sends them.
async fn a_server_killed_after_the_commit_still_asks_in_slack_after_restart(backend: Backend) {
    let Some((app, slack)) = spawn(backend).await else {
        return;
    };
    let w = slack_world(&app, "any").await;
    app.stop_server().await;
    slack.set_mode(Mode::Down);
    let env = [
        ("PORTCULLIS_SLACK_API_URL", slack.url()),
        ("PORTCULLIS_DELIVERY_BACKOFF_SECONDS", "1".to_owned()),
        // A delivery the killed server held is taken over when its lease (3 × this) ends.
        ("PORTCULLIS_DELIVERY_TIMEOUT_SECONDS", "2".to_owned()),
    ];
    let port = free_port();
    let mut first = serve_process(&app, port, &env, None);
    wait_until_ready(&app.client, port).await;
    let created = app
        .client
        .post(format!("http://127.0.0.1:{port}/v1/access-requests"))
        .bearer_auth(app.token_for(&w.requester))
        .json(&crate::requests::request_body(&w))
        .send()
        .await
        .unwrap();
    first.kill().unwrap(); // SIGKILL: no shutdown, no flush
    first.wait().unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(slack.succeeded("chat.postMessage").is_empty());

    slack.set_mode(Mode::Up);
    let mut second = serve_process(&app, port, &env, None);
    wait_until_ready(&app.client, port).await;
    eventually("every approver is asked after the restart", || async {
        [MAX, SAM, KIM]
            .iter()
            .all(|u| posts_to(&slack, &dm(u)).len() == 1)
    })
    .await;
    settle().await;
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(slack.succeeded("chat.postMessage").len(), 3, "each once");
}

per_backend! {
    messages_wait_out_slack_being_down_and_rate_limited_then_arrive_once => super::messages_wait_out_slack_being_down_and_rate_limited_then_arrive_once,
    a_server_killed_after_the_commit_still_asks_in_slack_after_restart => super::a_server_killed_after_the_commit_still_asks_in_slack_after_restart,
}
