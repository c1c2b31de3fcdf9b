//! Passes over the generated OpenAPI document that state, in one place each, what the handlers'
//! annotations cannot: the text rule on every free-text input (`crate::text`), the stricter rules of
//! the fields that have one, the headers' syntax, and the links between operations (`links`).

mod links;

use serde_json::{Value, json};
use serde_yaml::{Mapping, Value as Yaml};

use crate::text;

/// A character a name may hold: no control character (Unicode `Cc`) but tab and line feed, as the
/// domain's bounded texts (display names, group, device and flow names, descriptions) check.
const NAME_CHAR: &str = r"[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]";
/// A name's character that is not white space (a name must hold one once trimmed).
const NAME_SOLID: &str = r"[^\s\u0000-\u001F\u007F-\u009F]";
/// A text character (the API-wide rule) and one that is not white space.
const TEXT_CHAR: &str = r"[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]";
const TEXT_SOLID: &str = r"[^\s\u0000-\u001F\u007F]";
/// White space that trimming removes and the text rule allows.
const TEXT_SPACE: &str = r"[^\S\u000B\u000C\u001C-\u001F]";

/// How long texts may be (`portcullis_domain::request::{REASON_CHARS, TEXT_MAX_CHARS}`).
const REASON_MIN: usize = portcullis_domain::request::REASON_CHARS.0;
const REASON_MAX: usize = portcullis_domain::request::REASON_CHARS.1;
const TEXT_MAX: usize = portcullis_domain::request::TEXT_MAX_CHARS;

