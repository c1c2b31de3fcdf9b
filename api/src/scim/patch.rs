//! SCIM PATCH (RFC 7644 §3.5.2) over a resource's JSON document, in the dialects identity providers
//! send: Okta's (`replace` with a value object and no path; `add`/`remove` of `members` with value
//! arrays) and Microsoft Entra ID's (capitalised ops, `"False"` as a string, paths such as
//! `emails[type eq "work"].value`, `members[value eq "…"]` and the enterprise extension's URN path).
//! The patched document then replaces the resource, so a PATCH obeys every rule a PUT does.

use serde_json::{Map, Value};

use super::filter::Resource;
use super::{ENTERPRISE_SCHEMA, PATCH_SCHEMA, ScimError};

mod path;

use path::{Path, invalid_path, parse_path};

fn no_target(detail: impl Into<String>) -> ScimError {
    ScimError::new(
        actix_web::http::StatusCode::BAD_REQUEST,
        Some("noTarget"),
        detail,
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// The key of `name` in `object`, matched ignoring case (SCIM attribute names are), or `name`.
fn key_of(object: &Map<String, Value>, name: &str) -> String {
    object
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

fn container<'d>(
    document: &'d mut Value,
    path: &Path,
) -> Result<&'d mut Map<String, Value>, ScimError> {
    let root = document
        .as_object_mut()
        .ok_or_else(|| invalid_path("the resource is not an object"))?;
    if !path.extension {
        return Ok(root);
    }
    let extension = root
        .entry(ENTERPRISE_SCHEMA.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !extension.is_object() {
        *extension = Value::Object(Map::new());
    }
    extension
        .as_object_mut()
        .ok_or_else(|| invalid_path("the extension is not an object"))
}

fn matches(element: &Value, (attr, value): &(String, String)) -> bool {
    element
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(attr)))
        .is_some_and(|(_, v)| match v {
            Value::String(s) => s == value,
            Value::Bool(b) => b.to_string().eq_ignore_ascii_case(value),
            Value::Number(n) => n.to_string() == value.as_str(),
            _ => false,
        })
}

/// Adds `value` to a multi-valued attribute, skipping elements already there (same `value`).
fn append(target: &mut Value, value: Value) {
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    if !target.is_array() {
        *target = Value::Array(Vec::new());
    }
    if let Value::Array(existing) = target {
        for item in items {
            let duplicate = existing.iter().any(|e| {
                e == &item || (e.get("value").is_some() && e.get("value") == item.get("value"))
            });
            if !duplicate {
                existing.push(item);
            }
        }
    }
}

fn set(document: &mut Value, path: &Path, op: Op, value: Value) -> Result<(), ScimError> {
    let object = container(document, path)?;
    let key = key_of(object, &path.attribute);
    match (&path.selector, &path.sub_attribute) {
        (None, None) => {
            let slot = object.entry(key).or_insert(Value::Null);
            if op == Op::Add && slot.is_array() {
                append(slot, value);
            } else if let (Some(existing), Value::Object(fields)) = (slot.as_object_mut(), &value) {
                // A complex attribute: the sub-attributes given replace theirs, the others stay
                // (RFC 7644 §3.5.2.1, §3.5.2.3).
                for (name, sub) in fields {
                    let sub_key = key_of(existing, name);
                    existing.insert(sub_key, sub.clone());
                }
            } else {
                *slot = value;
            }
        }
        (None, Some(sub)) => {
            let slot = object
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Some(inner) = slot.as_object_mut() {
                let sub_key = key_of(inner, sub);
                inner.insert(sub_key, value);
            }
        }
        (Some(selector), sub) => {
            let slot = object
                .entry(key)
                .or_insert_with(|| Value::Array(Vec::new()));
            if !slot.is_array() {
                *slot = Value::Array(Vec::new());
            }
            let Value::Array(items) = slot else {
                return Ok(());
            };
            let mut found = false;
            for item in items.iter_mut().filter(|i| matches(i, selector)) {
                found = true;
                match (sub, item.as_object_mut()) {
                    (Some(sub), Some(inner)) => {
                        let sub_key = key_of(inner, sub);
                        inner.insert(sub_key, value.clone());
                    }
                    _ => *item = value.clone(),
                }
            }
            if !found {
                // Entra ID adds `emails[type eq "work"].value` to a user without such an email.
                let mut element = Map::new();
                element.insert(selector.0.clone(), Value::String(selector.1.clone()));
                match sub {
                    Some(sub) => {
                        element.insert(sub.clone(), value);
                    }
                    None => {
                        if let Value::Object(fields) = value {
                            element.extend(fields);
                        }
                    }
                }
                items.push(Value::Object(element));
            }
        }
    }
    Ok(())
}

