//! The authorization matrix: every operation of `openapi.yaml` × seven kinds of caller, with the
//! status each must get. A reviewer reads it as a table; a test fails when the spec gains an
//! operation that has no row here.
//!
//! Columns, in order:
//! | anon | no token at all |
//! | stranger | an active person with no relation to the object |
//! | requester | the person who made the request (and holds its grant, session and device) |
//! | approver | an eligible approver of the request's active step (the requester's manager) |
//! | waiting | an approver of a step that is still waiting (`all_in_order`, second step) |
//! | bot | an integration account |
//! | admin | an administrator |
//!
//! Reading a cell: 2xx = allowed; 401 = not signed in; 403 = signed in but not allowed (the object
//! is visible to them, or the operation is admin-only); 404 = the object is hidden from them, the
//! same answer as for a missing one. Every cell starts from objects made for it alone, so one
//! caller's success never changes what the next caller sees.
//!
//! Authorization comes before validation: every refused cell of an operation that takes a body is
//! first sent bad bodies (malformed JSON, `{}`, wrong types, an unknown field, not JSON, oversize),
//! each with the server's caller cache emptied, and must be refused the same way (see
//! [`VALIDATED_BEFORE_PERMISSION`] for the request actions where a caller who sees the request is
//! told about the body first).

use std::collections::{BTreeSet, HashMap};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

const CALLERS: [&str; 7] = [
    "anon",
    "stranger",
    "requester",
    "approver",
    "waiting",
    "bot",
    "admin",
];

/// What a cell needs created (by an admin) before the call.
#[derive(Debug, Clone, Copy)]
enum Fixture {
    Nothing,
    User,
    Group,
    Membership,
    Device,
    Flow,
    Channel,
    Delivery,
    ScimToken,
    PendingRequest,
    ErrorRequest,
    DeniedRequest,
    ApprovedDeviceRequest,
    Session,
    Grant,
}

type Params = HashMap<&'static str, String>;

struct Row {
    method: &'static str,
    /// The spec's path; `{name}` is filled from the cell's parameters (a query may follow).
    path: &'static str,
    fixture: Fixture,
    body: Option<fn(&Params) -> Value>,
    expect: [u16; 7],
}

fn row(
    method: &'static str,
    path: &'static str,
    fixture: Fixture,
    body: Option<fn(&Params) -> Value>,
    expect: [u16; 7],
) -> Row {
    Row {
        method,
        path,
        fixture,
        body,
        expect,
    }
}

/// Everybody may call it, signed in or not.
const OPEN: [u16; 7] = [200; 7];
/// Every signed-in caller (each sees only what is theirs where the list is personal).
const SIGNED_IN: [u16; 7] = [401, 200, 200, 200, 200, 200, 200];
/// Administrators only.
const fn admin_only(success: u16) -> [u16; 7] {
    [401, 403, 403, 403, 403, 403, success]
}
/// A request, its comments and its history: those involved, integrations and admins.
const REQUEST_READERS: [u16; 7] = [401, 404, 200, 200, 200, 200, 200];

