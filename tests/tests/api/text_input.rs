//! No text input makes a 5xx or a dropped connection: NUL and other control characters, sent to
//! every free-text body field, query parameter and header the contract lists (read from the
//! committed `openapi.yaml`, so a new field is covered without a new test), are a 4xx problem naming
//! the input, and the contract states the rule as a `pattern` on each of them.

use std::io::{Read, Write};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;
use crate::requests::{join, request_body, submit, world};

/// NUL (PostgreSQL text cannot hold it), a C0 control, ESC and DEL.
const CONTROLS: [char; 4] = ['\u{0}', '\u{1}', '\u{1b}', '\u{7f}'];

fn contract() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
        .expect("openapi.yaml is committed");
    serde_yaml::from_str(&text).unwrap()
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => &spec["components"]["schemas"][reference.rsplit('/').next().unwrap()],
        None => schema,
    }
}

/// A string that is neither an enum nor a formatted value (uuid, date-time): free text.
fn is_free_text(schema: &Value) -> bool {
    let is_string = match &schema["type"] {
        Value::String(t) => t == "string",
        Value::Array(types) => types.iter().any(|t| t == "string"),
        _ => false,
    };
    is_string && schema.get("format").is_none() && schema.get("enum").is_none()
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index,
}

/// The paths of the free-text strings under `schema` (arrays at their first item).
fn text_fields(
    spec: &Value,
    schema: &Value,
    path: Vec<Step>,
    depth: u32,
    out: &mut Vec<(Vec<Step>, Value)>,
) {
    if depth > 8 {
        return;
    }
    let schema = resolve(spec, schema);
    if is_free_text(schema) && !path.is_empty() && !out.iter().any(|(p, _)| *p == path) {
        out.push((path.clone(), schema.clone()));
    }
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties {
            let mut inner = path.clone();
            inner.push(Step::Key(name.clone()));
            text_fields(spec, property, inner, depth + 1, out);
        }
    }
    if schema["items"].is_object() {
        let mut inner = path.clone();
        inner.push(Step::Index);
        text_fields(spec, &schema["items"], inner, depth + 1, out);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for variant in schema[key].as_array().into_iter().flatten() {
            text_fields(spec, variant, path.clone(), depth + 1, out);
        }
    }
}

fn field_name(path: &[Step]) -> String {
    let mut name = String::new();
    for step in path {
        match step {
            Step::Key(key) if name.is_empty() => name.push_str(key),
            Step::Key(key) => name.push_str(&format!(".{key}")),
            Step::Index => name.push_str("[0]"),
        }
    }
    name
}

/// `body` with `value` at `path`, creating what is missing.
fn set(body: &mut Value, path: &[Step], value: Value) {
    let Some((step, rest)) = path.split_first() else {
        *body = value;
        return;
    };
    match step {
        Step::Key(key) => {
            if !body.is_object() {
                *body = json!({});
            }
            set(
                body.as_object_mut()
                    .unwrap()
                    .entry(key.clone())
                    .or_insert(Value::Null),
                rest,
                value,
            );
        }
        Step::Index => {
            if body.as_array().is_none_or(|items| items.is_empty()) {
                *body = json!([Value::Null]);
            }
            set(&mut body.as_array_mut().unwrap()[0], rest, value);
        }
    }
}

/// Real objects for path ids and for the ids in the contract's examples.
struct Fixture {
    user: String,
    group: String,
    flow: String,
    device: String,
    channel: String,
    delivery: String,
    request: String,
    help: String,
    /// The admin's own grant (only its holder may extend it).
    grant: String,
}

