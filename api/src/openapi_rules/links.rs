//! The links between operations: from the operation that makes or lists an object to those that act
//! on it, so that a client (and a stateful fuzzer) can follow an object with real ids.

use serde_json::{Value, json};

mod authzen;
mod document;
pub(super) use document::add_links;

/// `(operation, status, link name, target operation, parameters, request body)`.
type LinkSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Value,
    Option<Value>,
);

/// The links: from the operation that returns an object (created, or first of a list) to every
/// operation that takes its id. Stateful tests follow them with real ids; Swagger UI shows them.
fn links() -> Vec<LinkSpec> {
    let mut links: Vec<LinkSpec> = Vec::new();
    let from = |id: &str| json!({ "id": id });
    let request_actions = [
        ("GetRequest", "get_access_request"),
        ("Approve", "approve_access_request"),
        ("Deny", "deny_access_request"),
        ("Cancel", "cancel_access_request"),
        ("Retry", "retry_access_request"),
        ("Reassign", "reassign_access_request"),
        ("Resubmit", "resubmit_access_request"),
        ("ListComments", "list_access_request_comments"),
        ("Comment", "comment_on_access_request"),
        ("StartSession", "start_device_admin_session"),
        ("Review", "review_access_request"),
    ];
    // Every answer that is a request (made, listed, read, acted on) leads to every action on it, so a
    // sequence goes on from any step of the lifecycle.
    let mut request_sources = vec![
        ("create_access_request", "201", "$response.body#/id"),
        ("resubmit_access_request", "201", "$response.body#/id"),
        ("list_access_requests", "200", "$response.body#/items/0/id"),
        (
            "list_my_access_requests",
            "200",
            "$response.body#/items/0/id",
        ),
        (
            "list_my_tasks",
            "200",
            "$response.body#/items/0/access_request/id",
        ),
        (
            "list_my_requests",
            "200",
            "$response.body#/items/0/access_request/id",
        ),
        ("list_managed_requests", "200", "$response.body#/items/0/id"),
    ];
    for action in [
        "get_access_request",
        "approve_access_request",
        "deny_access_request",
        "cancel_access_request",
        "retry_access_request",
        "reassign_access_request",
        "complete_fulfilment_task",
        "reassign_fulfilment_task",
        "review_access_request",
    ] {
        request_sources.push((action, "200", "$response.body#/id"));
    }
    for (source, status, id) in request_sources {
        for (name, target) in request_actions.into_iter().filter(|(_, t)| *t != source) {
            links.push((source, status, name, target, from(id), None));
        }
        // A request's fulfilment task (its first), by the request's id and the task's type.
        let task = id.replace("/id", "/fulfilment/tasks/0/type");
        for (name, target) in [
            ("CompleteTask", "complete_fulfilment_task"),
            ("ReassignTask", "reassign_fulfilment_task"),
        ] {
            links.push((
                source,
                status,
                name,
                target,
                json!({ "id": id, "type": task }),
                None,
            ));
        }
    }
    // A request for a flow (the first of the catalog, for its first duration and device; a created flow), which the
    // request's links then take through its lifecycle.
    // Long enough for a break-glass flow's requests too (40 characters at least).
    let reason = "Needed to review the release branch before it ships";
    let catalog_request = json!({
        "flow_id": "$response.body#/items/0/flow_id",
        "reason": reason,
        "duration_seconds": "$response.body#/items/0/durations_seconds/0",
        "device_id": "$response.body#/items/0/devices/0/id",
    });
    links.push((
        "get_catalog",
        "200",
        "CreateRequest",
        "create_access_request",
        json!({}),
        Some(catalog_request),
    ));
    // A question about a flow (the first of the catalog; a created flow), then what is done with it.
    let question = json!({ "message": "Which licence do I need for this?" });
    links.push((
        "get_catalog",
        "200",
        "AskForHelp",
        "ask_for_help",
        json!({ "flow_id": "$response.body#/items/0/flow_id" }),
        Some(question.clone()),
    ));
    links.push((
        "create_approval_flow",
        "201",
        "AskForHelp",
        "ask_for_help",
        json!({ "flow_id": "$response.body#/id" }),
        Some(question.clone()),
    ));
    // Flows the caller is known to see: those of their own requests and grants (a catalog page narrowed
    // by its filters may be empty).
    for (source, flow_id) in [
        ("list_my_access_requests", "$response.body#/items/0/flow_id"),
        ("list_my_grants", "$response.body#/items/0/flow/id"),
    ] {
        links.push((
            source,
            "200",
            "AskForHelp",
            "ask_for_help",
            json!({ "flow_id": flow_id }),
            Some(question.clone()),
        ));
    }
    links.push((
        "list_my_grants",
        "200",
        "CreateRequest",
        "create_access_request",
        json!({}),
        Some(json!({ "flow_id": "$response.body#/items/0/flow/id", "reason": reason })),
    ));
    for (source, status, id) in [
        ("ask_for_help", "201", "$response.body#/id"),
        ("list_help_requests", "200", "$response.body#/items/0/id"),
        ("get_help_request", "200", "$response.body#/id"),
    ] {
        for (name, target) in [
            ("GetHelpRequest", "get_help_request"),
            ("CommentOnHelpRequest", "comment_on_help_request"),
            ("ResolveHelpRequest", "resolve_help_request"),
        ] {
            if target != source {
                links.push((source, status, name, target, from(id), None));
            }
        }
    }
    links.push((
        "create_approval_flow",
        "201",
        "CreateRequest",
        "create_access_request",
        json!({}),
        Some(json!({ "flow_id": "$response.body#/id", "reason": reason })),
    ));
    for (source, id) in [
        ("start_device_admin_session", "$response.body#/id"),
        ("list_device_admin_sessions", "$response.body#/items/0/id"),
    ] {
        let status = if source.starts_with("start") {
            "201"
        } else {
            "200"
        };
        links.push((
            source,
            status,
            "EndSession",
            "end_device_admin_session",
            from(id),
            None,
        ));
    }
    for source in ["list_grants", "list_my_grants"] {
        links.push((
            source,
            "200",
            "RevokeGrant",
            "revoke_grant",
            from("$response.body#/items/0/id"),
            None,
        ));
        links.push((
            source,
            "200",
            "ExtendGrant",
            "extend_grant",
            from("$response.body#/items/0/id"),
            None,
        ));
        links.push((
            source,
            "200",
            "ActivateGrant",
            "activate_grant",
            from("$response.body#/items/0/id"),
            None,
        ));
    }
    // A page of the admin queue leads to the counts and the export of the same view: its filters, as sent.
    let filters: serde_json::Map<String, Value> = [
        "tab",
        "status",
        "approval_type",
        "requester",
        "flow_id",
        "created_after",
        "created_before",
        "q",
    ]
    .into_iter()
    .map(|name| (name.to_owned(), json!(format!("$request.query.{name}"))))
    .collect();
    for (name, target) in [
        ("Counts", "count_access_requests"),
        ("Export", "export_access_requests"),
    ] {
        links.push((
            "list_access_requests",
            "200",
            name,
            target,
            Value::Object(filters.clone()),
            None,
        ));
    }
    let objects = [
        (
            "create_user",
            "list_users",
            ["get_user", "update_user", "delete_user"],
        ),
        (
            "create_group",
            "list_groups",
            ["get_group", "update_group", "delete_group"],
        ),
        (
            "create_device",
            "list_devices",
            ["get_device", "update_device", "delete_device"],
        ),
        (
            "create_approval_flow",
            "list_approval_flows",
            [
                "get_approval_flow",
                "update_approval_flow",
                "delete_approval_flow",
            ],
        ),
        (
            "create_webhook_channel",
            "list_webhook_channels",
            [
                "get_webhook_channel",
                "update_webhook_channel",
                "delete_webhook_channel",
            ],
        ),
    ];
    for (create, list, targets) in objects {
        for target in targets {
            let name = link_name(target);
            links.push((
                create,
                "201",
                name,
                target,
                from("$response.body#/id"),
                None,
            ));
            links.push((
                list,
                "200",
                name,
                target,
                from("$response.body#/items/0/id"),
                None,
            ));
        }
    }
    // What was just made leads to its audit trail; saved settings to the settings.
    for create in [
        "create_user",
        "create_group",
        "create_device",
        "create_approval_flow",
        "create_webhook_channel",
        "create_access_request",
    ] {
        links.push((
            create,
            "201",
            "AuditTrail",
            "list_events",
            json!({ "subject_id": "$response.body#/id" }),
            None,
        ));
    }
    links.push((
        "replace_settings",
        "200",
        "Get",
        "get_settings",
        json!({}),
        None,
    ));
    // Read-modify-write: the settings just read go back, with their entity tag as the precondition.
    links.push((
        "get_settings",
        "200",
        "Replace",
        "replace_settings",
        json!({ "If-Match": "$response.header.ETag" }),
        Some(json!("$response.body")),
    ));
    // The caller's own record leads to what every signed-in person does next: find a colleague in the
    // people picker, their manager first (by email: always two characters or more that are not spaces,
    // `local@domain`; with no manager, any search), and read the organisation's settings.
    links.push((
        "get_me",
        "200",
        "SearchPeople",
        "search_people",
        json!({ "q": "$response.body#/manager/email" }),
        None,
    ));
    links.push(("get_me", "200", "Settings", "get_settings", json!({}), None));
    // The settings lead to the AuthZEN callbacks' delivery log.
    links.push((
        "get_settings",
        "200",
        "CallbackDeliveries",
        "list_callback_deliveries",
        json!({}),
        None,
    ));
    // The settings lead to the Slack connection: read, sent back (its secrets are write-only, so a
    // first connection needs them added), its delivery log, and the endpoint Slack then calls.
    links.push((
        "get_settings",
        "200",
        "Slack",
        "get_slack_connection",
        json!({}),
        None,
    ));
    for (name, target, body) in [
        ("Connect", "connect_slack", Some(json!("$response.body"))),
        ("Deliveries", "list_slack_deliveries", None),
        ("Interactions", "receive_slack_interaction", None),
    ] {
        links.push(("get_slack_connection", "200", name, target, json!({}), body));
    }
    links.push((
        "connect_slack",
        "200",
        "Get",
        "get_slack_connection",
        json!({}),
        None,
    ));
    // A person found leads to their full record (administrators).
    links.push((
        "search_people",
        "200",
        "GetUser",
        "get_user",
        from("$response.body#/items/0/id"),
        None,
    ));
    // A person (the caller, or one listed) leads to what is made for them: a new report whose manager
    // they are, a device assigned to them.
    for (source, id) in [
        ("get_me", "$response.body#/id"),
        ("list_users", "$response.body#/items/0/id"),
    ] {
        links.push((
            source,
            "200",
            "CreateReport",
            "create_user",
            json!({}),
            Some(json!({ "manager_id": id })),
        ));
        links.push((
            source,
            "200",
            "CreateDevice",
            "create_device",
            json!({}),
            Some(json!({ "assigned_user_ids": [id] })),
        ));
    }
    // A group leads to a flow through which requesters join it.
    for (source, status, id) in [
        ("create_group", "201", "$response.body#/id"),
        ("list_groups", "200", "$response.body#/items/0/id"),
    ] {
        links.push((
            source,
            status,
            "CreateFlow",
            "create_approval_flow",
            json!({}),
            Some(json!({ "kind": "resource_request", "target_group_id": id })),
        ));
    }
    // A flow named by what a requester sees (a catalog entry) or by a request leads to the flow and to
    // who would approve through it (for that request's requester); a listed flow (which has its `Get`
    // already) to its preview.
    for (source, id, requester, get) in [
        ("get_catalog", "$response.body#/items/0/flow_id", None, true),
        (
            "get_access_request",
            "$response.body#/flow_id",
            Some("$response.body#/requester_id"),
            true,
        ),
        (
            "list_approval_flows",
            "$response.body#/items/0/id",
            None,
            false,
        ),
    ] {
        if get {
            links.push((
                source,
                "200",
                "GetFlow",
                "get_approval_flow",
                from(id),
                None,
            ));
        }
        let mut parameters = from(id);
        if let Some(requester) = requester {
            parameters["requester_id"] = json!(requester);
        }
        links.push((
            source,
            "200",
            "PreviewFlow",
            "preview_approval_flow",
            parameters,
            None,
        ));
    }
    // The operations endpoints, in the order a probe or an operator reads them: alive, ready, metrics.
    links.push(("healthz", "200", "Readiness", "readyz", json!({}), None));
    links.push(("readyz", "200", "Metrics", "metrics", json!({}), None));
    for (source, status, id) in [
        ("create_scim_token", "201", "$response.body#/id"),
        ("list_scim_tokens", "200", "$response.body#/items/0/id"),
    ] {
        links.push((
            source,
            status,
            "Revoke",
            "revoke_scim_token",
            from(id),
            None,
        ));
    }
    links.push((
        "create_approval_flow",
        "201",
        "Preview",
        "preview_approval_flow",
        from("$response.body#/id"),
        None,
    ));
    for (source, status, id) in [
        ("create_group", "201", "$response.body#/id"),
        ("list_groups", "200", "$response.body#/items/0/id"),
    ] {
        links.push((
            source,
            status,
            "ListMembers",
            "list_group_members",
            from(id),
            None,
        ));
        links.push((
            source,
            status,
            "AddMember",
            "add_group_member",
            from(id),
            None,
        ));
    }
    for (source, status, user_id) in [
        ("add_group_member", "201", "$response.body#/user_id"),
        (
            "list_group_members",
            "200",
            "$response.body#/items/0/user_id",
        ),
    ] {
        links.push((
            source,
            status,
            "RemoveMember",
            "remove_group_member",
            json!({ "id": "$request.path.id", "user_id": user_id }),
            None,
        ));
    }
    for (source, status, id) in [
        ("create_webhook_channel", "201", "$response.body#/id"),
        ("list_webhook_channels", "200", "$response.body#/items/0/id"),
    ] {
        links.push((
            source,
            status,
            "Test",
            "test_webhook_channel",
            from(id),
            None,
        ));
        links.push((
            source,
            status,
            "ListDeliveries",
            "list_webhook_deliveries",
            from(id),
            None,
        ));
    }
    for (source, status, delivery) in [
        ("test_webhook_channel", "200", "$response.body#/id"),
        (
            "list_webhook_deliveries",
            "200",
            "$response.body#/items/0/id",
        ),
    ] {
        let ids = json!({ "id": "$request.path.id", "delivery_id": delivery });
        links.push((
            source,
            status,
            "GetDelivery",
            "get_webhook_delivery",
            ids.clone(),
            None,
        ));
        links.push((
            source,
            status,
            "Resend",
            "resend_webhook_delivery",
            ids,
            None,
        ));
    }
    authzen::add(&mut links);
    links
}

/// `update_webhook_channel` → `Update`: the verb is enough within one source operation.
fn link_name(target: &str) -> &'static str {
    match target.split('_').next() {
        Some("get") => "Get",
        Some("update") => "Update",
        Some("delete") => "Delete",
        _ => "Follow",
    }
}
