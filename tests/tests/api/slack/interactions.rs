//! Deciding with Slack's buttons, exactly as the API decides: Approve at once, Deny through a modal;
//! forged, stale, strangers' and the requester's own clicks refused; a replay decides once.

use super::*;
use crate::requests::grant_memberships;

async fn approving_in_slack_approves_grants_and_closes_every_message(backend: Backend) {
    let Some((app, slack)) = spawn(backend).await else {
        return;
    };
    let w = world(&app, "any").await;
    let flow = admin_channel_flow(&app, &w).await;
    let request = request_through(&app, &w, &flow).await;
    let id = request["id"].as_str().unwrap();
    eventually("both channels have the request", || async {
        slack.succeeded("chat.postMessage").len() == 2
    })
    .await;

    let answer = slack
        .interact(
            &interactions_url(&app),
            &click(ADA, "approve", id, "1733130100.000100"),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
    eventually("the request is approved", || async {
        status_of(&app, &request["id"]).await == "approved"
    })
    .await;
    assert_eq!(
        grant_memberships(&app, &w.target, &w.requester).await.len(),
        1,
        "the grant is applied"
    );
    let approved = events_of(
        &app,
        &request["id"],
        "access_management_access_request_approval",
    )
    .await;
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0]["data"]["via"], "slack");
    assert_eq!(
        approved[0]["data"]["override"], false,
        "an approver's decision, not an override"
    );
    assert_eq!(
        approved[0]["actor_id"].as_str(),
        Some(app.admin_id.as_str())
    );

    eventually(
        "every message shows the outcome without buttons",
        || async {
            let messages = messages_about(&slack, id);
            messages.len() == 2
                && messages
                    .iter()
                    .all(|m| !has_buttons(m) && m.to_string().contains("Approved"))
        },
    )
    .await;
    eventually("the requester is told in Slack", || async {
        posts_to(&slack, &dm(RILEY)).len() == 1
    })
    .await;
}

