//! Limits and hygiene: per-principal rate limiting (429 with `Retry-After`), slow clients cut off,
//! security headers on every response, and logs that never hold a secret or a token.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;
use crate::receivers::{WebhookReceiver, free_port};
use crate::requests::{request_body, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principal_over_its_allowance_gets_429_with_retry_after_and_others_do_not() {
    let options = Options {
        rate_limit_per_minute: 5,
        ..Options::default()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, options).await;
    let user = app.create_user("busy@example.org", "Busy").await;
    let token = app.token_for(&user);
    for _ in 0..5 {
        expect_status(app.get("/v1/me", &token).await, StatusCode::OK).await;
    }
    let response = app.get("/v1/users", &token).await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    let problem = expect_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(problem["type"], "urn:portcullis:problem:rate-limited");

    let other = app.create_user("calm@example.org", "Calm").await;
    expect_status(
        app.get("/v1/me", &app.token_for(&other)).await,
        StatusCode::OK,
    )
    .await;
    // A forged token naming the busy user is refused before it could spend anyone's allowance.
    expect_problem(
        app.request(Method::GET, "/v1/me", None)
            .bearer_auth("forged.token.value")
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.admin_token.clone();
    let api_calls = [
        app.get("/v1/me", &admin).await,
        app.get("/v1/users?limit=abc", &admin).await,
        app.get("/v1/no-such-thing", &admin).await,
        app.request(Method::GET, "/v1/me", None)
            .send()
            .await
            .unwrap(),
        app.request(Method::GET, "/healthz", None)
            .send()
            .await
            .unwrap(),
        app.request(Method::GET, "/api-docs/openapi.json", None)
            .send()
            .await
            .unwrap(),
        app.request(
            Method::GET,
            "/v1/access-requests/export?format=csv",
            Some(&admin),
        )
        .send()
        .await
        .unwrap(),
    ];
    for response in api_calls {
        let (url, headers) = (response.url().clone(), response.headers().clone());
        assert_eq!(headers["x-content-type-options"], "nosniff", "{url}");
        assert_eq!(headers["cache-control"], "no-store", "{url}");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("default-src 'none'"),
            "{url}"
        );
    }
    let swagger = app
        .request(Method::GET, "/swagger-ui/", None)
        .send()
        .await
        .unwrap();
    assert_eq!(swagger.status(), StatusCode::OK);
    assert_eq!(swagger.headers()["x-content-type-options"], "nosniff");
    let policy = swagger.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{policy} lacks {directive}");
    }
    assert!(
        !policy.contains("unsafe-eval") && !policy.contains("script-src 'self' 'unsafe-inline'")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_request_is_cut_off() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        // Half a request head, then silence (slowloris).
        stream
            .write_all(b"GET /v1/me HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap();
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(15),
        "the connection stayed open {waited:?}"
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

/// Runs a real `portcullis serve` process with debug logging through sign-ins (good and forged
/// tokens), a request, a decision, a webhook delivery and a test ping, then reads everything it wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_hold_no_secret_and_no_token() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let receiver = WebhookReceiver::start().await;
    let body = json!({ "name": "Receiver", "url": receiver.url(), "events": ["access_management_access_request"] });
    let channel = expect_status(
        app.post("/v1/webhook-channels", &app.admin_token, &body)
            .await,
        StatusCode::CREATED,
    )
    .await;
    let webhook_secret = channel["secret"].as_str().unwrap().to_owned();
    let w = world(&app, "any").await;
    app.stop_server().await;

    let log = std::env::temp_dir().join(format!("portcullis-log-{}.jsonl", uuid::Uuid::now_v7()));
    let port = free_port();
    let smtp_password = "Sm7p-pa55word-never-logged";
    let env = [
        ("RUST_LOG", "debug".to_owned()),
        (
            "PORTCULLIS_SMTP_URL",
            format!("smtp://mailer:{smtp_password}@127.0.0.1:{}", free_port()),
        ),
        ("PORTCULLIS_MAIL_FROM", MAIL_FROM.to_owned()),
    ];
    let mut server = serve_process(&app, port, &env, Some(&log));
    wait_until_ready(&app.client, port).await;
    let base = format!("http://127.0.0.1:{port}");
    let remote = |path: &str, token: &str, body: serde_json::Value| {
        app.client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };

    let requester = app.token_for(&w.requester);
    let manager = app.token_for(&w.manager);
    let created = remote("/v1/access-requests", &requester, request_body(&w))
        .await
        .unwrap();
    let request = expect_status(created, StatusCode::CREATED).await;
    let id = request["id"].as_str().unwrap();
    let approved = remote(
        &format!("/v1/access-requests/{id}/approve"),
        &manager,
        json!({}),
    )
    .await
    .unwrap();
    expect_status(approved, StatusCode::OK).await;
    let ping = format!(
        "/v1/webhook-channels/{}/test",
        channel["id"].as_str().unwrap()
    );
    expect_status(
        remote(&ping, &app.admin_token, json!({})).await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let forged = format!("{}x", &requester[..requester.len() - 1]);
    let refused = app
        .client
        .get(format!("{base}/v1/me"))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let basic = app
        .client
        .get(format!("{base}/v1/me"))
        .header("Authorization", format!("Basic {manager}"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    eventually("the webhooks arrive", || async {
        receiver.received().len() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill().unwrap();
    server.wait().unwrap();

    let logs = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert!(
        logs.contains("request finished"),
        "the server logged: {logs}"
    );
    let signature = |token: &str| token.rsplit('.').next().unwrap().to_owned();
    let secrets = [
        ("the JWT secret", SECRET.to_owned()),
        ("the webhook secret", webhook_secret.clone()),
        (
            "the webhook secret's key",
            webhook_secret.trim_start_matches("whsec_").to_owned(),
        ),
        ("the SMTP password", smtp_password.to_owned()),
        ("the requester's token", requester.clone()),
        ("the requester's token signature", signature(&requester)),
        ("the manager's token signature", signature(&manager)),
        ("the admin's token signature", signature(&app.admin_token)),
        ("a forged token's signature", signature(&forged)),
    ];
    for (what, secret) in secrets {
        assert!(!logs.contains(&secret), "the logs hold {what}");
    }
}