#[rustfmt::skip]
fn table() -> Vec<Row> {
    use Fixture::*;
    vec![
        //   method    path                                                    fixture        body                     anon stranger requester approver waiting bot admin
        row("GET",    "/healthz",                                              Nothing,       None,                    OPEN),
        row("GET",    "/readyz",                                               Nothing,       None,                    OPEN),
        row("GET",    "/metrics",                                              Nothing,       None,                    OPEN),
        row("GET",    "/v1/me",                                                Nothing,       None,                    SIGNED_IN),
        // The people picker: id, name and email of active people, for everyone signed in.
        row("GET",    "/v1/people?q=st",                                       Nothing,       None,                    SIGNED_IN),
        // Full user records and group memberships are for administrators (`/v1/me` gives one's own).
        row("GET",    "/v1/users",                                             Nothing,       None,                    admin_only(200)),
        row("POST",   "/v1/users",                                             Nothing,       Some(new_user),          admin_only(201)),
        row("GET",    "/v1/users/{id}",                                        User,          None,                    admin_only(200)),
        row("PATCH",  "/v1/users/{id}",                                        User,          Some(rename),            admin_only(200)),
        row("DELETE", "/v1/users/{id}",                                        User,          None,                    admin_only(204)),
        row("GET",    "/v1/groups",                                            Nothing,       None,                    SIGNED_IN),
        row("POST",   "/v1/groups",                                            Nothing,       Some(new_group),         admin_only(201)),
        row("GET",    "/v1/groups/{id}",                                       Group,         None,                    SIGNED_IN),
        row("PATCH",  "/v1/groups/{id}",                                       Group,         Some(new_group),         admin_only(200)),
        row("DELETE", "/v1/groups/{id}",                                       Group,         None,                    admin_only(204)),
        row("GET",    "/v1/groups/{id}/members",                               Group,         None,                    admin_only(200)),
        row("POST",   "/v1/groups/{id}/members",                               Group,         Some(new_member),        admin_only(201)),
        row("DELETE", "/v1/groups/{id}/members/{user_id}",                     Membership,    None,                    admin_only(204)),
        row("GET",    "/v1/devices",                                           Nothing,       None,                    SIGNED_IN),
        row("POST",   "/v1/devices",                                           Nothing,       Some(new_device),        admin_only(201)),
        // The device is assigned to the requester: only they and admins see it.
        row("GET",    "/v1/devices/{id}",                                      Device,        None,                    [401, 404, 200, 404, 404, 404, 200]),
        row("PATCH",  "/v1/devices/{id}",                                      Device,        Some(new_device),        admin_only(200)),
        row("DELETE", "/v1/devices/{id}",                                      Device,        None,                    admin_only(204)),
        row("GET",    "/v1/approval-flows",                                    Nothing,       None,                    admin_only(200)),
        row("POST",   "/v1/approval-flows",                                    Nothing,       Some(new_flow),          admin_only(201)),
        row("GET",    "/v1/approval-flows/{id}",                               Flow,          None,                    admin_only(200)),
        row("PATCH",  "/v1/approval-flows/{id}",                               Flow,          Some(describe),          admin_only(200)),
        row("DELETE", "/v1/approval-flows/{id}",                               Flow,          None,                    admin_only(204)),
        row("GET",    "/v1/approval-flows/{id}/preview?requester_id={requester}", Flow,       None,                    admin_only(200)),
        row("GET",    "/v1/catalog",                                           Nothing,       None,                    SIGNED_IN),
        row("GET",    "/v1/settings",                                          Nothing,       None,                    admin_only(200)),
        row("PUT",    "/v1/settings",                                          Nothing,       Some(default_settings),  admin_only(200)),
        row("GET",    "/v1/events",                                            Nothing,       None,                    admin_only(200)),
        row("GET",    "/v1/scim-tokens",                                       Nothing,       None,                    admin_only(200)),
        row("POST",   "/v1/scim-tokens",                                       Nothing,       Some(new_scim_token),    admin_only(201)),
        row("DELETE", "/v1/scim-tokens/{id}",                                  ScimToken,     None,                    admin_only(204)),
        row("GET",    "/v1/webhook-channels",                                  Nothing,       None,                    admin_only(200)),
        row("POST",   "/v1/webhook-channels",                                  Nothing,       Some(new_channel),       admin_only(201)),
        row("GET",    "/v1/webhook-channels/{id}",                             Channel,       None,                    admin_only(200)),
        row("PATCH",  "/v1/webhook-channels/{id}",                             Channel,       Some(disable),           admin_only(200)),
        row("DELETE", "/v1/webhook-channels/{id}",                             Channel,       None,                    admin_only(204)),
        row("POST",   "/v1/webhook-channels/{id}/test",                        Channel,       Some(empty),             admin_only(200)),
        row("GET",    "/v1/webhook-channels/{id}/deliveries",                  Channel,       None,                    admin_only(200)),
        row("GET",    "/v1/webhook-channels/{id}/deliveries/{delivery_id}",    Delivery,      None,                    admin_only(200)),
        row("POST",   "/v1/webhook-channels/{id}/deliveries/{delivery_id}/resend", Delivery,  Some(empty),             admin_only(202)),
        row("GET",    "/v1/access-requests",                                   Nothing,       None,                    admin_only(200)),
        row("GET",    "/v1/access-requests/counts",                            Nothing,       None,                    admin_only(200)),
        row("GET",    "/v1/access-requests/export",                            Nothing,       None,                    admin_only(200)),
        // On behalf of the requester: only they themselves, integrations and admins.
        row("POST",   "/v1/access-requests",                                   Flow,          Some(new_request),       [401, 403, 201, 403, 403, 201, 201]),
        row("GET",    "/v1/access-requests/{id}",                              PendingRequest, None,                   REQUEST_READERS),
        // Only an approver of an active step decides; admins need `override` (its own rows below).
        row("POST",   "/v1/access-requests/{id}/approve",                      PendingRequest, Some(empty),            [401, 404, 403, 200, 403, 403, 403]),
        row("POST",   "/v1/access-requests/{id}/deny",                         PendingRequest, Some(deny),             [401, 404, 403, 200, 403, 403, 403]),
        row("POST",   "/v1/access-requests/{id}/cancel",                       PendingRequest, Some(empty),            [401, 404, 200, 403, 403, 403, 200]),
        row("POST",   "/v1/access-requests/{id}/retry",                        ErrorRequest,  Some(empty),             [401, 404, 403, 403, 403, 403, 200]),
        row("POST",   "/v1/access-requests/{id}/reassign",                     PendingRequest, Some(reassign),         [401, 404, 403, 200, 403, 403, 403]),
        row("POST",   "/v1/access-requests/{id}/resubmit",                     DeniedRequest, Some(resubmit),          [401, 404, 201, 403, 403, 403, 403]),
        row("GET",    "/v1/access-requests/{id}/comments",                     PendingRequest, None,                   REQUEST_READERS),
        row("POST",   "/v1/access-requests/{id}/comments",                     PendingRequest, Some(comment),          [401, 404, 201, 201, 201, 201, 201]),
        row("POST",   "/v1/access-requests/{id}/start-session",                ApprovedDeviceRequest, Some(empty),     [401, 404, 201, 404, 404, 403, 403]),
        row("GET",    "/v1/me/grants",                                         Nothing,       None,                    SIGNED_IN),
        row("GET",    "/v1/grants",                                            Nothing,       None,                    admin_only(200)),
        // The holder gives a grant up, an admin revokes it; nobody else learns it exists.
        row("DELETE", "/v1/grants/{id}",                                       Grant,         None,                    [401, 404, 204, 404, 404, 404, 204]),
        row("GET",    "/v1/device-admin-sessions",                             Nothing,       None,                    SIGNED_IN),
        row("POST",   "/v1/device-admin-sessions/{id}/end",                    Session,       Some(empty),             [401, 404, 200, 404, 404, 404, 200]),
        row("GET",    "/v1/me/access-requests",                                Nothing,       None,                    SIGNED_IN),
        row("GET",    "/v1/me/tasks",                                          Nothing,       None,                    SIGNED_IN),
    ]
}

