//! Help requests (seed 004's "ask for help" from an app's card): asked of the flow's App Admins (or
//! the administrators), answered with comments both ways, resolved, never granting access, and in
//! and out of the answerers' Action Required (`waiting_on_me`).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::receivers::SmtpServer;
use crate::requests::{World, act, join, submit, world};
use crate::{both_backends, per_backend};

/// A flow visible to the world's requester whose App Admin (owner) is Olive; returns its id and Olive's.
async fn owned_flow(app: &TestApp, w: &World) -> (String, String) {
    let olive = app.create_user("olive@example.org", "Olive Owner").await;
    let flow = json!({
        "kind": "resource_request", "name": "Figma", "display": { "logo": "figma" }, "target_group_id": w.target,
        "owner_ids": [olive], "visibility_group_ids": [w.visible], "approval_type": "manual",
        "approvers": [{ "type": "resource_owner" }]
    });
    let flow = expect_status(
        app.post("/v1/approval-flows", &app.admin_token, &flow)
            .await,
        StatusCode::CREATED,
    )
    .await;
    (flow["id"].as_str().unwrap().to_owned(), olive)
}

async fn ask(app: &TestApp, token: &str, flow: &str, message: &str) -> Value {
    let response = app
        .post(
            &format!("/v1/catalog/{flow}/help"),
            token,
            &json!({ "message": message }),
        )
        .await;
    expect_status(response, StatusCode::CREATED).await
}

async fn waiting_on(app: &TestApp, token: &str) -> Vec<String> {
    let page = expect_status(
        app.get("/v1/help-requests?waiting_on_me=true", token).await,
        StatusCode::OK,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_owned())
        .collect()
}

fn path(help: &Value, rest: &str) -> String {
    format!("/v1/help-requests/{}{rest}", help["id"].as_str().unwrap())
}

