//! How the links go into the document: one OpenAPI `Link` object per entry of the table, with a
//! description that says where each parameter and body field comes from.

use serde_json::{Value, json};
use utoipa::openapi::RefOr;

use super::links;

/// "`get_user` with `id` = `$response.body#/id`": the target and what each parameter and body field
/// is taken from.
fn describe(target: &str, parameters: &Value, body: Option<&Value>) -> String {
    let show = |value: &Value| match value {
        Value::String(text) => format!("`{text}`"),
        other => format!("`{other}`"),
    };
    let parameters = parameters.as_object().into_iter().flatten();
    // Parameters passed on as the source's request had them: named once, not one expression each.
    let (forwarded, own): (Vec<_>, Vec<_>) = parameters
        .partition(|(name, value)| value.as_str() == Some(&format!("$request.query.{name}")));
    let mut taken: Vec<String> = own
        .into_iter()
        .map(|(name, value)| format!("`{name}` = {}", show(value)))
        .collect();
    if !forwarded.is_empty() {
        let names: Vec<String> = forwarded
            .iter()
            .map(|(name, _)| format!("`{name}`"))
            .collect();
        taken.push(format!("the query's own {} (as sent)", names.join(", ")));
    }
    match body {
        Some(Value::Object(fields)) => taken.extend(
            fields
                .iter()
                .map(|(name, value)| format!("body `{name}` = {}", show(value))),
        ),
        Some(whole) => taken.push(format!("the body = {}", show(whole))),
        None => {}
    }
    if taken.is_empty() {
        format!("`{target}`")
    } else {
        format!("`{target}` with {}", taken.join(", "))
    }
}

/// utoipa 5 writes its own `Link` objects with snake_case keys (`operation_id`), which no tool
/// reads: the links go in as the response's extension member `links`, spelled as OpenAPI says.
pub(in crate::openapi_rules) fn add_links(spec: &mut utoipa::openapi::OpenApi) {
    for (source, status, name, target, parameters, body) in links() {
        let operation = spec.paths.paths.values_mut().find_map(|item| {
            crate::openapi_rules::operations_mut(item)
                .find(|operation| operation.operation_id.as_deref() == Some(source))
        });
        let Some(operation) = operation else {
            tracing::warn!(source, "a link starts at no operation");
            continue;
        };
        let Some(RefOr::T(response)) = operation.responses.responses.get_mut(status) else {
            tracing::warn!(source, status, "a link starts at no response");
            continue;
        };
        let description = describe(target, &parameters, body.as_ref());
        let mut link = json!({ "operationId": target, "description": description });
        if parameters.as_object().is_some_and(|p| !p.is_empty()) {
            link["parameters"] = parameters;
        }
        if let Some(body) = body {
            link["requestBody"] = body;
        }
        let extensions = response.extensions.get_or_insert_with(Default::default);
        let links = extensions
            .entry("links".to_owned())
            .or_insert_with(|| json!({}));
        links[name] = link;
    }
}
