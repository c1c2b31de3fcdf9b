//! What the cells of the matrix start from: the cast of callers and the objects made for each cell.

use super::*;

/// The people and groups every cell starts from.
pub(super) struct Cast {
    pub(super) tokens: [Option<String>; 7],
    pub(super) base: Params,
}

pub(super) async fn cast(app: &TestApp) -> Cast {
    let target = app.create_group("Target").await;
    let visible = app.create_group("Engineering").await;
    let reviewers = app.create_group("Security").await;
    let manager = app.create_user("max@example.org", "Max Manager").await;
    let requester = app
        .create_user_with(
            json!({ "email": "riley@example.org", "display_name": "Riley", "manager_id": manager }),
        )
        .await;
    let reviewer = app.create_user("sam@example.org", "Sam").await;
    let stranger = app.create_user("stan@example.org", "Stan Stranger").await;
    let bystander = app.create_user("bea@example.org", "Bea Bystander").await;
    let bot = app
        .create_user_with(
            json!({ "email": "bot@example.org", "display_name": "Bot", "kind": "integration" }),
        )
        .await;
    crate::requests::join(app, &visible, &requester).await;
    crate::requests::join(app, &reviewers, &reviewer).await;
    let tokens = [
        None,
        Some(app.token_for(&stranger)),
        Some(app.token_for(&requester)),
        Some(app.token_for(&manager)),
        Some(app.token_for(&reviewer)),
        Some(app.token_for(&bot)),
        Some(app.admin_token.clone()),
    ];
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = HashMap::from([
        ("target", target),
        ("visible", visible),
        ("reviewers", reviewers),
        ("requester", requester),
        ("stranger", stranger),
        ("bystander", bystander),
        ("dead_url", format!("http://127.0.0.1:{dead_port}/hook")),
    ]);
    Cast { tokens, base }
}

pub(super) async fn created(app: &TestApp, path: &str, body: Value) -> String {
    let response = app.post(path, &app.admin_token, &body).await;
    let body = expect_status(response, StatusCode::CREATED).await;
    body["id"].as_str().unwrap().to_owned()
}

pub(super) async fn ok(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
) -> Value {
    let mut request = app.request(method, path, Some(token));
    if !body.is_null() {
        request = request.json(&body);
    }
    expect_status(request.send().await.unwrap(), StatusCode::OK).await
}

/// A new flow (one open request per requester and flow, so every request gets its own).
pub(super) async fn fresh_flow(app: &TestApp, p: &Params) -> String {
    created(app, "/v1/approval-flows", new_flow(p)).await
}

