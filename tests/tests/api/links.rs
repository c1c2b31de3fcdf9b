//! The contract's `links` (from the operation that returns an object to those that act on it): each
//! names an operation that exists, parameters that operation takes, body fields its request body has,
//! and runtime expressions that point at something the source operation's response (or request)
//! has; and following them reaches every operation from one that needs no id. Schemathesis's stateful
//! phase follows the same links (`make fuzz-reach` checks what a run reaches on a live server).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn spec() -> Value {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
        .expect("openapi.yaml is committed");
    serde_yaml::from_str(&yaml).unwrap()
}

/// A `$ref`'s target within the document.
fn resolve<'a>(spec: &'a Value, mut node: &'a Value) -> &'a Value {
    while let Some(reference) = node["$ref"].as_str() {
        let pointer = reference.strip_prefix('#').expect("a local reference");
        node = spec
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{reference} resolves"));
    }
    node
}

/// The schemas a JSON Pointer segment may continue in: the node itself, the members of its
/// `allOf`/`oneOf`/`anyOf` (a nullable object is a `oneOf` with `null`), recursively.
fn alternatives<'a>(spec: &'a Value, node: &'a Value) -> Vec<&'a Value> {
    let node = resolve(spec, node);
    let mut found = vec![node];
    for keyword in ["allOf", "oneOf", "anyOf"] {
        for member in node[keyword].as_array().into_iter().flatten() {
            found.extend(alternatives(spec, member));
        }
    }
    found
}

/// Whether a JSON Pointer (`/items/0/id`) names a place a document of this schema has.
fn schema_has(spec: &Value, schema: &Value, pointer: &str) -> bool {
    let Some(rest) = pointer.strip_prefix('/') else {
        return pointer.is_empty();
    };
    let (segment, rest) = match rest.split_once('/') {
        Some((segment, rest)) => (segment, format!("/{rest}")),
        None => (rest, String::new()),
    };
    alternatives(spec, schema).into_iter().any(|node| {
        let next = if segment.parse::<usize>().is_ok() {
            &node["items"]
        } else {
            &node["properties"][segment]
        };
        !next.is_null() && schema_has(spec, next, &rest)
    })
}

/// The operations by id: (method, path, operation, the path item's and the operation's parameters).
fn operations(spec: &Value) -> BTreeMap<String, (String, String, &Value, Vec<&Value>)> {
    let mut found = BTreeMap::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in METHODS {
            let operation = &item[method];
            if operation.is_null() {
                continue;
            }
            let parameters = [&item["parameters"], &operation["parameters"]]
                .into_iter()
                .flat_map(|list| list.as_array().into_iter().flatten())
                .map(|parameter| resolve(spec, parameter))
                .collect();
            let id = operation["operationId"].as_str().unwrap().to_owned();
            found.insert(id, (method.to_owned(), path.clone(), operation, parameters));
        }
    }
    found
}

/// An error for a runtime expression that names nothing in the source's response or request.
fn check_expression(
    spec: &Value,
    expression: &Value,
    response: &Value,
    source_parameters: &[&Value],
) -> Option<String> {
    let Some(text) = expression.as_str() else {
        return None; // a literal (a number, a boolean)
    };
    if !text.starts_with('$') {
        return None; // a literal string
    }
    if let Some(pointer) = text.strip_prefix("$response.body") {
        let schema = &response["content"]["application/json"]["schema"];
        if schema.is_null() {
            return Some(format!("`{text}`: the response has no JSON body"));
        }
        let pointer = pointer.strip_prefix('#').unwrap_or(pointer);
        return (!schema_has(spec, schema, pointer))
            .then(|| format!("`{text}`: no such field in the response's schema"));
    }
    if let Some(name) = text.strip_prefix("$response.header.") {
        let has = response["headers"]
            .as_object()
            .is_some_and(|headers| headers.keys().any(|h| h.eq_ignore_ascii_case(name)));
        return (!has).then(|| format!("`{text}`: the response has no such header"));
    }
    if let Some((location, name)) = text
        .strip_prefix("$request.")
        .and_then(|rest| rest.split_once('.'))
    {
        let has = source_parameters
            .iter()
            .any(|p| p["in"] == location && p["name"] == name);
        return (!has).then(|| format!("`{text}`: the source takes no such parameter"));
    }
    Some(format!("`{text}`: an expression this test does not know"))
}

