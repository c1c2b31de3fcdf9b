//! ARAP callbacks: refused to an internal destination unless allow-listed; delivered through the
//! outbox when the task completes, signed with the PDP's Ed25519 key (Standard Webhooks `v1a`,
//! verified here with the key from `jwks_uri`), and retried after a failure.

use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::*;
use crate::per_backend;
use crate::receivers::WebhookReceiver;

/// The PDP's public key, from its discovery document's `jwks_uri`.
async fn pdp_key(app: &TestApp) -> VerifyingKey {
    let config = app
        .request(Method::GET, "/.well-known/authzen-configuration", None)
        .send()
        .await
        .unwrap();
    let config = expect_status(config, StatusCode::OK).await;
    let jwks = app
        .request(Method::GET, &path_of(app, &config["jwks_uri"]), None)
        .send()
        .await
        .unwrap();
    let jwks = expect_status(jwks, StatusCode::OK).await;
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap()
}

/// Verifies a `v1a` signature of `{webhook-id}.{webhook-timestamp}.{body}`.
fn verify(call: &crate::receivers::Received, key: &VerifyingKey) {
    let header = |name: &str| call.headers[name].to_str().unwrap().to_owned();
    let signed = format!(
        "{}.{}.{}",
        header("webhook-id"),
        header("webhook-timestamp"),
        String::from_utf8(call.body.clone()).unwrap()
    );
    let signature = header("webhook-signature");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(
            signature
                .strip_prefix("v1a,")
                .expect("an asymmetric signature"),
        )
        .unwrap();
    let signature = Signature::from_slice(&raw).unwrap();
    key.verify(signed.as_bytes(), &signature)
        .expect("the callback is signed with the PDP's key");
    let mut tampered = signed.into_bytes();
    tampered.push(b' ');
    assert!(key.verify(&tampered, &signature).is_err());
}

fn with_callback(submission: &mut Value, callback: Value) {
    submission["callback"] = callback;
}