impl Fixture {
    async fn build(app: &TestApp) -> Self {
        let w = world(app, "all_in_order").await;
        // The admin may then request the flow: a body with a bad reason reaches the database.
        join(app, &w.visible, &app.admin_id).await;
        let manager = json!({ "manager_id": w.manager });
        let admin = app
            .patch(
                &format!("/v1/users/{}", app.admin_id),
                &app.admin_token,
                &manager,
            )
            .await;
        expect_status(admin, StatusCode::OK).await;
        let request = submit(app, &w).await["id"].as_str().unwrap().to_owned();
        let created = |response| async move { expect_status(response, StatusCode::CREATED).await };
        let device = created(
            app.post(
                "/v1/devices",
                &app.admin_token,
                &json!({ "name": "Laptop 7", "os": "macos" }),
            )
            .await,
        )
        .await;
        let channel = created(
            app.post(
                "/v1/webhook-channels",
                &app.admin_token,
                &json!({ "name": "SIEM", "url": "http://127.0.0.1:9/hook",
                    "events": ["access_management_access_request"] }),
            )
            .await,
        )
        .await;
        let channel = channel["id"].as_str().unwrap().to_owned();
        let delivery = app
            .post(
                &format!("/v1/webhook-channels/{channel}/test"),
                &app.admin_token,
                &json!({}),
            )
            .await;
        let delivery = expect_status(delivery, StatusCode::OK).await;
        // The requester's question about the flow, which the administrators answer.
        let question = json!({ "message": "Which repositories does it cover?" });
        let help = app
            .post(
                &format!("/v1/catalog/{}/help", w.flow),
                &app.token_for(&w.requester),
                &question,
            )
            .await;
        let help = expect_status(help, StatusCode::CREATED).await;
        let own = app
            .post("/v1/access-requests", &app.admin_token, &request_body(&w))
            .await;
        let own = expect_status(own, StatusCode::CREATED).await;
        let approve = format!(
            "/v1/access-requests/{}/approve",
            own["id"].as_str().unwrap()
        );
        // Another administrator overrides: the admin cannot decide their own request.
        let other = json!({ "email": "ops@example.org", "display_name": "Ops", "is_admin": true });
        let other = app.token_for(&app.create_user_with(other).await);
        let overriding = json!({ "override": true });
        expect_status(
            app.post(&approve, &other, &overriding).await,
            StatusCode::OK,
        )
        .await;
        let grants = expect_status(
            app.get("/v1/me/grants", &app.admin_token).await,
            StatusCode::OK,
        )
        .await;
        Self {
            user: w.requester,
            group: w.visible,
            flow: w.flow,
            device: device["id"].as_str().unwrap().to_owned(),
            channel,
            delivery: delivery["id"].as_str().unwrap().to_owned(),
            request,
            help: help["id"].as_str().unwrap().to_owned(),
            grant: grants["items"][0]["id"].as_str().unwrap().to_owned(),
        }
    }

    fn path(&self, template: &str) -> String {
        let id = [
            ("/v1/users/", &self.user),
            ("/v1/groups/", &self.group),
            ("/v1/devices/", &self.device),
            ("/v1/approval-flows/", &self.flow),
            ("/v1/webhook-channels/", &self.channel),
            ("/v1/access-requests/", &self.request),
            ("/v1/help-requests/", &self.help),
            ("/v1/grants/", &self.grant),
        ]
        .into_iter()
        .find(|(prefix, _)| template.starts_with(prefix))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), |(_, id)| id.clone());
        template
            .replace("{id}", &id)
            .replace("{user_id}", &self.user)
            .replace("{flow_id}", &self.flow)
            .replace("{delivery_id}", &self.delivery)
            .replace("{type}", "provisioning")
    }

    /// The example with its ids replaced by real ones, by what the field names.
    fn with_real_ids(&self, value: &mut Value, key: &str) {
        match value {
            Value::String(text) if uuid::Uuid::parse_str(text).is_ok() => {
                *text = if key.contains("flow") {
                    self.flow.clone()
                } else if key.contains("device") {
                    self.device.clone()
                } else if key.contains("group") {
                    self.group.clone()
                } else {
                    self.user.clone()
                };
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|item| self.with_real_ids(item, key)),
            Value::Object(members) => {
                for (name, member) in members {
                    self.with_real_ids(member, name);
                }
            }
            _ => {}
        }
    }
}

fn operations(spec: &Value) -> Vec<(Method, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            found.push((
                method.to_uppercase().parse().unwrap(),
                path.clone(),
                operation.clone(),
            ));
        }
    }
    found
}

fn assert_has_pattern(what: &str, schema: &Value) {
    assert!(
        schema["pattern"].is_string(),
        "{what}: the contract must state the text rule as a pattern: {schema}"
    );
}

