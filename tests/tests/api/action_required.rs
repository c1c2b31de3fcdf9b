//! Action Required (`GET /v1/me/tasks`): every action waiting on the caller, approvals,
//! fulfilment tasks and help requests to answer in one list, filtered by action and paged by
//! (since, id).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::fulfilment::{approved, complete, shop};
use crate::helpers::*;

/// (action, id of the access request or help request it is on) of every item, following the pages.
async fn actions(app: &TestApp, who: &str, query: &str, limit: u32) -> Vec<(String, String)> {
    app.collect_pages(&format!("/v1/me/tasks{query}"), &app.token_for(who), limit)
        .await
        .iter()
        .map(|item| {
            let action = item["action"].as_str().unwrap().to_owned();
            let (on, other) = if action == "answer" {
                ("help_request", "access_request")
            } else {
                ("access_request", "help_request")
            };
            assert!(item[other].is_null(), "{item}");
            (action, item[on]["id"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn id(request: &Value) -> String {
    request["id"].as_str().unwrap().to_owned()
}

both_backends! {
    async fn fulfilment_tasks_appear_in_action_required_and_leave_it_when_done(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "manual", "assignment": true })).await;
        let request = approved(&app, &shop).await;
        let admin = app.admin_id.clone();
        assert_eq!(actions(&app, &admin, "", 50).await, [("provision".to_owned(), id(&request))]);
        assert_eq!(actions(&app, &shop.second_admin, "", 50).await, [("provision".to_owned(), id(&request))]);
        assert!(actions(&app, &shop.owner, "", 50).await.is_empty(), "assignment waits for provisioning");

        let page = expect_status(app.get("/v1/me/tasks", &app.admin_token).await, StatusCode::OK).await;
        let item = &page["items"][0];
        assert_eq!(item["since"], item["access_request"]["fulfilment"]["tasks"][0]["opened_at"], "{item}");
        assert_eq!(item["access_request"]["status"], "approved");

        expect_status(complete(&app, &request, "provisioning", &app.admin_token, json!({})).await, StatusCode::OK).await;
        assert!(actions(&app, &admin, "", 50).await.is_empty(), "gone once done, for every IT Admin");
        assert!(actions(&app, &shop.second_admin, "", 50).await.is_empty());
        assert_eq!(actions(&app, &shop.owner, "", 50).await, [("assign".to_owned(), id(&request))]);

        expect_status(complete(&app, &request, "assignment", &app.token_for(&shop.owner), json!({})).await, StatusCode::OK).await;
        assert!(actions(&app, &shop.owner, "", 50).await.is_empty());
    }

    async fn action_required_mixes_approvals_and_tasks_filters_by_action_and_pages_stably(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "manual", "assignment": true })).await;
        // The owner approves a flow of their own too: a manual flow whose approver is the resource owner.
        let visible = app.create_group("Reviewers").await;
        crate::requests::join(&app, &visible, &shop.requester).await;
        let review = json!({
            "kind": "resource_request", "name": "Review board", "display": { "logo": "board" },
            "target_group_id": shop.target, "visibility_group_ids": [visible], "owner_ids": [shop.owner],
            "approval_type": "manual", "approvers": [{ "type": "administrator" }]
        });
        let review = expect_status(app.post("/v1/approval-flows", &app.admin_token, &review).await, StatusCode::CREATED).await;
        let mut expected = Vec::new();
        // Three tickets to provision (one per requester), interleaved with approvals of the review board.
        let mut requesters = vec![shop.requester.clone()];
        for n in 0..2 {
            let person = app.create_user(&format!("p{n}@example.org"), &format!("P{n}")).await;
            app.patch(&format!("/v1/users/{person}"), &app.admin_token, &json!({ "manager_id": shop.manager })).await;
            crate::requests::join(&app, &visible, &person).await;
            let designers = expect_status(app.get(&format!("/v1/approval-flows/{}", shop.flow), &app.admin_token).await, StatusCode::OK).await;
            crate::requests::join(&app, designers["visibility_group_ids"][0].as_str().unwrap(), &person).await;
            requesters.push(person);
        }
        for person in &requesters {
            let body = json!({ "flow_id": shop.flow, "reason": "Design reviews for the onboarding", "duration_seconds": 3600 });
            let request = expect_status(app.post("/v1/access-requests", &app.token_for(person), &body).await, StatusCode::CREATED).await;
            app.clock.advance(chrono::Duration::seconds(5));
            let approved = expect_status(crate::requests::act(&app, &request["id"], "approve", &shop.manager, json!({})).await, StatusCode::OK).await;
            expected.push(("provision".to_owned(), id(&approved)));
            app.clock.advance(chrono::Duration::seconds(5));
            let body = json!({ "flow_id": review["id"], "reason": "Join the review board this quarter" });
            let pending = expect_status(app.post("/v1/access-requests", &app.token_for(person), &body).await, StatusCode::CREATED).await;
            expected.push(("approve".to_owned(), id(&pending)));
            app.clock.advance(chrono::Duration::seconds(5));
        }
        expected.reverse();
        let admin = app.admin_id.clone();
        for limit in [1, 2, 4, 50] {
            assert_eq!(actions(&app, &admin, "", limit).await, expected, "newest first, whatever the page size ({limit})");
        }
        let only = |action: &str| expected.iter().filter(|(a, _)| a == action).cloned().collect::<Vec<_>>();
        assert_eq!(actions(&app, &admin, "?action=provision", 1).await, only("provision"));
        assert_eq!(actions(&app, &admin, "?action=approve", 2).await, only("approve"));
        assert!(actions(&app, &admin, "?action=assign", 2).await.is_empty());
        let problem = expect_problem(app.get("/v1/me/tasks?action=dance", &app.admin_token).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(error_fields(&problem), ["action"]);
    }
}