async fn callbacks_go_only_where_allowed_and_tell_of_completion(backend: Backend) {
    let receiver = WebhookReceiver::start().await;
    let options = Options {
        callback_allowed_hosts: Some(format!("127.0.0.1:{}", receiver.port)),
        backoff: std::time::Duration::from_millis(200),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_for(backend, options).await else {
        return;
    };
    let s = setup(&app).await;
    let denied = requestable(&app, &s).await;
    let mut body = submission(s.email, &s.w.target, &denied);
    // Internal destinations that are not allow-listed, and malformed callbacks, are refused.
    for (callback, field) in [
        (
            json!({ "endpoint": "http://127.0.0.1:9/callbacks" }),
            "callback.endpoint",
        ),
        (
            json!({ "endpoint": format!("https://127.0.0.1:{}/cb", receiver.port + 1) }),
            "callback.endpoint",
        ),
        (
            json!({ "endpoint": "https://10.1.2.3/cb" }),
            "callback.endpoint",
        ),
        (
            json!({ "endpoint": "https://169.254.169.254/latest/meta-data" }),
            "callback.endpoint",
        ),
        (
            json!({ "endpoint": "https://[::1]/cb" }),
            "callback.endpoint",
        ),
        (
            json!({ "endpoint": "https://localhost/cb" }),
            "callback.endpoint",
        ),
        (
            json!({ "endpoint": "http://93.184.216.34/cb" }),
            "callback.endpoint",
        ),
        (json!({ "endpoint": "not a url" }), "callback.endpoint"),
        (json!({ "state": "x" }), "callback.endpoint"),
        (
            json!({ "endpoint": receiver.url(), "events": ["approved", "granted"] }),
            "callback.events[1]",
        ),
        (
            json!({ "endpoint": receiver.url(), "events": [] }),
            "callback.events",
        ),
        (
            json!({ "endpoint": receiver.url(), "state": "s".repeat(1025) }),
            "callback.state",
        ),
        (
            json!({ "endpoint": format!("https://93.184.216.34/{}", "a".repeat(2000)) }),
            "callback.endpoint",
        ),
        (json!("https://pep.example.com/cb"), "callback"),
    ] {
        with_callback(&mut body, callback.clone());
        let problem = expect_arap(
            submit(&app, &s.pep, &body, None).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        assert_eq!(
            problem["errors"][0]["field"], field,
            "{callback}: {problem}"
        );
    }
    assert!(receiver.received().is_empty());

    // Allow-listed: accepted; the receiver fails once, and the notification comes again.
    receiver.answer(503);
    with_callback(
        &mut body,
        json!({ "endpoint": receiver.url(), "state": "pep-state-1", "events": ["approved", "denied"] }),
    );
    let created = expect_status(
        submit(&app, &s.pep, &body, None).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let task = created["task"].clone();
    assert!(
        receiver.received().is_empty(),
        "nothing is sent while the task is pending"
    );
    let mine = expect_status(
        app.get("/v1/me/access-requests", &app.token_for(&s.w.requester))
            .await,
        StatusCode::OK,
    )
    .await;
    let request = mine["items"][0]["id"].clone();
    expect_status(
        crate::requests::act(&app, &request, "approve", &s.w.manager, json!({})).await,
        StatusCode::OK,
    )
    .await;
    eventually("the failed callback is tried again", || async {
        receiver.received().len() >= 2
    })
    .await;
    receiver.answer(200);
    // Delivered once the receiver accepts it (an attempt in flight may still have met the 503).
    let log = || async {
        let log = expect_status(
            app.get("/v1/settings/authzen/callback-deliveries", &app.admin_token)
                .await,
            StatusCode::OK,
        )
        .await;
        log["items"].as_array().unwrap().clone()
    };
    eventually("the callback is delivered", || async {
        log()
            .await
            .first()
            .is_some_and(|d| d["status"] == "delivered")
    })
    .await;
    let calls = receiver.received();
    let key = pdp_key(&app).await;
    for call in &calls {
        verify(call, &key);
        assert_eq!(
            call.webhook_id(),
            calls[0].webhook_id(),
            "retries are the same message"
        );
        assert_eq!(
            call.json(),
            json!({
                "state": "pep-state-1",
                "task": { "id": task["id"], "status": "approved", "status_endpoint": task["status_endpoint"] }
            })
        );
    }
    // What the callback says, the status endpoint says too.
    let status = expect_status(
        app.get(&path_of(&app, &task["status_endpoint"]), &s.pep)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(status["task"]["status"], "approved");
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(
        receiver.received().len(),
        calls.len(),
        "nothing more once delivered"
    );
    assert!(calls.len() >= 2, "the 503 was answered by another attempt");
    // The delivery log, for administrators: one delivery, each call an attempt, delivered.
    let items = log().await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        (
            items[0]["event_type"].as_str(),
            items[0]["attempts"].as_u64()
        ),
        (Some("authzen_task_approved"), Some(calls.len() as u64))
    );
    assert_eq!(items[0]["id"], calls[0].webhook_id().as_str());
    let member = app
        .get(
            "/v1/settings/authzen/callback-deliveries",
            &app.token_for(&s.w.requester),
        )
        .await;
    expect_status(member, StatusCode::FORBIDDEN).await;
}

async fn a_callback_names_only_the_events_asked_for(backend: Backend) {
    let receiver = WebhookReceiver::start().await;
    let options = Options {
        callback_allowed_hosts: Some("127.0.0.1".to_owned()),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_for(backend, options).await else {
        return;
    };
    let s = setup(&app).await;
    // Denied while only approvals were asked for: nothing. Then a new denial, submitted asking
    // for denials, is denied: one callback.
    for (events, expected) in [
        (json!(["approved"]), 0),
        (json!(["denied", "cancelled"]), 1),
    ] {
        let denied = requestable(&app, &s).await;
        let mut body = submission(s.email, &s.w.target, &denied);
        with_callback(
            &mut body,
            json!({ "endpoint": receiver.url(), "events": events }),
        );
        let created = expect_status(
            submit(&app, &s.pep, &body, None).await,
            StatusCode::ACCEPTED,
        )
        .await;
        let mine = expect_status(
            app.get("/v1/me/access-requests", &app.token_for(&s.w.requester))
                .await,
            StatusCode::OK,
        )
        .await;
        let request = mine["items"][0]["id"].clone();
        expect_status(
            crate::requests::act(
                &app,
                &request,
                "deny",
                &s.w.manager,
                json!({ "reason": "Not this quarter" }),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        if expected == 1 {
            eventually("the denial is called back", || async {
                !receiver.received().is_empty()
            })
            .await;
            let call = receiver.received()[0].json();
            assert_eq!(
                (call["task"]["id"].clone(), call["task"]["status"].as_str()),
                (created["task"]["id"].clone(), Some("denied"))
            );
            assert!(call.get("state").is_none());
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "the first denial was not asked for"
    );
}

per_backend! {
    callbacks_go_only_where_allowed_and_tell_of_completion => super::callbacks_go_only_where_allowed_and_tell_of_completion,
    a_callback_names_only_the_events_asked_for => super::a_callback_names_only_the_events_asked_for,
}
