//! `make run`'s demo data (seed 004's journey): the "Figma" flow has manual provisioning and an
//! assignment, so the journey can be tried in Swagger UI. Driven here as a person would: the
//! one-shot commands seed a fresh database and mint tokens, `portcullis serve` answers.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{SECRET, TestDatabase, expect_status, server_binary, wait_until_ready};
use crate::receivers::free_port;

fn command(url: &str, args: &[&str]) -> String {
    let output = Command::new(server_binary())
        .args(args)
        .env("DATABASE_URL", url)
        .env("PORTCULLIS_JWT_SECRET", SECRET)
        .env("PORTCULLIS_LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

async fn the_demo_walks_seed_004s_journey(database: TestDatabase) {
    let url = database.url.clone();
    command(&url, &["migrate"]);
    command(&url, &["seed-demo"]);
    let token = |email: &str| command(&url, &["token", "--email", email, "--ttl", "600"]);
    let (admin, requester, manager, owner) = (
        token("admin@example.com"),
        token("requester@example.com"),
        token("manager@example.com"),
        token("owner@example.com"),
    );
    let port = free_port();
    let mut server = Command::new(server_binary())
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("PORTCULLIS_JWT_SECRET", SECRET)
        .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
        .env("PORTCULLIS_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    wait_until_ready(&client, port).await;
    let base = format!("http://127.0.0.1:{port}/v1");
    let get = |path: String, token: String| {
        let request = client.get(format!("{base}{path}")).bearer_auth(token);
        async move { expect_status(request.send().await.unwrap(), StatusCode::OK).await }
    };
    let post = |path: String, token: String, body: Value| {
        let request = client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body);
        async move { request.send().await.unwrap() }
    };

    let catalog = get("/catalog".into(), requester.clone()).await;
    let figma = catalog["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Figma")
        .expect("the demo has Figma");
    let flow = get(
        format!("/approval-flows/{}", figma["flow_id"].as_str().unwrap()),
        admin.clone(),
    )
    .await;
    assert_eq!(
        flow["fulfilment"],
        json!({ "provisioning": "manual", "assignment": true })
    );
    let body = json!({ "flow_id": flow["id"], "reason": "Design reviews for the onboarding" });
    let request = expect_status(
        post("/access-requests".into(), requester.clone(), body).await,
        StatusCode::CREATED,
    )
    .await;
    let id = request["id"].as_str().unwrap().to_owned();
    expect_status(
        post(
            format!("/access-requests/{id}/approve"),
            manager.clone(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let actions = get("/me/tasks?action=provision".into(), admin.clone()).await;
    assert_eq!(actions["items"][0]["access_request"]["id"], id.as_str());
    expect_status(
        post(
            format!("/access-requests/{id}/fulfilment/provisioning/complete"),
            admin.clone(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let actions = get("/me/tasks?action=assign".into(), owner.clone()).await;
    assert_eq!(
        actions["items"][0]["access_request"]["id"],
        id.as_str(),
        "the App Admin assigns next"
    );
    let done = expect_status(
        post(
            format!("/access-requests/{id}/fulfilment/assignment/complete"),
            owner.clone(),
            json!({ "note": "Editor seat" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["fulfilment"]["state"], "done");
    let closed = get("/me/access-requests?state=closed".into(), requester.clone()).await;
    assert_eq!(
        closed["items"][0]["id"],
        id.as_str(),
        "the ticket is closed"
    );
    let _ = server.kill();
    let _ = server.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_walks_seed_004s_journey_on_sqlite() {
    the_demo_walks_seed_004s_journey(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    postgres_tests_skipped,
    ignore = "set TEST_DATABASE_URL to run the PostgreSQL tests"
)]
async fn the_demo_walks_seed_004s_journey_on_postgres() {
    if let Some(database) = tokio::task::spawn_blocking(TestDatabase::postgres_if_configured)
        .await
        .unwrap()
    {
        the_demo_walks_seed_004s_journey(database).await;
    }
}