async fn denying_in_slack_asks_why_in_a_modal_and_denies_with_reason_and_next_steps(
    backend: Backend,
) {
    let Some((app, slack)) = spawn(backend).await else {
        return;
    };
    let w = slack_world(&app, "any").await;
    let request = submit(&app, &w).await;
    let id = request["id"].as_str().unwrap();
    eventually("the manager is asked", || async {
        posts_to(&slack, &dm(MAX)).len() == 1
    })
    .await;

    let answer = slack
        .interact(
            &interactions_url(&app),
            &click(MAX, "deny", id, "1733130200.000200"),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
    eventually("a modal opens", || async {
        !slack.succeeded("views.open").is_empty()
    })
    .await;
    let opened = &slack.succeeded("views.open")[0].body;
    assert_eq!(opened["trigger_id"], "trigger.1733130200.000200");
    assert_eq!(
        status_of(&app, &request["id"]).await,
        "pending",
        "the Deny button alone decides nothing"
    );

    let submitted = submit_denial(
        MAX,
        &opened["view"],
        "V0DENY01",
        "Not needed for the audit",
        "Ask for read access instead",
    );
    let answer = slack.interact(&interactions_url(&app), &submitted).await;
    assert_eq!(answer.status(), StatusCode::OK);
    eventually("the request is denied", || async {
        status_of(&app, &request["id"]).await == "denied"
    })
    .await;
    let detail = expect_status(
        app.get(&format!("/v1/access-requests/{id}"), &app.admin_token)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        detail["decision"]["reason"], "Not needed for the audit",
        "{detail}"
    );
    assert_eq!(
        detail["decision"]["next_steps"],
        "Ask for read access instead"
    );
    let denied = events_of(
        &app,
        &request["id"],
        "access_management_access_request_deny",
    )
    .await;
    assert_eq!(
        (denied.len(), &denied[0]["data"]["via"]),
        (1, &json!("slack"))
    );
    eventually("every message is closed", || async {
        let messages = messages_about(&slack, id);
        !messages.is_empty() && messages.iter().all(|m| !has_buttons(m))
    })
    .await;
}

async fn forged_stale_strangers_and_the_requesters_own_clicks_change_nothing(backend: Backend) {
    let Some((app, slack)) = spawn(backend).await else {
        return;
    };
    let w = slack_world(&app, "any").await;
    app.create_user("stranger@example.org", "Stan Stranger")
        .await;
    let request = submit(&app, &w).await;
    let id = request["id"].as_str().unwrap();
    let url = interactions_url(&app);
    let now = chrono::Utc::now().timestamp();

    let forged = slack
        .post_interaction(
            &url,
            &click(MAX, "approve", id, "1.1"),
            "not-the-secret",
            now,
        )
        .await;
    expect_problem(forged, StatusCode::UNAUTHORIZED).await;
    let stale = slack
        .post_interaction(
            &url,
            &click(MAX, "approve", id, "1.2"),
            SIGNING_SECRET,
            now - 6 * 60,
        )
        .await;
    expect_problem(stale, StatusCode::UNAUTHORIZED).await;
    let unsigned = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("payload={}", click(MAX, "approve", id, "1.3")))
        .send()
        .await
        .unwrap();
    expect_problem(unsigned, StatusCode::UNAUTHORIZED).await;

    for (who, ts) in [(STRANGER, "1.4"), (RILEY, "1.5")] {
        let answer = slack.interact(&url, &click(who, "approve", id, ts)).await;
        assert_eq!(
            answer.status(),
            StatusCode::OK,
            "Slack is answered; the click is refused after"
        );
    }
    eventually("both clicks are refused and audited", || async {
        events_of(&app, &request["id"], "slack_interaction_refused")
            .await
            .len()
            == 2
    })
    .await;
    let reasons: Vec<String> = events_of(&app, &request["id"], "slack_interaction_refused")
        .await
        .iter()
        .map(|e| e["data"]["reason"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("own request")),
        "the requester: {reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("not the requester or an approver")),
        "the stranger: {reasons:?}"
    );
    settle().await;
    assert_eq!(
        status_of(&app, &request["id"]).await,
        "pending",
        "nothing changed"
    );
    let decided = events_of(
        &app,
        &request["id"],
        "access_management_access_request_step_decision",
    )
    .await;
    assert!(decided.is_empty());
    assert!(
        slack.succeeded("chat.update").is_empty(),
        "the manager's message still asks them"
    );
}

async fn a_replayed_interaction_decides_once(backend: Backend) {
    let Some((app, slack)) = spawn(backend).await else {
        return;
    };
    let w = slack_world(&app, "all").await;
    let request = submit(&app, &w).await;
    let id = request["id"].as_str().unwrap();
    let click = click(MAX, "approve", id, "1733130300.000300");
    for _ in 0..3 {
        let answer = slack.interact(&interactions_url(&app), &click).await;
        assert_eq!(answer.status(), StatusCode::OK, "every retry is answered");
    }
    eventually("the manager's step is approved", || async {
        !events_of(
            &app,
            &request["id"],
            "access_management_access_request_step_decision",
        )
        .await
        .is_empty()
    })
    .await;
    settle().await;
    let decided = events_of(
        &app,
        &request["id"],
        "access_management_access_request_step_decision",
    )
    .await;
    assert_eq!(decided.len(), 1, "decided once");
    assert_eq!(decided[0]["data"]["via"], "slack");
    let acted = slack_deliveries(&app)
        .await
        .into_iter()
        .filter(|d| d["event_type"] == "interaction")
        .count();
    assert_eq!(acted, 1, "one interaction queued");
    assert!(slack.calls().iter().all(|c| c.method != "views.open"));
}

per_backend! {
    approving_in_slack_approves_grants_and_closes_every_message => super::approving_in_slack_approves_grants_and_closes_every_message,
    denying_in_slack_asks_why_in_a_modal_and_denies_with_reason_and_next_steps => super::denying_in_slack_asks_why_in_a_modal_and_denies_with_reason_and_next_steps,
    forged_stale_strangers_and_the_requesters_own_clicks_change_nothing => super::forged_stale_strangers_and_the_requesters_own_clicks_change_nothing,
    a_replayed_interaction_decides_once => super::a_replayed_interaction_decides_once,
}
