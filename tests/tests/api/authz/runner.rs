//! Runs the cells of the matrix, probing refused ones with bad bodies first, and reports what differs.

use super::fixtures::*;
use super::*;

/// Bodies that must not change the answer of a caller who is refused: authorization comes before
/// validation, so the schema of an operation is not disclosed to those who may not call it.
pub(super) fn bad_bodies(good: &Value) -> Vec<(&'static str, &'static str, Vec<u8>)> {
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
pub(super) const VALIDATED_BEFORE_PERMISSION: [&str; 9] = [
    "/v1/access-requests",
    "/v1/access-requests/{id}/approve",
    "/v1/access-requests/{id}/deny",
    "/v1/access-requests/{id}/reassign",
    "/v1/access-requests/{id}/resubmit",
    "/v1/access-requests/{id}/comments",
    // AuthZEN: who a question or a submission is about is in the body (a person may ask about, and
    // submit for, themselves only), so a body that names nobody is refused for what it is (400).
    "/access/v1/evaluation",
    "/access/v1/evaluations",
    "/access/v1/requests",
];

/// The status and content type of a call, or a description of what is wrong with it.
pub(super) async fn answer(request: reqwest::RequestBuilder) -> (u16, String, String) {
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
pub(super) async fn forget_principals(app: &TestApp, cast: &Cast) {
    let path = format!("/v1/users/{}", cast.base["bystander"]);
    let rename = json!({ "display_name": format!("Bea {}", uuid::Uuid::now_v7()) });
    let response = app.patch(&path, &app.admin_token, &rename).await;
    expect_status(response, StatusCode::OK).await;
}

/// What a run found: the cells that differ from the table, how many cells and how many bad-body
/// probes of refused cells ran.
pub(super) struct Outcome {
    pub(super) mismatches: Vec<String>,
    pub(super) cells: usize,
    pub(super) probes: usize,
}

/// Runs every cell. With `probe`, a cell that refuses its caller (4xx) is first sent each of
/// [`bad_bodies`] when its operation takes a body, and must refuse them the same way.
pub(super) async fn run(app: &TestApp, rows: Vec<Row>, probe: bool) -> Outcome {
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
