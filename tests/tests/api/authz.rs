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
//! `VALIDATED_BEFORE_PERMISSION` in `authz/runner.rs` for the request actions where a caller who
//! sees the request is told about the body first).
//!
//! This file is the table; `authz/fixtures.rs` makes what each cell needs, `authz/runner.rs` calls
//! every cell and compares.

use std::collections::{BTreeSet, HashMap};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

mod fixtures;
mod runner;

use runner::{Outcome, run};

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
    /// An approved request of a flow with manual provisioning and assignment: its provisioning
    /// task is open for the administrators.
    FulfilmentRequest,
    /// The requester's request through a break-glass flow: approved, its review open for the
    /// administrators.
    BreakGlassRequest,
    Session,
    Grant,
    /// A grant of a flow with `activation`, approved and waiting for its holder to start it.
    AwaitingGrant,
    HelpRequest,
    /// A requestable denial of the requester (`submission`: the ARAP submission for it).
    AuthzenDenial,
    /// The same, submitted by an admin for the requester: `id` is its task.
    AuthzenTask,
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
        // Asking for help about a flow needs to see it (the requester's visibility group; admins see no
        // flow in their catalog they are not in the group of); integration accounts never ask.
        row("POST",   "/v1/catalog/{flow_id}/help",                            Flow,          Some(question),          [401, 404, 201, 404, 404, 403, 404]),
        // Help requests: the requester's own; the fixture's flow has no owners, so the administrators answer.
        row("GET",    "/v1/help-requests",                                     Nothing,       None,                    SIGNED_IN),
        row("GET",    "/v1/help-requests/{id}",                                HelpRequest,   None,                    [401, 404, 200, 404, 404, 404, 200]),
        row("POST",   "/v1/help-requests/{id}/comments",                       HelpRequest,   Some(comment),           [401, 404, 201, 404, 404, 404, 201]),
        row("POST",   "/v1/help-requests/{id}/resolve",                        HelpRequest,   None,                    [401, 404, 200, 404, 404, 404, 200]),
        row("GET",    "/v1/settings",                                          Nothing,       None,                    admin_only(200)),
        row("PUT",    "/v1/settings",                                          Nothing,       Some(default_settings),  admin_only(200)),
        // Slack: the connection and its log are for administrators; Slack's own calls carry no
        // bearer token and, unsigned, are refused whoever sends them.
        row("GET",    "/v1/settings/slack",                                    Nothing,       None,                    admin_only(200)),
        row("PUT",    "/v1/settings/slack",                                    Nothing,       Some(slack_connection),  admin_only(200)),
        row("GET",    "/v1/settings/slack/deliveries",                         Nothing,       None,                    admin_only(200)),
        row("GET",    "/v1/settings/authzen/callback-deliveries",              Nothing,       None,                    admin_only(200)),
        row("POST",   "/v1/integrations/slack/interactions",                   Nothing,       Some(slack_payload),     [401; 7]),
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
        // Only the holder asks for more time; administrators see the grant but may not.
        row("POST",   "/v1/grants/{id}/extend",                                Grant,         Some(extend),            [401, 404, 201, 404, 404, 404, 403]),
        // Only the holder starts a grant awaiting activation; administrators see it but may not.
        row("POST",   "/v1/grants/{id}/activate",                              AwaitingGrant, None,                    [401, 404, 200, 404, 404, 404, 403]),
        row("GET",    "/v1/device-admin-sessions",                             Nothing,       None,                    SIGNED_IN),
        row("POST",   "/v1/device-admin-sessions/{id}/end",                    Session,       Some(empty),             [401, 404, 200, 404, 404, 404, 200]),
        row("GET",    "/v1/me/access-requests",                                Nothing,       None,                    SIGNED_IN),
        row("GET",    "/v1/me/tasks",                                          Nothing,       None,                    SIGNED_IN),
        row("GET",    "/v1/me/requests",                                       Nothing,       None,                    SIGNED_IN),
        // Fulfilment tasks: their assignees (here the administrators) act; anyone else who asks
        // about an existing request is refused with 403, App Admins of other apps included.
        row("POST",   "/v1/access-requests/{id}/fulfilment/{type}/complete",   FulfilmentRequest, Some(task_note),     [401, 403, 403, 403, 403, 403, 200]),
        row("POST",   "/v1/access-requests/{id}/fulfilment/{type}/reassign",   FulfilmentRequest, Some(to_new_admin),  [401, 403, 403, 403, 403, 403, 200]),
        // A break-glass review: an administrator other than the requester; anyone else who asks
        // about an existing request is refused with 403, the requester included.
        row("POST",   "/v1/access-requests/{id}/review",                       BreakGlassRequest, Some(confirm),       admin_only(200)),
        // Manage Requests: IT Admins, and the App Approvers the request's steps name (the waiting
        // reviewer too); requesters, strangers and integrations have no such section.
        row("GET",    "/v1/manage/requests?view=open",                         PendingRequest, None,                   [401, 403, 403, 200, 200, 403, 200]),
        // AuthZEN: public metadata; PEPs (integrations) and admins ask about anyone, a person about
        // themselves (the question here is about the requester); submissions by the subject or for
        // them; a task is visible to its submitter (here an admin), its subject and admins only.
        row("GET",    "/.well-known/authzen-configuration",                    Nothing,       None,                    OPEN),
        row("GET",    "/access/v1/jwks",                                       Nothing,       None,                    OPEN),
        row("POST",   "/access/v1/evaluation",                                 Nothing,       Some(about_requester),   [401, 403, 200, 403, 403, 200, 200]),
        row("POST",   "/access/v1/evaluations",                                Nothing,       Some(about_requester),   [401, 403, 200, 403, 403, 200, 200]),
        row("POST",   "/access/v1/requests",                                   AuthzenDenial, Some(submission),        [401, 403, 202, 403, 403, 202, 202]),
        row("GET",    "/access/v1/requests/{id}",                              AuthzenTask,   None,                    [401, 404, 200, 404, 404, 404, 200]),
        row("POST",   "/access/v1/requests/{id}/cancel",                       AuthzenTask,   Some(empty),             [401, 404, 200, 404, 404, 404, 200]),
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
fn slack_connection(_: &Params) -> Value {
    json!({ "bot_token": "xoxb-authz-matrix", "signing_secret": "matrix-secret", "notify_requester": true })
}
fn slack_payload(p: &Params) -> Value {
    json!({ "payload": json!({ "type": "block_actions", "user": { "id": "U0MATRIX" }, "trigger_id": "t",
        "actions": [{ "action_id": "approve", "value": p["n"], "action_ts": "1.1" }] }).to_string() })
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
fn question(_: &Params) -> Value {
    json!({ "message": "Which licence do I need for this?" })
}
fn deny(_: &Params) -> Value {
    json!({ "reason": "Not needed for this project" })
}
fn reassign(p: &Params) -> Value {
    json!({ "to_user_id": p["other"] })
}
fn task_note(_: &Params) -> Value {
    json!({ "note": "Account created" })
}
fn confirm(_: &Params) -> Value {
    json!({ "outcome": "confirm", "note": "The incident was real" })
}
fn to_new_admin(p: &Params) -> Value {
    json!({ "from_user_id": p["admin"], "to_user_id": p["new_admin"] })
}
fn extend(_: &Params) -> Value {
    json!({ "duration_seconds": 3600, "reason": "The release slipped by an hour" })
}
fn resubmit(_: &Params) -> Value {
    json!({ "reason": "The project needs it after all, see the plan" })
}
fn comment(_: &Params) -> Value {
    json!({ "body": "Which repositories do you need?" })
}
fn about_requester(p: &Params) -> Value {
    json!({ "subject": { "type": "user", "id": p["requester"] },
        "resource": { "type": "group", "id": p["target"] }, "action": { "name": "member" } })
}
fn submission(p: &Params) -> Value {
    serde_json::from_str(&p["submission"]).unwrap()
}
fn override_approve(_: &Params) -> Value {
    json!({ "override": true, "internal_note": "Approved by the security team" })
}
fn override_deny(_: &Params) -> Value {
    json!({ "override": true, "reason": "Not needed" })
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