#[test]
fn every_link_names_an_operation_its_parameters_and_fields_that_exist() {
    let spec = spec();
    let operations = operations(&spec);
    let mut errors = Vec::new();
    let mut links = 0;
    for (source, (_, _, operation, source_parameters)) in &operations {
        for (status, response) in operation["responses"].as_object().unwrap() {
            let response = resolve(&spec, response);
            for (name, link) in response["links"].as_object().into_iter().flatten() {
                links += 1;
                let at = format!("{source} {status} → {name}");
                let target_id = link["operationId"].as_str().unwrap_or_default();
                let Some((_, _, target, target_parameters)) = operations.get(target_id) else {
                    errors.push(format!("{at}: no operation `{target_id}`"));
                    continue;
                };
                for (parameter, expression) in link["parameters"].as_object().into_iter().flatten()
                {
                    if !target_parameters.iter().any(|p| p["name"] == *parameter) {
                        errors.push(format!("{at}: `{target_id}` takes no `{parameter}`"));
                    }
                    errors.extend(
                        check_expression(&spec, expression, response, source_parameters)
                            .map(|e| format!("{at}: {e}")),
                    );
                }
                let body = &link["requestBody"];
                if body.is_null() {
                    continue;
                }
                let target_body = &resolve(&spec, &target["requestBody"])["content"]["application/json"]
                    ["schema"];
                if target_body.is_null() {
                    errors.push(format!("{at}: `{target_id}` takes no JSON body"));
                    continue;
                }
                let values: Vec<&Value> = match body.as_object() {
                    Some(fields) => {
                        for field in fields.keys() {
                            if !schema_has(&spec, target_body, &format!("/{field}")) {
                                errors.push(format!("{at}: `{target_id}`'s body has no `{field}`"));
                            }
                        }
                        fields
                            .values()
                            .flat_map(|v| match v.as_array() {
                                Some(items) => items.iter().collect(),
                                None => vec![v],
                            })
                            .collect()
                    }
                    None => vec![body],
                };
                for value in values {
                    errors.extend(
                        check_expression(&spec, value, response, source_parameters)
                            .map(|e| format!("{at}: {e}")),
                    );
                }
            }
        }
    }
    assert!(links >= 100, "only {links} links found");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// A client (or a stateful fuzzer) starts where no id is needed (an operation without path
/// parameters that links onward: a list, a creation, `/v1/me`, `/healthz`) and follows links.
#[test]
fn following_the_links_reaches_every_operation() {
    let spec = spec();
    let operations = operations(&spec);
    let targets = |operation: &Value| -> Vec<String> {
        operation["responses"]
            .as_object()
            .unwrap()
            .values()
            .map(|response| resolve(&spec, response))
            .flat_map(|response| response["links"].as_object().into_iter().flatten())
            .filter_map(|(_, link)| link["operationId"].as_str().map(str::to_owned))
            .collect()
    };
    let mut reached: BTreeSet<String> = operations
        .iter()
        .filter(|(_, (_, path, operation, _))| {
            !path.contains('{') && !targets(operation).is_empty()
        })
        .map(|(id, _)| id.clone())
        .collect();
    let mut next: Vec<String> = reached.iter().cloned().collect();
    while let Some(id) = next.pop() {
        for target in targets(operations[&id].2) {
            if reached.insert(target.clone()) {
                next.push(target);
            }
        }
    }
    let unreached: Vec<String> = operations
        .iter()
        .filter(|(id, _)| !reached.contains(*id))
        .map(|(id, (method, path, _, _))| format!("{id} ({} {path})", method.to_uppercase()))
        .collect();
    assert!(
        unreached.is_empty(),
        "no link leads to these operations, and none of them starts a sequence: {unreached:?}"
    );
}
