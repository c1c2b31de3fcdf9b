//! The connection: verified with `auth.test`, its secrets write-only (never in an answer, an event
//! or a log line); and the flows' `slack` member, validated as the seed says.

use super::*;

async fn put(app: &TestApp, body: Value) -> reqwest::Response {
    app.request(
        reqwest::Method::PUT,
        "/v1/settings/slack",
        Some(&app.admin_token),
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

async fn connecting_slack_verifies_the_token_and_never_returns_the_secrets(backend: Backend) {
    let slack = FakeSlack::start().await;
    let options = Options {
        slack_api_url: Some(slack.url()),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_for(backend, options).await else {
        return;
    };
    let read = expect_status(
        app.get("/v1/settings/slack", &app.admin_token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(read["configured"], false);

    let missing =
        expect_problem(put(&app, json!({})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&missing), ["bot_token", "signing_secret"]);
    let user_token = json!({ "bot_token": "xoxp-1234", "signing_secret": SIGNING_SECRET });
    let problem = expect_problem(
        put(&app, user_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&problem), ["bot_token"]);
    // The prefix alone is not a token (the schema's pattern wants at least one character after it).
    let bare_prefix = json!({ "bot_token": "xoxb-", "signing_secret": SIGNING_SECRET });
    let problem = expect_problem(
        put(&app, bare_prefix).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&problem), ["bot_token"]);
    let refused = json!({ "bot_token": "xoxb-revoked-token", "signing_secret": SIGNING_SECRET });
    let problem = expect_problem(put(&app, refused).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(problem.to_string().contains("invalid_auth"), "{problem}");
    assert!(!problem.to_string().contains("xoxb-revoked-token"));
    let read = expect_status(
        app.get("/v1/settings/slack", &app.admin_token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        read["configured"], false,
        "nothing is saved when Slack refuses the token"
    );

    let connected = connect(&app).await;
    assert_eq!(
        (
            connected["configured"].as_bool(),
            connected["team_name"].as_str()
        ),
        (Some(true), Some("Portcullis Test"))
    );
    assert!(connected["verified_at"].is_string());
    let read = expect_status(
        app.get("/v1/settings/slack", &app.admin_token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(read, connected);

    // Changing the channels keeps the secrets; Slack being down leaves it saved but unverified.
    slack.set_mode(Mode::Down);
    let changed = expect_status(
        put(
            &app,
            json!({ "default_channel_ids": ["C0GENERAL1"], "notify_requester": false }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            changed["configured"].as_bool(),
            changed["verified_at"].is_null()
        ),
        (Some(true), true)
    );
    assert!(
        changed["verification_error"]
            .as_str()
            .unwrap()
            .contains("503")
    );
    assert_eq!(changed["default_channel_ids"], json!(["C0GENERAL1"]));

    // What GET returns goes back as it is (read-modify-write); a stale `version` is a 412.
    let mut sent_back = changed.clone();
    sent_back["notify_requester"] = json!(true);
    let written = expect_status(put(&app, sent_back).await, StatusCode::OK).await;
    assert_eq!(
        (
            written["notify_requester"].as_bool(),
            written["version"].as_i64()
        ),
        (Some(true), Some(3))
    );
    expect_problem(
        put(&app, changed.clone()).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;

    let events = expect_status(
        app.get("/v1/events?type=slack_connection_update", &app.admin_token)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(events["items"].as_array().unwrap().len(), 3);
    for text in [read.to_string(), changed.to_string(), events.to_string()] {
        assert!(
            !text.contains(BOT_TOKEN) && !text.contains(SIGNING_SECRET),
            "{text}"
        );
    }
}

/// A real server process logging at debug level: the token and the secret pass through it (the
/// connection, `auth.test`, every Web API call, signed interactions) and never reach its log.
async fn secrets_never_reach_the_logs(backend: Backend) {
    let Some((app, slack)) = spawn(backend).await else {
        return;
    };
    let w = slack_world(&app, "any").await;
    app.stop_server().await;
    let log = std::env::temp_dir().join(format!("portcullis-slack-{}.log", uuid::Uuid::now_v7()));
    let port = crate::receivers::free_port();
    let env = [
        ("PORTCULLIS_SLACK_API_URL", slack.url()),
        ("RUST_LOG", "debug".to_owned()),
    ];
    let mut server = serve_process(&app, port, &env, Some(&log));
    wait_until_ready(&app.client, port).await;
    let base = format!("http://127.0.0.1:{port}");
    let body = json!({ "bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET });
    let response = app
        .client
        .put(format!("{base}/v1/settings/slack"))
        .bearer_auth(&app.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let created: Value = app
        .client
        .post(format!("{base}/v1/access-requests"))
        .bearer_auth(app.token_for(&w.requester))
        .json(&crate::requests::request_body(&w))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    eventually("the manager is asked", || async {
        posts_to(&slack, &dm(MAX)).len() == 1
    })
    .await;
    let url = format!("{base}/v1/integrations/slack/interactions");
    let forged = slack
        .post_interaction(
            &url,
            &click(MAX, "approve", id, "2.1"),
            "wrong",
            chrono::Utc::now().timestamp(),
        )
        .await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        slack
            .interact(&url, &click(MAX, "approve", id, "2.2"))
            .await
            .status(),
        StatusCode::OK
    );
    eventually("the request is approved", || async {
        let read: Value = app
            .client
            .get(format!("{base}/v1/access-requests/{id}"))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        read["status"] == "approved"
    })
    .await;
    server.kill().unwrap();
    server.wait().unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert!(
        logged.contains("request finished"),
        "the log holds the server's lines"
    );
    assert!(!logged.contains(BOT_TOKEN), "the bot token is never logged");
    assert!(
        !logged.contains(SIGNING_SECRET),
        "the signing secret is never logged"
    );
}

async fn a_flows_slack_member_follows_the_seeds_rules(backend: Backend) {
    let Some((app, _slack)) = spawn(backend).await else {
        return;
    };
    let w = world(&app, "any").await;
    let path = format!("/v1/approval-flows/{}", w.flow);
    let channels = json!({ "slack": { "enabled": true, "administrator_delivery": "channels", "channel_ids": ["C0SECURITY"] } });
    let problem = expect_problem(
        app.patch(&path, &app.admin_token, &channels).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        ["slack.administrator_delivery"],
        "channels only for administrator flows"
    );
    let admin_flow = admin_channel_flow(&app, &w).await;
    let admin_path = format!("/v1/approval-flows/{admin_flow}");
    let bad = json!({ "slack": { "enabled": true, "administrator_delivery": "channels", "channel_ids": ["general", "C0SECURITY", "C0SECURITY"] } });
    let problem = expect_problem(
        app.patch(&admin_path, &app.admin_token, &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        ["slack.channel_ids[0]", "slack.channel_ids[2]"]
    );
    let read = expect_status(app.get(&admin_path, &app.admin_token).await, StatusCode::OK).await;
    assert_eq!(
        read["slack"]["channel_ids"],
        json!(["C0SECURITY", "C0ONCALL01"]),
        "nothing changed"
    );
    let off = expect_status(
        app.patch(&admin_path, &app.admin_token, &json!({ "slack": null }))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(off["slack"].is_null());
}

per_backend! {
    connecting_slack_verifies_the_token_and_never_returns_the_secrets => super::connecting_slack_verifies_the_token_and_never_returns_the_secrets,
    secrets_never_reach_the_logs => super::secrets_never_reach_the_logs,
    a_flows_slack_member_follows_the_seeds_rules => super::a_flows_slack_member_follows_the_seeds_rules,
}
