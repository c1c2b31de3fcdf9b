//! Who is asked, and where: channel posts for administrators in channel mode, direct messages for
//! everyone else, each member of a require-all group, and a later step only once it is active.

use super::*;

async fn an_administrator_flow_in_channel_mode_posts_to_its_channels(backend: Backend) {
    let Some((app, slack)) = spawn(backend).await else {
        return;
    };
    let w = world(&app, "any").await;
    let flow = admin_channel_flow(&app, &w).await;
    let request = request_through(&app, &w, &flow).await;

    eventually("both channels have the request", || async {
        posts_to(&slack, "C0SECURITY").len() == 1 && posts_to(&slack, "C0ONCALL01").len() == 1
    })
    .await;
    settle().await;
    let posts = slack.succeeded("chat.postMessage");
    assert_eq!(
        posts.len(),
        2,
        "one post per channel, no direct message to the admin"
    );
    for post in &posts {
        assert!(has_buttons(&post.body), "{}", post.body);
        let text = post.body.to_string();
        assert!(text.contains(request["id"].as_str().unwrap()) && text.contains("Riley"));
        assert!(
            text.contains("Fix the replication lag tonight"),
            "the reason: {text}"
        );
        assert!(
            text.contains(&format!("{PORTAL_URL}/approvals/")),
            "a link to the portal"
        );
    }
    assert!(slack.succeeded("conversations.open").is_empty());
}

async fn a_manager_is_asked_by_direct_message_and_a_later_step_only_once_it_is_active(
    backend: Backend,
) {
    let Some((app, slack)) = spawn(backend).await else {
        return;
    };
    let w = slack_world(&app, "all_in_order").await;
    let request = submit(&app, &w).await;
    eventually("the manager has a direct message", || async {
        posts_to(&slack, &dm(MAX)).len() == 1
    })
    .await;
    settle().await;
    assert!(
        posts_to(&slack, &dm(SAM)).is_empty() && posts_to(&slack, &dm(KIM)).is_empty(),
        "the reviewers' step waits for the manager's"
    );
    let message = &posts_to(&slack, &dm(MAX))[0];
    assert!(has_buttons(message));
    assert!(
        message.to_string().contains("Approval progress"),
        "shown when show_approval_progress is on"
    );

    expect_status(
        act(&app, &request["id"], "approve", &w.manager, json!({})).await,
        StatusCode::OK,
    )
    .await;
    eventually("each reviewer has a direct message", || async {
        posts_to(&slack, &dm(SAM)).len() == 1 && posts_to(&slack, &dm(KIM)).len() == 1
    })
    .await;
    eventually("the manager's message no longer has buttons", || async {
        let updates = slack.succeeded("chat.update");
        updates
            .iter()
            .any(|u| u.body["channel"] == dm(MAX).as_str() && !has_buttons(&u.body))
    })
    .await;
    settle().await;
    assert_eq!(
        posts_to(&slack, &dm(MAX)).len(),
        1,
        "the manager is asked once"
    );
    assert!(
        posts_to(&slack, &dm(RILEY)).is_empty(),
        "the requester is never asked"
    );
}

