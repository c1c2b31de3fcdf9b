use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;
use crate::requests::{World, act, join, submit, world};

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Requests of every kind: assigned approvers (pending, approved, error), an administrator flow,
/// and an automatic one.
struct Queue {
    w: World,
    assigned_pending: String,
    assigned_error: String,
    admin_pending: String,
    automatic: String,
}

async fn queue(app: &TestApp) -> Queue {
    let w = world(app, "any").await;
    let admin_flow = json!({
        "kind": "resource_request", "name": "Vault Admin", "display": { "logo": "vault" },
        "target_group_id": w.target, "visibility_group_ids": [w.visible],
        "approval_type": "manual", "approvers": [{ "type": "administrator" }]
    });
    let admin_flow = expect_status(
        app.post("/v1/approval-flows", &app.admin_token, &admin_flow)
            .await,
        StatusCode::CREATED,
    )
    .await;
    let auto_flow = json!({
        "kind": "resource_request", "name": "Wiki Reader", "display": { "logo": "wiki" },
        "target_group_id": w.target, "visibility_group_ids": [w.visible], "approval_type": "automatic"
    });
    let auto_flow = expect_status(
        app.post("/v1/approval-flows", &app.admin_token, &auto_flow)
            .await,
        StatusCode::CREATED,
    )
    .await;

    let other = app.create_user_with(json!({ "email": "olga@example.org", "display_name": "Olga Other", "manager_id": w.manager })).await;
    join(app, &w.visible, &other).await;
    let body = |flow: &Value, reason: &str| json!({ "flow_id": flow["id"], "reason": reason });
    let token = app.token_for(&w.requester);

    let assigned_error = submit(app, &w).await["id"].as_str().unwrap().to_owned();
    let new_manager = app.create_user("nina@example.org", "Nina").await;
    expect_status(
        app.patch(
            &format!("/v1/users/{}", w.requester),
            &app.admin_token,
            &json!({ "manager_id": new_manager }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let admin_pending = expect_status(
        app.post(
            "/v1/access-requests",
            &token,
            &body(&admin_flow, "Rotate the vault unseal keys"),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let automatic = expect_status(
        app.post(
            "/v1/access-requests",
            &token,
            &body(&auto_flow, "Read the onboarding wiki"),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_token = app.token_for(&other);
    let approved = json!({ "flow_id": w.flow, "reason": "Cut the 3.2 release branch", "duration_seconds": 3600 });
    let approved = expect_status(
        app.post("/v1/access-requests", &other_token, &approved)
            .await,
        StatusCode::CREATED,
    )
    .await;
    expect_status(
        act(app, &approved["id"], "approve", &w.manager, json!({})).await,
        StatusCode::OK,
    )
    .await;
    let pending = json!({ "flow_id": w.flow, "reason": "=HYPERLINK(\"http://evil\") please", "duration_seconds": 3600 });
    let assigned_pending = expect_status(
        app.post("/v1/access-requests", &other_token, &pending)
            .await,
        StatusCode::CREATED,
    )
    .await;
    // `other` already has an approved request through this flow, so this pending one is their second.
    Queue {
        w,
        assigned_pending: assigned_pending["id"].as_str().unwrap().to_owned(),
        assigned_error,
        admin_pending,
        automatic,
    }
}

both_backends! {
    async fn the_queue_defaults_to_pending_manual_requests_and_says_so(app: TestApp) {
        let q = queue(&app).await;
        let page = expect_status(app.get("/v1/access-requests", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(ids(&page), [q.assigned_pending.as_str(), q.admin_pending.as_str()]);
        assert_eq!(page["applied_filters"]["status"], json!(["pending"]));
        assert_eq!(page["applied_filters"]["approval_type"], "manual");

        let everything = expect_status(app.get("/v1/access-requests?status=all&approval_type=all", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(everything["items"].as_array().unwrap().len(), 5);
        assert!(ids(&everything).contains(&q.automatic));
        assert_eq!(everything["applied_filters"]["status"], json!([]));
        assert!(everything["applied_filters"]["approval_type"].is_null());

        let person = app.token_for(&q.w.requester);
        expect_problem(app.get("/v1/access-requests", &person).await, StatusCode::FORBIDDEN).await;
        let problem = expect_problem(app.get("/v1/access-requests?status=maybe", &app.admin_token).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(error_fields(&problem), ["status"]);
        // An empty status is not one (Schemathesis found `status=` accepted as the default).
        for query in ["status=", "status=pending,", "status=pending&status=%20"] {
            for path in ["/v1/access-requests", "/v1/access-requests/counts"] {
                let problem = expect_problem(app.get(&format!("{path}?{query}"), &app.admin_token).await, StatusCode::BAD_REQUEST).await;
                assert_eq!(error_fields(&problem), ["status"], "{path}?{query}");
            }
        }
    }

    async fn tabs_split_administrator_decisions_and_errors_from_assigned_approvers(app: TestApp) {
        let q = queue(&app).await;
        let admin = expect_status(app.get("/v1/access-requests?tab=administrator&status=pending,error", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(ids(&admin), [q.admin_pending.as_str(), q.assigned_error.as_str()]);
        let others = expect_status(app.get("/v1/access-requests?tab=others&status=pending&status=error", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(ids(&others), [q.assigned_pending.as_str()]);
    }

    async fn filters_narrow_the_queue(app: TestApp) {
        let q = queue(&app).await;
        let get = |query: String| {
            let app = &app;
            async move { ids(&expect_status(app.get(&format!("/v1/access-requests?{query}"), &app.admin_token).await, StatusCode::OK).await) }
        };
        assert_eq!(get("status=error".into()).await, [q.assigned_error.as_str()]);
        assert_eq!(get("status=all&requester=OLGA".into()).await.len(), 2);
        assert_eq!(get("status=all&requester=riley@".into()).await, [q.admin_pending.as_str(), q.assigned_error.as_str()]);
        assert_eq!(get(format!("status=all&flow_id={}", q.w.flow)).await.len(), 3);
        assert_eq!(get("status=all&q=vault".into()).await, [q.admin_pending.as_str()], "flow name");
        assert_eq!(get("status=all&q=release%20branch".into()).await.len(), 1, "reason");
        assert_eq!(get("status=all&approval_type=automatic".into()).await, [q.automatic.as_str()]);
        let future = (chrono::Utc::now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
        assert!(get(format!("status=all&created_after={future}")).await.is_empty());
        assert_eq!(get(format!("status=all&approval_type=all&created_before={future}")).await.len(), 5);
    }

    async fn counts_match_the_lists(app: TestApp) {
        let q = queue(&app).await;
        let counts = expect_status(app.get("/v1/access-requests/counts?status=pending,error", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!((counts["tabs"]["administrator"].as_i64(), counts["tabs"]["others"].as_i64()), (Some(2), Some(1)));
        let count_of = |status: &str| {
            counts["statuses"].as_array().unwrap().iter().find(|s| s["status"] == status).unwrap()["count"].as_i64().unwrap()
        };
        assert_eq!((count_of("pending"), count_of("error"), count_of("approved")), (2, 1, 1));
        let listed = expect_status(app.get("/v1/access-requests?tab=administrator&status=pending,error", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(listed["items"].as_array().unwrap().len() as i64, counts["tabs"]["administrator"].as_i64().unwrap());
        let _ = q;
    }

    async fn the_export_is_valid_csv_and_json_with_formulas_neutralised(app: TestApp) {
        let q = queue(&app).await;
        let response = app.get("/v1/access-requests/export?format=csv&status=all&approval_type=all", &app.admin_token).await;
        let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment") && disposition.contains(".csv"), "{disposition}");
        let text = response.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(&headers[..4], ["id", "status", "flow_id", "flow_name"]);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 5);
        let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let evil = records.iter().find(|r| r[column("id")] == q.assigned_pending).unwrap();
        assert_eq!(&evil[column("reason")], "'=HYPERLINK(\"http://evil\") please");
        assert_eq!(&evil[column("requester_email")], "olga@example.org");

        let json = app.get("/v1/access-requests/export?format=json&status=all&approval_type=all", &app.admin_token).await;
        let rows: Value = serde_json::from_str(&json.text().await.unwrap()).unwrap();
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 5);
        assert!(rows.iter().any(|r| r["id"] == q.automatic.as_str() && r["status"] == "approved"));

        let empty = app.get("/v1/access-requests/export?format=json&status=expired", &app.admin_token).await;
        assert_eq!(serde_json::from_str::<Value>(&empty.text().await.unwrap()).unwrap(), json!([]));
    }
}

both_backends! {
    async fn queue_pages_survive_concurrent_inserts(app: TestApp) {
        let w = world(&app, "any").await;
        let mut n = 0;
        let mut add = || {
            n += 1;
            let (app, w, n) = (&app, &w, n);
            async move {
                let body = json!({ "email": format!("p{n}@example.org"), "display_name": format!("P{n}"), "manager_id": w.manager });
                let user = app.create_user_with(body).await;
                join(app, &w.visible, &user).await;
                let request = json!({ "flow_id": w.flow, "reason": "Review pull requests for the release", "duration_seconds": 3600 });
                expect_status(app.post("/v1/access-requests", &app.token_for(&user), &request).await, StatusCode::CREATED).await["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        };
        let mut existing = Vec::new();
        for _ in 0..7 {
            existing.push(add().await);
        }
        existing.reverse();
        let (mut seen, mut token, mut pages) = (Vec::new(), None::<String>, 0);
        loop {
            let mut path = "/v1/access-requests?limit=2".to_owned();
            if let Some(next) = &token {
                path.push_str(&format!("&page_token={next}"));
            }
            let page = expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await;
            seen.extend(ids(&page));
            pages += 1;
            add().await;
            match page["next_page_token"].as_str() {
                Some(next) => token = Some(next.to_owned()),
                None => break,
            }
        }
        assert!(pages >= 4, "{pages} pages");
        assert_eq!(seen, existing, "no duplicates, no gaps, newest first");
    }
}
