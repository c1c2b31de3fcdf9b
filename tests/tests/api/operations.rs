use reqwest::{Method, StatusCode};

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    async fn health_and_readiness_need_no_token(app: TestApp) {
        let health = app.request(Method::GET, "/healthz", None).send().await.unwrap();
        assert_eq!(expect_status(health, StatusCode::OK).await["status"], "ok");
        let ready = app.request(Method::GET, "/readyz", None).send().await.unwrap();
        assert_eq!(expect_status(ready, StatusCode::OK).await["status"], "ready");
    }

    async fn metrics_count_requests_by_route_template_and_report_the_pool(app: TestApp) {
        expect_status(app.get(&format!("/v1/users/{}", app.admin_id), &app.admin_token).await, StatusCode::OK).await;
        let response = app.request(Method::GET, "/metrics", None).send().await.unwrap();
        let text = expect_status(response, StatusCode::OK).await;
        let text = text.as_str().unwrap();
        assert!(
            text.contains(r#"portcullis_http_requests_total{method="GET",route="/v1/users/{id}",status="200"} 1"#),
            "{text}"
        );
        assert!(text.contains("portcullis_http_request_duration_seconds_bucket"), "{text}");
        assert!(text.contains("portcullis_db_pool_connections{"), "{text}");
        assert!(!text.contains(&app.admin_id), "raw paths must not become labels");
    }

    async fn every_response_carries_a_request_id_and_problems_quote_it(app: TestApp) {
        let response = app.request(Method::GET, "/v1/me", None).header("X-Request-Id", "trace-abc.123").send().await.unwrap();
        assert_eq!(response.headers()["x-request-id"], "trace-abc.123");
        assert_eq!(expect_problem(response, StatusCode::UNAUTHORIZED).await["request_id"], "trace-abc.123");

        // An unusable id from the caller is replaced by one of ours.
        let response = app.request(Method::GET, "/healthz", None).header("X-Request-Id", "bad id with spaces").send().await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_configured_origins_only() {
    let options = Options {
        cors_origins: vec!["https://portal.example.com".into()],
        ..Options::default()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, options).await;
    let preflight = |origin: &'static str| {
        app.request(Method::OPTIONS, "/v1/users", None)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://portal.example.com").await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://portal.example.com"
    );
    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let response = app
        .request(Method::GET, "/v1/me", Some(&app.admin_token))
        .header("Origin", "https://portal.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://portal.example.com"
    );
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("etag") && exposed.contains("x-request-id"),
        "{exposed}"
    );
}