async fn every_member_of_a_require_all_group_is_asked_and_one_slack_does_not_know_is_skipped(
    backend: Backend,
) {
    let Some((app, slack)) = spawn(backend).await else {
        return;
    };
    let w = slack_world(&app, "all").await;
    let outsider = app.create_user("lee@example.org", "Lee").await;
    let reviewers = expect_status(
        app.get(&format!("/v1/approval-flows/{}", w.flow), &app.admin_token)
            .await,
        StatusCode::OK,
    )
    .await;
    let group = reviewers["approvers"][1]["group_id"]
        .as_str()
        .unwrap()
        .to_owned();
    join(&app, &group, &outsider).await;
    submit(&app, &w).await;

    eventually(
        "the manager and every reviewer Slack knows are asked",
        || async {
            [MAX, SAM, KIM]
                .iter()
                .all(|u| posts_to(&slack, &dm(u)).len() == 1)
        },
    )
    .await;
    eventually("the person Slack does not know is skipped", || async {
        slack_deliveries(&app).await.iter().any(|d| {
            d["status"] == "skipped"
                && d["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("lee@example.org"))
        })
    })
    .await;
    settle().await;
    assert_eq!(
        slack.succeeded("chat.postMessage").len(),
        3,
        "nobody is asked twice"
    );
    let lookups = slack
        .calls()
        .into_iter()
        .filter(|c| c.method == "users.lookupByEmail" && c.body["email"] == "lee@example.org")
        .count();
    assert_eq!(
        lookups, 1,
        "an unknown person is looked up once, not retried"
    );
}

/// Cancellation, expiry and an administrator's override in the portal: every message shows it.
async fn a_request_settled_anywhere_else_closes_every_message(backend: Backend) {
    let Some((app, slack)) = spawn(backend).await else {
        return;
    };
    let w = slack_world(&app, "any").await;
    let closed_as = |id: String, status: &'static str| {
        let slack = &slack;
        async move {
            let messages = messages_about(slack, &id);
            messages.len() == 3
                && messages
                    .iter()
                    .all(|m| !has_buttons(m) && m.to_string().contains(status))
        }
    };
    let ask = |id: String| {
        let slack = &slack;
        async move {
            messages_about(slack, &id)
                .iter()
                .filter(|m| has_buttons(m))
                .count()
                == 3
        }
    };

    let canceled = submit(&app, &w).await;
    let id = canceled["id"].as_str().unwrap().to_owned();
    eventually("the manager and both reviewers are asked", || {
        ask(id.clone())
    })
    .await;
    expect_status(
        act(&app, &canceled["id"], "cancel", &w.requester, json!({})).await,
        StatusCode::OK,
    )
    .await;
    eventually("every message shows the cancellation", || {
        closed_as(id.clone(), "Canceled")
    })
    .await;

    let expired = submit(&app, &w).await;
    let id = expired["id"].as_str().unwrap().to_owned();
    eventually("the approvers are asked again", || ask(id.clone())).await;
    app.clock.advance(chrono::Duration::days(31));
    eventually("every message shows the expiry", || {
        closed_as(id.clone(), "Expired")
    })
    .await;

    let overridden = submit(&app, &w).await;
    let id = overridden["id"].as_str().unwrap().to_owned();
    eventually("the approvers are asked a third time", || ask(id.clone())).await;
    let body = json!({ "override": true, "internal_note": "approved on the phone" });
    expect_status(
        act(&app, &overridden["id"], "approve", &app.admin_id, body).await,
        StatusCode::OK,
    )
    .await;
    eventually(
        "every message shows the override and who made it",
        || async {
            closed_as(id.clone(), "Approved (override)").await
                && messages_about(&slack, &id)
                    .iter()
                    .all(|m| m.to_string().contains("Ada Admin"))
        },
    )
    .await;
    assert_eq!(
        events_of(
            &app,
            &overridden["id"],
            "access_management_access_request_approval"
        )
        .await[0]["data"]["via"],
        "api"
    );
}

per_backend! {
    a_request_settled_anywhere_else_closes_every_message => super::a_request_settled_anywhere_else_closes_every_message,
    an_administrator_flow_in_channel_mode_posts_to_its_channels => super::an_administrator_flow_in_channel_mode_posts_to_its_channels,
    a_manager_is_asked_by_direct_message_and_a_later_step_only_once_it_is_active => super::a_manager_is_asked_by_direct_message_and_a_later_step_only_once_it_is_active,
    every_member_of_a_require_all_group_is_asked_and_one_slack_does_not_know_is_skipped => super::every_member_of_a_require_all_group_is_asked_and_one_slack_does_not_know_is_skipped,
}
