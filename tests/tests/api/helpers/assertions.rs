//! Assertions on answers (status, problem documents, field errors) and polling until a condition holds.

use super::*;

/// Polls `check` until it holds (the jobs run every 300 ms), failing after 15 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..150 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Asserts the status (printing the body when it differs) and returns the JSON body (`Null` if empty).
pub async fn expect_status(response: Response, expected: StatusCode) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, expected, "unexpected status; body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }
}

/// Asserts an RFC 9457 problem document with this status, and returns it.
pub async fn expect_problem(response: Response, expected: StatusCode) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let has_request_id = response.headers().contains_key("x-request-id");
    let problem = expect_status(response, expected).await;
    assert_eq!(
        content_type, "application/problem+json",
        "problem: {problem}"
    );
    assert!(has_request_id, "every response carries X-Request-Id");
    assert_eq!(problem["status"], expected.as_u16(), "problem: {problem}");
    for member in ["type", "title", "detail"] {
        assert!(
            problem[member].is_string(),
            "problem lacks {member}: {problem}"
        );
    }
    problem
}

/// The field names of a validation problem's `errors[]`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}
