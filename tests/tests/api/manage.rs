//! Manage Requests (seed 004): Open, Closed and Action Required, scoped by role, with counts, stable
//! paging and each ticket's timeline; reassignment by App Admins and IT Admins.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::fulfilment::{Shop, approved, complete, shop, task};
use crate::helpers::*;
use crate::requests::{act, join};

/// The tickets of the scenario: `provisioning` (Figma, approved, waiting on the IT Admins),
/// `pending` (Figma, waiting on the manager), `canceled` (Figma, closed) and `miro` (the other
/// app, approved at once, waiting on its App Admin).
struct Tickets {
    provisioning: String,
    pending: String,
    canceled: String,
    miro: String,
}

async fn person_of(app: &TestApp, shop: &Shop, n: u32) -> String {
    let person = app
        .create_user_with(json!({ "email": format!("p{n}@example.org"), "display_name": format!("P{n}"), "manager_id": shop.manager }))
        .await;
    let flow = expect_status(
        app.get(
            &format!("/v1/approval-flows/{}", shop.flow),
            &app.admin_token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    join(
        app,
        flow["visibility_group_ids"][0].as_str().unwrap(),
        &person,
    )
    .await;
    person
}

async fn request_as(app: &TestApp, who: &str, flow: &str) -> Value {
    let body = json!({ "flow_id": flow, "reason": "Design reviews for the onboarding", "duration_seconds": 3600 });
    expect_status(
        app.post("/v1/access-requests", &app.token_for(who), &body)
            .await,
        StatusCode::CREATED,
    )
    .await
}

async fn tickets(app: &TestApp, shop: &Shop) -> Tickets {
    let provisioning = approved(app, shop).await["id"].as_str().unwrap().to_owned();
    let pending = request_as(app, &person_of(app, shop, 1).await, &shop.flow).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let third = person_of(app, shop, 2).await;
    let canceled = request_as(app, &third, &shop.flow).await;
    expect_status(
        act(app, &canceled["id"], "cancel", &third, json!({})).await,
        StatusCode::OK,
    )
    .await;
    let flows = expect_status(
        app.get("/v1/approval-flows?limit=50", &app.admin_token)
            .await,
        StatusCode::OK,
    )
    .await;
    let miro = flows["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Miro")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({ "flow_id": miro, "reason": "Workshops with the design team" });
    let miro = expect_status(
        app.post("/v1/access-requests", &app.token_for(&third), &body)
            .await,
        StatusCode::CREATED,
    )
    .await;
    Tickets {
        provisioning,
        pending,
        canceled: canceled["id"].as_str().unwrap().to_owned(),
        miro: miro["id"].as_str().unwrap().to_owned(),
    }
}

/// Every ticket of `view` for `who`, page by page (`limit` a page), with the counts of the first page.
async fn view(app: &TestApp, who: &str, view: &str, limit: u32) -> (BTreeSet<String>, Value) {
    let token = app.token_for(who);
    let first = expect_status(
        app.get(
            &format!("/v1/manage/requests?view={view}&limit={limit}"),
            &token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let items = app
        .collect_pages(&format!("/v1/manage/requests?view={view}"), &token, limit)
        .await;
    let ids: Vec<String> = items
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    let set: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(set.len(), ids.len(), "no ticket twice across pages");
    (set, first["counts"].clone())
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// Checks the three views of `who` against what they should hold, at two page sizes, with counts
/// equal to the lists' lengths.
async fn expect_views(
    app: &TestApp,
    who: &str,
    open: &[&String],
    closed: &[&String],
    action: &[&String],
) {
    for limit in [1, 50] {
        let (got_open, counts) = view(app, who, "open", limit).await;
        assert_eq!(got_open, set(open), "open, page size {limit}");
        let (got_closed, _) = view(app, who, "closed", limit).await;
        assert_eq!(got_closed, set(closed), "closed, page size {limit}");
        let (got_action, _) = view(app, who, "action_required", limit).await;
        assert_eq!(
            got_action,
            set(action),
            "action required, page size {limit}"
        );
        assert_eq!(
            counts,
            json!({ "open": open.len(), "closed": closed.len(), "action_required": action.len() })
        );
    }
}

both_backends! {
    async fn administrators_see_every_ticket_in_manage_requests(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "manual", "assignment": true })).await;
        let t = tickets(&app, &shop).await;
        let admin = app.admin_id.clone();
        expect_views(&app, &admin, &[&t.provisioning, &t.pending, &t.miro], &[&t.canceled], &[&t.provisioning]).await;
        let page = expect_status(app.get("/v1/manage/requests", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 3, "open by default");
    }

    async fn app_admins_see_the_tickets_of_the_flows_they_own(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "manual", "assignment": true })).await;
        let t = tickets(&app, &shop).await;
        expect_views(&app, &shop.owner, &[&t.provisioning, &t.pending], &[&t.canceled], &[]).await;
        expect_views(&app, &shop.other_owner, &[&t.miro], &[], &[&t.miro]).await;
        expect_status(complete(&app, &json!({ "id": t.provisioning }), "provisioning", &app.admin_token, json!({})).await, StatusCode::OK).await;
        expect_views(&app, &shop.owner, &[&t.provisioning, &t.pending], &[&t.canceled], &[&t.provisioning]).await;
    }

    async fn app_approvers_see_the_tickets_whose_steps_named_them(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "manual", "assignment": true })).await;
        let t = tickets(&app, &shop).await;
        // The manager approves every Figma request: named by each, pending or not.
        expect_views(&app, &shop.manager, &[&t.provisioning, &t.pending], &[&t.canceled], &[&t.pending]).await;
    }

    async fn basic_members_have_no_manage_requests(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "manual", "assignment": true })).await;
        tickets(&app, &shop).await;
        for who in [&shop.stranger, &shop.requester] {
            for view in ["open", "closed", "action_required"] {
                let problem = expect_problem(
                    app.get(&format!("/v1/manage/requests?view={view}"), &app.token_for(who)).await,
                    StatusCode::FORBIDDEN,
                ).await;
                assert!(problem["detail"].as_str().unwrap().contains("App Admins"), "{problem}");
            }
        }
        let problem = expect_problem(app.get("/v1/manage/requests?view=maybe", &app.admin_token).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(error_fields(&problem), ["view"]);
    }

    async fn the_timeline_shows_decisions_comments_reassignments_and_fulfilment_in_order(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "manual", "assignment": true })).await;
        let deputy = app.create_user("dan@example.org", "Dan Deputy").await;
        let request = crate::fulfilment::submit_to(&app, &shop).await;
        let id = request["id"].clone();
        expect_status(act(&app, &id, "comments", &shop.requester, json!({ "body": "Needed for Monday" })).await, StatusCode::CREATED).await;
        // The App Admin moves the manager's place to someone better suited.
        let moved = expect_status(
            act(&app, &id, "reassign", &shop.owner, json!({ "from_user_id": shop.manager, "to_user_id": deputy })).await,
            StatusCode::OK,
        ).await;
        assert_eq!(moved["steps"][0]["approver_ids"], json!([deputy]));
        expect_status(act(&app, &id, "approve", &deputy, json!({ "comment": "ok" })).await, StatusCode::OK).await;
        // An IT Admin hands the provisioning to another, who became an administrator since.
        let newcomer = app
            .create_user_with(json!({ "email": "nia@example.org", "display_name": "Nia IT", "is_admin": true }))
            .await;
        let handed = expect_status(
            app.post(
                &format!("/v1/access-requests/{}/fulfilment/provisioning/reassign", id.as_str().unwrap()),
                &app.admin_token,
                &json!({ "from_user_id": app.admin_id, "to_user_id": newcomer }),
            ).await,
            StatusCode::OK,
        ).await;
        let assignees = task(&handed, "provisioning")["assignee_ids"].as_array().unwrap().clone();
        assert!(!assignees.contains(&json!(app.admin_id)) && assignees.contains(&json!(newcomer)), "{assignees:?}");
        expect_status(complete(&app, &request, "provisioning", &app.token_for(&newcomer), json!({ "note": "done" })).await, StatusCode::OK).await;
        expect_status(complete(&app, &request, "assignment", &app.token_for(&shop.owner), json!({})).await, StatusCode::OK).await;

        let page = expect_status(app.get("/v1/manage/requests?view=closed", &app.token_for(&shop.owner)).await, StatusCode::OK).await;
        let ticket = page["items"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap();
        let timeline: Vec<(String, Value)> = ticket["history"].as_array().unwrap().iter()
            .map(|e| (e["type"].as_str().unwrap().trim_start_matches("access_management_").to_owned(), e["data"]["task"].clone()))
            .collect();
        let expected: Vec<(&str, Value)> = vec![
            ("access_request", Value::Null),
            ("access_request_comment", Value::Null),
            ("access_request_reassign", Value::Null),
            ("access_request_approval", Value::Null),
            ("access_request_fulfilment_task_open", json!("provisioning")),
            ("access_request_reassign", json!("provisioning")),
            ("access_request_fulfilment_task_done", json!("provisioning")),
            ("association_change", Value::Null),
            ("access_request_fulfilment_task_open", json!("assignment")),
            ("access_request_fulfilment_task_done", json!("assignment")),
        ];
        let expected: Vec<(String, Value)> = expected.into_iter().map(|(t, d)| (t.to_owned(), d)).collect();
        assert_eq!(timeline, expected);
        let reassigned = &ticket["history"][2];
        assert_eq!(reassigned["actor_id"], shop.owner.as_str(), "recorded with who moved it");
        assert_eq!(reassigned["data"]["from_user_id"], shop.manager.as_str());
        assert_eq!(reassigned["data"]["to_user_id"], deputy.as_str());
        assert_eq!(ticket["history"][5]["actor_id"], app.admin_id.as_str());
        let detail = expect_status(app.get(&format!("/v1/access-requests/{}", id.as_str().unwrap()), &app.token_for(&shop.owner)).await, StatusCode::OK).await;
        assert_eq!(detail["history"], ticket["history"], "the same timeline as the request's page, which the App Admin may read");
    }

    async fn only_app_admins_and_it_admins_move_someone_elses_place(app: TestApp) {
        let shop = shop(&app, json!({ "provisioning": "manual", "assignment": true })).await;
        let deputy = app.create_user("dan@example.org", "Dan Deputy").await;
        let request = crate::fulfilment::submit_to(&app, &shop).await;
        let id = request["id"].clone();
        let body = json!({ "from_user_id": shop.manager, "to_user_id": deputy });
        expect_problem(act(&app, &id, "reassign", &shop.other_owner, body.clone()).await, StatusCode::NOT_FOUND).await;
        let nobody = json!({ "from_user_id": shop.stranger, "to_user_id": deputy });
        let problem = expect_problem(act(&app, &id, "reassign", &shop.owner, nobody).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["from_user_id"]);
        let moved = expect_status(act(&app, &id, "reassign", &app.admin_id, body).await, StatusCode::OK).await;
        assert_eq!(moved["steps"][0]["approver_ids"], json!([deputy]), "an IT Admin moves the manager's place");
        expect_status(act(&app, &id, "approve", &deputy, json!({})).await, StatusCode::OK).await;
        let path = format!("/v1/access-requests/{}/fulfilment/provisioning/reassign", id.as_str().unwrap());
        let to_owner = json!({ "from_user_id": app.admin_id, "to_user_id": shop.owner });
        let problem = expect_problem(app.post(&path, &app.admin_token, &to_owner).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["to_user_id"], "the IT Admins' task goes to an administrator");
        let stranger = json!({ "from_user_id": app.admin_id, "to_user_id": shop.second_admin });
        expect_problem(app.post(&path, &app.token_for(&shop.stranger), &stranger).await, StatusCode::FORBIDDEN).await;
        let assign = format!("/v1/access-requests/{}/fulfilment/assignment/reassign", id.as_str().unwrap());
        let waiting = expect_problem(app.post(&assign, &app.token_for(&shop.owner), &json!({ "to_user_id": deputy })).await, StatusCode::CONFLICT).await;
        assert!(waiting["detail"].as_str().unwrap().contains("waiting"), "{waiting}");
    }
}