/// Admin overrides, beside the table: the same operations with `override: true`.
#[rustfmt::skip]
fn override_rows() -> Vec<Row> {
    use Fixture::*;
    vec![
        row("POST", "/v1/access-requests/{id}/approve", PendingRequest, Some(override_approve), [401, 404, 403, 403, 403, 403, 200]),
        row("POST", "/v1/access-requests/{id}/deny",    PendingRequest, Some(override_deny),    [401, 404, 403, 403, 403, 403, 200]),
    ]
}

fn empty(_: &Params) -> Value {
    json!({})
}
fn new_user(p: &Params) -> Value {
    json!({ "email": format!("new{}@example.org", p["n"]), "display_name": "New Person" })
}
fn rename(_: &Params) -> Value {
    json!({ "display_name": "Renamed" })
}
fn new_group(p: &Params) -> Value {
    json!({ "name": format!("Group {}", p["n"]) })
}
fn new_member(p: &Params) -> Value {
    json!({ "user_id": p["stranger"] })
}
fn new_device(p: &Params) -> Value {
    json!({ "name": format!("device-{}", p["n"]), "os": "linux" })
}
fn flow_body(p: &Params, name: String) -> Value {
    json!({
        "kind": "resource_request", "name": name, "display": { "color": "#24292f" },
        "target_group_id": p["target"], "visibility_group_ids": [p["visible"]],
        "timed_access": { "mode": "choices", "durations_seconds": [3600] },
        "approval_type": "manual",
        "approvers": [
            { "type": "requester_manager" },
            { "type": "user_group", "group_id": p["reviewers"], "require_all": true }
        ],
        "approver_requirement": "all_in_order"
    })
}
fn new_flow(p: &Params) -> Value {
    flow_body(p, format!("Flow {}", p["n"]))
}
fn describe(_: &Params) -> Value {
    json!({ "description": "Described" })
}
fn default_settings(_: &Params) -> Value {
    json!({
        "approver_reminder_days": 2, "email_admin_new_request": false, "email_decision": true,
        "email_request_received": true, "expiry_days": 14, "grant_ending_notice_hours": 24,
        "max_access_duration_seconds": 604800, "resource_requests_enabled": true,
        "show_approval_progress": false
    })
}
fn new_scim_token(p: &Params) -> Value {
    json!({ "name": format!("Identity provider {}", p["n"]) })
}
fn new_channel(p: &Params) -> Value {
    json!({ "name": format!("Channel {}", p["n"]), "url": p["dead_url"], "events": ["access_management_access_request"] })
}
fn disable(_: &Params) -> Value {
    json!({ "enabled": false })
}
fn new_request(p: &Params) -> Value {
    json!({ "flow_id": p["id"], "reason": "Review pull requests for the release", "duration_seconds": 3600, "requester_id": p["requester"] })
}
fn deny(_: &Params) -> Value {
    json!({ "reason": "Not needed for this project" })
}
fn reassign(p: &Params) -> Value {
    json!({ "to_user_id": p["other"] })
}
fn resubmit(_: &Params) -> Value {
    json!({ "reason": "The project needs it after all, see the plan" })
}
fn comment(_: &Params) -> Value {
    json!({ "body": "Which repositories do you need?" })
}
fn override_approve(_: &Params) -> Value {
    json!({ "override": true, "internal_note": "Approved by the security team" })
}
fn override_deny(_: &Params) -> Value {
    json!({ "override": true, "reason": "Not needed" })
}

