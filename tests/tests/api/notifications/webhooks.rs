//! Webhooks: signed deliveries of the subscribed events, channels, retries, the delivery log.

use super::*;

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

per_backend! {
    a_receiver_that_is_down_gets_its_message_when_back => super::a_receiver_that_is_down_gets_its_message_when_back,
    after_the_retry_limit_a_delivery_fails_and_can_be_resent => super::after_the_retry_limit_a_delivery_fails_and_can_be_resent,
}
