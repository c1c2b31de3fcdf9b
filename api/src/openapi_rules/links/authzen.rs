//! The links of the AuthZEN surface: from discovery to every endpoint it names, and from a submitted
//! task to its status and cancellation.

use serde_json::json;

use super::LinkSpec;

pub(super) fn add(links: &mut Vec<LinkSpec>) {
    for (name, target) in [
        ("Evaluate", "evaluate_access"),
        ("EvaluateMany", "evaluate_accesses"),
        ("Submit", "submit_access_request"),
        ("Keys", "get_authzen_jwks"),
    ] {
        links.push((
            "get_authzen_configuration",
            "200",
            name,
            target,
            json!({}),
            None,
        ));
    }
    let task = || json!({ "id": "$response.body#/task/id" });
    for (source, status) in [
        ("submit_access_request", "201"),
        ("submit_access_request", "202"),
        ("get_access_request_task", "200"),
        ("cancel_access_request_task", "200"),
    ] {
        for (name, target) in [
            ("GetTask", "get_access_request_task"),
            ("CancelTask", "cancel_access_request_task"),
        ] {
            if target != source {
                links.push((source, status, name, target, task(), None));
            }
        }
    }
}
