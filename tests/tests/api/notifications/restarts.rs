//! Delivery across processes: a server killed after a commit, two replicas sharing one outbox.

use super::*;

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

per_backend! {
    a_server_killed_after_a_commit_still_delivers_after_restart => super::a_server_killed_after_a_commit_still_delivers_after_restart,
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
    // Each request: its webhook, the requester's confirmation, the task email of each approver
    // of its two parallel steps (the manager; Sam, Kim and Riley of the reviewer group), and the
    // administrator's new-request email (sent for every submitted request, seed 001).
    let expected_mails = 6 * requesters.len();
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
    assert_eq!(
        smtp.mails_to(ADMIN_EMAIL).len(),
        requesters.len(),
        "the administrator hears of each new request"
    );
}