async fn ask(app: &TestApp, asker: &str, flow: &str, message: &str) -> Value {
    let body = json!({ "message": message });
    let path = format!("/v1/catalog/{flow}/help");
    expect_status(
        app.post(&path, &app.token_for(asker), &body).await,
        StatusCode::CREATED,
    )
    .await
}

async fn resolve(app: &TestApp, help: &Value, who: &str) {
    let path = format!("/v1/help-requests/{}/resolve", id(help));
    expect_status(
        app.post(&path, &app.token_for(who), &json!({})).await,
        StatusCode::OK,
    )
    .await;
}

both_backends! {
    async fn help_requests_wait_on_their_answerers_as_answer_among_the_other_actions_until_resolved(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "manual", "assignment": true })).await;
        let figma = expect_status(app.get(&format!("/v1/approval-flows/{}", shop.flow), &app.admin_token).await, StatusCode::OK).await;
        // A flow without App Admins: its questions go to the IT Admins (administrators).
        let sketch = json!({
            "kind": "resource_request", "name": "Sketch", "display": { "logo": "sketch" },
            "target_group_id": shop.target, "visibility_group_ids": figma["visibility_group_ids"],
            "approval_type": "manual", "approvers": [{ "type": "administrator" }]
        });
        let sketch = expect_status(app.post("/v1/approval-flows", &app.admin_token, &sketch).await, StatusCode::CREATED).await;
        let (admin, requester) = (app.admin_id.clone(), shop.requester.clone());

        let request = approved(&app, &shop).await;
        app.clock.advance(chrono::Duration::seconds(5));
        let to_owner = ask(&app, &requester, &shop.flow, "Which licence do I need?").await;
        app.clock.advance(chrono::Duration::seconds(5));
        let to_admins = ask(&app, &requester, &id(&sketch), "Is there a read-only role?").await;
        app.clock.advance(chrono::Duration::seconds(5));
        let body = json!({ "flow_id": sketch["id"], "reason": "Mock-ups for the onboarding" });
        let pending = expect_status(app.post("/v1/access-requests", &app.token_for(&requester), &body).await, StatusCode::CREATED).await;
        app.clock.advance(chrono::Duration::seconds(5));
        let later = ask(&app, &requester, &id(&sketch), "And a viewer role?").await;
        app.clock.advance(chrono::Duration::seconds(5));

        // The App Admin is asked about their app; the asker waits on nobody's answer of theirs.
        assert_eq!(actions(&app, &shop.owner, "", 50).await, [("answer".to_owned(), id(&to_owner))]);
        assert!(actions(&app, &requester, "", 50).await.is_empty());
        let page = expect_status(app.get("/v1/me/tasks", &app.token_for(&shop.owner)).await, StatusCode::OK).await;
        let item = &page["items"][0];
        assert_eq!((&item["since"], &item["help_request"]["state"]), (&to_owner["created_at"], &json!("open")), "{item}");
        assert_eq!(item["help_request"]["message"], "Which licence do I need?");

        // Every administrator: answers mixed with an approval and a provisioning task, newest first.
        let expected = [
            ("answer".to_owned(), id(&later)),
            ("approve".to_owned(), id(&pending)),
            ("answer".to_owned(), id(&to_admins)),
            ("provision".to_owned(), id(&request)),
        ];
        for who in [&admin, &shop.second_admin] {
            for limit in [1, 2, 3, 50] {
                assert_eq!(actions(&app, who, "", limit).await, expected, "whatever the page size ({limit})");
            }
        }
        let answers = [expected[0].clone(), expected[2].clone()];
        assert_eq!(actions(&app, &admin, "?action=answer", 1).await, answers);
        assert_eq!(actions(&app, &admin, "?action=approve", 1).await, [expected[1].clone()]);
        assert_eq!(actions(&app, &admin, "?action=provision", 1).await, [expected[3].clone()]);

        // Resolved (by an answerer, or by the asker), a question leaves Action Required.
        resolve(&app, &to_admins, &shop.second_admin).await;
        let left = [expected[0].clone(), expected[1].clone(), expected[3].clone()];
        assert_eq!(actions(&app, &admin, "", 1).await, left);
        assert_eq!(actions(&app, &shop.second_admin, "", 2).await, left);
        expect_status(complete(&app, &request, "provisioning", &app.admin_token, json!({})).await, StatusCode::OK).await;
        assert_eq!(
            actions(&app, &shop.owner, "", 1).await,
            [("assign".to_owned(), id(&request)), ("answer".to_owned(), id(&to_owner))]
        );
        resolve(&app, &to_owner, &requester).await;
        assert_eq!(actions(&app, &shop.owner, "", 1).await, [("assign".to_owned(), id(&request))]);
        assert!(actions(&app, &shop.owner, "?action=answer", 1).await.is_empty());

        // The asker's open and closed tickets list their help requests with their kind (issue 24 item 6).
        let asked = |state: &'static str| {
            let token = app.token_for(&requester);
            let app = &app;
            async move {
                let page = expect_status(app.get(&format!("/v1/help-requests?state={state}"), &token).await, StatusCode::OK).await;
                page["items"].as_array().unwrap().iter().map(|h| (h["kind"].as_str().unwrap().to_owned(), id(h))).collect::<Vec<_>>()
            }
        };
        let help = |h: &Value| ("help_request".to_owned(), id(h));
        assert_eq!(asked("open").await, [help(&later)]);
        assert_eq!(asked("resolved").await, [help(&to_admins), help(&to_owner)]);
    }
}
