//! The contract: the committed `openapi.yaml` is exactly what the code generates, the served
//! document is the same, every operation is fully described, and Swagger UI is served offline.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::*;

fn committed_yaml() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
        .expect("openapi.yaml is committed")
}

#[test]
fn the_committed_openapi_yaml_is_what_the_code_generates() {
    let generated = portcullis_api::spec::spec_yaml().unwrap();
    let committed = committed_yaml();
    if generated != committed {
        let diff: Vec<String> = generated
            .lines()
            .zip(committed.lines())
            .enumerate()
            .filter(|(_, (g, c))| g != c)
            .take(15)
            .map(|(n, (g, c))| format!("line {}:\n  committed: {c}\n  generated: {g}", n + 1))
            .collect();
        panic!(
            "openapi.yaml is stale: run `make openapi` and commit it.\n{} lines generated, {} committed\n{}",
            generated.lines().count(),
            committed.lines().count(),
            diff.join("\n")
        );
    }
}

#[test]
fn every_operation_has_a_summary_tag_error_responses_and_examples() {
    let spec: Value = serde_yaml::from_str(&committed_yaml()).unwrap();
    let components = &spec["components"];
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            assert!(
                operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: summary"
            );
            assert!(operation["operationId"].is_string(), "{name}: operationId");
            assert!(
                operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{name}: tag"
            );
            let responses = operation["responses"].as_object().unwrap();
            // Public documents without error answers of their own: liveness, metrics, and AuthZEN's
            // metadata and key set.
            let public = path.starts_with("/healthz")
                || path.starts_with("/metrics")
                || path.starts_with("/.well-known/")
                || path == "/access/v1/jwks";
            assert!(
                public
                    || responses
                        .keys()
                        .any(|code| code.starts_with('4') || code.starts_with('5')),
                "{name}: error responses"
            );
            if path.starts_with("/v1/") || path.starts_with("/access/v1/") && !public {
                assert!(responses.contains_key("401"), "{name}: 401 response");
            }
            let has_example = responses.values().any(|response| {
                let response = match response["$ref"].as_str() {
                    Some(reference) => {
                        &components["responses"][reference.rsplit('/').next().unwrap()]
                    }
                    None => response,
                };
                response["content"].as_object().is_some_and(|content| {
                    content.values().any(|media| {
                        media["example"].is_object()
                            || media["example"].is_string()
                            || media["schema"]["$ref"].as_str().is_some_and(|r| {
                                !components["schemas"][r.rsplit('/').next().unwrap()]["example"]
                                    .is_null()
                            })
                    })
                })
            });
            assert!(has_example, "{name}: an example");
            checked += 1;
        }
    }
    assert!(checked >= 32, "only {checked} operations found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_is_the_committed_one_and_swagger_ui_is_served_offline() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let served: Value = app
        .request(Method::GET, "/api-docs/openapi.json", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let committed: Value = serde_yaml::from_str(&committed_yaml()).unwrap();
    assert_eq!(served, committed);

    let page = app
        .request(Method::GET, "/swagger-ui/", None)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui-bundle.js"), "{html}");
    // The bundle is vendored into the binary: nothing is fetched from the internet.
    assert!(
        !html.contains("https://"),
        "Swagger UI must not load remote assets: {html}"
    );
    let bundle = app
        .request(Method::GET, "/swagger-ui/swagger-ui-bundle.js", None)
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), StatusCode::OK);
    assert!(bundle.bytes().await.unwrap().len() > 100_000);
    let initializer = app
        .request(Method::GET, "/swagger-ui/swagger-initializer.js", None)
        .send()
        .await
        .unwrap();
    assert!(
        initializer
            .text()
            .await
            .unwrap()
            .contains("/api-docs/openapi.json")
    );
}