/// `(schema, property)` → the rule a field follows beyond the text rule: the domain's checks
/// (`DisplayName`, `GroupName`, `DeviceName`, `ExternalId`, `Description`, `Email`, reasons and
/// comments, webhook URLs, the organisation's settings) written as JSON Schema.
pub(crate) fn stricter_rules() -> Vec<(&'static str, &'static str, Value)> {
    let name = |max: usize| {
        json!({ "minLength": 1, "maxLength": max,
            "pattern": format!("^{NAME_CHAR}*{NAME_SOLID}{NAME_CHAR}*$") })
    };
    let description = json!({ "maxLength": 2000, "pattern": format!("^{NAME_CHAR}*$") });
    let reason = json!({
        "minLength": REASON_MIN, "maxLength": REASON_MAX,
        "pattern": format!(
            "^{TEXT_SPACE}*{TEXT_SOLID}{TEXT_CHAR}{{{}}}{TEXT_SOLID}{TEXT_SPACE}*$",
            format_args!("{},", REASON_MIN - 2)
        ),
    });
    let text = json!({ "maxLength": TEXT_MAX });
    let comment = json!({ "minLength": 1, "maxLength": TEXT_MAX,
        "pattern": format!("^{TEXT_CHAR}*{TEXT_SOLID}{TEXT_CHAR}*$") });
    // A subset of what `Email::parse` accepts (which allows any Unicode letters): what generated
    // input must stick to.
    let email = json!({ "maxLength": 254,
        "pattern": r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$" });
    // An absolute http(s) URL with a host name (its last label starts with a letter: URL parsers read
    // numeric ones as IPv4), no credentials and no fragment (a subset again).
    let url = json!({ "maxLength": 2000,
        "pattern": r"^https?://([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?(\?[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?$" });
    let mut rules = Vec::new();
    for schema in ["CreateUserRequest", "UpdateUserRequest"] {
        rules.push((schema, "display_name", name(200)));
        rules.push((schema, "external_id", name(255)));
        rules.push((schema, "email", email.clone()));
    }
    for schema in [
        "CreateGroupRequest",
        "UpdateGroupRequest",
        "FlowDraft",
        "UpdateFlowRequest",
    ] {
        rules.push((schema, "name", name(200)));
        rules.push((schema, "description", description.clone()));
    }
    for schema in [
        "CreateDeviceRequest",
        "UpdateDeviceRequest",
        "CreateScimTokenBody",
    ] {
        rules.push((schema, "name", name(200)));
    }
    for schema in ["CreateWebhookChannelRequest", "UpdateWebhookChannelRequest"] {
        rules.push((schema, "url", url.clone()));
        // Trimmed, then 1 to 200 characters: one that is not white space.
        rules.push((
            schema,
            "name",
            json!({ "minLength": 1, "maxLength": 200,
            "pattern": format!("^{TEXT_CHAR}*{TEXT_SOLID}{TEXT_CHAR}*$") }),
        ));
    }
    for schema in ["CreateRequestBody", "ResubmitBody", "ExtendGrantBody"] {
        rules.push((schema, "reason", reason.clone()));
    }
    for field in ["comment", "internal_note"] {
        rules.push(("ApproveBody", field, text.clone()));
    }
    for field in ["next_steps", "comment", "internal_note"] {
        rules.push(("DenyBody", field, text.clone()));
    }
    rules.push(("ReviewBody", "note", text.clone()));
    // A denial's reason is required and must say something once trimmed.
    rules.push(("DenyBody", "reason", comment.clone()));
    rules.push(("CommentBody", "body", comment.clone()));
    rules.push(("AskForHelpBody", "message", comment.clone()));
    rules.push(("HelpCommentBody", "body", comment));
    // `portcullis_domain::settings::Settings::validate`.
    let ceiling = portcullis_domain::settings::MAX_DURATION_CEILING_SECONDS;
    for (field, minimum, maximum) in [
        ("expiry_days", 1, 365),
        ("max_access_duration_seconds", 60, ceiling),
        ("approver_reminder_days", 0, 365),
        ("grant_ending_notice_hours", 0, 720),
    ] {
        rules.push((
            "UpdateSettingsRequest",
            field,
            json!({ "minimum": minimum, "maximum": maximum }),
        ));
    }
    rules
}

/// The request headers the API reads, with the syntax it accepts.
fn header_rules() -> Vec<(&'static str, Value)> {
    vec![
        (
            "If-Match",
            // `*`, or entity tags (`"3"`, `W/"3"`) separated by commas, as `crate::etag` parses them.
            json!({ "type": "string",
                "pattern": r#"^(\*|(W/)?"[!#-~]*"([\t ]*,[\t ]*(W/)?"[!#-~]*")*)$"# }),
        ),
        (
            "Idempotency-Key",
            json!({ "type": "string", "minLength": 1, "maxLength": 200,
                "pattern": r"^[!-~]([\t -~]*[!-~])?$" }),
        ),
    ]
}

/// Applies every pass to the document.
pub fn apply(mut spec: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    constrain_inputs(&mut spec);
    links::add_links(&mut spec);
    spec
}

/// The operations of a path (every method the API uses), to edit each.
pub(crate) fn operations_mut(
    item: &mut utoipa::openapi::path::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

fn yaml(value: Value) -> Yaml {
    serde_yaml::to_value(value).unwrap_or(Yaml::Null)
}

/// Edits one part of the document as a `serde_yaml::Value` (whose mappings keep their order, so
/// properties stay as the annotations wrote them). Only the parts a request carries go through
/// this: a whole-document round trip would lose `items: {}`.
fn edit<T: serde::Serialize + serde::de::DeserializeOwned>(
    part: &mut T,
    change: impl FnOnce(&mut Yaml),
) {
    let Ok(mut value) = serde_yaml::to_value(&*part) else {
        return;
    };
    change(&mut value);
    match serde_yaml::from_value(value) {
        Ok(changed) => *part = changed,
        Err(error) => tracing::error!(%error, "an OpenAPI pass produced an unreadable part"),
    }
}

fn is_free_text(schema: &Mapping) -> bool {
    let is_string = match schema.get("type") {
        Some(Yaml::String(t)) => t == "string",
        Some(Yaml::Sequence(types)) => types.iter().any(|t| t.as_str() == Some("string")),
        _ => false,
    };
    is_string
        && !["format", "enum", "const", "pattern"]
            .iter()
            .any(|k| schema.contains_key(*k))
}

/// Gives every free-text string that a request carries (bodies, parameters) the text rule, after
/// the stricter rules of the fields that have one.
fn constrain_inputs(spec: &mut utoipa::openapi::OpenApi) {
    let mut pending: Vec<String> = Vec::new();
    let headers = header_rules();
    for item in spec.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            for parameter in operation.parameters.iter_mut().flatten() {
                edit(parameter, |parameter| {
                    let name = parameter
                        .get("name")
                        .and_then(Yaml::as_str)
                        .unwrap_or("")
                        .to_owned();
                    if let (Some((_, rule)), Some(parameter)) = (
                        headers.iter().find(|(h, _)| *h == name),
                        parameter.as_mapping_mut(),
                    ) {
                        parameter.insert("schema".into(), yaml(rule.clone()));
                    }
                    if let Some(schema) = parameter.get_mut("schema") {
                        constrain(schema, &mut pending);
                    }
                });
            }
            if let Some(body) = &mut operation.request_body {
                edit(body, |body| {
                    if let Some(body) = body.as_mapping_mut() {
                        optional_body_is_absent_not_null(body);
                    }
                    if let Some(content) = body.get_mut("content").and_then(Yaml::as_mapping_mut) {
                        for media in content.values_mut() {
                            if let Some(schema) = media.get_mut("schema") {
                                constrain(schema, &mut pending);
                            }
                        }
                    }
                });
            }
        }
    }
    let rules = stricter_rules();
    let mut done = std::collections::HashSet::new();
    let Some(components) = &mut spec.components else {
        return;
    };
    while let Some(name) = pending.pop() {
        if !done.insert(name.clone()) {
            continue;
        }
        let Some(schema) = components.schemas.get_mut(&name) else {
            continue;
        };
        edit(schema, |schema| {
            for (_, field, rule) in rules.iter().filter(|(s, _, _)| *s == name) {
                let property = schema
                    .get_mut("properties")
                    .and_then(|p| p.get_mut(*field))
                    .and_then(Yaml::as_mapping_mut);
                match (property, yaml(rule.clone())) {
                    (Some(property), Yaml::Mapping(rule)) => property.extend(rule),
                    _ => tracing::warn!(schema = name, field, "a field rule names no property"),
                }
            }
            constrain(schema, &mut pending);
        });
    }
}

/// utoipa writes an optional body (`request_body(content = Option<T>)`) as `oneOf: [null, T]`; the
/// API means no body at all (`crate::extractors::OptionalJson`), not a JSON `null`.
fn optional_body_is_absent_not_null(body: &mut Mapping) {
    if body.get("required").and_then(Yaml::as_bool) == Some(true) {
        return;
    }
    body.insert("required".into(), false.into());
    let Some(content) = body.get_mut("content").and_then(Yaml::as_mapping_mut) else {
        return;
    };
    for media in content.values_mut() {
        let Some(schema) = media.get_mut("schema") else {
            continue;
        };
        let inner = schema
            .get("oneOf")
            .and_then(Yaml::as_sequence)
            .filter(|variants| variants.len() == 2)
            .and_then(|variants| {
                let is_null = |v: &Yaml| v.get("type").and_then(Yaml::as_str) == Some("null");
                match (is_null(&variants[0]), is_null(&variants[1])) {
                    (true, false) => Some(variants[1].clone()),
                    (false, true) => Some(variants[0].clone()),
                    _ => None,
                }
            });
        if let Some(inner) = inner {
            *schema = inner;
        }
    }
}

fn constrain(schema: &mut Yaml, pending: &mut Vec<String>) {
    let Some(object) = schema.as_mapping_mut() else {
        return;
    };
    if let Some(name) = object
        .get("$ref")
        .and_then(Yaml::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        pending.push(name.to_owned());
    }
    if is_free_text(object) {
        object.insert("pattern".into(), text::PATTERN.into());
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(inner) = object.get_mut(key) {
            constrain(inner, pending);
        }
    }
    if let Some(properties) = object.get_mut("properties").and_then(Yaml::as_mapping_mut) {
        properties.values_mut().for_each(|p| constrain(p, pending));
    }
    for key in ["allOf", "oneOf", "anyOf", "prefixItems"] {
        if let Some(list) = object.get_mut(key).and_then(Yaml::as_sequence_mut) {
            list.iter_mut().for_each(|s| constrain(s, pending));
        }
    }
}