pub(super) async fn pending_request(app: &TestApp, p: &Params, flow: &str) -> String {
    let token = app.token_for(&p["requester"]);
    let body = json!({ "flow_id": flow, "reason": "Review pull requests for the release", "duration_seconds": 3600 });
    let response = app.post("/v1/access-requests", &token, &body).await;
    expect_status(response, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An approved device-admin request of the requester, on a device assigned to them (so the
/// requester's manager and the reviewer have no part in it).
pub(super) async fn approved_device_request(app: &TestApp, p: &Params) -> String {
    let device = created(
        app,
        "/v1/devices",
        json!({ "name": format!("laptop-{}", p["n"]), "os": "macos", "assigned_user_ids": [p["requester"]], "certificate_fingerprint": DEVICE_CERTIFICATE }),
    )
    .await;
    let mut flow = flow_body(p, format!("Laptop admin {}", p["n"]));
    let flow = flow.as_object_mut().unwrap();
    for field in ["target_group_id", "timed_access", "approver_requirement"] {
        flow.remove(field);
    }
    // Device-admin flows are approved by administrators only.
    flow.insert("approvers".into(), json!([{ "type": "administrator" }]));
    flow.insert("kind".into(), json!("device_admin"));
    flow.insert("display".into(), json!({ "logo": "apple" }));
    flow.insert("session_durations_seconds".into(), json!([900]));
    let flow = created(app, "/v1/approval-flows", Value::Object(flow.clone())).await;
    let token = app.token_for(&p["requester"]);
    let body =
        json!({ "flow_id": flow, "reason": "Install the signing toolchain", "device_id": device });
    let response = app.post("/v1/access-requests", &token, &body).await;
    let id = expect_status(response, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/access-requests/{id}/approve");
    ok(
        app,
        Method::POST,
        &path,
        &app.admin_token,
        override_approve(p),
    )
    .await;
    id
}

/// A requestable denial of the requester for a group of its own (its own flow, so no other cell's
/// open request hides it), as the submission ARAP describes; with `submit`, submitted by an admin for
/// the requester, and the task's id as `id`.
async fn authzen_denial(app: &TestApp, p: &mut Params, submit: bool) {
    let n = p["n"].clone();
    let group = app.create_group(&format!("AuthZEN {n}")).await;
    let mut flow = flow_body(p, format!("AuthZEN flow {n}"));
    flow["target_group_id"] = json!(group);
    created(app, "/v1/approval-flows", flow).await;
    let question = json!({ "subject": { "type": "user", "id": p["requester"] },
        "resource": { "type": "group", "id": group }, "action": { "name": "member" } });
    let denied = ok(
        app,
        Method::POST,
        "/access/v1/evaluation",
        &app.admin_token,
        question.clone(),
    )
    .await;
    let access = &denied["context"]["access_request"];
    let mut submission = question;
    submission["context"] =
        json!({ "business_justification": "Review pull requests for the release" });
    submission["denial"] =
        json!({ "expires_at": access["expires_at"], "binding_token": access["binding_token"] });
    if submit {
        let response = app
            .post("/access/v1/requests", &app.admin_token, &submission)
            .await;
        let task = expect_status(response, StatusCode::ACCEPTED).await;
        p.insert("id", task["task"]["id"].as_str().unwrap().to_owned());
    }
    p.insert("submission", submission.to_string());
}

/// Creates what the cell needs and returns its parameters.
pub(super) async fn prepare(app: &TestApp, cast: &Cast, fixture: Fixture, n: usize) -> Params {
    let mut p = cast.base.clone();
    p.insert("n", n.to_string());
    let admin = app.admin_token.clone();
    match fixture {
        Fixture::Nothing => {}
        Fixture::AuthzenDenial => authzen_denial(app, &mut p, false).await,
        Fixture::AuthzenTask => authzen_denial(app, &mut p, true).await,
        Fixture::User => {
            let id = app.create_user(&format!("u{n}@example.org"), "User").await;
            p.insert("id", id);
        }
        Fixture::Group => {
            p.insert("id", app.create_group(&format!("Fixture {n}")).await);
        }
        Fixture::Membership => {
            let group = app.create_group(&format!("Fixture {n}")).await;
            crate::requests::join(app, &group, &p["stranger"]).await;
            p.insert("user_id", p["stranger"].clone());
            p.insert("id", group);
        }
        Fixture::Device => {
            let body = json!({ "name": format!("laptop-{n}"), "os": "linux", "assigned_user_ids": [p["requester"]] });
            p.insert("id", created(app, "/v1/devices", body).await);
        }
        Fixture::Flow => {
            let flow = fresh_flow(app, &p).await;
            p.insert("flow_id", flow.clone());
            p.insert("id", flow);
        }
        Fixture::HelpRequest => {
            let flow = fresh_flow(app, &p).await;
            let token = app.token_for(&p["requester"]);
            let path = format!("/v1/catalog/{flow}/help");
            let response = app.post(&path, &token, &question(&p)).await;
            let asked = expect_status(response, StatusCode::CREATED).await;
            p.insert("id", asked["id"].as_str().unwrap().to_owned());
        }
        Fixture::ScimToken => {
            p.insert(
                "id",
                created(app, "/v1/scim-tokens", new_scim_token(&p)).await,
            );
        }
        Fixture::Channel | Fixture::Delivery => {
            let channel = created(app, "/v1/webhook-channels", new_channel(&p)).await;
            if let Fixture::Delivery = fixture {
                let path = format!("/v1/webhook-channels/{channel}/test");
                let ping = ok(app, Method::POST, &path, &admin, json!({})).await;
                p.insert("delivery_id", ping["id"].as_str().unwrap().to_owned());
            }
            p.insert("id", channel);
        }
        Fixture::PendingRequest => {
            let flow = fresh_flow(app, &p).await;
            p.insert("id", pending_request(app, &p, &flow).await);
            let other = app.create_user(&format!("o{n}@example.org"), "Other").await;
            p.insert("other", other);
        }
        Fixture::ErrorRequest => {
            let flow = fresh_flow(app, &p).await;
            let id = pending_request(app, &p, &flow).await;
            // Editing a flow's approvers moves its pending requests to `error`.
            let approvers = json!({ "approvers": [{ "type": "requester_manager" }, { "type": "user_group", "group_id": p["reviewers"], "require_all": false }] });
            let path = format!("/v1/approval-flows/{flow}");
            ok(app, Method::PATCH, &path, &admin, approvers).await;
            let request = ok(
                app,
                Method::GET,
                &format!("/v1/access-requests/{id}"),
                &admin,
                Value::Null,
            )
            .await;
            assert_eq!(request["status"], "error", "the fixture is in error");
            p.insert("id", id);
        }
        Fixture::DeniedRequest => {
            let flow = fresh_flow(app, &p).await;
            let id = pending_request(app, &p, &flow).await;
            let path = format!("/v1/access-requests/{id}/deny");
            ok(app, Method::POST, &path, &admin, override_deny(&p)).await;
            p.insert("id", id);
        }
        Fixture::ApprovedDeviceRequest => {
            let id = approved_device_request(app, &p).await;
            p.insert("id", id);
        }
        Fixture::FulfilmentRequest => {
            let mut flow = flow_body(&p, format!("Vendor app {n}"));
            flow["owner_ids"] = json!([p["bystander"]]);
            flow["fulfilment"] = json!({ "provisioning": "manual", "assignment": true });
            let flow = created(app, "/v1/approval-flows", flow).await;
            let id = pending_request(app, &p, &flow).await;
            let path = format!("/v1/access-requests/{id}/approve");
            ok(app, Method::POST, &path, &admin, override_approve(&p)).await;
            // An administrator made after the approval: not yet an assignee of its task.
            let new_admin = app
                .create_user_with(json!({ "email": format!("it{n}@example.org"), "display_name": "IT", "is_admin": true }))
                .await;
            p.insert("id", id);
            p.insert("type", "provisioning".to_owned());
            p.insert("admin", app.admin_id.clone());
            p.insert("new_admin", new_admin);
        }
        Fixture::BreakGlassRequest => {
            let mut flow = flow_body(&p, format!("Break-glass {n}"));
            let body = flow.as_object_mut().unwrap();
            for field in ["approvers", "approver_requirement"] {
                body.remove(field);
            }
            body.insert("approval_type".into(), json!("automatic"));
            body.insert("break_glass".into(), json!(true));
            body.insert(
                "timed_access".into(),
                json!({ "mode": "fixed", "durations_seconds": [3600] }),
            );
            let flow = created(app, "/v1/approval-flows", flow).await;
            // Two break-glass requests per person a day: each cell's is a day after the last.
            app.clock.advance(chrono::Duration::hours(25));
            let token = app.token_for(&p["requester"]);
            let body = json!({ "flow_id": flow, "reason": "The payments database is down; restoring it now" });
            let response = app.post("/v1/access-requests", &token, &body).await;
            let request = expect_status(response, StatusCode::CREATED).await;
            assert_eq!(
                request["review"]["state"], "open",
                "the fixture awaits its review"
            );
            p.insert("id", request["id"].as_str().unwrap().to_owned());
        }
        Fixture::Session => {
            let request = approved_device_request(app, &p).await;
            let token = app.token_for(&p["requester"]);
            let path = format!("/v1/access-requests/{request}/start-session");
            let response = app.post(&path, &token, &json!({})).await;
            let session = expect_status(response, StatusCode::CREATED).await;
            p.insert("id", session["id"].as_str().unwrap().to_owned());
        }
        Fixture::Grant | Fixture::AwaitingGrant => {
            let flow = fresh_flow(app, &p).await;
            if matches!(fixture, Fixture::AwaitingGrant) {
                let activation = json!({ "activation": { "window_seconds": 3600 } });
                let response = app
                    .patch(&format!("/v1/approval-flows/{flow}"), &admin, &activation)
                    .await;
                expect_status(response, StatusCode::OK).await;
            }
            let id = pending_request(app, &p, &flow).await;
            let path = format!("/v1/access-requests/{id}/approve");
            ok(app, Method::POST, &path, &admin, override_approve(&p)).await;
            let detail = ok(
                app,
                Method::GET,
                &format!("/v1/access-requests/{id}"),
                &admin,
                Value::Null,
            )
            .await;
            p.insert("id", detail["grant"]["id"].as_str().unwrap().to_owned());
        }
    }
    p
}

pub(super) fn fill(path: &str, p: &Params) -> String {
    let mut filled = path.to_owned();
    for (name, value) in p {
        filled = filled.replace(&format!("{{{name}}}"), value);
    }
    filled
}
