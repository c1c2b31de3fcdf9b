//! SPEC §5 on the directory endpoints: malformed JSON, wrong types, oversize bodies, unknown ids,
//! bad cursors and bad parameters all get a 4xx problem document, and nothing is half-written.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

const JSON: &str = "application/json";

struct Case {
    method: Method,
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    status: StatusCode,
    /// For validation problems: the field `errors[]` must name.
    field: Option<&'static str>,
}

fn case(
    method: Method,
    path: &str,
    body: &str,
    status: StatusCode,
    field: Option<&'static str>,
) -> Case {
    Case {
        method,
        path: path.to_owned(),
        content_type: JSON,
        body: body.as_bytes().to_vec(),
        status,
        field,
    }
}

async fn run(app: &TestApp, cases: Vec<Case>) {
    for case in cases {
        let response = app
            .request(case.method.clone(), &case.path, Some(&app.admin_token))
            .header("Content-Type", case.content_type)
            .body(case.body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            !status.is_server_error(),
            "{} {} answered {status}",
            case.method,
            case.path
        );
        let problem = expect_problem(response, case.status).await;
        if let Some(field) = case.field {
            assert_eq!(
                error_fields(&problem),
                [field],
                "{} {}: {problem}",
                case.method,
                case.path
            );
        }
    }
}

