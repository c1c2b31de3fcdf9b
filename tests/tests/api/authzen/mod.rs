//! Issue 28, AuthZEN: Portcullis as a policy decision point (Authorization API 1.0) whose denials can
//! be requested (the Access Request and Approval Profile).

mod callbacks;
mod devices;
mod evaluation;
mod requests;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::requests::{World, join, world};

pub const PROBLEM: &str = "urn:openid:authzen:access-request:error:";

/// The PEP: an integration account.
pub async fn pep(app: &TestApp) -> String {
    app.create_user_with(
        json!({ "email": "gateway@example.org", "display_name": "Gateway", "kind": "integration" }),
    )
    .await
}

pub fn question(subject: &str, group: &str) -> Value {
    json!({
        "subject": { "type": "user", "id": subject },
        "resource": { "type": "group", "id": group },
        "action": { "name": "member" }
    })
}

pub async fn evaluate(app: &TestApp, token: &str, body: &Value) -> Value {
    expect_status(
        app.post("/access/v1/evaluation", token, body).await,
        StatusCode::OK,
    )
    .await
}

/// A world whose requester is evaluated by their email, with the PEP's token.
pub struct Setup {
    pub w: World,
    pub pep: String,
    pub email: &'static str,
}

pub async fn setup(app: &TestApp) -> Setup {
    let w = world(app, "any").await;
    let pep = app.token_for(&pep(app).await);
    Setup {
        w,
        pep,
        email: "riley@example.org",
    }
}

/// The requester's requestable denial for the world's target group.
pub async fn requestable(app: &TestApp, s: &Setup) -> Value {
    let denied = evaluate(app, &s.pep, &question(s.email, &s.w.target)).await;
    assert_eq!(denied["decision"], false, "{denied}");
    assert!(denied["context"]["access_request"].is_object(), "{denied}");
    denied
}

/// The submission ARAP describes for `denied`.
pub fn submission(email: &str, group: &str, denied: &Value) -> Value {
    let access = &denied["context"]["access_request"];
    json!({
        "subject": { "type": "user", "id": email },
        "resource": { "type": "group", "id": group },
        "action": { "name": "member" },
        "context": { "business_justification": "Review pull requests for the 3.2 release" },
        "requested_access": { "requested_until": (chrono::Utc::now() + chrono::Duration::minutes(50)).to_rfc3339() },
        "denial": {
            "evaluation_id": denied["context"]["evaluation_id"],
            "expires_at": access["expires_at"],
            "binding_token": access["binding_token"],
            "template": access["template"],
        }
    })
}

pub async fn submit(
    app: &TestApp,
    token: &str,
    body: &Value,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .request(Method::POST, "/access/v1/requests", Some(token))
        .json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

/// A problem document of the profile's `kind` with `status`.
pub async fn expect_arap(response: reqwest::Response, status: StatusCode, kind: &str) -> Value {
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let body = expect_status(response, status).await;
    assert_eq!(body["type"], format!("{PROBLEM}{kind}"), "{body}");
    body
}

/// The path of an absolute URL of this app.
pub fn path_of(app: &TestApp, url: &Value) -> String {
    url.as_str()
        .unwrap()
        .strip_prefix(&app.address)
        .unwrap()
        .to_owned()
}
