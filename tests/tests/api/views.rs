use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;
use crate::requests::{act, submit, world};

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The requests of an Action Required page, each checked to be an approval.
fn task_ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            assert_eq!(item["action"], "approve", "{item}");
            item["access_request"]["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

both_backends! {
    async fn my_requests_split_into_open_and_closed(app: TestApp) {
        let w = world(&app, "any").await;
        let first = submit(&app, &w).await;
        expect_status(act(&app, &first["id"], "cancel", &w.requester, json!({})).await, StatusCode::OK).await;
        let second = submit(&app, &w).await;
        let token = app.token_for(&w.requester);

        let open = expect_status(app.get("/v1/me/access-requests?state=open", &token).await, StatusCode::OK).await;
        assert_eq!(ids(&open), [second["id"].as_str().unwrap()]);
        let closed = expect_status(app.get("/v1/me/access-requests?state=closed", &token).await, StatusCode::OK).await;
        assert_eq!(ids(&closed), [first["id"].as_str().unwrap()]);
        let all = expect_status(app.get("/v1/me/access-requests", &token).await, StatusCode::OK).await;
        assert_eq!(ids(&all), [second["id"].as_str().unwrap(), first["id"].as_str().unwrap()], "newest first");
        assert_eq!(all["items"][0]["steps"].as_array().unwrap().len(), 2, "with their progress");

        let others = expect_status(app.get("/v1/me/access-requests", &app.token_for(&w.manager)).await, StatusCode::OK).await;
        assert!(ids(&others).is_empty(), "only the caller's own requests");
        let problem = expect_problem(app.get("/v1/me/access-requests?state=maybe", &token).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(error_fields(&problem), ["state"]);
    }

    async fn paging_survives_concurrent_inserts(app: TestApp) {
        let w = world(&app, "any").await;
        let token = app.token_for(&w.requester);
        let app = &app;
        let w = &w;
        let make = || async move {
            let request = submit(app, w).await;
            expect_status(act(app, &request["id"], "cancel", &w.requester, json!({})).await, StatusCode::OK).await;
            request["id"].as_str().unwrap().to_owned()
        };
        let mut existing = Vec::new();
        for _ in 0..7 {
            existing.push(make().await);
        }
        existing.reverse();
        let mut seen = Vec::new();
        let mut page_token: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut path = "/v1/me/access-requests?limit=2".to_owned();
            if let Some(next) = &page_token {
                path.push_str(&format!("&page_token={next}"));
            }
            let page = expect_status(app.get(&path, &token).await, StatusCode::OK).await;
            seen.extend(ids(&page));
            pages += 1;
            // Someone adds a request while the client pages.
            make().await;
            match page["next_page_token"].as_str() {
                Some(next) => page_token = Some(next.to_owned()),
                None => break,
            }
        }
        assert!(pages >= 4, "{pages} pages");
        assert_eq!(seen, existing, "no duplicates, no gaps, newest first");
    }

    async fn tasks_show_only_active_steps_awaiting_the_caller(app: TestApp) {
        let w = world(&app, "all_in_order").await;
        let request = submit(&app, &w).await;
        let id = request["id"].as_str().unwrap().to_owned();
        let app = &app;
        let tasks = |who: &str| {
            let token = app.token_for(who);
            async move { task_ids(&expect_status(app.get("/v1/me/tasks", &token).await, StatusCode::OK).await) }
        };
        assert_eq!(tasks(&w.manager).await, [id.as_str()]);
        assert!(tasks(&w.reviewers[0]).await.is_empty(), "a waiting step is not a task yet");
        assert!(tasks(&w.requester).await.is_empty(), "never your own request");

        expect_status(act(app, &request["id"], "approve", &w.manager, json!({})).await, StatusCode::OK).await;
        assert!(tasks(&w.manager).await.is_empty(), "nothing once decided");
        assert_eq!(tasks(&w.reviewers[0]).await, [id.as_str()]);
        assert_eq!(tasks(&w.reviewers[1]).await, [id.as_str()]);

        expect_status(act(app, &request["id"], "approve", &w.reviewers[0], json!({})).await, StatusCode::OK).await;
        assert!(tasks(&w.reviewers[0]).await.is_empty());
        assert_eq!(tasks(&w.reviewers[1]).await, [id.as_str()], "require_all: still waiting for the other member");
        expect_status(act(app, &request["id"], "deny", &w.reviewers[1], json!({ "reason": "No" })).await, StatusCode::OK).await;
        assert!(tasks(&w.reviewers[1]).await.is_empty());
    }
}