both_backends! {
    async fn control_characters_in_any_body_field_are_a_422_naming_it(app: TestApp) {
        let spec = contract();
        let fixture = Fixture::build(&app).await;
        let mut checked = 0;
        for (method, path, operation) in operations(&spec) {
            let Some(schema) = operation["requestBody"]["content"]["application/json"].get("schema") else {
                continue;
            };
            let mut base = resolve(&spec, schema)["example"].clone();
            if !base.is_object() {
                base = json!({});
            }
            fixture.with_real_ids(&mut base, "");
            let mut fields = Vec::new();
            text_fields(&spec, schema, Vec::new(), 0, &mut fields);
            for (field, field_schema) in fields {
                let name = field_name(&field);
                assert_has_pattern(&format!("{method} {path} {name}"), &field_schema);
                for control in CONTROLS {
                    let mut body = base.clone();
                    set(&mut body, &field, json!(format!("Needed for{control} the release")));
                    let response = app
                        .request(method.clone(), &fixture.path(&path), Some(&app.admin_token))
                        .json(&body)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("{method} {path} {name}: no answer: {e}"));
                    assert!(!response.status().is_server_error(), "{method} {path} {name} {control:?}: {}", response.status());
                    // AuthZEN's surface answers malformed input with 400, as its specifications say.
                    let status = if path.starts_with("/access/v1/") { StatusCode::BAD_REQUEST } else { StatusCode::UNPROCESSABLE_ENTITY };
                    let problem = expect_problem(response, status).await;
                    assert_eq!(error_fields(&problem), std::slice::from_ref(&name), "{method} {path} {control:?}: {problem}");
                    checked += 1;
                }
            }
        }
        // Reasons, comments, names, descriptions, emails, URLs...: 29 fields today.
        assert!(checked >= 25 * CONTROLS.len(), "only {checked} cases: is the contract read?");
    }

    async fn control_characters_in_any_query_parameter_are_a_400_naming_it(app: TestApp) {
        let spec = contract();
        let fixture = Fixture::build(&app).await;
        let mut checked = 0;
        for (method, path, operation) in operations(&spec) {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let schema = resolve(&spec, &parameter["schema"]);
                if parameter["in"] != "query" || !is_free_text(schema) {
                    continue;
                }
                let name = parameter["name"].as_str().unwrap();
                assert_has_pattern(&format!("{method} {path} ?{name}"), schema);
                for control in CONTROLS {
                    let response = app
                        .request(method.clone(), &fixture.path(&path), Some(&app.admin_token))
                        .query(&[(name, format!("ada{control}"))])
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("{method} {path}?{name}: no answer: {e}"));
                    assert!(!response.status().is_server_error(), "{method} {path}?{name} {control:?}: {}", response.status());
                    // The export streams its answer: read it whole, so a connection cut midway fails here.
                    let problem = expect_problem(response, StatusCode::BAD_REQUEST).await;
                    assert_eq!(error_fields(&problem), [name], "{method} {path} {control:?}: {problem}");
                    checked += 1;
                }
            }
        }
        // q, requester, type, subject_id, page_token... on a dozen operations.
        assert!(checked >= 15 * CONTROLS.len(), "only {checked} cases: is the contract read?");
    }

    async fn control_characters_in_any_header_the_api_reads_are_a_400(app: TestApp) {
        let spec = contract();
        let fixture = Fixture::build(&app).await;
        let address = app.address.trim_start_matches("http://").to_owned();
        let mut checked = 0;
        for (method, path, operation) in operations(&spec) {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] != "header" {
                    continue;
                }
                let name = parameter["name"].as_str().unwrap().to_owned();
                assert_has_pattern(&format!("{method} {path} {name}"), &parameter["schema"]);
                for control in CONTROLS {
                    // HTTP clients refuse to send such a header: write the request by hand.
                    let head = format!(
                        "{method} {} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
                         Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n{name}: a{control}b\r\n\r\n{{}}",
                        fixture.path(&path),
                        app.admin_token
                    );
                    let address = address.clone();
                    let answer = tokio::task::spawn_blocking(move || {
                        let mut stream = std::net::TcpStream::connect(&address).unwrap();
                        stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
                        stream.write_all(head.as_bytes()).unwrap();
                        let mut answer = Vec::new();
                        let _ = stream.read_to_end(&mut answer);
                        String::from_utf8_lossy(&answer).into_owned()
                    })
                    .await
                    .unwrap();
                    let status = answer.split(' ').nth(1).unwrap_or("");
                    assert!(
                        status.starts_with('4'),
                        "{method} {path} {name} {control:?}: {}",
                        answer.lines().next().unwrap_or("no answer (the connection was dropped)")
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 6 * CONTROLS.len(), "only {checked} cases: is the contract read?");
    }

    async fn tabs_and_line_breaks_stay_allowed_in_text(app: TestApp) {
        let fixture = Fixture::build(&app).await;
        let response = app
            .post(
                &format!("/v1/access-requests/{}/comments", fixture.request),
                &app.admin_token,
                &json!({ "body": "Which repositories?\r\n\tThe release ones." }),
            )
            .await;
        let comment = expect_status(response, StatusCode::CREATED).await;
        assert_eq!(comment["body"], "Which repositories?\r\n\tThe release ones.");
        let search = app
            .get("/v1/access-requests?q=release%09notes&requester=riley%0A", &app.admin_token)
            .await;
        expect_status(search, StatusCode::OK).await;
    }
}