fn remove(document: &mut Value, path: &Path, value: Option<Value>) -> Result<(), ScimError> {
    let object = container(document, path)?;
    let key = key_of(object, &path.attribute);
    match (&path.selector, &path.sub_attribute) {
        (None, None) => match (object.get_mut(&key), value) {
            // Okta: `remove` of `members` with the members to remove as the value.
            (Some(Value::Array(items)), Some(value)) => {
                let gone = match value {
                    Value::Array(gone) => gone,
                    other => vec![other],
                };
                items.retain(|item| {
                    !gone.iter().any(|g| {
                        g == item
                            || (g.get("value").is_some() && g.get("value") == item.get("value"))
                    })
                });
            }
            _ => {
                object.remove(&key);
            }
        },
        (None, Some(sub)) => {
            if let Some(inner) = object.get_mut(&key).and_then(Value::as_object_mut) {
                let sub_key = key_of(inner, sub);
                inner.remove(&sub_key);
            }
        }
        (Some(selector), sub) => {
            if let Some(Value::Array(items)) = object.get_mut(&key) {
                match sub {
                    None => items.retain(|item| !matches(item, selector)),
                    Some(sub) => {
                        for item in items.iter_mut().filter(|i| matches(i, selector)) {
                            if let Some(inner) = item.as_object_mut() {
                                let sub_key = key_of(inner, sub);
                                inner.remove(&sub_key);
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Applies a PatchOp request's operations to `document`, in order.
pub fn apply_patch(
    document: &mut Value,
    request: &Value,
    resource: Resource,
) -> Result<(), ScimError> {
    let schemas = request.get("schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| s.iter().any(|s| s.as_str() == Some(PATCH_SCHEMA))) {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must contain {PATCH_SCHEMA}"
        )));
    }
    let operations = request
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("Operations")))
        .and_then(|(_, v)| v.as_array())
        .ok_or_else(|| ScimError::invalid_syntax("Operations must be an array"))?;
    for operation in operations {
        let field = |name: &str| {
            operation
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, v)| v.clone())
        };
        let op = match field("op")
            .as_ref()
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("add") => Op::Add,
            Some("replace") => Op::Replace,
            Some("remove") => Op::Remove,
            other => {
                return Err(ScimError::invalid_syntax(format!(
                    "op must be add, replace or remove, not {other:?}"
                )));
            }
        };
        let path = field("path")
            .filter(|p| !p.is_null())
            .map(|p| {
                p.as_str()
                    .map(|p| parse_path(p, resource))
                    .unwrap_or_else(|| Err(invalid_path("path must be a string")))
            })
            .transpose()?;
        let value = field("value").filter(|v| !v.is_null());
        match (op, path, value) {
            (Op::Remove, Some(path), value) => remove(document, &path, value)?,
            (Op::Remove, None, _) => return Err(no_target("remove needs a path")),
            (op, Some(path), Some(value)) => set(document, &path, op, value)?,
            (_, Some(_), None) => {
                return Err(ScimError::invalid_value("add and replace need a value"));
            }
            (op, None, Some(Value::Object(fields))) => {
                for (name, value) in fields {
                    let path = parse_path(&name, resource)?;
                    set(document, &path, op, value)?;
                }
            }
            (_, None, _) => {
                return Err(ScimError::invalid_value(
                    "without a path, the value must be an object of attributes",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn patch(mut document: Value, operations: Value, resource: Resource) -> Value {
        let request = json!({ "schemas": [PATCH_SCHEMA], "Operations": operations });
        apply_patch(&mut document, &request, resource).unwrap();
        document
    }

    #[test]
    fn okta_deactivates_with_a_value_object() {
        let document = patch(
            json!({ "userName": "a@b.c", "active": true }),
            json!([{ "op": "replace", "value": { "active": false } }]),
            Resource::User,
        );
        assert_eq!(document["active"], json!(false));
    }

    #[test]
    fn entra_paths_and_string_booleans_apply() {
        let document = patch(
            json!({
                "userName": "a@b.c", "active": true,
                "emails": [{ "value": "a@b.c", "type": "work", "primary": true }],
                ENTERPRISE_SCHEMA: {}
            }),
            json!([
                { "op": "Replace", "path": "active", "value": "False" },
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@b.c" },
                { "op": "Add", "path": "name.givenName", "value": "Ada" },
                { "op": "Add", "path": format!("{ENTERPRISE_SCHEMA}:manager"), "value": "m-1" }
            ]),
            Resource::User,
        );
        assert_eq!(document["active"], json!("False"));
        assert_eq!(document["emails"][0]["value"], json!("new@b.c"));
        assert_eq!(document["name"]["givenName"], json!("Ada"));
        assert_eq!(document[ENTERPRISE_SCHEMA]["manager"], json!("m-1"));
        let removed = patch(
            document,
            json!([{ "op": "Remove", "path": format!("{ENTERPRISE_SCHEMA}:manager") }]),
            Resource::User,
        );
        assert!(removed[ENTERPRISE_SCHEMA].get("manager").is_none());
    }

    #[test]
    fn complex_values_merge_and_the_extension_is_a_path() {
        let document = patch(
            json!({ "userName": "a", "name": { "formatted": "A B", "givenName": "A" } }),
            json!([
                { "op": "replace", "path": "name", "value": { "givenName": "Ann" } },
                { "op": "add", "path": ENTERPRISE_SCHEMA, "value": { "manager": { "value": "m-1" } } }
            ]),
            Resource::User,
        );
        assert_eq!(
            document["name"],
            json!({ "formatted": "A B", "givenName": "Ann" })
        );
        assert_eq!(
            document[ENTERPRISE_SCHEMA]["manager"]["value"],
            json!("m-1")
        );
        let removed = patch(
            document,
            json!([{ "op": "remove", "path": ENTERPRISE_SCHEMA }]),
            Resource::User,
        );
        assert!(removed.get(ENTERPRISE_SCHEMA).is_none());
    }

    #[test]
    fn members_are_added_and_removed_in_both_dialects() {
        let group = json!({ "displayName": "Eng", "members": [{ "value": "1" }] });
        let added = patch(
            group,
            json!([{ "op": "add", "path": "members", "value": [{ "value": "2" }, { "value": "1" }] }]),
            Resource::Group,
        );
        assert_eq!(
            added["members"],
            json!([{ "value": "1" }, { "value": "2" }])
        );
        let okta = patch(
            added.clone(),
            json!([{ "op": "remove", "path": "members", "value": [{ "value": "1" }] }]),
            Resource::Group,
        );
        assert_eq!(okta["members"], json!([{ "value": "2" }]));
        let entra = patch(
            added,
            json!([{ "op": "Remove", "path": "members[value eq \"2\"]" }]),
            Resource::Group,
        );
        assert_eq!(entra["members"], json!([{ "value": "1" }]));
    }

    #[test]
    fn bad_operations_are_refused() {
        let mut document = json!({});
        for operations in [
            json!([{ "op": "move", "path": "x", "value": 1 }]),
            json!([{ "op": "remove" }]),
            json!([{ "op": "replace", "value": 5 }]),
            json!([{ "op": "add", "path": "members[value ne \"x\"]", "value": 1 }]),
        ] {
            let request = json!({ "schemas": [PATCH_SCHEMA], "Operations": operations });
            assert!(
                apply_patch(&mut document, &request, Resource::Group).is_err(),
                "{request}"
            );
        }
        assert!(apply_patch(&mut document, &json!({ "Operations": [] }), Resource::Group).is_err());
    }
}