async fn assert_directory_untouched(app: &TestApp) {
    for (path, expected) in [("/v1/users", 1), ("/v1/groups", 0), ("/v1/devices", 0)] {
        let listed = expect_status(app.get(path, &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(
            listed["items"].as_array().unwrap().len(),
            expected,
            "{path} after rejected input"
        );
    }
}

both_backends! {
    async fn malformed_or_mistyped_bodies_are_rejected_without_writing(app: TestApp) {
        let user = format!("/v1/users/{}", app.admin_id);
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        let bad = StatusCode::BAD_REQUEST;
        run(&app, vec![
            case(Method::POST, "/v1/users", "{\"email\": ", bad, None),
            case(Method::POST, "/v1/users", "", bad, None),
            case(Method::POST, "/v1/users", "[1, 2]", unprocessable, Some("body")),
            case(Method::POST, "/v1/users", "{\"email\": \"a@b.org\", \"display_name\": \"A\"} trailing", bad, None),
            case(Method::POST, "/v1/users", r#"{"email": 42, "display_name": "A"}"#, unprocessable, Some("email")),
            case(Method::POST, "/v1/users", r#"{"display_name": "A"}"#, unprocessable, Some("email")),
            case(Method::POST, "/v1/users", r#"{"email": "a@b.org", "display_name": "A", "role": "god"}"#, unprocessable, Some("role")),
            case(Method::POST, "/v1/users", r#"{"email": "not-an-email", "display_name": "A"}"#, unprocessable, Some("email")),
            case(Method::POST, "/v1/users", r#"{"email": "a@b.org", "display_name": "   "}"#, unprocessable, Some("display_name")),
            case(Method::POST, "/v1/users", r#"{"email": "a@b.org", "display_name": "A", "kind": "robot"}"#, unprocessable, Some("kind")),
            case(Method::POST, "/v1/users", r#"{"email": "a@b.org", "display_name": "A", "manager_id": "nope"}"#, unprocessable, Some("manager_id")),
            case(Method::POST, "/v1/users", r#"{"email": "a@b.org", "display_name": "A", "kind": "integration", "is_admin": true}"#, unprocessable, Some("is_admin")),
            case(Method::PATCH, &user, r#"{"is_admin": "yes"}"#, unprocessable, Some("is_admin")),
            case(Method::PATCH, &user, "{", bad, None),
            case(Method::POST, "/v1/groups", r#"{"name": ""}"#, unprocessable, Some("name")),
            case(Method::POST, "/v1/groups", r#"{"name": ["x"]}"#, unprocessable, Some("name")),
            case(Method::POST, "/v1/devices", r#"{"name": "x", "os": "beos"}"#, unprocessable, Some("os")),
            case(Method::POST, "/v1/devices", r#"{"name": "x", "os": "linux", "assigned_user_ids": [1]}"#, unprocessable, Some("assigned_user_ids[0]")),
        ])
        .await;
        assert_directory_untouched(&app).await;
    }

    async fn oversize_and_non_json_bodies_are_rejected(app: TestApp) {
        let huge = format!(r#"{{"email": "a@b.org", "display_name": "{}"}}"#, "x".repeat(100_000));
        run(&app, vec![
            case(Method::POST, "/v1/users", &huge, StatusCode::PAYLOAD_TOO_LARGE, None),
            Case {
                method: Method::POST,
                path: "/v1/groups".into(),
                content_type: "text/plain",
                body: br#"{"name": "x"}"#.to_vec(),
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                field: None,
            },
        ])
        .await;
        // A chunked body with no declared length is cut off at the limit too.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..40).map(|_| Ok(vec![b' '; 4096])).collect();
        let response = app
            .request(Method::POST, "/v1/groups", Some(&app.admin_token))
            .header("Content-Type", JSON)
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
            .send()
            .await
            .unwrap();
        expect_problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;
        assert_directory_untouched(&app).await;
    }

    async fn unknown_and_malformed_ids_are_not_found(app: TestApp) {
        let missing = uuid::Uuid::now_v7();
        let not_found = StatusCode::NOT_FOUND;
        let mut cases = Vec::new();
        for resource in ["users", "groups", "devices"] {
            for id in [missing.to_string(), "not-a-uuid".to_owned()] {
                let path = format!("/v1/{resource}/{id}");
                cases.push(case(Method::GET, &path, "", not_found, None));
                cases.push(case(Method::PATCH, &path, "{}", not_found, None));
                cases.push(case(Method::DELETE, &path, "", not_found, None));
            }
        }
        cases.push(case(Method::GET, &format!("/v1/groups/{missing}/members"), "", not_found, None));
        cases.push(case(Method::POST, &format!("/v1/groups/{missing}/members"), &json!({ "user_id": missing }).to_string(), not_found, None));
        cases.push(case(Method::DELETE, &format!("/v1/groups/{missing}/members/{missing}"), "", not_found, None));
        cases.push(case(Method::GET, "/v1/no-such-thing", "", not_found, None));
        run(&app, cases).await;
    }

    async fn bad_cursors_and_page_sizes_are_bad_requests(app: TestApp) {
        let group = app.create_group("Engineering").await;
        let mut cases = Vec::new();
        for list in ["/v1/users", "/v1/groups", "/v1/devices", &format!("/v1/groups/{group}/members")] {
            for query in ["page_token=garbage", "page_token=%00%01", "limit=0", "limit=201", "limit=abc", "limit=-1"] {
                let field = if query.starts_with("limit") { "limit" } else { "page_token" };
                cases.push(case(Method::GET, &format!("{list}?{query}"), "", StatusCode::BAD_REQUEST, Some(field)));
            }
        }
        cases.push(case(Method::GET, "/v1/users?active=maybe", "", StatusCode::BAD_REQUEST, Some("active")));
        cases.push(case(Method::GET, "/v1/users?kind=robot", "", StatusCode::BAD_REQUEST, Some("kind")));
        run(&app, cases).await;
    }

    async fn the_wrong_method_on_a_known_path_is_405_with_allow(app: TestApp) {
        let response = app.request(Method::PUT, "/v1/users", Some(&app.admin_token)).send().await.unwrap();
        assert_eq!(response.headers()["allow"], "GET, POST");
        expect_problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
        let response = app.request(Method::POST, &format!("/v1/users/{}", app.admin_id), None).send().await.unwrap();
        assert_eq!(response.headers()["allow"], "GET, PATCH, DELETE");
        expect_problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
    }
}