/// The whole conversation, with its emails: the App Admin is asked, each side hears of the other's
/// comments, the asker hears of the resolution, and no access is ever granted.
async fn a_question_is_answered_with_comments_and_resolved_without_granting_access(
    backend: Backend,
) {
    let smtp = SmtpServer::start();
    let options = Options {
        smtp_url: Some(smtp.url()),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_for(backend, options).await else {
        return;
    };
    let w = world(&app, "any").await;
    let (flow, olive) = owned_flow(&app, &w).await;
    let (riley, olive_token) = (app.token_for(&w.requester), app.token_for(&olive));

    let help = ask(
        &app,
        &riley,
        &flow,
        " Which licence do I need to edit the design system? ",
    )
    .await;
    assert_eq!(
        (help["kind"].as_str(), help["state"].as_str()),
        (Some("help_request"), Some("open"))
    );
    assert_eq!(
        (help["message"].as_str(), help["answerer_ids"].clone()),
        (
            Some("Which licence do I need to edit the design system?"),
            json!([olive])
        )
    );
    assert_eq!(
        waiting_on(&app, &olive_token).await,
        [help["id"].as_str().unwrap()]
    );
    assert!(
        waiting_on(&app, &riley).await.is_empty(),
        "the asker waits on nobody's action of theirs"
    );
    eventually("Olive is asked", || async {
        smtp.mails_to("olive@example.org").len() == 1
    })
    .await;
    let asked = &smtp.mails_to("olive@example.org")[0];
    assert_eq!(asked.subject, "Riley asks for help with Figma");
    assert!(
        asked.text.contains(&format!(
            "{PORTAL_URL}/help-requests/{}",
            help["id"].as_str().unwrap()
        )),
        "{}",
        asked.text
    );

    let answer = json!({ "body": "The Professional seat covers it." });
    expect_status(
        app.post(&path(&help, "/comments"), &olive_token, &answer)
            .await,
        StatusCode::CREATED,
    )
    .await;
    eventually("Riley hears the answer", || async {
        smtp.mails_to("riley@example.org").len() == 1
    })
    .await;
    assert!(
        smtp.mails_to("riley@example.org")[0]
            .text
            .contains("The Professional seat covers it.")
    );
    let thanks = json!({ "body": "Thanks, I will ask for it." });
    expect_status(
        app.post(&path(&help, "/comments"), &riley, &thanks).await,
        StatusCode::CREATED,
    )
    .await;
    eventually("Olive hears the reply", || async {
        smtp.mails_to("olive@example.org").len() == 2
    })
    .await;

    let resolved = expect_status(
        app.post(&path(&help, "/resolve"), &olive_token, &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (resolved["state"].as_str(), resolved["resolved_by"].as_str()),
        (Some("resolved"), Some(olive.as_str()))
    );
    assert!(
        waiting_on(&app, &olive_token).await.is_empty(),
        "out of Action Required once resolved"
    );
    eventually("Riley hears it is resolved", || async {
        smtp.mails_to("riley@example.org")
            .iter()
            .any(|m| m.subject == "Your question about Figma was resolved")
    })
    .await;
    expect_problem(
        app.post(&path(&help, "/resolve"), &riley, &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    expect_problem(
        app.post(&path(&help, "/comments"), &riley, &thanks).await,
        StatusCode::CONFLICT,
    )
    .await;

    let detail = expect_status(app.get(&path(&help, ""), &riley).await, StatusCode::OK).await;
    let bodies: Vec<&str> = detail["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "The Professional seat covers it.",
            "Thanks, I will ask for it."
        ]
    );
    let events = expect_status(
        app.get(
            &format!("/v1/events?subject_id={}", help["id"].as_str().unwrap()),
            &app.admin_token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let mut types: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    types.reverse();
    assert_eq!(
        types,
        [
            "access_management_help_request",
            "access_management_help_request_comment",
            "access_management_help_request_comment",
            "access_management_help_request_resolve"
        ]
    );

    // No access came of it: no grant, no membership, no access request.
    let grants = expect_status(app.get("/v1/me/grants", &riley).await, StatusCode::OK).await;
    assert!(grants["items"].as_array().unwrap().is_empty());
    let requests = expect_status(
        app.get("/v1/me/access-requests", &riley).await,
        StatusCode::OK,
    )
    .await;
    assert!(requests["items"].as_array().unwrap().is_empty());
    assert!(
        crate::requests::grant_memberships(&app, &w.target, &w.requester)
            .await
            .is_empty()
    );
}

per_backend! {
    a_question_is_answered_with_comments_and_resolved_without_granting_access => super::a_question_is_answered_with_comments_and_resolved_without_granting_access,
}

both_backends! {
    async fn without_app_admins_the_administrators_are_asked_and_resolve_it(app: TestApp) {
        let w = world(&app, "any").await;
        let riley = app.token_for(&w.requester);
        let help = ask(&app, &riley, &w.flow, "Is there a read-only role?").await;
        assert_eq!(help["answerer_ids"], json!([app.admin_id]));
        assert_eq!(waiting_on(&app, &app.admin_token).await, [help["id"].as_str().unwrap()]);
        let admin_answer = json!({ "body": "Yes: ask for GitHub Read." });
        expect_status(app.post(&path(&help, "/comments"), &app.admin_token, &admin_answer).await, StatusCode::CREATED).await;
        expect_status(app.post(&path(&help, "/resolve"), &riley, &json!({})).await, StatusCode::OK).await;
        assert!(waiting_on(&app, &app.admin_token).await.is_empty());
        let mine = expect_status(app.get("/v1/help-requests?state=resolved", &riley).await, StatusCode::OK).await;
        assert_eq!(mine["items"][0]["id"], help["id"]);
        let open = expect_status(app.get("/v1/help-requests?state=open", &riley).await, StatusCode::OK).await;
        assert!(open["items"].as_array().unwrap().is_empty());
    }

    async fn only_those_involved_see_a_question_and_only_about_flows_they_see(app: TestApp) {
        let w = world(&app, "any").await;
        let (flow, olive) = owned_flow(&app, &w).await;
        let riley = app.token_for(&w.requester);
        let outsider = app.token_for(&app.create_user("out@example.org", "Outsider").await);
        let response = app.post(&format!("/v1/catalog/{flow}/help"), &outsider, &json!({ "message": "Hello?" })).await;
        expect_problem(response, StatusCode::NOT_FOUND).await;
        let blank = app.post(&format!("/v1/catalog/{flow}/help"), &riley, &json!({ "message": "  " })).await;
        assert_eq!(error_fields(&expect_problem(blank, StatusCode::UNPROCESSABLE_ENTITY).await), ["message"]);

        let help = ask(&app, &riley, &flow, "Which licence?").await;
        // The manager approves the world's flow but is no App Admin of Figma.
        let manager = app.token_for(&w.manager);
        for token in [&outsider, &manager] {
            expect_problem(app.get(&path(&help, ""), token).await, StatusCode::NOT_FOUND).await;
            expect_problem(app.post(&path(&help, "/resolve"), token, &json!({})).await, StatusCode::NOT_FOUND).await;
        }
        let listed = expect_status(app.get("/v1/help-requests", &manager).await, StatusCode::OK).await;
        assert!(listed["items"].as_array().unwrap().is_empty());
        expect_status(app.get(&path(&help, ""), &app.token_for(&olive)).await, StatusCode::OK).await;
        expect_status(app.get(&path(&help, ""), &app.admin_token).await, StatusCode::OK).await;
    }

    async fn concurrent_comments_all_land_and_a_resolution_races_cleanly(app: TestApp) {
        let w = world(&app, "any").await;
        let (flow, olive) = owned_flow(&app, &w).await;
        let help = ask(&app, &app.token_for(&w.requester), &flow, "Which licence?").await;
        let comments = path(&help, "/comments");
        let authors = [&w.requester, &olive, &w.requester, &olive, &app.admin_id, &w.requester];
        let calls = authors.iter().enumerate().map(|(n, author)| {
            let (client, url, token) = (app.client.clone(), app.url(&comments), app.token_for(author));
            tokio::spawn(async move { client.post(url).bearer_auth(token).json(&json!({ "body": format!("Comment {n}") })).send().await.unwrap().status() })
        });
        let statuses: Vec<StatusCode> = futures_util::future::join_all(calls).await.into_iter().map(Result::unwrap).collect();
        assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "{statuses:?}");
        let detail = expect_status(app.get(&path(&help, ""), &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(detail["comments"].as_array().unwrap().len(), authors.len());
        assert_eq!(detail["version"], 1 + authors.len() as i64);

        // A resolution and comments at once: every comment lands before it or is refused as late.
        let resolve = {
            let (client, url, token) = (app.client.clone(), app.url(&path(&help, "/resolve")), app.token_for(&olive));
            tokio::spawn(async move { client.post(url).bearer_auth(token).send().await.unwrap().status() })
        };
        let late = (0..4).map(|n| {
            let (client, url, token) = (app.client.clone(), app.url(&comments), app.token_for(&w.requester));
            tokio::spawn(async move { client.post(url).bearer_auth(token).json(&json!({ "body": format!("Late {n}") })).send().await.unwrap().status() })
        });
        assert_eq!(resolve.await.unwrap(), StatusCode::OK);
        let late: Vec<StatusCode> = futures_util::future::join_all(late).await.into_iter().map(Result::unwrap).collect();
        assert!(late.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT), "{late:?}");
        let detail = expect_status(app.get(&path(&help, ""), &app.admin_token).await, StatusCode::OK).await;
        let landed = late.iter().filter(|s| **s == StatusCode::CREATED).count();
        assert_eq!(detail["comments"].as_array().unwrap().len(), authors.len() + landed);
        assert_eq!(detail["state"], "resolved");
    }

    async fn the_questions_waiting_on_an_answerer_page_by_when_they_were_asked(app: TestApp) {
        let w = world(&app, "any").await;
        let (flow, olive) = owned_flow(&app, &w).await;
        let colleague = app.create_user("cole@example.org", "Cole").await;
        join(&app, &w.visible, &colleague).await;
        let mut asked = Vec::new();
        for (asker, n) in [(&w.requester, 1), (&colleague, 2), (&w.requester, 3)] {
            let help = ask(&app, &app.token_for(asker), &flow, &format!("Question {n}")).await;
            asked.push(help["id"].as_str().unwrap().to_owned());
            app.clock.advance(chrono::Duration::seconds(1));
        }
        let olive = app.token_for(&olive);
        let pages = app.collect_pages("/v1/help-requests?waiting_on_me=true", &olive, 1).await;
        let ids: Vec<&str> = pages.iter().map(|h| h["id"].as_str().unwrap()).collect();
        asked.reverse();
        assert_eq!(ids, asked, "newest first, each once");
        expect_status(app.post(&format!("/v1/help-requests/{}/resolve", asked[1]), &olive, &json!({})).await, StatusCode::OK).await;
        let left = app.collect_pages("/v1/help-requests?waiting_on_me=true", &olive, 1).await;
        assert_eq!(left.len(), 2);
        let resolved = expect_status(app.get("/v1/help-requests?waiting_on_me=true&state=resolved", &olive).await, StatusCode::OK).await;
        assert!(resolved["items"].as_array().unwrap().is_empty());
    }

    async fn the_askers_requests_list_help_and_access_requests_with_their_kind_open_and_closed(app: TestApp) {
        let w = world(&app, "any").await;
        let (flow, olive) = owned_flow(&app, &w).await;
        let riley = app.token_for(&w.requester);
        let access = submit(&app, &w).await;
        app.clock.advance(chrono::Duration::seconds(1));
        let open_question = ask(&app, &riley, &flow, "Which licence?").await;
        app.clock.advance(chrono::Duration::seconds(1));
        expect_status(act(&app, &access["id"], "cancel", &w.requester, json!({})).await, StatusCode::OK).await;
        let answered = ask(&app, &riley, &flow, "Is there a read-only role?").await;
        expect_status(app.post(&path(&answered, "/resolve"), &app.token_for(&olive), &json!({})).await, StatusCode::OK).await;

        let kinds = |items: &[Value]| -> Vec<(String, String)> {
            items.iter().map(|item| {
                let kind = item["kind"].as_str().unwrap().to_owned();
                let inner = &item[kind.as_str()];
                assert_eq!(item["created_at"], inner["created_at"]);
                (kind, inner["id"].as_str().unwrap().to_owned())
            }).collect()
        };
        let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
        let all = app.collect_pages("/v1/me/requests", &riley, 1).await;
        assert_eq!(kinds(&all), [
            ("help_request".to_owned(), id(&answered)),
            ("help_request".to_owned(), id(&open_question)),
            ("access_request".to_owned(), id(&access)),
        ], "newest first, each once, across pages of one");
        let open = expect_status(app.get("/v1/me/requests?state=open", &riley).await, StatusCode::OK).await;
        assert_eq!(kinds(open["items"].as_array().unwrap()), [("help_request".to_owned(), id(&open_question))]);
        let closed = app.collect_pages("/v1/me/requests?state=closed", &riley, 1).await;
        assert_eq!(kinds(&closed), [("help_request".to_owned(), id(&answered)), ("access_request".to_owned(), id(&access))]);
        // Only what the caller asked: Olive answers them but asked nothing.
        let olives = expect_status(app.get("/v1/me/requests", &app.token_for(&olive)).await, StatusCode::OK).await;
        assert!(olives["items"].as_array().unwrap().is_empty());
    }
}