/// The people and groups every cell starts from.
struct Cast {
    tokens: [Option<String>; 7],
    base: Params,
}

async fn cast(app: &TestApp) -> Cast {
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

async fn created(app: &TestApp, path: &str, body: Value) -> String {
    let response = app.post(path, &app.admin_token, &body).await;
    let body = expect_status(response, StatusCode::CREATED).await;
    body["id"].as_str().unwrap().to_owned()
}

async fn ok(app: &TestApp, method: Method, path: &str, token: &str, body: Value) -> Value {
    let mut request = app.request(method, path, Some(token));
    if !body.is_null() {
        request = request.json(&body);
    }
    expect_status(request.send().await.unwrap(), StatusCode::OK).await
}

/// A new flow (one open request per requester and flow, so every request gets its own).
async fn fresh_flow(app: &TestApp, p: &Params) -> String {
    created(app, "/v1/approval-flows", new_flow(p)).await
}

async fn pending_request(app: &TestApp, p: &Params, flow: &str) -> String {
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
async fn approved_device_request(app: &TestApp, p: &Params) -> String {
    let device = created(
        app,
        "/v1/devices",
        json!({ "name": format!("laptop-{}", p["n"]), "os": "macos", "assigned_user_ids": [p["requester"]] }),
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

/// Creates what the cell needs and returns its parameters.
async fn prepare(app: &TestApp, cast: &Cast, fixture: Fixture, n: usize) -> Params {
    let mut p = cast.base.clone();
    p.insert("n", n.to_string());
    let admin = app.admin_token.clone();
    match fixture {
        Fixture::Nothing => {}
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
            p.insert("id", fresh_flow(app, &p).await);
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
        Fixture::Session => {
            let request = approved_device_request(app, &p).await;
            let token = app.token_for(&p["requester"]);
            let path = format!("/v1/access-requests/{request}/start-session");
            let response = app.post(&path, &token, &json!({})).await;
            let session = expect_status(response, StatusCode::CREATED).await;
            p.insert("id", session["id"].as_str().unwrap().to_owned());
        }
        Fixture::Grant => {
            let flow = fresh_flow(app, &p).await;
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

fn fill(path: &str, p: &Params) -> String {
    let mut filled = path.to_owned();
    for (name, value) in p {
        filled = filled.replace(&format!("{{{name}}}"), value);
    }
    filled
}

/// Bodies that must not change the answer of a caller who is refused: authorization comes before
/// validation, so the schema of an operation is not disclosed to those who may not call it.
fn bad_bodies(good: &Value) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mut wrong_types = good.clone();
    let mut unknown_field = good.clone();
    if let (Value::Object(wrong), Value::Object(unknown)) = (&mut wrong_types, &mut unknown_field) {
        for value in wrong.values_mut() {
            *value = if value.is_string() {
                json!(42)
            } else {
                json!("wrong")
            };
        }
        unknown.insert("no_such_field".into(), json!(true));
    }
    let oversize = json!({ "padding": "x".repeat(70 * 1024) });
    let bytes = |value: &Value| serde_json::to_vec(value).unwrap();
    vec![
        (
            "malformed JSON",
            "application/json",
            b"{\"name\": ".to_vec(),
        ),
        ("an empty object", "application/json", b"{}".to_vec()),
        ("wrong types", "application/json", bytes(&wrong_types)),
        (
            "an unknown field",
            "application/json",
            bytes(&unknown_field),
        ),
        ("a body that is not JSON", "text/plain", bytes(good)),
        ("an oversize body", "application/json", bytes(&oversize)),
    ]
}

/// Operations on requests whose permission depends on the request, or on the body itself (`override`,
/// `requester_id`): a caller who cannot see the request gets its 404 whatever the body, but one who
/// sees it and may not act (403) is told first what is wrong with the body. That tells them nothing
/// new: these schemas are the same for every signed-in caller, and they know the request exists.
const VALIDATED_BEFORE_PERMISSION: [&str; 6] = [
    "/v1/access-requests",
    "/v1/access-requests/{id}/approve",
    "/v1/access-requests/{id}/deny",
    "/v1/access-requests/{id}/reassign",
    "/v1/access-requests/{id}/resubmit",
    "/v1/access-requests/{id}/comments",
];

/// The status and content type of a call, or a description of what is wrong with it.
async fn answer(request: reqwest::RequestBuilder) -> (u16, String, String) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.unwrap_or_default();
    (status, content_type, text)
}

/// Empties the server's cache of authenticated callers (any change to a user does), so the next call
/// looks its caller up in the database: the case where a slow authentication once let the body's
/// errors answer first.
async fn forget_principals(app: &TestApp, cast: &Cast) {
    let path = format!("/v1/users/{}", cast.base["bystander"]);
    let rename = json!({ "display_name": format!("Bea {}", uuid::Uuid::new_v4()) });
    let response = app.patch(&path, &app.admin_token, &rename).await;
    expect_status(response, StatusCode::OK).await;
}

/// What a run found: the cells that differ from the table, how many cells and how many bad-body
/// probes of refused cells ran.
struct Outcome {
    mismatches: Vec<String>,
    cells: usize,
    probes: usize,
}

/// Runs every cell. With `probe`, a cell that refuses its caller (4xx) is first sent each of
/// [`bad_bodies`] when its operation takes a body, and must refuse them the same way.
async fn run(app: &TestApp, rows: Vec<Row>, probe: bool) -> Outcome {
    let cast = cast(app).await;
    let mut outcome = Outcome {
        mismatches: Vec::new(),
        cells: 0,
        probes: 0,
    };
    for row in &rows {
        for (column, expected) in row.expect.iter().enumerate() {
            outcome.cells += 1;
            let p = prepare(app, &cast, row.fixture, outcome.cells).await;
            let path = fill(row.path, &p);
            let method = Method::from_bytes(row.method.as_bytes()).unwrap();
            let token = cast.tokens[column].as_deref();
            let cell = format!("{} {} as {}", row.method, row.path, CALLERS[column]);
            let mut check =
                |what: String,
                 accepted: &[u16],
                 (status, content_type, text): (u16, String, String)| {
                    if !accepted.contains(&status) {
                        outcome.mismatches.push(format!(
                            "{cell}{what}: expected {accepted:?}, got {status}: {text}"
                        ));
                    } else if status >= 400 && content_type != "application/problem+json" {
                        outcome.mismatches.push(format!(
                            "{cell}{what}: {status} is not a problem document ({content_type})"
                        ));
                    }
                };
            if let (Some(body), true) = (row.body, probe && *expected >= 400) {
                // Refused calls change nothing, so the cell's objects serve every probe.
                // (A probe that happens to be valid, like `{}` for an approval, gets the 403.)
                let accepted =
                    if *expected == 403 && VALIDATED_BEFORE_PERMISSION.contains(&row.path) {
                        &[400, 403, 413, 415, 422][..]
                    } else {
                        std::slice::from_ref(expected)
                    };
                for (what, content_type, bytes) in bad_bodies(&body(&p)) {
                    forget_principals(app, &cast).await;
                    let request = app
                        .request(method.clone(), &path, token)
                        .header("content-type", content_type)
                        .body(bytes);
                    check(format!(" with {what}"), accepted, answer(request).await);
                    outcome.probes += 1;
                }
            }
            let mut request = app.request(method, &path, token);
            if let Some(body) = row.body {
                request = request.json(&body(&p));
            }
            check(
                String::new(),
                std::slice::from_ref(expected),
                answer(request).await,
            );
        }
    }
    outcome
}

/// `METHOD path` of every operation in the committed spec.
fn spec_operations() -> BTreeSet<String> {
    let yaml =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml")).unwrap();
    let spec: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
    let mut operations = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for (method, _) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if [
                "get", "put", "post", "delete", "patch", "head", "options", "trace",
            ]
            .contains(&method)
            {
                operations.insert(format!(
                    "{} {}",
                    method.to_uppercase(),
                    path.as_str().unwrap()
                ));
            }
        }
    }
    operations
}

#[test]
fn every_operation_in_the_spec_has_a_row_in_the_authorization_matrix() {
    let spec = spec_operations();
    let rows = table();
    let covered: BTreeSet<String> = rows
        .iter()
        .map(|row| format!("{} {}", row.method, row.path.split('?').next().unwrap()))
        .collect();
    let missing: Vec<_> = spec.difference(&covered).collect();
    let stale: Vec<_> = covered.difference(&spec).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "operations without a row: {missing:?}; rows without an operation: {stale:?}"
    );
    assert_eq!(covered.len(), rows.len(), "one row per operation");
}

both_backends! {
    async fn every_operation_answers_every_kind_of_caller_as_the_matrix_says(app: TestApp) {
        let Outcome { mismatches, cells, probes } = run(&app, table(), true).await;
        assert_eq!(cells, spec_operations().len() * CALLERS.len());
        eprintln!("authorization matrix: {} operations x {} callers = {cells} cells, {probes} bad-body probes of refused cells", spec_operations().len(), CALLERS.len());
        assert!(probes > 0, "no refused cell was probed with bad bodies");
        assert!(mismatches.is_empty(), "{} of {} calls differ:\n{}", mismatches.len(), cells + probes, mismatches.join("\n"));
    }

    async fn only_administrators_override_a_decision(app: TestApp) {
        // No bad-body probes: here the body (`override`) is what the caller may not send.
        let Outcome { mismatches, .. } = run(&app, override_rows(), false).await;
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }
}
